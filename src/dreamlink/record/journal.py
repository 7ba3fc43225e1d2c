"""Crash-safe signal journal: an EDF+/BDF+ file written one data record at a time, and an event log.

Why not edfio or :func:`dreamlink.io.edf.write_edf` for the signal
-----------------------------------------------------------------
edfio (and MNE's exporter, which uses it) write a whole file from arrays held in memory. A night
must instead reach the disk as it is recorded, so that a ``kill -9`` or a power cut loses at most
the last second, and finalising an 8-h, 64-channel recording must take seconds, not a re-write of
gigabytes. The EDF specification allows exactly this: while recording, the header's
"number of data records" field is ``-1`` and data records (here 1 s long) are appended as they fill
(Kemp & Olivan 2003, EDF+ §2.1.3.3; Kemp et al. 1992). This module therefore writes the EDF+/BDF+
header and data records itself (≈ 150 lines following the specification); everything it writes is
read back in the tests by MNE, edfio and mne-bids, the field's readers. Finalising (clean close or
:func:`dreamlink.record.recover.recover`) only truncates a torn last record, patches the record count
and writes the event annotations into the annotation slots reserved in every record.

Signal journal
    ``recording.edf`` (16-bit EDF+C) or ``recording.bdf`` (24-bit BDF+C). Samples are quantised
    with a fixed physical range per channel decided before the night (default ±3276.7 µV in 0.1 µV
    steps for EDF, ±187500 µV in 0.0224 µV steps for BDF, the native step of an ADS1299 at gain 24).
    A partial record (< 1 s) is held in memory; each completed record is handed to the OS with
    ``os.write`` (so it survives the death of the process) and ``os.fsync``'d at most every 0.5 s of
    wall-clock time (so a power cut during a live recording loses at most the last second). Clipped
    samples are counted and logged loudly, never dropped silently.
Event log
    ``events.jsonl``: one JSON object per line, appended with ``os.write`` and ``os.fsync``'d per
    event. A torn last line (a kill in the middle of a write) is skipped on reading.

References
----------
Kemp B, Värri A, Rosa AC, Nielsen KD, Gade J (1992). A simple format for exchange of digitized
polygraphic recordings. Electroencephalogr Clin Neurophysiol 82(5):391-393.
doi:10.1016/0013-4694(92)90009-7
Kemp B, Olivan J (2003). European data format 'plus' (EDF+), an EDF alike standard format for the
exchange of physiological data. Clin Neurophysiol 114(9):1755-1761. doi:10.1016/S1388-2457(03)00123-8
BioSemi BDF format (24-bit EDF variant): https://www.biosemi.com/faq/file_format.htm
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dreamlink.errors import RecordingError
from dreamlink.events import Event

logger = logging.getLogger("dreamlink.record")

#: Default symmetric physical range (µV) and digital range per file format.
DEFAULT_RANGE_UV = {"edf": 3276.7, "bdf": 187500.0}
DIGITAL_MAX = {"edf": 32767, "bdf": 8388607}
SAMPLE_BYTES = {"edf": 2, "bdf": 3}
#: Data-record durations tried, longest first (all ≤ 1 s so a crash loses < 1 s).
RECORD_DURATIONS = (1.0, 0.5, 0.25, 0.2, 0.125, 0.1)
#: Bytes reserved per data record for EDF+ annotations (timekeeping TAL + events).
DEFAULT_ANNOTATION_BYTES = 512
_ANNOT_LABEL = {"edf": "EDF Annotations", "bdf": "BDF Annotations"}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def choose_record_duration(sfreq: float) -> float:
    """Longest data-record duration ≤ 1 s holding a whole number of samples at ``sfreq`` Hz.

    Raises
    ------
    RecordingError
        If no duration in :data:`RECORD_DURATIONS` fits (e.g. 83.33 Hz).
    """
    for dur in RECORD_DURATIONS:
        n = sfreq * dur
        if n >= 1 and abs(n - round(n)) < 1e-6:
            return dur
    raise RecordingError(
        f"sampling rate {sfreq} Hz gives no whole number of samples per 0.1-1 s data record; "
        "resample the source to an integer rate (e.g. 256 Hz) before recording"
    )


def _num(value: float, width: int = 8) -> str:
    """Format a number in at most ``width`` ASCII characters (EDF header fields)."""
    if float(value).is_integer():
        text = str(int(value))
        if len(text) <= width:
            return text
    for decimals in range(6, -1, -1):
        text = f"{value:.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        if len(text) <= width:
            return text
    raise RecordingError(f"number {value} does not fit an EDF header field of {width} characters")


def _ascii(text: str, width: int) -> bytes:
    clean = "".join(c if 32 <= ord(c) < 127 else "_" for c in str(text))
    return clean[:width].ljust(width).encode("ascii")


@dataclass
class EdfLayout:
    """Geometry of a streamed EDF+/BDF+ file (everything needed to write, recover and read it).

    Parameters
    ----------
    file_format : {"edf", "bdf"}
        16-bit EDF+ or 24-bit BDF+.
    ch_names, ch_types : list of str
        Signal labels and dreamlink channel types (the EDF+ annotation signal is added last).
    sfreq : float
        Sampling rate in Hz (all signals).
    record_sec : float
        Data-record duration in seconds.
    physical_max_uv : list of float
        Symmetric physical range ±X µV per channel.
    annotation_bytes : int
        Bytes of the annotation signal per record (even; a multiple of 3 for BDF).
    """

    file_format: str
    ch_names: list[str]
    ch_types: list[str]
    sfreq: float
    record_sec: float
    physical_max_uv: list[float]
    annotation_bytes: int = DEFAULT_ANNOTATION_BYTES

    def __post_init__(self) -> None:
        if self.file_format not in SAMPLE_BYTES:
            raise RecordingError(f"unknown recording format {self.file_format!r}; use 'edf' or 'bdf'")
        per = self.sample_bytes
        self.annotation_bytes = int(-(-self.annotation_bytes // per) * per)

    @property
    def sample_bytes(self) -> int:
        """Bytes per sample (2 for EDF, 3 for BDF)."""
        return SAMPLE_BYTES[self.file_format]

    @property
    def digital_max(self) -> int:
        """Largest digital value used (the digital range is symmetric)."""
        return DIGITAL_MAX[self.file_format]

    @property
    def n_channels(self) -> int:
        """Number of signal channels (without the annotation signal)."""
        return len(self.ch_names)

    @property
    def samples_per_record(self) -> int:
        """Samples per channel in one data record."""
        return int(round(self.sfreq * self.record_sec))

    @property
    def header_bytes(self) -> int:
        """Size of the header (256 bytes per signal plus 256)."""
        return 256 * (self.n_channels + 2)

    @property
    def signal_bytes(self) -> int:
        """Bytes of all signal channels in one record."""
        return self.n_channels * self.samples_per_record * self.sample_bytes

    @property
    def record_bytes(self) -> int:
        """Bytes of one data record (signals + annotations)."""
        return self.signal_bytes + self.annotation_bytes

    @property
    def gain_uv(self) -> np.ndarray:
        """µV per digital step, per channel."""
        return np.asarray(self.physical_max_uv, dtype=float) / self.digital_max

    @property
    def bytes_per_second(self) -> float:
        """Disk bytes per second of recording."""
        return self.record_bytes / self.record_sec

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready description (stored in the folder's manifest)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EdfLayout:
        """Inverse of :meth:`to_dict`."""
        names = ("file_format", "ch_names", "ch_types", "sfreq", "record_sec", "physical_max_uv",
                 "annotation_bytes")
        return cls(**{k: data[k] for k in names})

    # -- header -------------------------------------------------------------------------------
    def header(self, start: _dt.datetime, n_records: int = -1, recording_id: str = "dreamlink") -> bytes:
        """The EDF+/BDF+ header bytes (``n_records=-1`` while recording)."""
        ns = self.n_channels + 1
        fmt = self.file_format
        version = b"\xffBIOSEMI" if fmt == "bdf" else b"0       "
        date = f"{start.day:02d}-{_MONTHS[start.month - 1]}-{start.year:04d}"
        fixed = (
            version
            + _ascii("X X X X", 80)
            + _ascii(f"Startdate {date} X X {recording_id}", 80)
            + _ascii(start.strftime("%d.%m.%y"), 8)
            + _ascii(start.strftime("%H.%M.%S"), 8)
            + _ascii(str(self.header_bytes), 8)
            + _ascii("BDF+C" if fmt == "bdf" else "EDF+C", 44)
            + _ascii(str(n_records), 8)
            + _ascii(_num(self.record_sec), 8)
            + _ascii(str(ns), 4)
        )
        dmax = self.digital_max
        labels = [*self.ch_names, _ANNOT_LABEL[fmt]]
        transducer = [t.upper() for t in self.ch_types] + [""]
        dims = ["uV"] * self.n_channels + [""]
        pmin = [_num(-p) for p in self.physical_max_uv] + ["-1"]
        pmax = [_num(p) for p in self.physical_max_uv] + ["1"]
        dmin = [str(-dmax)] * self.n_channels + [str(-dmax - 1)]
        dmaxs = [str(dmax)] * self.n_channels + [str(dmax)]
        spr = [str(self.samples_per_record)] * self.n_channels + [
            str(self.annotation_bytes // self.sample_bytes)
        ]
        parts = [fixed]
        for values, width in (
            (labels, 16), (transducer, 80), (dims, 8), (pmin, 8), (pmax, 8), (dmin, 8), (dmaxs, 8),
            ([""] * ns, 80), (spr, 8), ([""] * ns, 32),
        ):  # fmt: skip
            parts.extend(_ascii(v, width) for v in values)
        head = b"".join(parts)
        if len(head) != self.header_bytes:  # pragma: no cover - a programming error
            raise RuntimeError(f"EDF header is {len(head)} bytes, expected {self.header_bytes}")
        return head

    # -- records ------------------------------------------------------------------------------
    def encode_records(self, data_volts: np.ndarray, first_record: int) -> tuple[bytes, np.ndarray]:
        """Encode whole records.

        Parameters
        ----------
        data_volts : numpy.ndarray
            ``(n_channels, k * samples_per_record)`` samples in volts.
        first_record : int
            Index of the first record (for the timekeeping annotation).

        Returns
        -------
        bytes
            ``k`` data records.
        numpy.ndarray
            Number of clipped (or non-finite) samples per channel.
        """
        n = self.samples_per_record
        k = data_volts.shape[1] // n
        gain = self.gain_uv[:, None]
        scaled = data_volts[:, : k * n] * 1e6 / gain
        bad = ~np.isfinite(scaled)
        scaled[bad] = 0.0
        dmax = self.digital_max
        clipped = (np.abs(scaled) > dmax + 0.5) | bad
        digital = np.clip(np.rint(scaled), -dmax, dmax).astype("<i4")
        # (n_channels, k, n) -> (k, n_channels, n): record-major, channel blocks inside a record.
        digital = digital.reshape(self.n_channels, k, n).transpose(1, 0, 2)
        if self.file_format == "edf":
            sig = np.ascontiguousarray(digital.astype("<i2")).view(np.uint8).reshape(k, -1)
        else:
            sig = np.ascontiguousarray(digital).view(np.uint8).reshape(k, self.n_channels, n, 4)
            sig = np.ascontiguousarray(sig[..., :3]).reshape(k, -1)
        out = np.zeros((k, self.record_bytes), dtype=np.uint8)
        out[:, : self.signal_bytes] = sig
        for i in range(k):
            tal = timekeeping_tal((first_record + i) * self.record_sec)
            out[i, self.signal_bytes : self.signal_bytes + len(tal)] = np.frombuffer(tal, np.uint8)
        return out.tobytes(), clipped.sum(axis=1)


def timekeeping_tal(onset: float) -> bytes:
    """The time-keeping TAL that starts every EDF+ data record (``+onset\\x14\\x14\\x00``)."""
    return f"+{_tal_number(onset)}".encode() + b"\x14\x14\x00"


def _tal_number(value: float) -> str:
    text = f"{abs(value):.6f}".rstrip("0").rstrip(".")
    return text or "0"


def event_tal(event: Event, max_bytes: int) -> bytes:
    """One EDF+ TAL for an event: ``±onset[\\x15duration]\\x14text\\x14\\x00`` (text truncated to fit).

    The text is ``trial_type:value``; a cue's requested time (``data["requested_onset"]``) is appended
    as `` (requested T s)`` so the EDF+ file alone shows requested and actual (onset) time.
    """
    from dreamlink.io.edf import event_annotation_text

    sign = "-" if event.onset < 0 else "+"
    head = f"{sign}{_tal_number(event.onset)}"
    if event.duration and event.duration > 0:
        head += f"\x15{_tal_number(event.duration)}"
    text = event_annotation_text(event)
    requested = (event.data or {}).get("requested_onset")
    if isinstance(requested, int | float) and not isinstance(requested, bool):
        text += f" (requested {_tal_number(float(requested))} s)"  # cues: requested and actual time
    text = "".join(ch for ch in text if ch not in "\x00\x14\x15")
    raw = text.encode("utf-8")
    room = max_bytes - len(head) - 3
    if room <= 0:
        return b""
    if len(raw) > room:
        raw = raw[:room].decode("utf-8", errors="ignore").encode("utf-8")
    return head.encode() + b"\x14" + raw + b"\x14\x00"


class SignalJournal:
    """Append-only EDF+/BDF+ writer that keeps at most one partial record (< 1 s) in memory.

    Parameters
    ----------
    path : Path
        The ``.edf``/``.bdf`` file to create.
    layout : EdfLayout
        File geometry.
    start : datetime
        Wall-clock start of the recording (UTC, written to the header).
    sync : bool
        ``os.fsync`` completed records (protects against power loss; a killed process loses nothing
        that was handed to the OS anyway).
    sync_interval : float
        Minimum wall-clock seconds between two fsyncs (0 = after every record). With a live source
        (one record per second) every record is synced with the default 0.5 s; when a file is
        replayed faster than real time, syncs are spaced by this interval instead of one per record.
    """

    def __init__(self, path: Path, layout: EdfLayout, start: _dt.datetime, sync: bool = True,
                 sync_interval: float = 0.5) -> None:
        self.path = Path(path)
        self.layout = layout
        self.start = start
        self.sync = sync
        self.sync_interval = float(sync_interval)
        self._last_sync = -np.inf
        self.n_syncs = 0
        self.n_records = 0
        self.clipped = np.zeros(layout.n_channels, dtype=np.int64)
        self._pending: list[np.ndarray] = []
        self._n_pending = 0
        self._fd: int | None = None

    def open(self) -> SignalJournal:
        """Create the file and write its header (fsync'd)."""
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            _write_all(self._fd, self.layout.header(self.start))
            os.fsync(self._fd)
        except OSError as err:
            raise _recording_error(self.path, err) from err
        return self

    @property
    def n_samples_written(self) -> int:
        """Samples per channel handed to the OS (whole records)."""
        return self.n_records * self.layout.samples_per_record

    @property
    def n_samples_pending(self) -> int:
        """Samples per channel held in memory (less than one record)."""
        return self._n_pending

    def append(self, data_volts: np.ndarray) -> int:
        """Add samples ``(n_channels, n)`` in volts; returns how many whole records were written."""
        if self._fd is None:
            raise RecordingError(f"{self.path} is not open for writing (the recorder was closed)")
        data = np.asarray(data_volts, dtype=np.float64)
        if data.ndim != 2 or data.shape[0] != self.layout.n_channels:
            raise RecordingError(
                f"chunk has shape {data.shape}, expected ({self.layout.n_channels}, n): "
                "the source's channels changed during the recording"
            )
        if data.shape[1] == 0:
            return 0
        self._pending.append(data)
        self._n_pending += data.shape[1]
        n = self.layout.samples_per_record
        k = self._n_pending // n
        if k == 0:
            return 0
        block = np.concatenate(self._pending, axis=1) if len(self._pending) > 1 else self._pending[0]
        rest = block[:, k * n :]
        self._write_records(block[:, : k * n])
        self._pending = [rest] if rest.shape[1] else []
        self._n_pending = rest.shape[1]
        return k

    def _write_records(self, block: np.ndarray) -> None:
        payload, clipped = self.layout.encode_records(block, self.n_records)
        try:
            _write_all(self._fd, payload)
            now = time.monotonic()
            if self.sync and now - self._last_sync >= self.sync_interval:
                os.fsync(self._fd)
                self._last_sync = now
                self.n_syncs += 1
        except OSError as err:
            raise _recording_error(self.path, err) from err
        self.n_records += block.shape[1] // self.layout.samples_per_record
        if clipped.any():
            for idx in np.flatnonzero(clipped):
                if self.clipped[idx] == 0:
                    logger.warning(
                        "channel %s exceeds the recording range ±%g µV: samples are clipped "
                        "(record with --format bdf or a wider range)",
                        self.layout.ch_names[idx], self.layout.physical_max_uv[idx],
                    )
            self.clipped += clipped

    def flush_partial(self) -> int:
        """Write the pending partial record padded with zeros; returns the number of padding samples."""
        if self._n_pending == 0:
            return 0
        n = self.layout.samples_per_record
        pad = n - self._n_pending
        block = np.concatenate([*self._pending, np.zeros((self.layout.n_channels, pad))], axis=1)
        self._pending, self._n_pending = [], 0
        self._write_records(block)
        return pad

    def close(self) -> None:
        """Close the file descriptor (does not finalise; see :func:`finalise_signal_file`)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _recording_error(path: Path, err: OSError) -> RecordingError:
    import errno

    if err.errno == errno.ENOSPC:
        return RecordingError(
            f"disk full while writing {path}: everything up to the last second is kept; free space "
            f"and run `dreamlink recover {path.parent}`"
        )
    if err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return RecordingError(
            f"cannot write {path}: the folder became read-only ({err.strerror}); run "
            f"`dreamlink recover {path.parent}` once it is writable again"
        )
    return RecordingError(f"cannot write {path}: {err.strerror or err}")


def read_header_layout(path: Path) -> tuple[int, int, int]:
    """Return ``(header_bytes, n_records_field, record_bytes)`` parsed from an EDF/BDF header."""
    with Path(path).open("rb") as fh:
        head = fh.read(256)
        if len(head) < 256:
            raise RecordingError(f"{path}: the header is incomplete ({len(head)} bytes); nothing to recover")
        header_bytes = int(head[184:192])
        n_records = int(head[236:244])
        ns = int(head[252:256])
        sig = fh.read(256 * ns)
    bytes_per = 3 if head[:1] == b"\xff" else 2
    spr = [int(sig[216 * ns + 8 * i : 216 * ns + 8 * i + 8]) for i in range(ns)]
    return header_bytes, n_records, sum(spr) * bytes_per


def finalise_signal_file(path: Path, layout: EdfLayout, events: Iterable[Event]) -> dict[str, Any]:
    """Make a streamed (possibly torn) EDF+/BDF+ file valid and write the events as annotations.

    Truncates a torn last record, sets the header's record count, and writes every event as a TAL
    into the annotation slots (record 0 onwards; the time-keeping TAL of each record is kept).
    Idempotent: running it twice gives the same file.

    Returns
    -------
    dict
        ``n_records``, ``truncated_bytes``, ``n_annotations`` written and ``n_annotations_dropped``
        (events that did not fit the reserved annotation space; they stay in the event log).
    """
    path = Path(path)
    header_bytes, _, record_bytes = read_header_layout(path)
    if header_bytes != layout.header_bytes or record_bytes != layout.record_bytes:
        raise RecordingError(
            f"{path}: header does not match the recording's manifest (recording.json); "
            "the file was modified by another program"
        )
    size = path.stat().st_size
    n_records = max(0, (size - header_bytes) // record_bytes)
    keep = header_bytes + n_records * record_bytes
    slot = layout.annotation_bytes
    tals = []
    for event in sorted(events, key=lambda e: e.onset):
        tal = event_tal(event, slot - 16)
        if tal:
            tals.append(tal)
    written = 0
    with path.open("r+b") as fh:
        fh.truncate(keep)
        fh.seek(236)
        fh.write(_ascii(str(n_records), 8))
        record = 0
        while written < len(tals) and record < n_records:
            buf = bytearray(timekeeping_tal(record * layout.record_sec))
            while written < len(tals) and len(buf) + len(tals[written]) <= slot:
                buf += tals[written]
                written += 1
            fh.seek(header_bytes + record * record_bytes + layout.signal_bytes)
            fh.write(bytes(buf.ljust(slot, b"\x00")))
            record += 1
        fh.flush()
        os.fsync(fh.fileno())
    dropped = len(tals) - written
    if dropped:
        logger.warning(
            "%d event(s) did not fit the EDF+ annotation space of %s; they are kept in events.tsv "
            "and events.jsonl", dropped, path.name,
        )
    return {
        "n_records": int(n_records),
        "truncated_bytes": int(size - keep),
        "n_annotations": int(written),
        "n_annotations_dropped": int(dropped),
    }


@dataclass
class EventLog:
    """Append-only, fsync'd JSON-lines log of :class:`~dreamlink.events.Event` objects.

    Parameters
    ----------
    path : Path
        The ``events.jsonl`` file (created if missing; appended to otherwise).
    """

    path: Path
    _fd: int | None = field(default=None, repr=False)
    n_events: int = 0

    def open(self) -> EventLog:
        """Open the log for appending."""
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError as err:
            raise _recording_error(Path(self.path), err) from err
        return self

    def append(self, event: Event) -> None:
        """Write one event and fsync it (a crash after this returns cannot lose it)."""
        if self._fd is None:
            raise RecordingError(f"event log {self.path} is not open (the recorder was closed)")
        line = json.dumps(event.to_json(), default=str, ensure_ascii=False) + "\n"
        try:
            _write_all(self._fd, line.encode("utf-8"))
            os.fsync(self._fd)
        except OSError as err:
            raise _recording_error(Path(self.path), err) from err
        self.n_events += 1

    def close(self) -> None:
        """Close the log."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_event_log(path: str | Path) -> list[Event]:
    """Read ``events.jsonl``; a torn or corrupt line (from a crash mid-write) is skipped with a warning."""
    path = Path(path)
    if not path.is_file():
        return []
    events = []
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                events.append(Event.from_row(json.loads(raw.decode("utf-8"))))
            except (ValueError, KeyError, UnicodeDecodeError):
                logger.warning("%s line %d is incomplete (interrupted write); skipped", path.name, lineno)
    return events


def layout_for(
    ch_names: Sequence[str],
    ch_types: Sequence[str],
    sfreq: float,
    file_format: str,
    physical_max_uv: float | Sequence[float] | None = None,
    annotation_bytes: int = DEFAULT_ANNOTATION_BYTES,
) -> EdfLayout:
    """Build an :class:`EdfLayout`, choosing the record duration and physical ranges."""
    n = len(ch_names)
    if physical_max_uv is None:
        ranges = [DEFAULT_RANGE_UV[file_format]] * n
    else:
        ranges = [float(x) for x in np.broadcast_to(np.asarray(physical_max_uv, dtype=float), (n,))]
    if any(not r > 0 for r in ranges):
        raise RecordingError(f"physical ranges must be positive µV values, got {ranges}")
    labels = [str(c)[:16] for c in ch_names]
    if len(set(labels)) != len(labels):
        raise RecordingError(f"channel names must be unique in their first 16 characters: {labels}")
    return EdfLayout(
        file_format=file_format,
        ch_names=labels,
        ch_types=list(ch_types),
        sfreq=float(sfreq),
        record_sec=choose_record_duration(float(sfreq)),
        physical_max_uv=ranges,
        annotation_bytes=annotation_bytes,
    )
