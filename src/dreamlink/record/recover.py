"""Finalise a recording folder: after a clean stop, or after a crash (``dreamlink recover DIR``).

Finalising is cheap and idempotent, whatever the length of the night: the signal file is already
a stream of complete EDF+/BDF+ data records on disk, so only a torn last record is cut off, the
header's record count is patched and the logged events are written into the annotation space
reserved in the records (:func:`dreamlink.record.journal.finalise_signal_file`). Then the events
table (``events.tsv``), the manifest and, when enabled, the BIDS layout are (re)written.
"""

from __future__ import annotations

import logging
from pathlib import Path

from dreamlink.errors import InputFileError, RecordingError
from dreamlink.events import write_events_tsv
from dreamlink.record.folder import (
    STATE_FINALISED,
    STATE_RECORDING,
    STATE_RECOVERED,
    RecordingFolder,
    utc_now,
)
from dreamlink.record.journal import EdfLayout, finalise_signal_file, read_event_log

logger = logging.getLogger("dreamlink.record")


def finalise_folder(folder: str | Path, from_close: bool = False, bids: bool | None = None):
    """Make the folder's signal file a valid EDF+/BDF+ with annotations; write events.tsv and BIDS.

    Parameters
    ----------
    folder : str or Path
        A recording folder.
    from_close : bool
        ``True`` when called by :meth:`Recorder.close` (state becomes ``finalised``), ``False`` for a
        recovery (state ``recovered`` unless it was already finalised).
    bids : bool | None
        Write the BIDS layout (default: as configured when the recording started).

    Returns
    -------
    RecordingSummary
    """
    from dreamlink.record.recorder import RecordingSummary

    rf = RecordingFolder(folder)
    manifest = rf.read_manifest()
    layout = EdfLayout.from_dict(manifest["layout"])
    signal_path = rf.signal_path(layout.file_format)
    if not signal_path.is_file():
        raise RecordingError(
            f"{rf.root} has no {signal_path.name}: the recording never started writing; nothing to recover"
        )
    events = read_event_log(rf.event_log_path)
    result = finalise_signal_file(signal_path, layout, events)
    write_events_tsv(events, rf.events_tsv_path)
    previous = manifest.get("state")
    state = STATE_FINALISED if from_close else STATE_RECOVERED if previous == STATE_RECORDING else previous
    padded = int(manifest.get("padded_samples") or 0)
    n_samples = max(0, result["n_records"] * layout.samples_per_record - padded)
    manifest.update(
        state=state,
        finalised=utc_now().isoformat(),
        n_records=result["n_records"],
        n_samples=n_samples,
        duration_sec=n_samples / layout.sfreq,
        n_events=len(events),
        n_annotations=result["n_annotations"],
        n_annotations_dropped=result["n_annotations_dropped"],
    )
    if not from_close and previous == STATE_RECORDING:
        manifest["recovered_truncated_bytes"] = result["truncated_bytes"]
    warnings = []
    bids_cfg = manifest.get("bids") or {}
    do_bids = bids_cfg.get("enabled", True) if bids is None else bids
    bids_path = None
    if do_bids and result["n_records"] > 0:
        from dreamlink.record.bids import write_bids

        try:
            bids_path = write_bids(rf, manifest)
            manifest["bids"] = {**bids_cfg, "enabled": True, "path": str(bids_path.relative_to(rf.root))}
        except Exception as err:  # noqa: BLE001 - BIDS is a copy; the EDF+ is the primary record
            text = f"BIDS export failed ({type(err).__name__}: {err}); the EDF+ file is complete"
            logger.warning(text)
            warnings.append(text)
            manifest["bids"] = {**bids_cfg, "error": text}
    rf.write_manifest(manifest)
    return RecordingSummary(
        folder=rf.root,
        signal_path=signal_path,
        file_format=layout.file_format,
        format_reason=str(manifest.get("format_reason", "")),
        ch_names=list(layout.ch_names),
        sfreq=layout.sfreq,
        n_samples=n_samples,
        duration_sec=n_samples / layout.sfreq,
        n_events=len(events),
        n_annotations=result["n_annotations"],
        state=state,
        clipped=dict(manifest.get("clipped_samples") or {}),
        bids_path=bids_path,
        warnings=warnings,
    )


def recover(folder: str | Path, bids: bool | None = None):
    """Finalise an interrupted recording folder into a valid EDF+/BDF+ (see :func:`finalise_folder`).

    Raises
    ------
    InputFileError
        If ``folder`` is not a dreamlink recording folder.
    RecordingError
        If the folder cannot be written or holds no signal.
    """
    rf = RecordingFolder(folder)
    manifest = rf.read_manifest()
    if manifest.get("format") != "dreamlink-recording":
        raise InputFileError(f"{rf.manifest_path} is not a dreamlink recording manifest")
    return finalise_folder(rf.root, from_close=False, bids=bids)
