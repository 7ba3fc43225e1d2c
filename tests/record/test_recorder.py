"""The recorder: round trip, BIDS, format choice, disk full and read-only folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dreamlink.errors import RecordingError
from dreamlink.events import Event, read_events_tsv
from dreamlink.record import Recorder, choose_file_format, record_source
from dreamlink.record.folder import RecordingFolder
from dreamlink.sources.base import SourceInfo
from tests.record.helpers import CounterSource, counts, intact

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _tmpfs(path: Path, size: str) -> Path:
    """Mount a small tmpfs at ``path`` (root only) or skip."""
    path.mkdir(parents=True, exist_ok=True)
    if not IS_ROOT:
        pytest.skip("mounting a small tmpfs needs root")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    return path


@pytest.fixture
def small_disk(tmp_path):
    mnt = _tmpfs(tmp_path / "mnt", "600k")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_record_source_round_trip_events_and_bids(tmp_path):
    import mne
    import mne_bids

    src = CounterSource(n_total=256 * 20)
    events = [Event(2.0, 0.0, "lrlr", None, 0.9, "detect.eye"),
              Event(5.5, 1.0, "cue", "tone:440", None, "cue", {"requested_onset": 5.45})]
    summary = record_source(src, tmp_path / "night", duration=12.0, events=events, subject="s7")
    assert summary.state == "finalised" and summary.n_samples == 256 * 12
    assert summary.file_format == "edf"
    raw = mne.io.read_raw(summary.signal_path, preload=True, verbose="error")
    assert intact(raw, 256 * 12) and raw.n_times == 256 * 12  # no sample dropped or duplicated
    expected_sine = 50e-6 * np.sin(2 * np.pi * 10 * np.arange(256 * 12) / 256)
    assert np.abs(raw.get_data(picks="sine")[0] - expected_sine).max() <= 0.05e-6 + 1e-12
    assert sorted(raw.annotations.description) == [
        "cue:tone:440 (requested 5.45 s)", "lrlr", "recording_start:counter"]
    table = read_events_tsv(tmp_path / "night" / "events.tsv")
    assert [e.trial_type for e in table] == ["recording_start", "lrlr", "cue"]
    assert table[2].data == {"requested_onset": 5.45}
    manifest = json.loads((tmp_path / "night" / "recording.json").read_text())
    assert manifest["state"] == "finalised" and manifest["n_samples"] == 256 * 12
    # The BIDS copy is read by mne-bids' own reader, with types and events intact.
    bids_path = mne_bids.get_bids_path_from_fname(summary.bids_path)
    braw = mne_bids.read_raw_bids(bids_path, verbose=False)
    assert braw.get_channel_types() == ["misc", "eeg"]
    assert sorted(braw.annotations.description) == [
        "cue:tone:440 (requested 5.45 s)", "lrlr", "recording_start:counter"]
    assert bids_path.subject == "s7" and bids_path.task == "sleep"
    for suffix in ("eeg.json", "channels.tsv", "events.tsv"):
        assert list(summary.bids_path.parent.glob(f"*_{suffix}")), suffix


def test_partial_last_second_is_padded_and_marked(tmp_path):
    import mne

    summary = record_source(CounterSource(), tmp_path / "r", duration=3.5, bids=False)
    assert summary.n_samples == 896 and summary.duration_sec == 3.5
    raw = mne.io.read_raw(summary.signal_path, preload=True, verbose="error")
    assert intact(raw, 896)
    assert np.all(counts(raw)[896:] == 0)
    pad = [a for a in raw.annotations if a["description"].startswith("recording_padding")]
    assert len(pad) == 1 and pad[0]["onset"] == 3.5 and pad[0]["duration"] == 0.5


def test_bdf_for_24_bit_sources(tmp_path):
    import mne

    info = SourceInfo(("C3",), ("eeg",), 250.0, name="brainflow:0", extra={"resolution_bits": 24})
    assert choose_file_format(info) == ("bdf", "source declares 24-bit resolution")
    x = np.random.default_rng(0).normal(0, 30e-6, (1, 750))
    with Recorder(tmp_path / "b", info, bids=False) as rec:
        rec.write(x)
    assert rec.summary.signal_path.name == "recording.bdf"
    raw = mne.io.read_raw(rec.summary.signal_path, preload=True, verbose="error")
    assert np.abs(raw.get_data() - x).max() <= 187500 / 8388607 / 2 * 1e-6 + 1e-15


@pytest.mark.parametrize(
    ("name", "extra", "fmt"),
    [
        ("file:/x/night.bdf", {"path": "/x/night.bdf"}, "bdf"),
        ("file:/x/night.edf", {"path": "/x/night.edf"}, "edf"),
        ("brainflow:-1", {"board_id": -1}, "bdf"),
        ("lsl:EEG", {"channel_format": "int16"}, "edf"),
        ("lsl:EEG", {"channel_format": "float32"}, "bdf"),
        ("sim:seed=1", {}, "edf"),
    ],
)
def test_format_choice(name, extra, fmt):
    info = SourceInfo(("C3",), ("eeg",), 256.0, name=name, extra=extra)
    assert choose_file_format(info)[0] == fmt
    assert choose_file_format(info, "bdf")[0] == "bdf"
    with pytest.raises(RecordingError, match="auto, edf or bdf"):
        choose_file_format(info, "gdf")


def test_clipping_is_counted_and_logged(tmp_path, caplog):
    info = SourceInfo(("C3", "EMG"), ("eeg", "emg"), 100.0, name="t")
    x = np.zeros((2, 300))
    x[1, 10:20] = 5e-3  # 5000 µV: beyond the ±3276.7 µV EDF range
    with Recorder(tmp_path / "c", info, bids=False) as rec:
        rec.write(x)
    assert rec.summary.clipped == {"C3": 0, "EMG": 10}
    assert "exceeds the recording range" in caplog.text
    assert any("CLIPPED" in line for line in rec.summary.lines())


def test_existing_recording_is_not_overwritten(tmp_path):
    record_source(CounterSource(), tmp_path / "r", duration=1.0, bids=False)
    with pytest.raises(RecordingError, match="already holds a recording"):
        record_source(CounterSource(), tmp_path / "r", duration=1.0, bids=False)


def test_non_empty_folder_or_file_refused(tmp_path):
    info = SourceInfo(("C3",), ("eeg",), 256.0, name="t")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "thesis.docx").write_text("precious")
    with pytest.raises(RecordingError, match="not empty"):
        Recorder(tmp_path / "busy", info).open()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(RecordingError, match="is a file"):
        Recorder(tmp_path / "afile", info).open()


def test_not_enough_space_before_the_night(tmp_path):
    info = SourceInfo(("C3",), ("eeg",), 256.0, name="t")
    huge = 10**18  # a reserve no disk has: the check must refuse before writing anything
    with pytest.raises(RecordingError, match="not enough free space"):
        Recorder(tmp_path / "r", info, reserve_bytes=huge).open()
    assert not (tmp_path / "r" / "recording.json").exists()


def test_disk_full_detected_before_on_a_small_disk(small_disk):
    info = SourceInfo(tuple(f"E{i}" for i in range(8)), ("eeg",) * 8, 256.0, name="t")
    with pytest.raises(RecordingError, match="not enough free space"):
        Recorder(small_disk / "r", info, expected_duration=3600, reserve_bytes=0).open()


def test_disk_full_during_the_night_stops_loudly_and_keeps_the_data(small_disk):
    import mne

    from dreamlink.record import recover

    warnings = []
    src = CounterSource(n_total=None)
    # 600 kB tmpfs, 2 channels at 256 Hz = ~1.5 kB/s: the reserve is reached after some minutes.
    with pytest.raises(RecordingError, match="disk almost full"):
        record_source(src, small_disk / "r", duration=None, bids=False, reserve_bytes=300_000,
                      check_interval_sec=5.0, on_warning=warnings.append)
    assert any("disk almost full" in w for w in warnings)
    manifest = RecordingFolder(small_disk / "r").read_manifest()
    assert manifest["state"] == "finalised"  # stopped cleanly before the disk was full
    raw = mne.io.read_raw(small_disk / "r" / "recording.edf", preload=True, verbose="error")
    n = raw.n_times
    assert n > 256 * 60 and intact(raw, manifest["n_samples"])
    assert "recording_warning" in " ".join(raw.annotations.description)
    # And a write that hits ENOSPC itself becomes a RecordingError naming the fix, then recovers.
    info = SourceInfo(("count", "sine"), ("misc", "eeg"), 256.0, name="t")
    rec = Recorder(small_disk / "r2", info, bids=False, reserve_bytes=0, check_interval_sec=1e9).open()
    with pytest.raises(RecordingError, match="disk full.*dreamlink recover"):
        for chunk in CounterSource(n_total=None).chunks(1.0):
            rec.write(chunk)
    import shutil

    shutil.rmtree(small_disk / "r")  # free space, as the message says, then recover
    summary = recover(small_disk / "r2")
    assert summary.state == "recovered" and summary.n_samples > 0
    raw2 = mne.io.read_raw(summary.signal_path, preload=True, verbose="error")
    assert intact(raw2)


def test_read_only_folder_detected_before(tmp_path):
    mnt = _tmpfs(tmp_path / "ro", "1m")
    try:
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        info = SourceInfo(("C3",), ("eeg",), 256.0, name="t")
        with pytest.raises(RecordingError, match="read-only|not writable|cannot create"):
            Recorder(mnt / "night", info).open()
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


_RO_CHILD = """
import sys, time
from dreamlink.errors import RecordingError
from dreamlink.record import record_source
from tests.record.helpers import CounterSource
try:
    record_source(CounterSource(speed=20), sys.argv[1], duration=600, bids=False, check_interval_sec=1.0,
                  progress=lambda t: print(f"t {t:.2f}", flush=True) if t % 5 < 0.3 else None)
