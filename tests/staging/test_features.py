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
