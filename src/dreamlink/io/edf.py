"""EDF / EDF+ / BDF / FIF in and out, with user-facing errors instead of parser tracebacks.

Reading goes through MNE-Python (``mne.io.read_raw``), which handles EDF, EDF+, BDF and FIF; writing
goes through edfio (EDF+ with annotations). Signals are volts inside dreamlink and µV in the file
(the unit EDF sleep recordings conventionally use), converted here and nowhere else.

References
----------
Kemp B, Olivan J (2003). European data format 'plus' (EDF+), an EDF alike standard format for the
exchange of physiological data. Clin Neurophysiol 114(9):1755-1761. doi:10.1016/S1388-2457(03)00123-8
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dreamlink.errors import InputFileError, RecordingError
from dreamlink.events import Event

if TYPE_CHECKING:
    import mne

#: File suffixes dreamlink can play back.
READABLE_SUFFIXES = (".edf", ".bdf", ".fif", ".fif.gz", ".rec")

_UNIT_LABEL = {"eeg": "uV", "eog": "uV", "emg": "uV", "ecg": "uV", "misc": "uV", "stim": ""}


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".fif.gz" if name.endswith(".fif.gz") else path.suffix.lower()


def read_raw(path: str | Path, preload: bool = False) -> mne.io.BaseRaw:
    """Open a recording with MNE, turning every parse failure into one fix-it line.

    Parameters
    ----------
    path : str or Path
        An EDF, EDF+, BDF or FIF file.
    preload : bool
        Load all samples into memory now.

    Raises
    ------
    InputFileError
        Missing file, unknown suffix, not an EDF, truncated or corrupt header.
    """
    import mne

    path = Path(path)
    if not path.exists():
        raise InputFileError(f"recording not found: {path} (check the path)")
    if path.is_dir():
        raise InputFileError(f"{path} is a folder; give the .edf/.bdf/.fif file inside it")
    suffix = _suffix(path)
    if suffix not in READABLE_SUFFIXES:
        raise InputFileError(
            f"{path}: unsupported file type {suffix or '(none)'}; dreamlink reads EDF, EDF+, BDF and FIF"
        )
    if suffix in (".edf", ".bdf", ".rec"):
        _check_edf_header(path)
    try:
        raw = mne.io.read_raw(path, preload=preload, verbose="error")
    except Exception as err:  # noqa: BLE001 - parser errors are file problems for the user
        raise InputFileError(f"{path}: cannot read this file as {suffix[1:].upper()} ({err})") from err
    if suffix in (".edf", ".bdf", ".rec"):
        _fix_uppercase_units(raw, path)
    return raw


#: Physical dimensions written in capitals by some exporters (the DREAMS databases among them), which
#: MNE does not recognise and therefore leaves unscaled: the factor to volts of each.
_UPPERCASE_UNITS = {"UV": 1e-6, "MV": 1e-3, "NV": 1e-9}


def edf_physical_dimensions(path: str | Path) -> dict[str, str]:
    """Channel label → physical dimension string, read from an EDF/BDF header."""
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(256)
        n_signals = int(head[252:256].decode("ascii").strip())
        sig = fh.read(256 * n_signals)
    labels = [sig[16 * i : 16 * i + 16].decode("latin-1").strip() for i in range(n_signals)]
    base = 96 * n_signals
    dims = [sig[base + 8 * i : base + 8 * i + 8].decode("latin-1").strip() for i in range(n_signals)]
    return dict(zip(labels, dims, strict=True))


def _fix_uppercase_units(raw: mne.io.BaseRaw, path: Path) -> None:
    """Scale channels whose unit is spelled ``UV``/``MV``/``NV`` to volts (MNE leaves them as is).

    The DREAMS excerpts store ``UV``; MNE then returns µV values labelled as volts, a factor 10⁶ off,
    which every downstream amplitude threshold would silently misread.
    """
    import logging

    dims = edf_physical_dimensions(path)
    fixed = []
    for idx, name in enumerate(raw.ch_names):
        factor = _UPPERCASE_UNITS.get(dims.get(name, ""))
        if factor is not None and raw._cals[idx] == 1.0:  # noqa: SLF001 - per-channel scale, lazy-safe
            raw._cals[idx] *= factor  # noqa: SLF001
            if raw.preload:
                raw._data[idx] *= factor  # noqa: SLF001
            fixed.append(name)
    if fixed:
        logging.getLogger("dreamlink.io").info(
            "%s: units written in capitals (e.g. 'UV') converted to volts for %s", path.name, ", ".join(fixed)
        )


def _check_edf_header(path: Path) -> None:
    """Validate the fixed part of an EDF/BDF header before MNE sees it (clear messages)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        head = fh.read(256)
    if len(head) < 256:
        raise InputFileError(
            f"{path}: not an EDF/BDF file (only {size} bytes; a header alone is 256 bytes)"
        )
    version = head[:8]
    if version not in (b"0       ", b"\xffBIOSEMI"):
        raise InputFileError(
            f"{path}: not an EDF/BDF file (header starts with {version!r}, expected '0' or BIOSEMI)"
        )
    try:
        header_bytes = int(head[184:192].decode("ascii").strip())
        n_records = int(head[236:244].decode("ascii").strip())
        n_signals = int(head[252:256].decode("ascii").strip())
    except ValueError as err:
        raise InputFileError(f"{path}: corrupt EDF header (non-numeric size fields)") from err
    if n_signals <= 0 or header_bytes != 256 * (n_signals + 1):
        raise InputFileError(
            f"{path}: corrupt EDF header ({n_signals} signals but a {header_bytes}-byte header)"
        )
    if size < header_bytes:
        raise InputFileError(f"{path}: truncated EDF file (the header itself is cut off)")
    with path.open("rb") as fh:
        fh.seek(256)
        sig = fh.read(256 * n_signals)
    try:
        per_record = [int(sig[216 * n_signals + 8 * i : 216 * n_signals + 8 * i + 8]) for i in
                      range(n_signals)]
    except ValueError as err:
        raise InputFileError(f"{path}: corrupt EDF header (bad samples-per-record field)") from err
    sample_bytes = 3 if version == b"\xffBIOSEMI" else 2
    record_bytes = sum(per_record) * sample_bytes
    if n_records > 0 and record_bytes > 0:
        expected = header_bytes + n_records * record_bytes
        if size < expected:
            have = (size - header_bytes) // record_bytes
            raise InputFileError(
                f"{path}: truncated EDF file ({have} of {n_records} data records present); "
                "if it came from an interrupted dreamlink recording, run `dreamlink recover` on its folder"
            )


