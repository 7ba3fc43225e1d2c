"""Recordings that lose nothing: crash-safe EDF+/BDF+ recording folders, recovery, dream journal.

- :class:`~dreamlink.record.recorder.Recorder` / :func:`~dreamlink.record.recorder.record_source`:
  record a source and events into a folder (layout in :mod:`dreamlink.record.folder`).
- :func:`~dreamlink.record.recover.recover`: finalise an interrupted folder.
- :mod:`dreamlink.record.dream_journal`: the dreamer's report after waking.
"""

from dreamlink.record.folder import RecordingFolder
from dreamlink.record.recorder import Recorder, RecordingSummary, choose_file_format, record_source
from dreamlink.record.recover import recover

__all__ = [
    "Recorder",
    "RecordingFolder",
    "RecordingSummary",
    "choose_file_format",
    "record_source",
    "recover",
]
