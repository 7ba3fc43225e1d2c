"""REM density: the causal counter against yasa.rem_detect on real REM EOG."""

from __future__ import annotations

import numpy as np

from dreamlink.detect import Calibration, detect_array
from dreamlink.detect.rems import compare_with_yasa, rem_density
from dreamlink.sources.base import SourceInfo
from tests.conftest import real_file


def test_rem_density_bins():
    assert rem_density([1, 2, 61, 179], 180.0).tolist() == [2, 1, 1]


def test_density_agrees_with_yasa_on_real_rem(shared_data):
    d = np.load(real_file(shared_data, "yasa/eog_rem_256Hz_first600s.npz"))
    x = np.asarray(d["data"], float) * 1e-6
    info = SourceInfo(("LOC", "ROC"), ("eog", "eog"), float(d["sf"]))
    res = detect_array(x, info, "LOC", "ROC", calibration=Calibration(600e-6), chunk_sec=2.0)
    rems = [e.onset for e in res.events if e.trial_type == "rem"]
    dens = [e for e in res.events if e.trial_type == "rem_density"]
    assert len(dens) == 10 and sum(e.value for e in dens) == len(rems)
    cmp = compare_with_yasa(x[0], x[1], info.sfreq, rems)
    assert cmp["n_yasa"] > 100
    assert abs(cmp["n_dreamlink"] - cmp["n_yasa"]) / cmp["n_yasa"] < 0.25
    assert cmp["r"] > 0.9
