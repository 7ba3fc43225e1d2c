"""Signal analysis used by the cue tests: what a listener or a light sensor would measure."""

from __future__ import annotations

import numpy as np
from scipy.signal import hilbert

from dreamlink.link import morse


def dominant_freq(x: np.ndarray, sfreq: float) -> float:
    """Frequency (Hz) of the largest FFT peak, refined by parabolic interpolation."""
    x = np.asarray(x, float) * np.hanning(len(x))
    spec = np.abs(np.fft.rfft(x, n=8 * len(x)))
    k = int(np.argmax(spec[1:])) + 1
    a, b, c = np.log(spec[k - 1 : k + 2] + 1e-30)
    shift = 0.5 * (a - c) / (a - 2 * b + c)
    return (k + shift) * sfreq / (8 * len(x))


def rms_db(x: np.ndarray) -> float:
    """RMS in dBFS."""
    return 20 * np.log10(np.sqrt(np.mean(np.asarray(x, float) ** 2)))


def on_runs(x: np.ndarray, sfreq: float, rel_threshold: float = 0.5) -> np.ndarray:
    """``(start, end)`` seconds of the sounding stretches, from the Hilbert envelope."""
    env = np.abs(hilbert(np.asarray(x, float)))
    k = max(1, int(0.002 * sfreq))
    env = np.convolve(env, np.ones(k) / k, mode="same")
    on = env > rel_threshold * env.max()
    edges = np.diff(np.concatenate([[0], on.astype(int), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return np.column_stack([starts, ends]) / sfreq


def decode_morse_runs(runs: np.ndarray) -> str:
    """Decode ``(start, end)`` on-intervals back to text, estimating the unit from the shortest mark."""
    runs = np.asarray(runs, float)
    durs = runs[:, 1] - runs[:, 0]
    unit = float(np.median(durs[durs < 2 * durs.min()]))
    gaps = runs[1:, 0] - runs[:-1, 1]
    words, letters, code = [], [], ""
    for i, d in enumerate(durs):
        code += "." if d < 2 * unit else "-"
        gap = gaps[i] / unit if i < len(gaps) else np.inf
        if gap >= 2:
            letters.append(morse.decode_letter(code) or "?")
            code = ""
        if gap >= 5:
            words.append("".join(letters))
            letters = []
    return " ".join(words)
