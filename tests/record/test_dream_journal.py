"""The dream journal attached to a recording folder."""

from __future__ import annotations

import json

import pytest

from dreamlink.errors import InputFileError, RecordingError
from dreamlink.record import record_source
from dreamlink.record.dream_journal import DreamReport, add_entry, read_journal
from tests.record.helpers import CounterSource


@pytest.fixture
def folder(tmp_path):
    record_source(CounterSource(), tmp_path / "night", duration=1.0, bids=False)
    return tmp_path / "night"


def test_entries_are_appended_and_read_back(folder):
    first = DreamReport("I was flying over a lake and heard three beeps.", cue_appeared="yes", lucidity=3,
                        awakening=1800.0, cue_description="three beeps as a doorbell", session_id="s-1")
    add_entry(folder, first)
    add_entry(folder, DreamReport("no recall", cue_appeared="no_cue", lucidity=0, author="operator"))
    entries = read_journal(folder)
    assert [e.text for e in entries] == [first.text, "no recall"]
    assert entries[0].lucidity_label == "pretty much" and entries[0].cue_appeared == "yes"
    assert entries[0].written_at  # stamped automatically
    data = json.loads((folder / "dream_journal.json").read_text())
    assert data["lucidity_scale"]["4"] == "very much" and len(data["entries"]) == 2
    event = entries[0].to_event()
    assert event.trial_type == "dream_report" and event.onset == 1800.0
    assert event.data["session_id"] == "s-1" and event.source == "journal.dreamer"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": "  "}, "needs some text"),
        ({"text": "x", "lucidity": 7}, "lucidity must be a whole number 0-4"),
        ({"text": "x", "lucidity": 2.5}, "lucidity must be a whole number 0-4"),
        ({"text": "x", "cue_appeared": "maybe"}, "cue_appeared must be one of"),
        ({"text": "x", "author": "robot"}, "author must be"),
    ],
)
def test_bad_entries_are_refused(kwargs, message):
    with pytest.raises(RecordingError, match=message):
        DreamReport(**kwargs)


def test_journal_needs_a_recording_folder(tmp_path):
    with pytest.raises(InputFileError, match="not a dreamlink recording folder"):
        add_entry(tmp_path, DreamReport("x"))
    assert read_journal(tmp_path) == []
