"""Per-epoch sleep-staging features, vectorised, shared by the offline and the causal stager.

The feature set is YASA's (Vallat & Walker 2021) so that YASA's pretrained LightGBM classifiers,
which ship in YASA's wheel, can be used on it: for each channel, per 30-s epoch of the 0.4–30 Hz
band-passed signal at 100 Hz (µV): standard deviation, inter-quartile range, skewness, kurtosis,
number of zero crossings, Hjorth mobility and complexity, relative band powers (EEG and EOG),
EEG power ratios, absolute broadband power, permutation entropy, Higuchi and Petrosian fractal
dimensions; then a 7.5-min triangular smoothing and a 2-min trailing mean, each robust-scaled
(5th–95th percentile range), plus the time since the start.

Why not call ``yasa.SleepStaging`` for the features: YASA computes the entropy and fractal features
one epoch at a time and cannot be fed chunk by chunk. Here every feature is computed for a whole
``(n_epochs, n_times)`` block at once with numpy (the same formulas as AntroPy, checked against it in
the tests), and the smoothing/normalisation is split out so that the causal stager can replace it
with trailing windows and running statistics. Band powers use YASA's own
``bandpower_from_psd_ndarray``.

References
----------
Vallat R, Walker MP (2021). An open-source, high-performance tool for automated sleep staging.
eLife 10:e70092. doi:10.7554/eLife.70092
Higuchi T (1988). Approach to an irregular time series on the basis of the fractal theory.
Physica D 31(2):277-283. doi:10.1016/0167-2789(88)90081-4
Bandt C, Pompe B (2002). Permutation entropy: a natural complexity measure for time series.
Phys Rev Lett 88:174102. doi:10.1103/PhysRevLett.88.174102
Hjorth B (1970). EEG analysis based on time domain properties. Electroencephalogr Clin
Neurophysiol 29(3):306-310. doi:10.1016/0013-4694(70)90143-4
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import fft as sp_fft
from scipy import signal as sp_signal

#: Sampling rate (Hz) all features are computed at.
FEATURE_SFREQ = 100.0
#: Epoch length in seconds.
EPOCH_SEC = 30.0
#: Samples per epoch at :data:`FEATURE_SFREQ`.
EPOCH_SAMPLES = int(EPOCH_SEC * FEATURE_SFREQ)
#: Broadband pass band in Hz.
FREQ_BROAD = (0.4, 30.0)
#: YASA's bands (Hz).
BANDS = [
    (0.4, 1, "sdelta"),
    (1, 4, "fdelta"),
    (4, 8, "theta"),
    (8, 12, "alpha"),
    (12, 16, "sigma"),
    (16, 30, "beta"),
]
#: Centred smoothing window in epochs (7.5 min) and its triangular weights.
ROLL_C_EPOCHS = 15
ROLL_C_WEIGHTS = sp_signal.windows.triang(ROLL_C_EPOCHS)
#: Trailing mean window in epochs (2 min).
ROLL_P_EPOCHS = 4
#: Percentile range of the robust scaling.
QUANTILE_RANGE = (5.0, 95.0)


# -- preprocessing ------------------------------------------------------------------------------
def bandpass_resample(data_volts: np.ndarray, sfreq: float) -> np.ndarray:
    """Resampling to 100 Hz and zero-phase 0.4–30 Hz band-pass, as YASA does (offline use).

    Parameters
    ----------
    data_volts : numpy.ndarray
        ``(n_channels, n_times)`` in volts.
    sfreq : float
        Sampling rate in Hz (≥ 100).

    Returns
    -------
    numpy.ndarray
        ``(n_channels, n_out)`` in µV at 100 Hz, ``n_out = floor(n_times * 100 / sfreq)``.

    Notes
    -----
    Polyphase resampling (``scipy.signal.resample_poly``), then the amplitude response of MNE's
    default zero-phase FIR band-pass (the filter YASA uses) applied in one FFT over the
    reflect-padded signal: the same filter, computed faster than by overlap-add.
    """
    from fractions import Fraction

    x = np.asarray(data_volts, dtype=np.float64) * 1e6
    n_out = int(np.floor(x.shape[1] * FEATURE_SFREQ / sfreq + 1e-9))
    if sfreq != FEATURE_SFREQ:
        frac = Fraction(FEATURE_SFREQ / sfreq).limit_denominator(1000)
        x = sp_signal.resample_poly(x, frac.numerator, frac.denominator, axis=1)
    x = x[:, :n_out]
    pad = min(1000, n_out - 1)
    xp = np.pad(x, ((0, 0), (pad, pad)), mode="reflect")
    n_fft = sp_fft.next_fast_len(xp.shape[1], real=True)
    spec = sp_fft.rfft(xp, n=n_fft, axis=1)
    spec *= _fir_amplitude(n_fft)[None, :]
    return sp_fft.irfft(spec, n=n_fft, axis=1)[:, pad : pad + n_out]


@functools.lru_cache(maxsize=16)
def _fir_amplitude(n_fft: int) -> np.ndarray:
    import mne

    h = mne.filter.create_filter(None, FEATURE_SFREQ, FREQ_BROAD[0], FREQ_BROAD[1], verbose=False)
    return np.abs(sp_fft.rfft(h, n=n_fft))


def epochs_of(x: np.ndarray) -> np.ndarray:
    """Cut a 1-D 100-Hz signal into ``(n_epochs, 3000)`` consecutive 30-s epochs (tail dropped)."""
    n_ep = x.shape[-1] // EPOCH_SAMPLES
    return x[: n_ep * EPOCH_SAMPLES].reshape(n_ep, EPOCH_SAMPLES)


# -- per-epoch features ------------------------------------------------------------------------
def _num_zerocross(x: np.ndarray) -> np.ndarray:
    return np.count_nonzero(np.diff(np.signbit(x), axis=1), axis=1).astype(np.float64)


def _perm_entropy3(x: np.ndarray) -> np.ndarray:
    """Normalised permutation entropy of order 3, delay 1 (Bandt & Pompe 2002), per row.

    The six ordinal patterns are told apart by three comparisons (ties broken as a stable
    argsort would), which avoids sorting.
    """
    a, b, c = x[:, :-2], x[:, 1:-1], x[:, 2:]
    code = (b < a).astype(np.int8) * 4 + (c < a).astype(np.int8) * 2 + (c < b).astype(np.int8)
    n_ep, n = code.shape
    flat = code.astype(np.int64) + 8 * np.arange(n_ep)[:, None]
    counts = np.bincount(flat.ravel(), minlength=8 * n_ep).reshape(n_ep, 8)
    p = counts / n
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.nansum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)
    return np.clip(h / np.log2(6.0), 0.0, 1.0)


def _higuchi_fd(x: np.ndarray, kmax: int = 10) -> np.ndarray:
    """Higuchi fractal dimension per row (Higuchi 1988), same estimator as AntroPy's."""
    n_ep, n = x.shape
    log_lk = np.empty((n_ep, kmax))
    x_reg = np.log(1.0 / np.arange(1, kmax + 1))
    for k in range(1, kmax + 1):
        d = np.abs(x[:, k:] - x[:, :-k])
        m_len = d.shape[1]
        pad = (-m_len) % k
        if pad:
            d = np.concatenate([d, np.zeros((n_ep, pad))], axis=1)
        sums = d.reshape(n_ep, -1, k).sum(axis=1)  # (n_ep, k): sum over j for each offset m
        n_max = np.floor((n - np.arange(k) - 1) / k)
        lm = sums / k * (n - 1) / (k * n_max)
        with np.errstate(divide="ignore"):
            log_lk[:, k - 1] = np.log(lm.mean(axis=1))
    xm = x_reg - x_reg.mean()
    return (log_lk - log_lk.mean(axis=1, keepdims=True)) @ xm / (xm @ xm)


