"""`dreamlink detect`: events table from an EDF, calibration file flow, and fix-it errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dreamlink.detect import Calibration
from dreamlink.events import read_events_tsv
from dreamlink.io.edf import write_edf
from dreamlink.link import emg_code, eye_code
from dreamlink.link.eye_code import Gesture
from tests.detect import synth


def _whole_seconds(data: np.ndarray) -> np.ndarray:
    """Pad with the last sample to a whole number of seconds (EDF data records of 1 s)."""
    n = int(np.ceil(data.shape[1] / synth.FS) * synth.FS)
    return np.pad(data, ((0, 0), (0, n - data.shape[1])), mode="edge")


@pytest.fixture(scope="module")
def night_edf(tmp_path_factory):
    gestures = (
        synth.centre(3) + eye_code.lrlr() + synth.centre(6) + eye_code.count_answer(3) + synth.centre(40)
    )
    e1, e2, _ = synth.eog(gestures, seed=31)
    emg = synth.emg(len(e1), emg_code.yes_no(True), 8.0, seed=32)
    path = tmp_path_factory.mktemp("detect") / "night.edf"
    write_edf(
        path,
        _whole_seconds(np.vstack([e1, e2, emg])),
        synth.FS,
        ["E1-M2", "E2-M2", "EMG"],
        ["eog", "eog", "emg"],
    )
    return path


@pytest.fixture(scope="module")
def calibration_edf(tmp_path_factory):
    looks = [Gesture(-1, 1.0), Gesture(1, 1.0)] * 4 + [Gesture(0, 2.0)]
    e1, e2, _ = synth.eog(synth.centre(2) + looks, seed=33, gain=1.0, jitter=0.05)
    path = tmp_path_factory.mktemp("cal") / "awake.edf"
    write_edf(path, _whole_seconds(np.vstack([e1, e2])), synth.FS, ["E1-M2", "E2-M2"], ["eog", "eog"])
    return path


def test_calibrate_advises_a_longer_hold(run_cli, tmp_path):
    looks = [Gesture(-1, 0.45), Gesture(1, 0.45)] * 4 + [Gesture(0, 2.0)]
    e1, e2, _ = synth.eog(synth.centre(2) + looks, seed=34, gain=1.0, jitter=0.05)
    edf = tmp_path / "quick_looks.edf"
    write_edf(edf, _whole_seconds(np.vstack([e1, e2])), synth.FS, ["E1-M2", "E2-M2"], ["eog", "eog"])
    cal = tmp_path / "cal.json"
    code, stdout, stderr = run_cli(
        "detect", str(edf), "--eog", "E1-M2", "--eog-right", "E2-M2", "--calibrate", "--out", str(cal)
    )
    assert code == 0, stderr
    assert json.loads(cal.read_text())["hold_s"] < 0.6
    assert "advice:" in stderr and "about 1 s" in stderr


def test_detect_writes_events_and_says_amplitude_was_estimated(run_cli, night_edf, tmp_path):
    out = tmp_path / "events.tsv"
    args = ["detect", str(night_edf), "--eog", "E1-M2", "--eog-right", "E2-M2", "--emg", "EMG"]
    # By default EMG codes are read in REM sleep only; this 1-min file has no REM context.
    code, stdout, stderr = run_cli(*args, "--out", str(tmp_path / "gated.tsv"))
    assert code == 0, stderr
    assert "not read as codes" in stdout
    assert "yes" not in [str(e.value) for e in read_events_tsv(tmp_path / "gated.tsv")]
    code, stdout, stderr = run_cli(*args, "--emg-gate", "off", "--out", str(out))
    assert code == 0, stderr
    assert "ESTIMATED" in stdout
    events = read_events_tsv(out)
    header = out.read_text().splitlines()[0].split("\t")
    assert header[:5] == ["onset", "duration", "trial_type", "value", "confidence"]
    kinds = {e.trial_type for e in events}
    assert {"eye_sweep", "message", "emg_twitch", "rem_density"} <= kinds
    assert "yes" in [str(e.value) for e in events if e.trial_type == "message"]
    # NB: this short file holds only deliberate movements, so the estimate (made for nights full of
    # natural movements) is high; the calibrated run below reads the eye messages.


def test_calibrate_then_detect(run_cli, calibration_edf, night_edf, tmp_path):
    cal = tmp_path / "cal.json"
    code, stdout, stderr = run_cli(
        "detect",
        str(calibration_edf),
        "--eog",
        "E1-M2",
        "--eog-right",
        "E2-M2",
        "--calibrate",
        "--out",
        str(cal),
    )
    assert code == 0, stderr
    swing = json.loads(cal.read_text())["swing_uv"]
    assert swing == pytest.approx(synth.SWING * 1e6, rel=0.15)
    # The person held each side 1 s: the hold is reported, and no advice to hold longer is given.
    assert json.loads(cal.read_text())["hold_s"] == pytest.approx(1.0, abs=0.15)
    assert "hold" in stdout and "advice" not in stderr
    out = tmp_path / "events.tsv"
    code, stdout, stderr = run_cli(
        "detect",
        str(night_edf),
        "--eog",
        "E1-M2",
        "--eog-right",
        "E2-M2",
        "--calibration",
        str(cal),
        "--out",
        str(out),
    )
    assert code == 0, stderr
    assert "ESTIMATED" not in stdout and "from" in stdout
    events = read_events_tsv(out)
    assert sum(e.trial_type == "lrlr" for e in events) >= 3  # marker + the count's two frames
    assert [e.value for e in events if e.trial_type == "message"] == [3]


def test_single_horizontal_channel(run_cli, night_edf, tmp_path):
    out = tmp_path / "h.tsv"
    code, _, stderr = run_cli("detect", str(night_edf), "--eog", "E1-M2", "--out", str(out))
    assert code == 0, stderr
    assert out.is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--eog", "LOC", "--out", "{tmp}/e.tsv"], "channel 'LOC' not found"),
        (["--eog", "E1-M2", "--eog-right", "ROC", "--out", "{tmp}/e.tsv"], "channel 'ROC' not found"),
        (
            ["--eog", "E1-M2", "--calibration", "{tmp}/none.json", "--out", "{tmp}/e.tsv"],
            "calibration file not found",
        ),
        (["--eog", "E1-M2", "--out", "{tmp}/e.json"], "events table"),
        (["--eog", "E1-M2", "--calibrate", "--out", "{tmp}/e.tsv"], ".json"),
        (["--eog", "E1-M2", "--words", "Y#S,NO", "--out", "{tmp}/e.tsv"], "no Morse code for '#'"),
        (["--eog", "E1-M2", "--words", "YES", "--out", "{tmp}/e.tsv"], "at least two different words"),
        (
            ["--eog", "E1-M2", "--words", "YES,NO", "--eye-code", "count", "--out", "{tmp}/e.tsv"],
            "do not go with --eye-code count",
        ),
        (
            ["--eog", "E1-M2", "--words", "YES,NO", "--lexicon", "english", "--out", "{tmp}/e.tsv"],
            "--words already lists the answers",
        ),
        (
            ["--eog", "E1-M2", "--eye-code", "count", "--lexicon", "english", "--out", "{tmp}/e.tsv"],
            "does not go with --eye-code count",
        ),
        (["--eog", "E1-M2", "--lexicon", "klingon", "--out", "{tmp}/e.tsv"], "'klingon' is not 'english'"),
    ],
)
def test_bad_input_is_one_line(run_cli, night_edf, tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, stdout, stderr = run_cli("detect", str(night_edf), *args)
    assert code == 2
    assert message in stderr and "Traceback" not in stderr


def test_missing_file_and_missing_option(run_cli, tmp_path):
    code, _, stderr = run_cli(
        "detect", str(tmp_path / "nope.edf"), "--eog", "E1", "--out", str(tmp_path / "e.tsv")
    )
    assert code == 2 and "not found" in stderr
    code, _, stderr = run_cli("detect", str(tmp_path / "nope.edf"), "--out", str(tmp_path / "e.tsv"))
    assert code == 2 and "--eog" in stderr


def test_refused_calibration_says_why(run_cli, tmp_path):
    path = tmp_path / "flat.edf"
    write_edf(path, np.zeros((2, int(20 * synth.FS))), synth.FS, ["E1-M2", "E2-M2"], ["eog", "eog"])
    code, _, stderr = run_cli(
        "detect",
        str(path),
        "--eog",
        "E1-M2",
        "--eog-right",
        "E2-M2",
        "--calibrate",
        "--out",
        str(tmp_path / "cal.json"),
    )
    assert code == 2 and "flat" in stderr


def test_help_has_an_example(run_cli):
    code, stdout, _ = run_cli("detect", "--help")
    assert code == 0 and "--calibrate" in stdout and "dreamlink detect night.edf" in stdout


def test_words_read_a_message_as_the_known_word_that_fits(run_cli, calibration_edf, tmp_path):
    # "OK" from a sender who pauses after the O's first dash as long as between letters: read as
    # keyed ("TMK"), unless the answer is known to be one of --words.
    from tests.detect.test_eye_messages import _hesitant_ok

    e1, e2, _ = synth.eog(synth.centre(3) + _hesitant_ok() + synth.centre(10), seed=1)
    edf = tmp_path / "answer.edf"
    write_edf(edf, _whole_seconds(np.vstack([e1, e2])), synth.FS, ["E1-M2", "E2-M2"], ["eog", "eog"])
    cal = tmp_path / "cal.json"
    base = ["--eog", "E1-M2", "--eog-right", "E2-M2"]
    assert run_cli("detect", str(calibration_edf), *base, "--calibrate", "--out", str(cal))[0] == 0
    read = {}
    for name, extra in (("free", []), ("words", ["--words", "yes, no,ok"])):
        out = tmp_path / f"{name}.tsv"
        code, stdout, stderr = run_cli("detect", str(edf), *base, "--calibration", str(cal), *extra,
                                       "--out", str(out))
        assert code == 0, stderr
        read[name] = [e.value for e in read_events_tsv(out) if e.trial_type == "message"]
    assert read["words"] == ["OK"] and read["free"] != ["OK"]


def test_a_lexicon_reads_a_spoiled_word_and_says_what_was_spelled(run_cli, shared_data, tmp_path):
    # Real REM EOG with an "OK" whose first dash natural REMs spoiled: spelled "MK", read "OK".
    from tests.detect.test_eye_messages import real_rem_ok

    data, fs, _ = real_rem_ok(shared_data, seed=1)
    edf = tmp_path / "rem.edf"
    write_edf(edf, data[:, : int(data.shape[1] // fs * fs)], fs, ["E1", "E2"], ["eog", "eog"])
    cal = Calibration(800e-6).save(tmp_path / "cal.json")  # the sender's calibrated swing
    out = tmp_path / "text.tsv"
    code, stdout, stderr = run_cli("detect", str(edf), "--eog", "E1", "--eog-right", "E2", "--calibration",
                                   str(cal), "--eye-code", "morse", "--lexicon", "english", "--out", str(out))
    assert code == 0, stderr
    msgs = [e for e in read_events_tsv(out) if e.trial_type == "message"]
    assert [(m.value, m.data["spelled"]) for m in msgs] == [("OK", "MK")]
    assert "OK (spelled 'MK')" in stdout


def test_a_message_closed_early_is_listed_again_whole(run_cli, shared_data, tmp_path):
    # Real REM EOG with a "SIT" that a frame inside its "S" closed early ("I"): the table keeps both
    # readings at the same onset, the second saying which it revises, and the listing says so.
    from tests.detect.test_eye_messages import real_rem_ok

    data, fs, _ = real_rem_ok(shared_data, 1, "SIT", 420.0)
    edf = tmp_path / "rem.edf"
    write_edf(edf, data[:, : int(data.shape[1] // fs * fs)], fs, ["E1", "E2"], ["eog", "eog"])
    cal = Calibration(800e-6).save(tmp_path / "cal.json")
    out = tmp_path / "text.tsv"
    code, stdout, stderr = run_cli("detect", str(edf), "--eog", "E1", "--eog-right", "E2", "--calibration",
                                   str(cal), "--eye-code", "morse", "--out", str(out))
    assert code == 0, stderr
    msgs = [e for e in read_events_tsv(out) if e.trial_type == "message"]
    assert [(m.value, m.data.get("revises")) for m in msgs] == [("I", None), ("SIT", "I")]
    assert msgs[0].onset == msgs[1].onset
    assert "SIT (revises 'I')" in stdout


@pytest.fixture(scope="module")
def rem_edf(tmp_path_factory):
    """4 min of simulated REM sleep (E1-M2, E2-M2) and its hypnogram (first minute wake)."""
    from dreamlink.hypnogram import Hypnogram
    from dreamlink.io.hypnogram_formats import write_hypnogram_csv
    from dreamlink.sim.night import simulate_night

    stages = np.array(["W"] * 2 + ["R"] * 6)
    night = simulate_night(None, seed=9, sfreq=synth.FS, hypnogram=Hypnogram(stages))
    rows = [night.info.index(c) for c in ("E1-M2", "E2-M2")]
    folder = tmp_path_factory.mktemp("rem")
    edf = write_edf(folder / "rem.edf", night.get_data()[rows], synth.FS, ["E1-M2", "E2-M2"], ["eog", "eog"])
    hyp = folder / "hypno.csv"
    write_hypnogram_csv(Hypnogram(stages), hyp)
    return edf, hyp


def test_learn_an_eye_model_then_read_with_it(run_cli, rem_edf, tmp_path):
    edf, hyp = rem_edf
    cal = Calibration(synth.SWING).save(tmp_path / "cal.json")
    model = tmp_path / "eye.npz"
    eog = ["--eog", "E1-M2", "--eog-right", "E2-M2", "--calibration", str(cal)]
    code, stdout, stderr = run_cli("detect", str(edf), *eog, "--learn-eye-model", "--hypnogram", str(hyp),
                                   "--learn-messages", "40", "--out", str(model))
    assert code == 0, stderr
    assert "learning the eye model from 1 REM periods of rem.edf (hypno.csv)" in stdout
    assert "held-out blocks read right" in stdout and model.exists()

    gestures = synth.centre(3) + eye_code.eye_morse("HI", 0.5) + synth.centre(8)
    e1, e2, _ = synth.eog(gestures, seed=35)
    night = tmp_path / "message.edf"
    write_edf(night, _whole_seconds(np.vstack([e1, e2])), synth.FS, ["E1-M2", "E2-M2"], ["eog", "eog"])
    out = tmp_path / "events.tsv"
    code, stdout, stderr = run_cli(
        "detect", str(night), *eog, "--eye-code", "morse", "--eye-model", str(model), "--out", str(out)
    )
    assert code == 0, stderr
    assert f"eye model: {model} (learned from 3 min of REM EOG, rem.edf)" in stdout
    assert "learn it again" not in stderr
    assert [e.value for e in read_events_tsv(out) if e.trial_type == "message"] == ["HI"]

    other = Calibration(2 * synth.SWING).save(tmp_path / "other.json")  # another person, or electrodes
    code, _, stderr = run_cli("detect", str(night), "--eog", "E1-M2", "--eog-right", "E2-M2", "--calibration",
                              str(other), "--eye-model", str(model), "--out", str(out))
    assert code == 0, stderr
    assert "the eye model was learned for a swing of 600 µV, this night's is 1200 µV" in stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--learn-eye-model", "--out", "m.tsv"], "give a .npz path"),
        (["--out", "m.npz"], "add --learn-eye-model"),
        (["--hypnogram", "h.csv", "--out", "e.tsv"], "goes with --learn-eye-model"),
        (["--learn-eye-model", "--calibrate", "--out", "m.npz"], "do not also give --calibrate"),
        (["--eye-model", "missing.npz", "--out", "e.tsv"], "eye model missing.npz not found"),
    ],
)
def test_eye_model_options_misused(run_cli, night_edf, tmp_path, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    code, _, stderr = run_cli("detect", str(night_edf), "--eog", "E1-M2", *extra)
    assert code == 2
    assert message in stderr
    assert "Traceback" not in stderr


def test_learning_from_a_hypnogram_without_rem_is_refused(run_cli, rem_edf, tmp_path):
    from dreamlink.hypnogram import Hypnogram
    from dreamlink.io.hypnogram_formats import write_hypnogram_csv

    edf, _ = rem_edf
    hyp = tmp_path / "awake.csv"
    write_hypnogram_csv(Hypnogram(np.array(["W"] * 8)), hyp)
    code, _, stderr = run_cli(
        "detect", str(edf), "--eog", "E1-M2", "--eog-right", "E2-M2", "--learn-eye-model",
        "--hypnogram", str(hyp), "--out", str(tmp_path / "m.npz"),
    )
    assert code == 2
    assert "no stretch of REM sleep of at least 60 s" in stderr
