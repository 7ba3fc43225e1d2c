"""BIDS layout of a finalised recording, written by mne-bids.

``bids/`` inside the recording folder becomes a BIDS dataset holding this one recording:
``sub-<label>[/ses-<label>]/eeg/`` with the EDF/BDF file, ``_eeg.json``, ``_channels.tsv`` and
``_events.tsv`` (mne-bids derives the events from the EDF+ annotations), plus
``dataset_description.json`` and ``participants.tsv``. The full dreamlink event table (with
``source``, ``confidence`` and ``data`` columns) is kept at the folder's root as ``events.tsv``.

References
----------
Pernet CR et al. (2019). EEG-BIDS, an extension to the brain imaging data structure for
electroencephalography. Sci Data 6:103. doi:10.1038/s41597-019-0104-8
Appelhoff S et al. (2019). MNE-BIDS: Organizing electrophysiological data into the BIDS format and
facilitating their analysis. JOSS 4(44):1896. doi:10.21105/joss.01896
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from dreamlink.record.folder import RecordingFolder


def _label(text: str | None) -> str | None:
    if text is None:
        return None
    clean = re.sub(r"[^A-Za-z0-9]", "", str(text))
    return clean or None


def bids_path_for(folder: RecordingFolder, manifest: dict[str, Any]):
    """The ``mne_bids.BIDSPath`` of the recording's EEG file inside ``folder/bids``."""
    import mne_bids

    cfg = manifest.get("bids") or {}
    return mne_bids.BIDSPath(
        subject=_label(cfg.get("subject")) or "01",
        session=_label(cfg.get("session")),
        task=_label(cfg.get("task")) or "sleep",
        datatype="eeg",
        root=folder.bids_root,
    )


def write_bids(folder: RecordingFolder, manifest: dict[str, Any]) -> Path:
    """Write (or overwrite) the BIDS layout of a finalised recording; returns the EEG file's path."""
    import mne
    import mne_bids

    layout = manifest["layout"]
    signal = folder.signal_path(layout["file_format"])
    raw = mne.io.read_raw(signal, preload=False, verbose="error")
    types = dict(zip(layout["ch_names"], layout["ch_types"], strict=True))
    raw.set_channel_types({k: v for k, v in types.items() if k in raw.ch_names}, on_unit_change="ignore",
                          verbose="error")
    raw.info["line_freq"] = manifest.get("line_freq")
    bids_path = bids_path_for(folder, manifest)
    with warnings.catch_warnings():
        # "No events found": a night without events is still a valid recording.
        warnings.filterwarnings("ignore", message="No events found")
        warnings.filterwarnings("ignore", message=".*line_freq.*")
        mne_bids.write_raw_bids(raw, bids_path, overwrite=True, verbose=False)
    return Path(bids_path.fpath)
