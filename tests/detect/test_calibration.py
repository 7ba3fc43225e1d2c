"""Calibration: a good awake routine is trusted, bad ones are refused with a reason; files round-trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dreamlink.detect.calibration import (
    Calibration,
    CalibrationError,
    calibrate,
    estimate_swing,
    load_calibration,
)
from dreamlink.errors import InputFileError
from dreamlink.link.eye_code import Gesture
from tests.conftest import real_file
from tests.detect import synth

LOOK_4X = [Gesture(-1, 1.0), Gesture(1, 1.0)] * 4 + [Gesture(0, 1.5)]


def test_good_calibration_recovers_the_swing():
    e1, e2, _ = synth.eog(synth.centre(2) + LOOK_4X, seed=1, gain=1.0, jitter=0.05)
    cal = calibrate(e1 - e2, synth.FS, e1, e2, channels=("E1", "E2"))
    assert cal.swing == pytest.approx(synth.SWING, rel=0.1)
    assert cal.n_swings >= 6
    assert cal.method == "calibration"


def test_refuses_flat():
    with pytest.raises(CalibrationError, match="flat"):
        calibrate(np.zeros(int(20 * synth.FS)), synth.FS)


def test_refuses_no_sweeps():
    noise = np.random.default_rng(0).normal(0, 5e-6, int(20 * synth.FS))
    with pytest.raises(CalibrationError, match="no eye sweeps|swings found"):
        calibrate(noise, synth.FS)


def test_refuses_clipped():
    e1, e2, _ = synth.eog(synth.centre(2) + LOOK_4X, seed=2, gain=1.0)
    h = np.clip(e1 - e2, -200e-6, 200e-6)
    with pytest.raises(CalibrationError, match="clipped"):
        calibrate(h, synth.FS)


def test_refuses_inconsistent_amplitudes():
    targets = [-1, 1, -0.15, 0.15, -1, 1, -0.15, 0.15, 0]  # full looks, then barely any
    gestures = [Gesture(t, 1.0) for t in targets]
    e1, e2, _ = synth.eog(synth.centre(2) + gestures, seed=3, gain=1.0, jitter=0.0)
    with pytest.raises(CalibrationError, match="inconsistent|swings found"):
        calibrate(e1 - e2, synth.FS)


def test_refuses_non_alternating():
    gestures = []
    for _ in range(5):
        gestures += [Gesture(-1, 0.8), Gesture(0, 0.8)]  # only looks to the left
    e1, e2, _ = synth.eog(synth.centre(2) + gestures, seed=4, gain=1.0, jitter=0.0)
    with pytest.raises(CalibrationError, match="only to the left"):
        calibrate(e1 - e2, synth.FS)


def test_refuses_too_short():
    with pytest.raises(CalibrationError, match="long"):
        calibrate(np.ones(100), synth.FS)


def test_save_and_load_round_trip(tmp_path):
    cal = Calibration(612e-6, "calibration", 7, 0.08, 256.0, ("E1", "E2"))
    path = cal.save(tmp_path / "cal.json")
    data = json.loads(path.read_text())
    assert data["format"] == "dreamlink-eog-calibration" and data["swing_uv"] == 612.0
    back = load_calibration(path)
    assert back.swing == pytest.approx(612e-6) and back.channels == ("E1", "E2")


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "not found"),
        ("{not json", "not a calibration JSON"),
        ('{"swing_uv": 500}', "not a dreamlink calibration"),
        ('{"format": "dreamlink-eog-calibration", "swing_uv": 1e9}', "plausible"),
        ('{"format": "dreamlink-eog-calibration", "swing_uv": "big"}', "number"),
    ],
)
def test_load_rejects_bad_files(tmp_path, content, match):
    path = tmp_path / "cal.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputFileError, match=match):
        load_calibration(path)


def test_estimate_from_real_rem_says_how(shared_data):
    d = np.load(real_file(shared_data, "yasa/eog_rem_256Hz_first600s.npz"))
    loc, roc = d["data"][0] * 1e-6, d["data"][1] * 1e-6
    cal = estimate_swing(loc - roc, float(d["sf"]), loc, roc)
    assert cal.method == "estimated"
    assert 300e-6 <= cal.swing <= 3000e-6
    assert "estimated from" in cal.note and "eye movements" in cal.note
