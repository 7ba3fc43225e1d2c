"""Read and write hypnograms in the formats found in the field, into one :class:`Hypnogram`.

Supported inputs
----------------
``dreams``
    DREAMS databases (Devuyst et al., University of Mons): a ``[Hypnogram]`` header line, then one
    R&K code per **5-s** epoch: 5=W 4=REM 3=S1 2=S2 1=S3 0=S4 (S3+S4 → N3; anything else unscored).
``yasa``
    YASA's 30-s text: one stage per line as integers (0=W 1=N1 2=N2 3=N3 4=R) or as strings
    (W, N1, N2, N3, R); ``#`` comment lines are skipped.
``edf``
    EDF+ annotation hypnograms such as PhysioNet Sleep-EDF (Kemp et al. 2000): descriptions
    ``Sleep stage W/1/2/3/4/R/?`` and ``Movement time``; R&K 3 and 4 map to N3, movement to ``?``.
``dynamo``
    Prerau Lab DYNAM-O change-point CSV (``Time,Stage`` in seconds, 5=W 4=REM 3=N1 2=N2 1=N3).
    The change points sit on a 30-s grid that may be offset from the first sample (about 10 s in
    the example data): the reader keeps that grid (``start`` = the grid's first full epoch) and drops
    the partial epoch before it. Use :meth:`Hypnogram.resample` to move to a grid aligned to 0.
``csv``
    dreamlink's own epoch table (``onset,duration,stage[,confidence,p_W..p_R]``).

References
----------
Rechtschaffen A, Kales A (1968). A manual of standardized terminology, techniques and scoring system
for sleep stages of human subjects. (R&K; S3+S4 = AASM N3.)
Kemp B et al. (2000). Analysis of a sleep-dependent neuronal feedback loop: the slow-wave
microcontinuity of the EEG. IEEE TBME 47(9):1185-1194. doi:10.1109/10.867928
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dreamlink.errors import InputFileError
from dreamlink.hypnogram import PROBA_COLUMNS, STAGES, UNSCORED, Hypnogram

_DREAMS_CODES = {5: "W", 4: "R", 3: "N1", 2: "N2", 1: "N3", 0: "N3"}
_DYNAMO_CODES = {5: "W", 4: "R", 3: "N1", 2: "N2", 1: "N3"}
_YASA_CODES = {0: "W", 1: "N1", 2: "N2", 3: "N3", 4: "R"}
_EDF_DESCRIPTIONS = {
    "Sleep stage W": "W",
    "Sleep stage 1": "N1",
    "Sleep stage 2": "N2",
    "Sleep stage 3": "N3",
    "Sleep stage 4": "N3",
    "Sleep stage R": "R",
    "Sleep stage N1": "N1",
    "Sleep stage N2": "N2",
    "Sleep stage N3": "N3",
}
_TEXT_ALIASES = {
    "W": "W", "WAKE": "W", "0": "W",
    "N1": "N1", "S1": "N1", "1": "N1",
    "N2": "N2", "S2": "N2", "2": "N2",
    "N3": "N3", "S3": "N3", "S4": "N3", "3": "N3",
    "R": "R", "REM": "R", "4": "R",
}  # fmt: skip


def _check_file(path: Path) -> None:
    if not path.is_file():
        raise InputFileError(f"hypnogram file not found: {path} (check the path)")


def guess_hypnogram_format(path: str | Path) -> str:
    """Guess a hypnogram file's format from its name and first line."""
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in (".edf", ".bdf"):
        return "edf"
    with path.open(encoding="utf-8", errors="replace") as fh:
        first = fh.readline().strip()
    if first.startswith("[Hypnogram]"):
        return "dreams"
    if first.replace(" ", "").lower() == "time,stage":
        return "dynamo"
    if first.lower().startswith("onset"):
        return "csv"
    return "yasa"


def read_hypnogram(path: str | Path, fmt: str = "auto") -> Hypnogram:
    """Read a hypnogram file into a :class:`Hypnogram`.

    Parameters
    ----------
    path : str or Path
        The file.
    fmt : {"auto", "dreams", "yasa", "edf", "dynamo", "csv"}
        Its format; ``auto`` guesses from the name and first line.

    Raises
    ------
    InputFileError
        Missing file, unknown format or unreadable content (the message says which line).
    """
    path = Path(path)
    _check_file(path)
    if fmt == "auto":
        fmt = guess_hypnogram_format(path)
    readers = {
        "dreams": _read_dreams,
        "yasa": _read_yasa,
        "edf": _read_edf,
        "dynamo": _read_dynamo,
        "csv": read_hypnogram_csv,
    }
    if fmt not in readers:
        raise InputFileError(
            f"unknown hypnogram format {fmt!r}; use one of {sorted(readers)} or 'auto'"
        )
    return readers[fmt](path)


def _read_dreams(path: Path) -> Hypnogram:
    labels = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text or text.startswith("["):
                continue
            try:
                code = int(float(text))
            except ValueError as err:
                raise InputFileError(
                    f"{path}:{lineno}: expected a DREAMS stage code (0-5), got {text!r}"
                ) from err
            labels.append(_DREAMS_CODES.get(code, UNSCORED))
    if not labels:
        raise InputFileError(f"{path}: no stage codes found after the [Hypnogram] header")
    return Hypnogram(np.asarray(labels), epoch_sec=5.0)


