"""The fast spectral features and the distilled model behind the ``dreamlink-fast`` engine."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sp_signal

from dreamlink.hypnogram import STAGES
from dreamlink.staging import agreement, fastfeatures, features, stage_array
from dreamlink.staging.student import SoftmaxStudent, default_student_path, fit_student, load_student


def test_periodogram_matches_scipy(dreams_ex2):
    rec = dreams_ex2
    freqs, psd, td = fastfeatures.epoch_spectra(rec.data[0], rec.sfreq)
    n = int(30 * rec.sfreq)
    ep = rec.data[0][: psd.shape[0] * n].reshape(-1, n) * 1e6
    f, p = sp_signal.periodogram(ep, rec.sfreq, window="hann", detrend="constant", axis=1)
    k0 = 14  # first 1/30-Hz bin of the 0.5-Hz group
    groups = p[:, k0 : k0 + 6 * psd.shape[1]].reshape(len(p), -1, 6).mean(axis=2)
    np.testing.assert_allclose(psd, groups, rtol=1e-8)
    np.testing.assert_allclose(freqs, f[k0 : k0 + 6 * psd.shape[1]].reshape(-1, 6).mean(axis=1))
    # the band-limited epoch keeps the 0.5-30 Hz variance (a brick-wall band: a little more than a
    # 4th-order Butterworth band-pass passes near its edges)
    b, a = sp_signal.butter(4, [0.5, 30.0], btype="bandpass", fs=rec.sfreq)
    ref = sp_signal.filtfilt(b, a, ep, axis=1)
    ratio = td.std(axis=1) / ref.std(axis=1)
    assert td.shape == (60, 1920) and np.all((ratio > 0.95) & (ratio < 1.2))


def test_smoothing_matches_the_yasa_feature_pipeline():
    v = np.random.default_rng(0).normal(size=(50, 4))
    np.testing.assert_allclose(fastfeatures.centred_triang(v), features.centred_triang_smooth(v), atol=1e-12)
    np.testing.assert_allclose(fastfeatures.trailing_mean(v), features.trailing_mean(v), atol=1e-12)


def test_non_integer_samples_per_epoch(dreams_ex2):
    # 30 s at 200 Hz resampled to 128.3 Hz: epochs are indexed by their start, one row each
    x = sp_signal.resample(dreams_ex2.data[0][: 200 * 600], int(128.3 * 600))
    freqs, psd, td = fastfeatures.epoch_spectra(x, 128.3)
    assert psd.shape == (20, 149) and td.shape == (20, 1920) and np.all(np.isfinite(psd))


def test_student_fit_save_load(tmp_path, dreams_ex2):
    """A student distilled from YASA's model on one real excerpt reproduces its teacher there."""
    from dreamlink.staging.train import teacher_set

    X, P = teacher_set(dreams_ex2.data[0], dreams_ex2.sfreq)
    names = fastfeatures.feature_names(["eeg"])
    st = fit_student(X, P, names, l2=1e-3)
    agree = np.mean(st.predict_proba(X).argmax(axis=1) == P.argmax(axis=1))
    assert agree > 0.9
    back = SoftmaxStudent.load(st.save(tmp_path / "s.csv"))
    np.testing.assert_allclose(back.predict_proba(X), st.predict_proba(X), atol=1e-6)


def test_shipped_student_is_small_and_versioned():
    path = default_student_path(["eeg"])
    assert path.is_file() and "_0." in path.name and path.stat().st_size < 100_000
    st = load_student(("eeg",))
    assert st.features == fastfeatures.feature_names(["eeg"])
    assert st.weights.shape == (len(st.features), len(STAGES))


def test_fast_engine_on_real_excerpt(dreams_ex2):
    rec = dreams_ex2
    hyp = stage_array(rec.data, rec.sfreq, rec.ch_names, eeg=rec.ch_names[0], engine="dreamlink-fast")
    assert hyp.n_epochs == 60
    np.testing.assert_allclose(hyp.proba.sum(axis=1), 1.0, atol=1e-6)
    res = agreement(rec.hypnogram, hyp)
    assert res.accuracy > 0.8 and res.kappa > 0.6  # N2/N3 excerpt; measured 0.88 / 0.77


def test_fast_engine_needs_a_model_for_the_channels(dreams_ex2):
    from dreamlink.errors import ConfigError

    x = np.vstack([dreams_ex2.data[:, : 200 * 600]] * 2)
    with pytest.raises(ConfigError, match="no distilled model for channels eeg\\+eog"):
        stage_array(x, 200.0, ["A", "B"], eeg="A", eog="B", engine="dreamlink-fast")
