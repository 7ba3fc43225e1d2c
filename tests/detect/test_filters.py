"""Causal filters: chunked filtering equals one-shot filtering; the fast kernel equals SciPy's sosfilt."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from dreamlink.detect.filters import CausalDelay, CausalFilter, bandpass, highpass, lowpass
from dreamlink.errors import SamplingRateError


def test_chunked_equals_whole_and_scipy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5000))
    sos = signal.butter(4, [1, 30], "bandpass", fs=256, output="sos")
    whole = signal.sosfilt(sos, x, axis=-1)
    f = CausalFilter(sos, n_channels=2)
    cuts = [0, 1, 17, 256, 1000, 4999, 5000]
    parts = [f.process(x[:, a:b]) for a, b in zip(cuts[:-1], cuts[1:], strict=True)]
    assert np.array_equal(np.concatenate(parts, axis=1), whole)
    slow = CausalFilter(sos, n_channels=2, fast=False)
    assert np.allclose(
        np.concatenate([slow.process(x[:, :300]), slow.process(x[:, 300:])], axis=1), whole, atol=1e-12
    )


def test_prime_removes_startup_transient():
    f = lowpass(15, 256)
    f.prime(np.array([0.5]))
    y = f.process(np.full(100, 0.5))
    assert np.allclose(y, 0.5)


def test_band_checks_name_the_rate():
    with pytest.raises(SamplingRateError, match="sampling rate above"):
        lowpass(40, 50)
    with pytest.raises(SamplingRateError):
        highpass(0, 100)
    assert bandpass(10, 100, 50).n_channels == 1  # upper edge clipped below Nyquist


def test_causal_delay():
    d = CausalDelay(3)
    out = np.concatenate([d.lagged(np.arange(2.0)), d.lagged(np.arange(2.0, 7.0))])
    assert np.array_equal(out, [0, 0, 0, 0, 1, 2, 3])
