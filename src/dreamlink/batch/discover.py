"""Find the recordings of a dataset, and the expert hypnogram next to each.

A dataset is either a **BIDS root** (a folder holding ``dataset_description.json`` or ``sub-*`` folders;
the EEG files are found with mne-bids' :func:`mne_bids.find_matching_paths`) or **any folder** of
recordings, searched recursively for EDF / EDF+ / BDF / FIF files and dreamlink recording folders
(``recording.json`` inside; their ``bids/`` copy is not counted twice).

Nothing is opened here: discovery only lists paths, so a dataset of thousands of nights costs a
directory walk, and every night is opened later by the task that processes it.

Expert labels
-------------
An expert hypnogram is looked up next to each recording, first match wins (``STEM`` is the file name
without its extension; ``BASE`` is ``STEM`` without a trailing BIDS ``_eeg`` suffix):

1. ``STEM.hypnogram.csv`` (what ``dreamlink simulate`` writes: the true stages);
2. ``STEM.hypnogram.txt``, ``STEM_hypnogram.{csv,tsv,txt}``, ``BASE_hypnogram.{csv,tsv,txt}``
   (a BIDS-style sidecar; no BIDS standard exists yet for sleep stages);
3. ``Hypnogram_STEM.txt`` (DREAMS databases);
4. PhysioNet Sleep-EDF pairing: ``SC4001E0-PSG.edf`` ↔ ``SC4001EC-Hypnogram.edf`` (same first
   six characters, ``*-Hypnogram.edf``).

Sleep-EDF ``*-Hypnogram.edf`` files hold annotations only; they are labels, never recordings.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from dreamlink.errors import InputFileError

logger = logging.getLogger("dreamlink.batch")

#: File extensions read as recordings (lower case).
SIGNAL_EXTENSIONS = (".edf", ".bdf", ".fif")
#: Extensions mne-bids is asked for in a BIDS root.
BIDS_EXTENSIONS = (".edf", ".bdf", ".fif", ".vhdr", ".set")
#: The manifest that marks a dreamlink recording folder.
RECORDING_MANIFEST = "recording.json"
_HYPNO_EDF = re.compile(r"-hypnogram\.edf$", re.IGNORECASE)


@dataclass(frozen=True)
class Recording:
    """One night of a dataset.

    Attributes
    ----------
    name : str
        Identifier unique within the dataset (the relative path, ``/`` replaced by ``__``, no
        extension); used for the per-night output folder and as the summary's key.
    path : Path
        The recording: an EDF/BDF/FIF file, or a dreamlink recording folder.
    expert : Path | None
        The expert hypnogram found next to it, if any.
    """

    name: str
    path: Path
    expert: Path | None = None

    @property
    def is_folder(self) -> bool:
        """True for a dreamlink recording folder."""
        return self.path.is_dir()

    def signal_path(self) -> Path:
        """The signal file (the folder's ``recording.edf``/``.bdf`` for a recording folder)."""
        if not self.is_folder:
            return self.path
        from dreamlink.record.folder import RecordingFolder

        folder = RecordingFolder(self.path)
        layout = folder.read_manifest().get("layout") or {}
        return folder.signal_path(layout.get("file_format"))


def is_bids_root(root: Path) -> bool:
    """True if ``root`` looks like a BIDS dataset (``dataset_description.json`` or ``sub-*`` folders)."""
    if (root / "dataset_description.json").is_file():
        return True
    return any(p.is_dir() and p.name.startswith("sub-") for p in root.iterdir())


def _is_hypnogram_file(path: Path) -> bool:
    return bool(_HYPNO_EDF.search(path.name))


def find_expert(signal: Path) -> Path | None:
    """The expert hypnogram next to ``signal`` (see the module docstring for the names tried)."""
    folder, stem = signal.parent, signal.stem
    base = stem[:-4] if stem.endswith("_eeg") else stem
    candidates = [folder / f"{stem}.hypnogram.csv", folder / f"{stem}.hypnogram.txt"]
    for name in dict.fromkeys((stem, base)):
        candidates += [folder / f"{name}_hypnogram{ext}" for ext in (".csv", ".tsv", ".txt")]
    candidates.append(folder / f"Hypnogram_{stem}.txt")
    for cand in candidates:
        if cand.is_file():
            return cand
    if len(stem) >= 6 and not _is_hypnogram_file(signal):  # Sleep-EDF: SC4001E0-PSG <-> SC4001EC-Hypnogram
        matches = sorted(p for p in folder.glob(f"{stem[:6]}*") if _is_hypnogram_file(p))
        if matches:
            return matches[0]
    return None


def _name(path: Path, root: Path) -> str:
    rel = path.relative_to(root) if path != root else Path(path.name)
    parts = list(rel.parts)
    if path.is_file():
        parts[-1] = Path(parts[-1]).stem
    name = "__".join(parts)
    return re.sub(r"[^A-Za-z0-9._+-]", "_", name) or "recording"


def _walk(root: Path) -> Iterable[Path]:
    """Signal files and recording folders under ``root``, not descending into recording folders."""
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = sorted(folder.iterdir())
        except OSError as err:
            logger.warning("cannot list %s: %s", folder, err.strerror)
            continue
        if (folder / RECORDING_MANIFEST).is_file():
            yield folder
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                stack.append(entry)
            elif entry.suffix.lower() in SIGNAL_EXTENSIONS and not _is_hypnogram_file(entry):
                yield entry


def _bids_files(root: Path) -> list[Path]:
    import mne_bids

    paths = mne_bids.find_matching_paths(
        root, datatypes="eeg", suffixes="eeg", extensions=list(BIDS_EXTENSIONS)
    )
    return sorted(Path(p.fpath) for p in paths)


def discover_recordings(root: str | Path) -> list[Recording]:
    """List every recording of a dataset folder or BIDS root, with its expert hypnogram.

    Parameters
    ----------
    root : str or Path
        A folder of recordings (searched recursively), a BIDS root, a single recording file or a
        dreamlink recording folder.

    Returns
    -------
    list of Recording
        Sorted by name; names are unique.

    Raises
    ------
    InputFileError
        ``root`` does not exist or holds no recording.
    """
    root = Path(root)
    if not root.exists():
        raise InputFileError(f"dataset not found: {root} (give a folder of EDF/BDF/FIF files or a BIDS root)")
    if root.is_file():
        if root.suffix.lower() not in SIGNAL_EXTENSIONS:
            raise InputFileError(f"{root.name} is not a recording (EDF, BDF or FIF); give a file or a folder")
        return [Recording(_name(root, root.parent), root, find_expert(root))]
    if is_bids_root(root) and not (root / RECORDING_MANIFEST).is_file():
        files = _bids_files(root)
        kind = "BIDS root"
    else:
        files = list(_walk(root))
        kind = "folder"
    recordings = []
    for path in files:
        base = root if path != root else root.parent
        expert = None if path.is_dir() else find_expert(path)
        recordings.append(Recording(_name(path, base), path, expert))
    if not recordings:
        raise InputFileError(
            f"no recordings found in {kind} {root} (looked for {', '.join(SIGNAL_EXTENSIONS)} files "
            "and dreamlink recording folders)"
        )
    names = [r.name for r in recordings]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:  # e.g. night.edf and night.bdf side by side
        recordings = [
            Recording(
                f"{r.name}{r.path.suffix.replace('.', '_')}" if r.name in dupes else r.name, r.path, r.expert
            )
            for r in recordings
        ]
    logger.info("found %d recordings in %s %s", len(recordings), kind, root)
    return sorted(recordings, key=lambda r: r.name)
