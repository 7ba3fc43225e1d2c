"""Shipped model files: small, versioned, reproducible by the training command; HMM smoothing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dreamlink.hypnogram import STAGES
from dreamlink.staging.causal import default_prior_path, load_default_prior
from dreamlink.staging.hmm import default_transitions_path, forward_backward, load_transitions


def test_models_are_small_and_versioned():
    folder = default_prior_path().parent
    files = [p for p in folder.iterdir() if p.suffix == ".csv"]
    assert {p.name for p in files} >= {default_prior_path().name, default_transitions_path().name}
    assert sum(p.stat().st_size for p in folder.iterdir() if p.is_file()) < 5 * 1024 * 1024
    assert all("_0." in p.name for p in files)


def test_training_command_reproduces_shipped_models(shared_data):
    from dreamlink.staging.datasets import load_labelled_recordings
    from dreamlink.staging.hmm import fit_transitions
    from dreamlink.staging.train import fit_prior_from_recordings, transition_hypnograms

    recs, _ = load_labelled_recordings(shared_data)
    prior = fit_prior_from_recordings(recs)
    shipped = load_default_prior()
    assert shipped.n_recordings == len(recs)
    pd.testing.assert_frame_equal(prior.stats, shipped.stats.loc[prior.stats.index], rtol=1e-4,
                                  check_names=False)
    trans = fit_transitions(transition_hypnograms(shared_data)).to_numpy()
    np.testing.assert_allclose(trans, load_transitions(), atol=1e-6)


def test_hmm_smooths_an_isolated_flip():
    trans = load_transitions()
    assert trans.shape == (5, 5)
    np.testing.assert_allclose(trans.sum(axis=1), 1.0)
    p = np.full((9, 5), 0.05)
    p[:, 2] = 0.8  # N2 throughout...
    p[4] = [0.05, 0.05, 0.4, 0.45, 0.05]  # ...with one weakly N3 epoch in the middle
    post = forward_backward(p, trans)
    assert np.all(np.asarray(STAGES)[post.argmax(axis=1)] == "N2")
    np.testing.assert_allclose(post.sum(axis=1), 1.0)


def test_calibration_leaves_rem_untouched_and_shifts_the_rest():
    from dreamlink.staging.calibration import StageCalibration, load_default_calibration

    cal = StageCalibration(np.array([0.0, 0.0, np.log(2.0), 0.0]))
    p = np.array([[0.2, 0.2, 0.2, 0.2, 0.2], [0.0, 0.0, 0.0, 0.0, 1.0]])
    q = cal.apply(p)
    # N2's odds against each other non-REM stage double; REM keeps its probability
    np.testing.assert_allclose(q[0], [0.16, 0.16, 0.32, 0.16, 0.2])
    np.testing.assert_allclose(q[1, 4], 1.0)
    np.testing.assert_allclose(q.sum(axis=1), 1.0)
    shipped = load_default_calibration()
    assert set(shipped) == {"offline", "settled", "provisional", "fast"}
    assert all(c.bias.shape == (4,) and c.n_epochs > 400 for c in shipped.values())


def test_calibration_fit_recovers_a_known_shift(shared_data):
    """On real expert stages, probabilities made from the labels then biased are un-biased by the fit."""
    from dreamlink.io.hypnogram_formats import read_hypnogram
    from dreamlink.staging.calibration import StageCalibration, fit_calibration
    from tests.conftest import real_file

    hyp = read_hypnogram(real_file(shared_data, "yasa/data_full_6hrs_100Hz_hypno_30s.txt"))
    keep = hyp.stages != "?"
    y = hyp.stages[keep]
    onehot = np.array([[0.6 if s == t else 0.1 for t in STAGES] for s in y])
    biased = StageCalibration(np.array([0.0, 0.0, -2.5, 0.0])).apply(onehot)  # N2 no longer wins
    fitted = fit_calibration([biased], [y], penalty=0.0)
    restored = fitted.apply(biased)
    acc_before = np.mean(np.asarray(STAGES)[biased.argmax(1)] == y)
    acc_after = np.mean(np.asarray(STAGES)[restored.argmax(1)] == y)
    assert acc_before < 0.7 and acc_after > 0.95
    assert fitted.bias[2] - fitted.bias[[0, 1, 3]].mean() > 0.5  # N2 pushed back up
