"""dreamlink's forest evaluator against LightGBM itself, on real features and on edge cases."""

from __future__ import annotations

import lightgbm
import numpy as np
import pytest

from dreamlink.staging import engines
from dreamlink.staging import features as feat
from dreamlink.staging.forest import forest_from_booster, forest_from_model_string


def test_yasa_model_equals_lightgbm_on_real_features(dreams_ex2):
    clf = engines.load_yasa_classifier(("eeg",))
    forest = engines.load_yasa_forest(("eeg",))
    assert forest.n_trees == clf.booster_.num_trees()
    assert forest.heap is not None  # YASA's trees are shallow: the branch-free layout is used
    x = feat.bandpass_resample(dreams_ex2.data, dreams_ex2.sfreq)
    matrix, names = feat.offline_feature_matrix(*feat.raw_feature_arrays(list(x), ["eeg"]))
    pos = {n: i for i, n in enumerate(names)}
    X = matrix[:, [pos[n] for n in clf.feature_name_]].astype(np.float64)
    X[3, 5] = np.nan  # LightGBM reads NaN as 0 for these splits
    np.testing.assert_allclose(forest.predict(X), clf.booster_.predict(X), rtol=0, atol=1e-12)
    # one row at a time, as the causal stager calls it
    np.testing.assert_allclose(forest.predict(X[:1]), clf.booster_.predict(X[:1]), rtol=0, atol=1e-12)


def _train(X, y, **params) -> lightgbm.Booster:
    base = {"objective": "multiclass", "num_class": 3, "num_leaves": 15, "verbose": -1,
            "min_data_in_leaf": 5, "num_threads": 1}
    base.update(params)
    return lightgbm.train(base, lightgbm.Dataset(X, y), num_boost_round=20)


def test_missing_values_and_deep_trees_follow_lightgbm():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(600, 6))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0.5)
    X[rng.random(X.shape) < 0.1] = np.nan  # NaN-aware splits (missing type NaN, default directions)
    X[rng.random(X.shape) < 0.05] = 0.0
    deep = {"num_leaves": 200, "max_depth": 14, "min_data_in_leaf": 1}
    for params in ({}, {"zero_as_missing": True}, deep):
        booster = _train(X, y, **params)
        forest = forest_from_booster(booster)
        Xt = rng.normal(size=(200, 6))
        Xt[rng.random(Xt.shape) < 0.2] = np.nan
        Xt[rng.random(Xt.shape) < 0.1] = 0.0
        np.testing.assert_allclose(
            forest.predict(Xt), booster.predict(Xt), rtol=0, atol=1e-12, err_msg=str(params)
        )


def test_binary_objective_returns_raw_scores():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 3))
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "num_threads": 1},
                             lightgbm.Dataset(X, X[:, 0] * 2 + X[:, 1]), num_boost_round=10)
    forest = forest_from_booster(booster)
    np.testing.assert_allclose(forest.predict(X), booster.predict(X), rtol=0, atol=1e-12)


def test_wrong_shape_and_categorical_are_refused():
    forest = engines.load_yasa_forest(("eeg",))
    with pytest.raises(ValueError, match="must be"):
        forest.predict(np.zeros((2, 3)))
    rng = np.random.default_rng(5)
    X = np.column_stack([rng.integers(0, 5, 400), rng.normal(size=400)])
    booster = lightgbm.train({"objective": "regression", "verbose": -1, "num_threads": 1,
                              "min_data_per_group": 5, "cat_smooth": 1},
                             lightgbm.Dataset(X, X[:, 0] * 1.0, categorical_feature=[0]), num_boost_round=5)
    with pytest.raises(ValueError, match="categorical"):
        forest_from_model_string(booster.model_to_string())


def test_both_layouts_without_missing_value_splits():
    """Trained without NaN: shallow trees take the branch-free heap walk, deep ones the node walk."""
    rng = np.random.default_rng(6)
    X = rng.normal(size=(800, 5))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1)
    Xt = rng.normal(size=(150, 5))
    Xt[::7, 1] = np.nan  # read as 0 by splits of missing type None
    for params, heap in (({"num_leaves": 8, "max_depth": 3}, True),
                         ({"num_leaves": 400, "max_depth": 16, "min_data_in_leaf": 1}, False)):
        booster = _train(X, y, **params)
        forest = forest_from_booster(booster)
        assert not forest.missing.any()
        assert (forest.heap is not None) is heap
        np.testing.assert_allclose(forest.predict(Xt), booster.predict(Xt), rtol=0, atol=1e-12)