def epoch_features(epochs_uv: np.ndarray, ch_type: str) -> dict[str, np.ndarray]:
    """YASA's per-epoch features of one channel.

    Parameters
    ----------
    epochs_uv : numpy.ndarray
        ``(n_epochs, 3000)`` band-passed signal in µV at 100 Hz.
    ch_type : {"eeg", "eog", "emg"}
        Channel type (decides band powers and ratios, and the name prefix).

    Returns
    -------
    dict of str to numpy.ndarray
        Feature name (``eeg_std``, ...) to one value per epoch.
    """
    from yasa.spectral import bandpower_from_psd_ndarray

    x = np.asarray(epochs_uv, dtype=np.float64)
    dev = x - x.mean(axis=1, keepdims=True)
    dev2 = dev**2
    m2 = dev2.mean(axis=1)
    dx = np.diff(x, axis=1)
    ddx = np.diff(dx, axis=1)
    var_x, var_dx, var_ddx = x.var(axis=1), dx.var(axis=1), ddx.var(axis=1)
    q = np.percentile(x, [25, 75], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        hmob = np.sqrt(var_dx / var_x)
        hcomp = np.sqrt(var_ddx / var_dx) / hmob
        feat: dict[str, np.ndarray] = {
            "std": np.sqrt(m2 * x.shape[1] / (x.shape[1] - 1)),
            "iqr": q[1] - q[0],
            "skew": (dev2 * dev).mean(axis=1) / m2**1.5,
            "kurt": (dev2**2).mean(axis=1) / m2**2 - 3,
            "nzc": _num_zerocross(x),
            "hmob": hmob,
            "hcomp": hcomp,
        }
    win = int(5 * FEATURE_SFREQ)
    freqs, psd = sp_signal.welch(x, FEATURE_SFREQ, window="hamming", nperseg=win, average="median")
    if ch_type != "emg":
        bp = bandpower_from_psd_ndarray(psd, freqs, bands=BANDS)
        for j, (_, _, name) in enumerate(BANDS):
            feat[name] = bp[j]
    if ch_type == "eeg":
        with np.errstate(invalid="ignore", divide="ignore"):
            delta = feat["sdelta"] + feat["fdelta"]
            feat["dt"] = delta / feat["theta"]
            feat["ds"] = delta / feat["sigma"]
            feat["db"] = delta / feat["beta"]
            feat["at"] = feat["alpha"] / feat["theta"]
    idx = (freqs >= FREQ_BROAD[0]) & (freqs <= FREQ_BROAD[1])
    feat["abspow"] = np.trapezoid(psd[:, idx], dx=freqs[1] - freqs[0], axis=1)
    feat["perm"] = _perm_entropy3(x)
    feat["higuchi"] = _higuchi_fd(x)
    n = x.shape[1]
    nzc_d = _num_zerocross(dx)
    feat["petrosian"] = np.log10(n) / (np.log10(n) + np.log10(n / (n + 0.4 * nzc_d)))
    return {f"{ch_type}_{k}": v for k, v in feat.items()}


def raw_features(signals_uv: Sequence[np.ndarray], ch_types: Sequence[str]) -> pd.DataFrame:
    """Per-epoch features of several 100-Hz µV signals (one per channel type), as a DataFrame."""
    out: dict[str, np.ndarray] = {}
    for sig, ch_type in zip(signals_uv, ch_types, strict=True):
        out.update(epoch_features(epochs_of(np.asarray(sig)), ch_type))
    return pd.DataFrame(out)


# -- smoothing and normalisation ---------------------------------------------------------------
def robust_scale_stats(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and 5th–95th percentile range per column (``sklearn.preprocessing.robust_scale``)."""
    lo, med, hi = np.nanpercentile(values, [QUANTILE_RANGE[0], 50.0, QUANTILE_RANGE[1]], axis=0)
    scale = hi - lo
    scale = np.where(scale == 0, 1.0, scale)  # as sklearn's _handle_zeros_in_scale
    return med, scale


def centred_triang_smooth(values: np.ndarray, lookahead: int | None = None) -> np.ndarray:
    """7.5-min triangular smoothing of ``(n_epochs, n_features)``, optionally truncated in the future.

    ``lookahead=None`` is YASA's centred window (7 epochs each side); ``lookahead=L`` keeps the
    7 past epochs and at most ``L`` future ones (causal for ``L=0``). Weights are renormalised over
    the epochs present, as pandas' ``rolling(win_type="triang", min_periods=1)`` does at the edges.
    """
    half = ROLL_C_EPOCHS // 2
    ahead = half if lookahead is None else min(int(lookahead), half)
    n = values.shape[0]
    offsets = np.arange(-half, ahead + 1)
    weights = ROLL_C_WEIGHTS[offsets + half]
    num = np.zeros_like(values, dtype=np.float64)
    den = np.zeros((n, 1))
    for off, w in zip(offsets, weights, strict=True):
        lo, hi = max(0, -off), min(n, n - off)
        if hi <= lo:
            continue
        num[lo:hi] += w * values[lo + off : hi + off]
        den[lo:hi] += w
    return num / den


def trailing_mean(values: np.ndarray, n_epochs: int = ROLL_P_EPOCHS) -> np.ndarray:
    """Mean of the current and ``n_epochs - 1`` previous epochs (fewer at the start)."""
    c = np.cumsum(np.vstack([np.zeros((1, values.shape[1])), values]), axis=0)
    idx = np.arange(1, values.shape[0] + 1)
    lo = np.maximum(idx - n_epochs, 0)
    return (c[idx] - c[lo]) / (idx - lo)[:, None]


def offline_feature_table(raw_feat: pd.DataFrame) -> pd.DataFrame:
    """YASA's offline feature table: raw features, centred and trailing smoothing, whole-night scaling.

    Parameters
    ----------
    raw_feat : pandas.DataFrame
        Output of :func:`raw_features` (one row per 30-s epoch).

    Returns
    -------
    pandas.DataFrame
        Columns sorted by name, as YASA's classifiers expect.
    """
    vals = raw_feat.to_numpy(np.float64)
    rollc = centred_triang_smooth(vals)
    med, scale = robust_scale_stats(rollc)
    rollc = (rollc - med) / scale
    rollp = trailing_mean(vals)
    med, scale = robust_scale_stats(rollp)
    rollp = (rollp - med) / scale
    n = len(raw_feat)
    times = np.arange(n) * EPOCH_SEC
    cols = list(raw_feat.columns)
    table = pd.DataFrame(
        np.hstack([vals, rollc, rollp]),
        columns=cols + [c + "_c7min_norm" for c in cols] + [c + "_p2min_norm" for c in cols],
    )
    table["time_hour"] = times / 3600.0
    table["time_norm"] = times / times[-1] if n > 1 and times[-1] > 0 else np.zeros(n)
    return table.sort_index(axis=1).astype(np.float32)
