"""Render deliberate gaze gestures into an eye-position trace and EOG voltages.

Used by the simulator to inject deliberate eye signals and by the detector benchmark to inject
them into real recordings. A gesture sequence (:mod:`dreamlink.link.eye_code`) becomes a gaze trace
in units of a full lateral gaze (-1 full left, +1 full right): each change of target is a saccade
whose duration follows the main sequence (Bahill et al. 1975: about 2.2 ms per degree + 21 ms),
with a smooth velocity profile, followed by a fixation.

The corneo-retinal dipole makes the electrode the eyes turn towards more positive (Malmivuo &
Plonsey 1995, ch. 28): looking left makes LOC/E1 positive and ROC/E2 negative, so the horizontal
derivation E1 − E2 is positive for leftward gaze.

References
----------
Bahill AT, Clark MR, Stark L (1975). The main sequence, a tool for studying human eye movements.
Math Biosci 24(3-4):191-204. doi:10.1016/0025-5564(75)90075-9
Malmivuo J, Plonsey R (1995). Bioelectromagnetism, ch. 28: The electric signals originating in the eye.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dreamlink.link.eye_code import Gesture

#: Degrees of horizontal gaze for a full lateral look (−1 → +1 spans twice this).
FULL_GAZE_DEG = 30.0


@dataclass(frozen=True)
class Sweep:
    """One saccade in a rendered trace.

    Parameters
    ----------
    onset : float
        Start of the saccade, seconds from the trace's start.
    duration : float
        Saccade duration in seconds.
    direction : str
        ``"L"`` or ``"R"``.
    size : float
        Gaze change in full-gaze units (2.0 = full left to full right).
    """

    onset: float
    duration: float
    direction: str
    size: float


@dataclass(frozen=True)
class GazeTrace:
    """A rendered gaze trace: ``gaze`` per sample (full-gaze units) and its ``sweeps``."""

    gaze: np.ndarray
    sweeps: list[Sweep]
    sfreq: float

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self.gaze) / self.sfreq


def saccade_duration(size: float) -> float:
    """Main-sequence saccade duration (s) for a gaze change of ``size`` full-gaze units."""
    degrees = abs(size) * FULL_GAZE_DEG
    return (2.2 * degrees + 21.0) / 1000.0


def render_gaze(
    gestures: Sequence[Gesture],
    sfreq: float,
    start_gaze: float = 0.0,
    rng: np.random.Generator | None = None,
    jitter: float = 0.0,
    gain: float = 1.0,
) -> GazeTrace:
    """Render gestures to a gaze trace.

    Parameters
    ----------
    gestures : sequence of Gesture
        Targets and hold times.
    sfreq : float
        Sampling rate in Hz.
    start_gaze : float
        Gaze before the first gesture.
    rng : numpy.random.Generator | None
        Randomness for ``jitter``.
    jitter : float
        Relative random variation of hold times and target sizes (0.2 = ±20 %), as a real person's
        gestures vary.
    gain : float
        Scales every target (a dreamer rarely reaches the full calibrated excursion: 0.6–1.0).

    Returns
    -------
    GazeTrace
    """
    rng = rng or np.random.default_rng(0)
    pieces: list[np.ndarray] = []
    sweeps: list[Sweep] = []
    gaze = float(start_gaze)
    t = 0.0
    for gesture in gestures:
        scale = 1.0 + (rng.uniform(-jitter, jitter) if jitter else 0.0)
        target = float(np.clip(gesture.gaze * gain * scale, -1.2, 1.2))
        hold = max(0.05, gesture.hold * (1.0 + (rng.uniform(-jitter, jitter) if jitter else 0.0)))
        size = target - gaze
        if abs(size) > 1e-6:
            dur = saccade_duration(size)
            n = max(2, int(round(dur * sfreq)))
            # Smooth (raised-cosine) position profile: bell-shaped velocity like a real saccade.
            profile = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, endpoint=False) + np.pi / n)
            pieces.append(gaze + size * profile)
            sweeps.append(Sweep(t, n / sfreq, "R" if size > 0 else "L", abs(size)))
            t += n / sfreq
            gaze = target
        n_hold = max(1, int(round(hold * sfreq)))
        pieces.append(np.full(n_hold, gaze))
        t += n_hold / sfreq
    trace = np.concatenate(pieces) if pieces else np.zeros(0)
    return GazeTrace(trace, sweeps, float(sfreq))


def gaze_to_eog(gaze: np.ndarray, amplitude_v: float) -> tuple[np.ndarray, np.ndarray]:
    """EOG voltages (E1/LOC, E2/ROC) in volts for a gaze trace.

    Parameters
    ----------
    gaze : numpy.ndarray
        Gaze in full-gaze units (−1 left … +1 right).
    amplitude_v : float
        Potential change of each electrode at full lateral gaze, in volts (≈ 100–300 µV).

    Returns
    -------
    (e1, e2) : tuple of numpy.ndarray
        E1 is positive for leftward gaze, E2 negative; E1 − E2 = −2 · amplitude · gaze.
    """
    return -amplitude_v * gaze, amplitude_v * gaze
