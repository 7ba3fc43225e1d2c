"""Agreement metrics against hand-computed values and scikit-learn on real hypnograms."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score

from dreamlink.hypnogram import STAGES, Hypnogram
from dreamlink.io.hypnogram_formats import read_hypnogram
from dreamlink.staging.agreement import agreement, pooled_agreement
from tests.conftest import real_file


def test_hand_computed():
    ref = Hypnogram(["W", "W", "N2", "N2"])
    pred = Hypnogram(["W", "N2", "N2", "N2"])
    a = agreement(ref, pred)
    assert a.n_epochs == 4 and a.accuracy == 0.75
    # po = 0.75; pe = (2/4*1/4) + (2/4*3/4) = 0.5 -> kappa = 0.5
    assert a.kappa == pytest.approx(0.5)
    assert a.f1["W"] == pytest.approx(2 / 3)  # P=1, R=0.5
    assert a.f1["N2"] == pytest.approx(0.8)  # P=2/3, R=1
    assert np.isnan(a.f1["R"])  # absent from both
    assert a.macro_f1 == pytest.approx((2 / 3 + 0.8) / 2)
    assert a.confusion.loc["W", "N2"] == 1 and a.confusion.loc["N2", "N2"] == 2


def test_unscored_and_offset_epochs_are_matched_by_onset():
    ref = Hypnogram(["?", "W", "N1", "N2"], start=0.0)
    pred = Hypnogram(["W", "N1", "N3"], start=30.0)
    a = agreement(ref, pred)
    assert a.n_epochs == 3 and a.accuracy == pytest.approx(2 / 3)


def test_matches_sklearn_on_real_hypnograms(shared_data):
    # two real expert hypnograms of different recordings, compared epoch by epoch
    a5 = read_hypnogram(real_file(shared_data, "dreams-rems/Hypnogram_excerpt1.txt")).resample(30.0)
    b5 = read_hypnogram(real_file(shared_data, "dreams-rems/Hypnogram_excerpt2.txt")).resample(30.0)
    n = min(a5.n_epochs, b5.n_epochs)
    ref, pred = Hypnogram(a5.stages[:n]), Hypnogram(b5.stages[:n])
    res = agreement(ref, pred)
    keep = (ref.stages != "?") & (pred.stages != "?")
    r, p = ref.stages[keep], pred.stages[keep]
    assert res.n_epochs == keep.sum()
    assert res.accuracy == pytest.approx(accuracy_score(r, p))
    assert res.kappa == pytest.approx(cohen_kappa_score(r, p))
    present = [s for s in STAGES if s in set(r) | set(p)]
    assert res.macro_f1 == pytest.approx(f1_score(r, p, labels=present, average="macro", zero_division=0))
    np.testing.assert_array_equal(res.confusion.to_numpy(), confusion_matrix(r, p, labels=list(STAGES)))


def test_pooled_is_epoch_weighted(shared_data):
    h = read_hypnogram(real_file(shared_data, "yasa/sub-02_hypno_30s.txt"))
    shifted = Hypnogram(np.roll(h.stages, 1))
    pooled = pooled_agreement([(h, h), (h, shifted)])
    direct = agreement(Hypnogram(np.concatenate([h.stages, h.stages])),
                       Hypnogram(np.concatenate([h.stages, shifted.stages])))
    assert pooled.kappa == pytest.approx(direct.kappa)
    assert pooled.n_epochs == 2 * h.n_epochs
