"""dreamlink's vectorised features against AntroPy/YASA on real EEG."""

from __future__ import annotations

import antropy as ant
import numpy as np

from dreamlink.staging import features as feat


def _epochs(rec, n=4):
    x = feat.bandpass_resample(rec.data, rec.sfreq)[0]
    return feat.epochs_of(x)[:n]


def test_per_epoch_features_match_antropy(dreams_ex2):
    ep = _epochs(dreams_ex2)
    feats = feat.epoch_features(ep, "eeg")
    perm = [ant.perm_entropy(e, normalize=True) for e in ep]
    np.testing.assert_allclose(feats["eeg_perm"], perm, rtol=1e-9)
    np.testing.assert_allclose(feats["eeg_higuchi"], [ant.higuchi_fd(e) for e in ep], rtol=1e-9)
    np.testing.assert_allclose(feats["eeg_petrosian"], ant.petrosian_fd(ep, axis=1), rtol=1e-9)
    hmob, hcomp = ant.hjorth_params(ep, axis=1)
    np.testing.assert_allclose(feats["eeg_hmob"], hmob, rtol=1e-9)
    np.testing.assert_allclose(feats["eeg_hcomp"], hcomp, rtol=1e-9)
    np.testing.assert_allclose(feats["eeg_nzc"], ant.num_zerocross(ep, axis=1))


def test_feature_table_tracks_yasa(dreams_ex2):
    import mne
    import yasa

    rec = dreams_ex2
    raw = mne.io.RawArray(rec.data, mne.create_info(rec.ch_names, rec.sfreq, "eeg"), verbose=False)
    theirs = yasa.SleepStaging(raw, rec.ch_names[0]).get_features()
    x = feat.bandpass_resample(rec.data, rec.sfreq)
    ours = feat.offline_feature_table(feat.raw_features(list(x), ["eeg"]))
    assert list(ours.columns) == list(theirs.columns)
    for col in theirs.columns:
        if col in ("time_hour", "time_norm"):
            np.testing.assert_allclose(ours[col], theirs[col], rtol=1e-6)
            continue
        r = np.corrcoef(ours[col], theirs[col])[0, 1]
        assert r > 0.98, (col, r)


def test_welch_median_equals_scipy(dreams_ex2):
    from scipy import signal as sp_signal

    ep = _epochs(dreams_ex2, n=20)
    f_ours, p_ours = feat.welch_median(ep, feat.FEATURE_SFREQ, 500)
    f_sp, p_sp = sp_signal.welch(ep, feat.FEATURE_SFREQ, window="hamming", nperseg=500, average="median")
    np.testing.assert_allclose(f_ours, f_sp)
    np.testing.assert_allclose(p_ours, p_sp, rtol=2e-5, atol=1e-6 * p_sp.max())
    # an even number of segments takes the mean of the two middle periodograms, as np.median
    f_ours, p_ours = feat.welch_median(ep[:, :2750], feat.FEATURE_SFREQ, 500)
    _, p_sp = sp_signal.welch(
        ep[:, :2750], feat.FEATURE_SFREQ, window="hamming", nperseg=500, average="median"
    )
    np.testing.assert_allclose(p_ours, p_sp, rtol=2e-5, atol=1e-6 * p_sp.max())


def test_fft_resampling_matches_polyphase_then_filter(dreams_ex2):
    """The one-FFT resample + band-pass agrees with scipy's polyphase resampling followed by MNE's
    zero-phase FIR (the textbook two-step path) inside the pass band, away from the edges."""
    import mne
    from scipy import signal as sp_signal

    data = dreams_ex2.data[:, : int(600 * dreams_ex2.sfreq)]
    ours = feat.bandpass_resample(data, dreams_ex2.sfreq)[0]
    x = sp_signal.resample_poly(data[0] * 1e6, 1, 2)
    ref = mne.filter.filter_data(x, feat.FEATURE_SFREQ, 0.4, 30.0, verbose=False)
    assert ours.shape == ref.shape
    core = slice(1000, -1000)
    err = np.sqrt(np.mean((ours[core] - ref[core]) ** 2)) / np.sqrt(np.mean(ref[core] ** 2))
    assert err < 0.01, err


def test_resampling_keeps_length_for_awkward_rates():
    rng = np.random.default_rng(0)
    for sfreq in (128.0, 256.0, 250.0, 173.61, 1000.0):
        n = int(sfreq * 95.3)
        out = feat.bandpass_resample(rng.normal(size=(2, n)) * 1e-5, sfreq)
        assert out.shape == (2, int(np.floor(n * 100 / sfreq + 1e-9))), sfreq
        assert np.all(np.isfinite(out))


def test_resampling_keeps_amplitude_and_timing_of_a_10_hz_wave():
    # exact-bin FFT path (256, 200 Hz) and the polyphase fallback (173.61 Hz, whose rate ratio is
    # approximated to 1e-5: a slow phase drift of ~2 µV over 2 min at 10 Hz)
    for sfreq, tol in ((256.0, 1.0), (200.0, 1.0), (173.61, 3.0)):
        t = np.arange(int(sfreq * 120)) / sfreq
        out = feat.bandpass_resample((50e-6 * np.sin(2 * np.pi * 10 * t))[None, :], sfreq)[0]
        expected = 50 * np.sin(2 * np.pi * 10 * np.arange(out.size) / feat.FEATURE_SFREQ)
        core = slice(1000, -1000)
        np.testing.assert_allclose(out[core], expected[core], atol=tol, err_msg=str(sfreq))