except RecordingError as err:
    print("ERROR", err, flush=True)
    sys.exit(2)
"""


def test_folder_turning_read_only_during_the_night_is_detected(tmp_path):
    """A folder whose write permission is withdrawn mid-night is detected, loudly, within seconds."""
    import shutil

    folder = tmp_path / "night"
    repo = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-c", _RO_CHILD, str(folder)]
    if IS_ROOT:
        # root ignores permissions; without CAP_DAC_OVERRIDE it obeys them like any user.
        if shutil.which("setpriv") is None:
            pytest.skip("needs setpriv (util-linux) to drop CAP_DAC_OVERRIDE when run as root")
        cmd = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    proc = subprocess.Popen(cmd, cwd=repo, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(repo)})
    try:
        line = proc.stdout.readline()
        assert line.startswith("t "), (line, proc.stderr.read() if proc.poll() is not None else "")
        folder.chmod(0o555)  # the folder stops being writable during the night
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        folder.chmod(0o777)
    assert proc.returncode == 2, err
    assert "became read-only" in out and "dreamlink recover" in out
    assert "not writable" in err  # the loud warning on stderr (logging) before stopping
    import mne

    from dreamlink.record import recover

    summary = recover(folder)
    raw = mne.io.read_raw(summary.signal_path, preload=True, verbose="error")
    assert raw.n_times > 0 and intact(raw)
