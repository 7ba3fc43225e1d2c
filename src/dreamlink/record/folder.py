"""The recording folder: one night of one dreamer, self-describing and recoverable.

Layout::

    DIR/
      recording.json        manifest: state (recording | finalised | recovered), source, channels,
                            sampling rate, file format and why, wall-clock start (UTC), sample count,
                            clipped samples, event count (rewritten atomically)
      recording.edf         the signal (16-bit EDF+C), or recording.bdf (24-bit BDF+C); written one
                            data record (≤ 1 s) at a time, valid EDF+ once finalised, with every event
                            as an EDF+ annotation ("trial_type:value")
      events.jsonl          machine-readable event log, one JSON event per line, fsync'd per event
      events.tsv            the same events as a BIDS-style table (written when finalised)
      hypnogram.csv         optional: a staged hypnogram (written by `dreamlink report` or the rig)
      dream_journal.json    optional: dream reports written after waking (see dream_journal.py)
      bids/                 BIDS dataset written by mne-bids when finalised:
        dataset_description.json, participants.tsv, ...
        sub-<label>/[ses-<label>/]eeg/sub-<label>_..._task-sleep_{eeg.edf,eeg.json,channels.tsv,events.tsv}

Times inside the folder are seconds from the recording's first sample; the wall-clock start is
stored once (``meas_date`` in the manifest and the EDF header).
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any

from dreamlink.errors import InputFileError, RecordingError

MANIFEST = "recording.json"
EVENT_LOG = "events.jsonl"
EVENTS_TSV = "events.tsv"
HYPNOGRAM = "hypnogram.csv"
DREAM_JOURNAL = "dream_journal.json"
BIDS_DIR = "bids"
SIGNAL_STEM = "recording"
#: Manifest schema version.
MANIFEST_VERSION = 1

STATE_RECORDING = "recording"
STATE_FINALISED = "finalised"
STATE_RECOVERED = "recovered"


class RecordingFolder:
    """Paths and manifest of one recording folder.

    Parameters
    ----------
    root : str or Path
        The folder.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"RecordingFolder({str(self.root)!r})"

    @property
    def manifest_path(self) -> Path:
        """``recording.json``."""
        return self.root / MANIFEST

    @property
    def event_log_path(self) -> Path:
        """``events.jsonl``."""
        return self.root / EVENT_LOG

    @property
    def events_tsv_path(self) -> Path:
        """``events.tsv``."""
        return self.root / EVENTS_TSV

    @property
    def hypnogram_path(self) -> Path:
        """``hypnogram.csv``."""
        return self.root / HYPNOGRAM

    @property
    def journal_path(self) -> Path:
        """``dream_journal.json``."""
        return self.root / DREAM_JOURNAL

    @property
    def bids_root(self) -> Path:
        """``bids/``."""
        return self.root / BIDS_DIR

    def signal_path(self, file_format: str | None = None) -> Path:
        """``recording.edf`` or ``recording.bdf`` (from the manifest when the format is not given)."""
        fmt = file_format or self.read_manifest()["layout"]["file_format"]
        return self.root / f"{SIGNAL_STEM}.{fmt}"

    def exists(self) -> bool:
        """Whether the folder holds a manifest."""
        return self.manifest_path.is_file()

    def read_manifest(self) -> dict[str, Any]:
        """Load ``recording.json``.

        Raises
        ------
        InputFileError
            If the folder or its manifest is missing or unreadable.
        """
        if not self.root.is_dir():
            raise InputFileError(f"recording folder not found: {self.root} (check the path)")
        if not self.manifest_path.is_file():
            raise InputFileError(
                f"{self.root} is not a dreamlink recording folder (no {MANIFEST}); "
                "give the folder that `dreamlink record --out` created"
            )
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise InputFileError(f"{self.manifest_path}: unreadable manifest ({err})") from err

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Atomically replace ``recording.json`` (write, fsync, rename, fsync the folder)."""
        tmp = self.manifest_path.with_suffix(".json.tmp")
        payload = json.dumps(manifest, indent=2, default=str, ensure_ascii=False).encode("utf-8")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, payload)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.manifest_path)
            dfd = os.open(self.root, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as err:
            raise RecordingError(f"cannot write {self.manifest_path}: {err.strerror or err}") from err

    def update_manifest(self, **changes: Any) -> dict[str, Any]:
        """Read, update and atomically rewrite the manifest; returns the new manifest."""
        manifest = self.read_manifest()
        manifest.update(changes)
        self.write_manifest(manifest)
        return manifest


def utc_now() -> _dt.datetime:
    """Current wall-clock time, UTC, to the second."""
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)
