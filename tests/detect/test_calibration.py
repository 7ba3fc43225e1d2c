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
    hold_advice,
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


@pytest.mark.parametrize("hold", [0.4, 1.0])
def test_calibration_measures_the_hold_and_advises_a_short_one(hold):
    looks = [Gesture(-1, hold), Gesture(1, hold)] * 4 + [Gesture(0, 1.5)]
    e1, e2, _ = synth.eog(synth.centre(2) + looks, seed=5, gain=1.0, jitter=0.05)
    cal = calibrate(e1 - e2, synth.FS, e1, e2)
    # A gesture's time includes its saccade (tens of ms): the fixation is a little shorter.
    assert cal.hold == pytest.approx(hold, abs=0.15)
    advice = hold_advice(cal)
    if hold < 0.9:
        assert advice is not None and f"{cal.hold:.2f} s" in advice and "about 1 s" in advice
    else:
        assert advice is None


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
    cal = Calibration(612e-6, "calibration", 7, 0.08, 256.0, ("E1", "E2"), hold=0.85)
    path = cal.save(tmp_path / "cal.json")
    data = json.loads(path.read_text())
    assert data["format"] == "dreamlink-eog-calibration" and data["swing_uv"] == 612.0
    assert data["hold_s"] == 0.85
    back = load_calibration(path)
    assert back.swing == pytest.approx(612e-6) and back.channels == ("E1", "E2") and back.hold == 0.85
    # A file written before holds were measured reads with an unknown hold, and gets no advice.
    del data["hold_s"]
    path.write_text(json.dumps(data))
    older = load_calibration(path)
    assert older.hold == 0.0 and hold_advice(older) is None


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "not found"),
        ("{not json", "not a calibration JSON"),
        ('{"swing_uv": 500}', "not a dreamlink calibration"),
        ('{"format": "dreamlink-eog-calibration", "swing_uv": 1e9}', "plausible"),
        ('{"format": "dreamlink-eog-calibration", "swing_uv": "big"}', "number"),
        ('{"format": "dreamlink-eog-calibration", "swing_uv": 500, "hold_s": "slow"}', "hold_s must be"),
        ('{"format": "dreamlink-eog-calibration", "swing_uv": 500, "hold_s": 60}', "hold_s 60"),
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
