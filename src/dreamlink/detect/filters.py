"""Causal filters that keep their state between chunks.

A live detector sees a recording a few samples at a time. Each filter here is a Butterworth IIR
designed with :func:`scipy.signal.butter` as second-order sections and run with
:func:`scipy.signal.sosfilt`, carrying the delay-line state ``zi`` from one call to the next, so that
filtering a signal chunk by chunk gives exactly the same samples as filtering it in one call (the
approach of mne-lsl's online filters). Nothing here looks ahead: every output sample depends only on
past and present input.

Speed: a live pipeline calls its filters a few hundred thousand times per hour of signal on blocks of
~16 samples, where the public :func:`scipy.signal.sosfilt` spends ~100 µs per call validating and
moving axes. :class:`CausalFilter` therefore calls SciPy's own compiled kernel
(``scipy.signal._sosfilt._sosfilt``, the function ``sosfilt`` itself ends in) when it is present,
and falls back to the public function otherwise; both give bit-identical samples (tested).

Also here: :class:`CausalDelay` (a short history of past samples, for differences over a lag) and
:func:`moving_rms_sos` (a causal RMS envelope built from a low-pass on the squared signal).
"""

from __future__ import annotations

import numpy as np
from scipy import signal as _sig

from dreamlink.errors import SamplingRateError

try:  # SciPy's compiled kernel behind sosfilt (same arithmetic, no per-call validation)
    from scipy.signal._sosfilt import _sosfilt as _sosfilt_kernel
except ImportError:  # pragma: no cover - other SciPy layouts
    _sosfilt_kernel = None


class CausalFilter:
    """A stateful causal IIR filter for one or more channels.

    Parameters
    ----------
    sos : numpy.ndarray
        Second-order sections, shape ``(n_sections, 6)``.
    n_channels : int
        Number of channels filtered in parallel (rows of every block).

    Notes
    -----
    The state starts at zero (the filter's rest state); call :meth:`reset` to start again.
    """

    def __init__(self, sos: np.ndarray, n_channels: int = 1, fast: bool = True) -> None:
        self.sos = np.ascontiguousarray(sos, dtype=np.float64)
        self.n_channels = int(n_channels)
        self.fast = bool(fast) and _sosfilt_kernel is not None
        # Kernel layout (n_channels, n_sections, 2); public sosfilt's is (n_sections, n_channels, 2).
        self._zi = np.zeros((self.n_channels, self.sos.shape[0], 2))

    def prime(self, x0: np.ndarray | float) -> None:
        """Set the state to the steady state of a constant input ``x0`` (one value per channel).

        Avoids the start-up transient a DC offset (electrode potentials) would otherwise cause.
        """
        x0 = np.broadcast_to(np.asarray(x0, dtype=np.float64), (self.n_channels,))
        steady = _sig.sosfilt_zi(self.sos)  # (n_sections, 2) for a unit step
        self._zi = np.ascontiguousarray(steady[np.newaxis, :, :] * x0[:, np.newaxis, np.newaxis])

    def reset(self) -> None:
        """Forget the past (state back to rest)."""
        self._zi[:] = 0.0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter the next block.

        Parameters
        ----------
        x : numpy.ndarray
            Shape ``(n_channels, n_times)`` (or ``(n_times,)`` for one channel).

        Returns
        -------
        numpy.ndarray
            Filtered block of the same shape.
        """
        x = np.asarray(x, dtype=np.float64)
        one = x.ndim == 1
        x2 = x[np.newaxis, :] if one else x
        if x2.shape[1] == 0:
            return x.copy()
        if x2.shape[0] != self.n_channels:
            raise ValueError(f"filter set up for {self.n_channels} channel(s), got {x2.shape[0]}")
        if self.fast:
            y = np.array(x2, dtype=np.float64, order="C", copy=True)
            _sosfilt_kernel(self.sos, y, self._zi)  # filters y in place, updates zi
        else:
            y, zf = _sig.sosfilt(self.sos, x2, axis=-1, zi=self._zi.transpose(1, 0, 2))
            self._zi = np.ascontiguousarray(zf.transpose(1, 0, 2))
        return y[0] if one else y


def _check_band(freq: float, sfreq: float, what: str) -> float:
    nyq = sfreq / 2.0
    if not 0 < freq < nyq:
        raise SamplingRateError(
            f"{what} cut-off {freq:g} Hz needs a sampling rate above {2 * freq:g} Hz, got {sfreq:g} Hz"
        )
    return freq


def lowpass(h_freq: float, sfreq: float, order: int = 4, n_channels: int = 1) -> CausalFilter:
    """Causal Butterworth low-pass at ``h_freq`` Hz."""
    _check_band(h_freq, sfreq, "low-pass")
    return CausalFilter(_sig.butter(order, h_freq, "lowpass", fs=sfreq, output="sos"), n_channels)


def highpass(l_freq: float, sfreq: float, order: int = 2, n_channels: int = 1) -> CausalFilter:
    """Causal Butterworth high-pass at ``l_freq`` Hz."""
    _check_band(l_freq, sfreq, "high-pass")
    return CausalFilter(_sig.butter(order, l_freq, "highpass", fs=sfreq, output="sos"), n_channels)


def bandpass(l_freq: float, h_freq: float, sfreq: float, order: int = 4, n_channels: int = 1) -> CausalFilter:
    """Causal Butterworth band-pass ``l_freq``–``h_freq`` Hz (``h_freq`` is clipped below Nyquist)."""
    h_freq = min(h_freq, 0.45 * sfreq)
    _check_band(l_freq, sfreq, "band-pass")
    if not l_freq < h_freq:
        raise SamplingRateError(
            f"band {l_freq:g}-{h_freq:g} Hz is empty at {sfreq:g} Hz; a higher sampling rate is needed"
        )
    sos = _sig.butter(order, [l_freq, h_freq], "bandpass", fs=sfreq, output="sos")
    return CausalFilter(sos, n_channels)


def moving_rms_sos(sfreq: float, time_constant: float) -> np.ndarray:
    """SOS of a first-order causal smoother with the given time constant (s), for RMS envelopes.

    Square the signal, filter it with these sections, take the square root: a causal RMS envelope.
    """
    cutoff = 1.0 / (2.0 * np.pi * time_constant)
    _check_band(cutoff, sfreq, "envelope")
    return _sig.butter(1, cutoff, "lowpass", fs=sfreq, output="sos")


class CausalDelay:
    """Remember the last ``n`` samples of a 1-D stream, to form differences over a lag.

    Parameters
    ----------
    n : int
        Lag in samples (≥ 1).
    """

    def __init__(self, n: int) -> None:
        self.n = max(1, int(n))
        self._hist = np.zeros(self.n)

    def prime(self, x0: float) -> None:
        """Pretend the stream was ``x0`` before its start."""
        self._hist[:] = x0

    def lagged(self, x: np.ndarray) -> np.ndarray:
        """Return ``x`` delayed by ``n`` samples (zeros before the stream's start)."""
        both = np.concatenate([self._hist, np.asarray(x, dtype=np.float64)])
        out = both[: len(x)]
        self._hist = both[-self.n :]
        return out
