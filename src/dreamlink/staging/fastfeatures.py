"""Fast per-epoch spectral features for dreamlink's own offline staging model.

One FFT per 30-s epoch at the recording's own sampling rate (no resampling, no whole-signal
filter) gives both a smoothed periodogram (Hann window applied in the frequency domain, 0.2-Hz
Daniell averaging) and, by an inverse FFT of the 0.5–30 Hz bins at 64 Hz, a band-limited copy of the
epoch. Spectral features are read off the periodogram between 0.5 and 30 Hz, so they do not depend
on the device's rate (≥ 100 Hz):

- ``logpow``: log10 of the 0.5–30 Hz power (µV²), the epoch's amplitude;
- ``rel_<band>``: log10 of the relative power in YASA's bands (slow delta 0.5–1, fast delta 1–4,
  theta 4–8, alpha 8–12, sigma 12–16, beta 16–30 Hz);
- ``sef50``, ``sef95``: spectral edge frequencies (Hz) below which 50 % and 95 % of the power lies;
- ``sent``: normalised spectral entropy;
- ``hmob``, ``hcomp``: Hjorth mobility and complexity computed from the spectral moments
  (mobility = sqrt(m2/m0), complexity = sqrt(m4/m2)/mobility, with ``m_k = Σ f^k P(f)``; Hjorth 1970);
- ``lf``: log10 of the 0.5–2 Hz over 8–30 Hz power (slow waves vs fast activity);

and time-domain features of the band-limited epoch (as YASA's): log standard deviation and mean
absolute deviation, skewness, log kurtosis, zero crossings, Hjorth mobility and complexity,
permutation entropy (order 3) and Petrosian fractal dimension.

Then, as YASA does (Vallat & Walker 2021), every feature is also given as a 7.5-min centred
triangular average and a 2-min trailing mean, each robust-scaled over the whole recording (5th–95th
percentile range) — here with cumulative sums instead of pandas' rolling windows.

Why hand-written rather than YASA's feature extractor: YASA's per-epoch entropy and fractal
features and its resampling and FIR filtering of the whole signal cost ≈ 0.4 s per hour of
recording; this spectrum-only set costs a few milliseconds, which is what lets dreamlink's offline
engine run ≥ 10× faster than YASA (see ``benchmarks/staging.py``).

References
----------
Vallat R, Walker MP (2021). An open-source, high-performance tool for automated sleep staging.
eLife 10:e70092. doi:10.7554/eLife.70092
Daniell PJ (1946). Discussion on symposium on autocorrelation in time series. J R Stat Soc
Suppl 8(1):88-90. doi:10.2307/2983611
Hjorth B (1970). EEG analysis based on time domain properties. Electroencephalogr Clin
Neurophysiol 29(3):306-310. doi:10.1016/0013-4694(70)90143-4
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import fft as sp_fft

#: Epoch length (s) and Welch segment length (s).
EPOCH_SEC = 30.0
SEGMENT_SEC = 5.0
#: Frequency range (Hz) all features are read from.
FMIN, FMAX = 0.5, 30.0
#: YASA's bands (Hz), the slow-delta band starting at :data:`FMIN`.
BANDS = (
    ("sdelta", 0.5, 1.0),
    ("fdelta", 1.0, 4.0),
    ("theta", 4.0, 8.0),
    ("alpha", 8.0, 12.0),
    ("sigma", 12.0, 16.0),
    ("beta", 16.0, 30.0),
)
#: Per-epoch feature names (without the channel-type prefix), in column order.
EPOCH_FEATURES = (
    "logpow",
    *[f"rel_{b[0]}" for b in BANDS],
    "sef50",
    "sef95",
    "sent",
    "hmob",
    "hcomp",
    "lf",
    "std",
    "mad",
    "skew",
    "kurt",
    "nzc",
    "tmob",
    "tcomp",
    "perm",
    "petrosian",
)
#: Rate (Hz) of the per-epoch band-limited signal the time-domain features are computed on.
TD_SFREQ = 64.0
#: Centred triangular window (epochs) and trailing window (epochs).
ROLL_C_EPOCHS = 15
ROLL_P_EPOCHS = 4
QUANTILE_RANGE = (5.0, 95.0)
_TINY = 1e-12
_DANIELL = 6  # periodogram bins (1/30 Hz each) averaged per 0.2-Hz spectrum bin


def epoch_spectra(x_volts: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spectrum and band-limited signal of every 30-s epoch of a 1-D signal, from one FFT per epoch.

    Parameters
    ----------
    x_volts : numpy.ndarray
        1-D signal in volts.
    sfreq : float
        Sampling rate in Hz (≥ 100).

    Returns
    -------
    freqs : numpy.ndarray
        Centre frequencies (Hz) of the 0.2-Hz bins, 0.55 to 30.15 Hz.
    psd : numpy.ndarray
        ``(n_epochs, n_freqs)`` power in µV²/Hz (one-sided), epochs from time 0 (tail dropped):
        the Hann-windowed periodogram of the epoch (the window applied in the frequency domain
        as the 3-tap kernel ``[-1/4, 1/2, -1/4]``), averaged over 6 adjacent bins (Daniell's
        smoothed periodogram; Daniell 1946).
    bandlimited : numpy.ndarray
        ``(n_epochs, 1920)``: each epoch band-passed to 0.5–30 Hz and resampled to 64 Hz by the
        same FFT (its spectrum cut to the band and inverse-transformed at 64 Hz), in µV.
    """
    x = np.asarray(x_volts, dtype=np.float64) * 1e6
    ep_len = EPOCH_SEC * sfreq
    n_ep = int(np.floor(x.shape[-1] / ep_len + 1e-9))
    n = int(np.floor(ep_len))
    if float(ep_len).is_integer():
        ep = x[: n_ep * n].reshape(n_ep, n)
    else:  # non-integer samples per epoch: index each epoch's start
        starts = np.round(np.arange(n_ep) * ep_len).astype(np.int64)
        ep = x[starts[:, None] + np.arange(n)[None, :]]
    n_td = int(EPOCH_SEC * TD_SFREQ)
    f_ep = np.arange(n_td // 2 + 2) / EPOCH_SEC
    full = sp_fft.rfft(ep, axis=1)[:, : n_td // 2 + 2]
    full[:, 0] = 0.0  # mean removed
    band = np.where((f_ep >= FMIN) & (f_ep <= FMAX), full, 0.0)[:, : n_td // 2 + 1]
    td = sp_fft.irfft(band, n=n_td, axis=1) * (n_td / n)
    # Hann-windowed periodogram from the unwindowed spectrum, then 6-bin (0.2 Hz) averages
    k_lo = int(round(FMIN * EPOCH_SEC)) - 1  # bins [k_lo, k_hi) become 0.2-Hz groups from 0.5 Hz
    n_bins = int(round((FMAX - FMIN) / 0.2)) + 1
    k_hi = k_lo + n_bins * _DANIELL + 1
    xw = 0.5 * full[:, k_lo:k_hi] - 0.25 * (full[:, k_lo - 1 : k_hi - 1] + full[:, k_lo + 1 : k_hi + 1])
    power = (xw.real**2 + xw.imag**2)[:, : n_bins * _DANIELL] * (2.0 / (sfreq * n * 0.375))
    psd = power.reshape(n_ep, n_bins, _DANIELL).mean(axis=2)
    freqs = (k_lo + _DANIELL * np.arange(n_bins) + (_DANIELL - 1) / 2) / EPOCH_SEC  # bin-group centres
    return freqs, psd, td


def spectral_features(freqs: np.ndarray, psd: np.ndarray, td: np.ndarray) -> np.ndarray:
    """The :data:`EPOCH_FEATURES` of ``(n_epochs, n_freqs)`` spectra and band-limited epochs."""
    df = freqs[1] - freqs[0]
    psd = np.maximum(psd, _TINY)
    total = psd.sum(axis=1) * df
    out = np.empty((psd.shape[0], len(EPOCH_FEATURES)))
    out[:, 0] = np.log10(total)
    cum = np.cumsum(psd, axis=1) * df
    for j, (_, lo, hi) in enumerate(BANDS):
        sel = (freqs >= lo) & (freqs < hi if hi < FMAX else freqs <= hi)
        out[:, 1 + j] = np.log10(psd[:, sel].sum(axis=1) * df / total)
    k = 1 + len(BANDS)
    frac = cum / total[:, None]
    out[:, k] = freqs[np.minimum((frac < 0.5).sum(axis=1), len(freqs) - 1)]
    out[:, k + 1] = freqs[np.minimum((frac < 0.95).sum(axis=1), len(freqs) - 1)]
    p = psd / psd.sum(axis=1, keepdims=True)
    out[:, k + 2] = -(p * np.log(p)).sum(axis=1) / np.log(p.shape[1])
    m0 = psd.sum(axis=1)
    m2 = psd @ freqs**2
    m4 = psd @ freqs**4
    mob = np.sqrt(m2 / m0)
    out[:, k + 3] = mob
    out[:, k + 4] = np.sqrt(m4 / m2) / mob
    low = psd[:, freqs < 2.0].sum(axis=1)
    high = psd[:, freqs >= 8.0].sum(axis=1)
    out[:, k + 5] = np.log10(low / high)
    k += 6
    dev = td - td.mean(axis=1, keepdims=True)
    m2 = np.maximum((dev * dev).mean(axis=1), _TINY)
    out[:, k] = np.log10(np.sqrt(m2))
    out[:, k + 1] = np.log10(np.maximum(np.abs(dev).mean(axis=1), _TINY))
    dev2 = dev * dev
    out[:, k + 2] = (dev2 * dev).mean(axis=1) / m2**1.5
    out[:, k + 3] = np.log10(np.maximum((dev2 * dev2).mean(axis=1) / m2**2, _TINY))
    sb = np.signbit(td)
    out[:, k + 4] = np.count_nonzero(sb[:, 1:] != sb[:, :-1], axis=1)
    dx = np.diff(td, axis=1)
    ddx = np.diff(dx, axis=1)
    vdx, vddx = np.maximum(dx.var(axis=1), _TINY), np.maximum(ddx.var(axis=1), _TINY)
    out[:, k + 5] = np.sqrt(vdx / m2)
    out[:, k + 6] = np.sqrt(vddx / vdx) / out[:, k + 5]
    out[:, k + 7] = _perm_entropy3(td)
    sd = np.signbit(dx)
    nzc_d = np.count_nonzero(sd[:, 1:] != sd[:, :-1], axis=1)
    n = td.shape[1]
    out[:, k + 8] = np.log10(n) / (np.log10(n) + np.log10(n / (n + 0.4 * nzc_d)))
    return out


def _perm_entropy3(x: np.ndarray) -> np.ndarray:
    """Normalised permutation entropy of order 3, delay 1, per row (Bandt & Pompe 2002,
    doi:10.1103/PhysRevLett.88.174102)."""
    a, b, c = x[:, :-2], x[:, 1:-1], x[:, 2:]
    code = (b < a).astype(np.int64) * 4 + (c < a) * 2 + (c < b)
    n_ep, n = code.shape
    counts = np.bincount((code + 8 * np.arange(n_ep)[:, None]).ravel(), minlength=8 * n_ep)
    p = counts.reshape(n_ep, 8) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        h = -np.sum(np.where(p > 0, p * np.log2(p), 0.0), axis=1)
    return h / np.log2(6.0)


def centred_triang(values: np.ndarray, n: int = ROLL_C_EPOCHS) -> np.ndarray:
    """Centred triangular moving average over ``n`` (odd) epochs, renormalised at the edges.

    A triangle of ``n = 2h + 1`` points (weights ``1..h+1..1``) is the convolution of two boxcars of
    ``h + 1`` points, so it is two cumulative-sum passes; same weights as
    ``scipy.signal.windows.triang(n)`` up to a constant factor.
    """
    h = n // 2
    w = np.concatenate([np.arange(1, h + 2), np.arange(h, 0, -1)]).astype(np.float64)
    m = values.shape[0]
    ones = np.ones((m, 1))
    num = _conv_same(values, w)
    den = _conv_same(ones, w)
    return num / den


def _conv_same(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Centred ``'same'`` convolution of each column with the symmetric kernel ``w`` (zero padding)."""
    h = len(w) // 2
    m = values.shape[0]
    pad = np.zeros((h, values.shape[1]))
    vp = np.vstack([pad, values, pad])
    out = np.zeros((m, values.shape[1]))
    for j, wj in enumerate(w):
        out += wj * vp[j : j + m]
    return out


def trailing_mean(values: np.ndarray, n: int = ROLL_P_EPOCHS) -> np.ndarray:
    """Mean of the current and ``n - 1`` previous epochs (fewer at the start), by cumulative sums."""
    c = np.cumsum(np.vstack([np.zeros((1, values.shape[1])), values]), axis=0)
    idx = np.arange(1, values.shape[0] + 1)
    lo = np.maximum(idx - n, 0)
    return (c[idx] - c[lo]) / (idx - lo)[:, None]


def robust_scale(values: np.ndarray) -> np.ndarray:
    """Centre on the median and divide by the 5th–95th percentile range, per column."""
    lo, med, hi = np.percentile(values, [QUANTILE_RANGE[0], 50.0, QUANTILE_RANGE[1]], axis=0)
    scale = hi - lo
    scale[scale == 0] = 1.0
    return (values - med) / scale


def feature_names(ch_types: Sequence[str]) -> list[str]:
    """Column names of :func:`feature_matrix` for the channel types given (in that order)."""
    base = [f"{t}_{f}" for t in ch_types for f in EPOCH_FEATURES]
    return base + [b + "_c7min_norm" for b in base] + [b + "_p2min_norm" for b in base]


def feature_matrix(signals: Mapping[str, np.ndarray], sfreq: float, ch_types: Sequence[str]) -> np.ndarray:
    """The offline feature matrix ``(n_epochs, n_features)`` of :func:`feature_names` columns.

    Parameters
    ----------
    signals : mapping of str to numpy.ndarray
        Channel type to 1-D signal in volts.
    sfreq : float
        Sampling rate in Hz.
    ch_types : sequence of str
        The channel types to use, in column order.
    """
    per = []
    for t in ch_types:
        per.append(spectral_features(*epoch_spectra(signals[t], sfreq)))
    raw = np.hstack(per)
    return np.hstack([raw, robust_scale(centred_triang(raw)), robust_scale(trailing_mean(raw))])
