"""The streamed EDF+/BDF+ journal: what MNE and edfio read back, torn files, the event log."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest

from dreamlink.errors import RecordingError
from dreamlink.events import Event
from dreamlink.record.journal import (
    EventLog,
    SignalJournal,
    choose_record_duration,
    event_tal,
    finalise_signal_file,
    layout_for,
    read_event_log,
)

START = dt.datetime(2024, 3, 1, 22, 30, 5)


def _write(path, fmt, data, sfreq=256.0, events=(), ranges=None):
    layout = layout_for(["C4", "E1", "EMG"][: data.shape[0]], ["eeg", "eog", "emg"][: data.shape[0]],
                        sfreq, fmt, ranges)
    journal = SignalJournal(path, layout, START).open()
    for i in range(0, data.shape[1], 77):  # chunks that do not line up with records
        journal.append(data[:, i : i + 77])
    assert journal.n_samples_pending < layout.samples_per_record
    journal.close()
    return layout, finalise_signal_file(path, layout, events)


@pytest.mark.parametrize("fmt", ["edf", "bdf"])
def test_round_trip_within_quantisation(tmp_path, fmt):
    import edfio
    import mne

    rng = np.random.default_rng(1)
    data = rng.normal(0, 40e-6, (3, 256 * 12))
    data[0, :100] = 0.0
    path = tmp_path / f"x.{fmt}"
    events = [Event(1.25, 0.5, "cue", "tone", 0.9, "cue"), Event(7.0, 0.0, "note", "ünïcode ok", None, "op")]
    layout, result = _write(path, fmt, data, events=events)
    assert result["n_records"] == 12 and result["n_annotations"] == 2
    raw = mne.io.read_raw(path, preload=True, verbose="error")
    assert raw.info["sfreq"] == 256.0 and raw.ch_names == ["C4", "E1", "EMG"]
    assert raw.info["meas_date"].replace(tzinfo=None) == START
    step = layout.gain_uv * 1e-6  # volts per digital step
    err = np.abs(raw.get_data() - data)
    assert np.all(err <= step[:, None] / 2 + 1e-12)
    assert {a["description"] for a in raw.annotations} == {"cue:tone", "note:ünïcode ok"}
    onsets = sorted((a["onset"], a["duration"]) for a in raw.annotations)
    assert onsets == [(1.25, 0.5), (7.0, 0.0)]
    if fmt == "edf":  # edfio reads EDF only
        edf = edfio.read_edf(path)
        assert edf.num_data_records == 12
        assert [a.text for a in edf.annotations] == ["cue:tone", "note:ünïcode ok"]


def test_bdf_is_finer_than_edf(tmp_path):
    import mne

    data = np.random.default_rng(2).normal(0, 40e-6, (1, 256 * 3))
    _write(tmp_path / "a.edf", "edf", data)
    _write(tmp_path / "a.bdf", "bdf", data)
    err_edf = np.abs(mne.io.read_raw(tmp_path / "a.edf", preload=True, verbose="error").get_data() - data)
    err_bdf = np.abs(mne.io.read_raw(tmp_path / "a.bdf", preload=True, verbose="error").get_data() - data)
    assert err_bdf.max() < err_edf.max() / 2
    assert err_edf.max() <= 0.05e-6 + 1e-12  # half of the 0.1 µV EDF step


def test_torn_file_is_cut_to_whole_records(tmp_path):
    import mne

    data = np.random.default_rng(3).normal(0, 20e-6, (2, 256 * 5))
    path = tmp_path / "t.edf"
    layout = layout_for(["C4", "E1"], ["eeg", "eog"], 256.0, "edf")
    journal = SignalJournal(path, layout, START).open()
    journal.append(data)
    journal.close()
    with path.open("ab") as fh:  # a record torn by a crash half-way
        fh.write(b"\x01" * (layout.record_bytes // 2))
    events = [Event(4.5, 0, "lrlr", None, 0.8, "detect")]
    result = finalise_signal_file(path, layout, events)
    assert result == {"n_records": 5, "truncated_bytes": layout.record_bytes // 2, "n_annotations": 1,
                      "n_annotations_dropped": 0}
    again = finalise_signal_file(path, layout, events)  # idempotent
    assert again["n_records"] == 5 and again["truncated_bytes"] == 0
    raw = mne.io.read_raw(path, preload=True, verbose="error")
    assert raw.n_times == 256 * 5
    assert list(raw.annotations.description) == ["lrlr"]


def test_annotation_overflow_is_reported_not_silent(tmp_path, caplog):
    data = np.zeros((1, 256 * 2))
    events = [Event(0.01 * i, 0, "note", "x" * 40, None, "op") for i in range(40)]
    layout, result = _write(tmp_path / "o.edf", "edf", data, events=events)
    assert result["n_annotations"] + result["n_annotations_dropped"] == 40
    assert result["n_annotations_dropped"] > 0
    assert "did not fit" in caplog.text


def test_record_duration_and_bad_rates():
    assert choose_record_duration(256.0) == 1.0
    assert choose_record_duration(500.0) == 1.0
    with pytest.raises(RecordingError, match="resample"):
        choose_record_duration(83.333)


def test_layout_rejects_duplicate_labels():
    with pytest.raises(RecordingError, match="unique"):
        layout_for(["EEG Fpz-Cz channel A", "EEG Fpz-Cz channel B"], ["eeg", "eeg"], 100.0, "edf")


def test_event_tal_format():
    tal = event_tal(Event(12.5, 1.0, "cue", "beep", None, "cue"), 100)
    assert tal == b"+12.5\x151\x14cue:beep\x14\x00"
    assert event_tal(Event(3.0, 0.0, "note", "a\x14b"), 100) == b"+3\x14note:ab\x14\x00"
    long = event_tal(Event(1.0, 0.0, "message", "é" * 200), 60)
    assert len(long) <= 60 and long.endswith(b"\x14\x00")
    long[:-2].decode("utf-8")  # truncation never splits a UTF-8 character


def test_event_log_survives_a_torn_line(tmp_path, caplog):
    path = tmp_path / "events.jsonl"
    log = EventLog(path).open()
    log.append(Event(1.0, 0.0, "cue", "tone", 0.5, "cue", {"requested_onset": 0.98}))
    log.append(Event(2.0, 0.0, "note", 7, None, "op"))
    log.close()
    with path.open("ab") as fh:
        fh.write(json.dumps({"onset": 3.0, "trial_type": "lrlr"}).encode()[:15])
    events = read_event_log(path)
    assert [e.trial_type for e in events] == ["cue", "note"]
    assert events[0].data == {"requested_onset": 0.98} and events[1].value == 7
    assert "incomplete" in caplog.text