def write_edf(
    path: str | Path,
    data: np.ndarray,
    sfreq: float,
    ch_names: Sequence[str],
    ch_types: Sequence[str],
    events: Iterable[Event] = (),
    start: _dt.datetime | None = None,
    physical_range_uv: float | Sequence[float] | None = None,
) -> Path:
    """Write signals (volts) and events to an EDF+ file.

    Parameters
    ----------
    path : str or Path
        Destination ``.edf``.
    data : numpy.ndarray
        Samples in volts, shape ``(n_channels, n_times)``.
    sfreq : float
        Sampling rate in Hz.
    ch_names, ch_types : sequence of str
        Labels and types (types go into the EDF transducer field as ``EEG``/``EOG``/...).
    events : iterable of Event
        Written as EDF+ annotations (``trial_type:value`` as the text).
    start : datetime | None
        Wall-clock start of the recording (default: 2000-01-01 00:00:00, anonymous).
    physical_range_uv : float or sequence | None
        Symmetric physical range ±X µV per channel (default: from the data, at least ±500 µV,
        so quantisation stays below 0.02 µV for ordinary EEG).

    Returns
    -------
    Path
        The written file.
    """
    import edfio

    path = Path(path)
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2 or data.shape[0] != len(ch_names):
        raise ValueError(f"data must be (n_channels={len(ch_names)}, n_times), got {data.shape}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise RecordingError(f"cannot create folder {path.parent}: {err.strerror}") from err
    uv = data * 1e6
    if physical_range_uv is None:
        peaks = np.nanmax(np.abs(uv), axis=1) if uv.shape[1] else np.zeros(len(ch_names))
        ranges = np.maximum(500.0, np.ceil(peaks * 1.01))
    else:
        ranges = np.broadcast_to(np.asarray(physical_range_uv, dtype=float), (len(ch_names),))
    signals = []
    for row, name, ch_type, rng in zip(uv, ch_names, ch_types, ranges, strict=True):
        signals.append(
            edfio.EdfSignal(
                np.clip(row, -rng, rng),
                sampling_frequency=float(sfreq),
                label=str(name)[:16],
                transducer_type=ch_type.upper(),
                physical_dimension=_UNIT_LABEL.get(ch_type, "uV"),
                physical_range=(-float(rng), float(rng)),
            )
        )
    annotations = [
        edfio.EdfAnnotation(max(0.0, e.onset), e.duration or None, event_annotation_text(e))
        for e in events
    ]
    start = start or _dt.datetime(2000, 1, 1)
    edf = edfio.Edf(
        signals,
        starttime=start.time(),
        annotations=annotations,
        recording=edfio.Recording(startdate=start.date()),
    )
    try:
        edf.write(path)
    except OSError as err:
        raise RecordingError(f"cannot write {path}: {err.strerror}") from err
    return path


def event_annotation_text(event: Event) -> str:
    """EDF+ annotation text of an event: ``trial_type`` or ``trial_type:value``."""
    if event.value is None or event.value == "":
        return event.trial_type
    return f"{event.trial_type}:{event.value}"
