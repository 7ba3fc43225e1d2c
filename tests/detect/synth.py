"""Synthetic deliberate eye and EMG signals with known ground truth, for the detector tests."""

from __future__ import annotations

import numpy as np

from dreamlink.detect.eye_sweeps import Movement, Sweep
from dreamlink.link import emg_code
from dreamlink.link.eye_code import Gesture
from dreamlink.sim.gestures import GazeTrace, gaze_to_eog, render_gaze

FS = 256.0
#: Per-electrode amplitude (V) at full lateral gaze; full swing of E1 − E2 = 4 × this.
AMP = 150e-6
SWING = 4 * AMP


def eog(
    gestures: list[Gesture],
    seed: int = 0,
    noise_v: float = 5e-6,
    gain: float = 0.85,
    jitter: float = 0.15,
    amp: float = AMP,
    fs: float = FS,
) -> tuple[np.ndarray, np.ndarray, GazeTrace]:
    """E1, E2 (V) of a gesture sequence with white noise, and the rendered trace (ground truth)."""
    rng = np.random.default_rng(seed)
    trace = render_gaze(gestures, fs, rng=rng, jitter=jitter, gain=gain)
    e1, e2 = gaze_to_eog(trace.gaze, amp)
    n = len(e1)
    return e1 + rng.normal(0, noise_v, n), e2 + rng.normal(0, noise_v, n), trace


def emg(
    n: int, twitches: list[emg_code.Twitch], t0: float, seed: int = 0, fs: float = FS, ratio: float = 10.0
) -> np.ndarray:
    """Background EMG (2 µV white noise) with bursts of ``ratio`` × that RMS at the twitches."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 2e-6, n)
    for tw in twitches:
        a = int(round((t0 + tw.start) * fs))
        b = a + int(round(tw.duration * fs))
        x[a:b] += rng.normal(0, ratio * 2e-6, b - a)
    return x


def centre(sec: float) -> list[Gesture]:
    """Fixation at centre for ``sec`` seconds."""
    return [Gesture(0.0, sec)]


#: A keyed gaze level's step (s), half swing (V, centre → one side) and sweep duration (s).
KEY_STEP, KEY_HALF, KEY_SWEEP_SEC = 0.05, 300e-6, 0.06


def keyed_gaze(gestures: list[Gesture]) -> tuple[np.ndarray, np.ndarray, list[Sweep]]:
    """A gaze level keyed exactly from gestures (no rendering, no noise) and its sweeps.

    Returns the level's sample times (s, every :data:`KEY_STEP`), the level (V; gaze −1, left, is
    +:data:`KEY_HALF`, the sign of E1 − E2) and one :class:`~dreamlink.detect.eye_sweeps.Sweep` per
    change of gaze, as the detector would measure it :data:`KEY_SWEEP_SEC` + 0.15 s after it ends.
    """
    sweeps: list[Sweep] = []
    held, t, level = [], 0.0, 0.0
    for g in gestures:
        target = -g.gaze * KEY_HALF
        if target != level:
            amp = target - level
            mv = Movement(t, KEY_SWEEP_SEC, amp, 5e-3, 0.05, 0.05, 0.01, t + KEY_SWEEP_SEC + 0.15)
            sweeps.append(Sweep(mv, 0.9))
            level = target
        held.append((t, g.hold, level))
        t += g.hold
    times = np.arange(0.0, t, KEY_STEP) + KEY_STEP / 2
    levels = np.zeros(times.size)
    for start, hold, lv in held:
        levels[(times >= start) & (times < start + hold)] = lv
    return times, levels, sweeps