def _read_yasa(path: Path) -> Hypnogram:
    labels = []
    with path.open(encoding="utf-8", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            key = text.upper()
            if key.lstrip("-").replace(".", "", 1).isdigit():
                code = int(float(key))
                labels.append(_YASA_CODES.get(code, UNSCORED))
            elif key in _TEXT_ALIASES:
                labels.append(_TEXT_ALIASES[key])
            elif key in ("?", "ART", "UNS", "UNSCORED", "-1", "-2"):
                labels.append(UNSCORED)
            else:
                raise InputFileError(
                    f"{path}:{lineno}: expected a stage (W, N1, N2, N3, R or 0-4), got {text!r}"
                )
    if not labels:
        raise InputFileError(f"{path}: no stages found")
    return Hypnogram(np.asarray(labels), epoch_sec=30.0)


def _read_edf(path: Path) -> Hypnogram:
    import mne

    try:
        annotations = mne.read_annotations(path)
    except Exception as err:  # noqa: BLE001 - any parse failure is a user-facing file problem
        raise InputFileError(f"{path}: cannot read EDF+ annotations ({err})") from err
    if len(annotations) == 0:
        raise InputFileError(f"{path}: the EDF+ file holds no annotations")
    epoch = 30.0
    end = float(np.max(annotations.onset + annotations.duration))
    n = int(np.floor(end / epoch + 1e-9))
    labels = np.full(n, UNSCORED, dtype="<U2")
    for onset, duration, desc in zip(
        annotations.onset, annotations.duration, annotations.description, strict=True
    ):
        stage = _EDF_DESCRIPTIONS.get(str(desc).strip())
        if stage is None:
            continue
        a = int(round(onset / epoch))
        b = int(round((onset + duration) / epoch))
        labels[a : min(b, n)] = stage
    return Hypnogram(labels, epoch_sec=epoch)


def _read_dynamo(path: Path) -> Hypnogram:
    try:
        df = pd.read_csv(path)
    except Exception as err:  # noqa: BLE001
        raise InputFileError(f"{path}: cannot read the change-point CSV ({err})") from err
    if list(df.columns[:2]) != ["Time", "Stage"] or len(df) < 2:
        raise InputFileError(f"{path}: expected a 'Time,Stage' header and at least two rows")
    times = df["Time"].to_numpy(float)
    codes = df["Stage"].to_numpy(int)
    epoch = 30.0
    # The grid is given by the change points after the first row; keep its phase.
    phase = float(np.median(np.mod(times[1:], epoch)))
    first = times[0] + np.mod(phase - times[0], epoch)
    n = int(np.floor((times[-1] - first) / epoch + 1e-6))
    onsets = first + np.arange(n) * epoch
    idx = np.searchsorted(times, onsets + 1e-6, side="right") - 1
    labels = [_DYNAMO_CODES.get(int(codes[i]), UNSCORED) for i in idx]
    return Hypnogram(np.asarray(labels), epoch_sec=epoch, start=round(float(first), 3))


def read_hypnogram_csv(path: str | Path) -> Hypnogram:
    """Read dreamlink's epoch table (``onset,duration,stage[,confidence,p_W..p_R]``)."""
    path = Path(path)
    _check_file(path)
    try:
        df = pd.read_csv(path)
    except Exception as err:  # noqa: BLE001
        raise InputFileError(f"{path}: cannot read CSV ({err})") from err
    missing = {"onset", "duration", "stage"} - set(df.columns)
    if missing:
        raise InputFileError(f"{path}: missing column(s) {sorted(missing)}")
    if df.empty:
        raise InputFileError(f"{path}: no epochs")
    proba = df[list(PROBA_COLUMNS)] if set(PROBA_COLUMNS) <= set(df.columns) else None
    stages = df["stage"].astype(str).str.strip().replace({"nan": UNSCORED})
    bad = sorted(set(stages) - set(STAGES) - {UNSCORED})
    if bad:
        raise InputFileError(f"{path}: unknown stage label(s) {bad}; use W, N1, N2, N3, R or ?")
    return Hypnogram(
        stages.to_numpy(),
        epoch_sec=float(df["duration"].iloc[0]),
        start=float(df["onset"].iloc[0]),
        proba=proba,
    )


def write_hypnogram_csv(
    hypnogram: Hypnogram, path: str | Path, confidence: np.ndarray | None = None
) -> Path:
    """Write ``onset,duration,stage,confidence,p_W,p_N1,p_N2,p_N3,p_R`` (one row per epoch).

    ``confidence`` defaults to the largest stage probability when a hypnodensity is present.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    df = hypnogram.to_dataframe()
    if confidence is None and hypnogram.proba is not None:
        confidence = hypnogram.proba.to_numpy().max(axis=1)
    df.insert(3, "confidence", confidence if confidence is not None else np.nan)
    for col in PROBA_COLUMNS:
        if col not in df.columns:
            df[col] = np.nan
    df.to_csv(path, index=False, float_format="%.4f")
    return path


def write_hypnogram_yasa(hypnogram: Hypnogram, path: str | Path) -> Path:
    """Write YASA's 30-s text format (one stage string per line)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(str(s) for s in hypnogram.stages) + "\n", encoding="utf-8")
    return path
