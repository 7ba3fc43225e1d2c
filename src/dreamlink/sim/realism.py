"""Spectral fingerprints per sleep stage, to compare simulated and real EEG.

Relative band power of each 30-s epoch (Welch's method, 4-s Hann windows, 50 % overlap) in the
classical bands delta 0.5–4, theta 4–8, alpha 8–12, sigma 12–16 and beta 16–30 Hz, relative to the
total 0.5–30 Hz power; then the median per stage. Used by the simulator's realism tests.

References
----------
Welch P (1967). The use of fast Fourier transform for the estimation of power spectra. IEEE Trans
Audio Electroacoust 15(2):70-73. doi:10.1109/TAU.1967.1161901
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import signal as sp_signal

#: Frequency bands in Hz.
BANDS: dict[str, tuple[float, float]] = {
    "delta": (0.5, 4.0),
    "theta": (4.0, 8.0),
    "alpha": (8.0, 12.0),
    "sigma": (12.0, 16.0),
    "beta": (16.0, 30.0),
}


def epoch_band_powers(x: np.ndarray, sfreq: float, epoch_sec: float = 30.0) -> pd.DataFrame:
    """Relative band powers of consecutive epochs of a 1-D signal.

    Parameters
    ----------
    x : numpy.ndarray
        One channel (any unit), shape ``(n_times,)``.
    sfreq : float
        Sampling rate in Hz (≥ 60 so that the beta band fits).
    epoch_sec : float
        Epoch length in seconds; a trailing partial epoch is dropped.

    Returns
    -------
    pandas.DataFrame
        One row per epoch, one column per band of :data:`BANDS` (fractions of 0.5–30 Hz power),
        plus ``total`` (absolute 0.5–30 Hz power in the input unit squared).
    """
    n = int(round(epoch_sec * sfreq))
    n_ep = len(x) // n
    if n_ep == 0:
        return pd.DataFrame(columns=[*BANDS, "total"])
    epochs = np.asarray(x[: n_ep * n], dtype=float).reshape(n_ep, n)
    nper = int(round(4.0 * sfreq))
    f, psd = sp_signal.welch(epochs, fs=sfreq, nperseg=nper, noverlap=nper // 2, axis=-1)
    df = f[1] - f[0]
    in_total = (f >= 0.5) & (f < 30.0)
    total = psd[:, in_total].sum(axis=1) * df
    out = {}
    for name, (lo, hi) in BANDS.items():
        sel = (f >= lo) & (f < hi)
        out[name] = psd[:, sel].sum(axis=1) * df / total
    out["total"] = total
    return pd.DataFrame(out)


def stage_band_powers(
    x: np.ndarray, sfreq: float, stages: Sequence[str], epoch_sec: float = 30.0
) -> pd.DataFrame:
    """Median relative band powers per stage.

    Parameters
    ----------
    x : numpy.ndarray
        One channel, ``(n_times,)``, starting at the first epoch's onset.
    sfreq : float
        Sampling rate in Hz.
    stages : sequence of str
        Stage label of each epoch (epochs labelled ``?`` are ignored).
    epoch_sec : float
        Epoch length in seconds.

    Returns
    -------
    pandas.DataFrame
        Index: stage; columns: bands of :data:`BANDS`, ``total`` and ``n_epochs``.
    """
    bp = epoch_band_powers(x, sfreq, epoch_sec)
    labels = np.asarray(stages, dtype=str)[: len(bp)]
    bp = bp.iloc[: len(labels)].copy()
    bp["stage"] = labels
    bp = bp[bp["stage"] != "?"]
    med = bp.groupby("stage").median()
    med["n_epochs"] = bp.groupby("stage").size()
    return med


def read_dreams_excerpt(
    signal_path: str | Path, hypnogram_path: str | Path
) -> tuple[np.ndarray, float, list[str]]:
    """Read a DREAMS Spindles excerpt (one EEG channel, µV) with 30-s stage labels.

    The excerpt's rate is not in the file: it is derived from its length (every excerpt lasts
    1800 s; excerpt 6 carries 140 extra samples upstream). The 5-s DREAMS epochs become 30-s epochs
    labelled only when all six 5-s epochs agree (else ``?``).

    Returns
    -------
    (x, sfreq, labels) : tuple
        Signal in µV, rate in Hz, one label per 30-s epoch.
    """
    from dreamlink.io.hypnogram_formats import read_hypnogram

    x = pd.read_csv(signal_path, skiprows=1, header=None)[0].to_numpy(float)
    sfreq = float(round(len(x) / 1800.0 / 10.0) * 10.0)
    h = read_hypnogram(hypnogram_path)
    per = int(round(30.0 / h.epoch_sec))
    rows = h.stages[: len(h.stages) // per * per].reshape(-1, per)
    labels = [str(row[0]) if (row == row[0]).all() else "?" for row in rows]
    return x, sfreq, labels


def read_dynamo_segment(
    signal_path: str | Path, stages_path: str | Path, sfreq: float = 100.0
) -> tuple[np.ndarray, float, list[str]]:
    """Read the DYNAM-O example segment (one value per line, µV) with its 30-s stages.

    The change-point grid starts about 10 s after the first sample; the signal is cut to start on it.
    """
    from dreamlink.io.hypnogram_formats import read_hypnogram

    x = pd.read_csv(signal_path, header=None)[0].to_numpy(float)
    h = read_hypnogram(stages_path)
    first = int(round(h.start * sfreq))
    return x[first:], sfreq, [str(s) for s in h.stages]
