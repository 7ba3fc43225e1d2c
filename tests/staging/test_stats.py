"""Sleep statistics against hand-computed values and against YASA on real hypnograms."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from dreamlink.hypnogram import Hypnogram
from dreamlink.io.hypnogram_formats import read_hypnogram
from dreamlink.staging.stats import sleep_statistics
from tests.conftest import real_file


def test_hand_computed_hypnogram():
    # 2 W, N1, N2, N2, W (WASO), N3, R, R, W  -> 10 epochs of 30 s = 5 min
    hyp = Hypnogram(["W", "W", "N1", "N2", "N2", "W", "N3", "R", "R", "W"])
    s = sleep_statistics(hyp)
    assert s["TIB"] == 5.0
    assert s["SOL"] == 1.0  # two wake epochs
    assert s["SPT"] == 3.5  # epochs 2..8
    assert s["WASO"] == 0.5
    assert s["TST"] == 3.0
    assert s["N1"] == 0.5 and s["N2"] == 1.0 and s["N3"] == 0.5 and s["REM"] == 1.0
    assert s["Lat_REM"] == 3.5
    assert s["REM_latency"] == 2.5  # from sleep onset (AASM)
    assert s["SE"] == pytest.approx(60.0)
    assert s["SME"] == pytest.approx(100 * 3.0 / 3.5)
    assert s["%REM"] == pytest.approx(100 / 3)
    assert s["%W"] == pytest.approx(40.0)


def test_no_sleep_gives_nan_latencies():
    s = sleep_statistics(Hypnogram(["W"] * 6))
    assert s["TST"] == 0.0 and s["SE"] == 0.0
    assert math.isnan(s["SOL"]) and math.isnan(s["WASO"]) and math.isnan(s["REM_latency"])


def _yasa_stats(hyp: Hypnogram) -> dict:
    import yasa

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return yasa.sleep_statistics(hyp.as_ints(), sf_hyp=1 / hyp.epoch_sec)


@pytest.mark.parametrize(
    "rel",
    [
        "yasa/data_full_6hrs_100Hz_hypno_30s.txt",
        "yasa/sub-02_hypno_30s.txt",
        "dreams-spindles/Hypnogram_excerpt4.txt",
        "dreams-rems/Hypnogram_excerpt4.txt",
        "dynamo/night_stages.csv",
    ],
)
def test_matches_yasa_on_real_hypnograms(shared_data, rel):
    hyp = read_hypnogram(real_file(shared_data, rel))
    if hyp.epoch_sec != 30:
        hyp = hyp.resample(30.0)
    ours = sleep_statistics(hyp)
    theirs = _yasa_stats(hyp)
    for key, val in theirs.items():
        assert key in ours
        np.testing.assert_allclose(ours[key], val, rtol=1e-9, equal_nan=True, err_msg=key)
    assert ours["TST"] > 0
