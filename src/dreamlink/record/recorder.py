"""Record any source, with its events, into a crash-safe recording folder.

:class:`Recorder` checks the folder *before* the night (writable? enough free space for the
expected duration plus a reserve?) and *during* it (free space and writability every
``check_interval_sec`` seconds of signal). Problems are never silent: a shortfall that still
leaves room is a loud ``logging`` warning plus a ``recording_warning`` event; running into the
reserve, a write failure (disk full, read-only) or a folder that stopped being writable raises
:class:`~dreamlink.errors.RecordingError` after keeping everything already written (the folder
can then be finalised with ``dreamlink recover``).

File format: 16-bit EDF+ unless the source has more than 16 bits of resolution, in which case 24-bit
BDF+ (see :func:`choose_file_format` for how that is known).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dreamlink.errors import RecordingError
from dreamlink.events import Event
from dreamlink.record.folder import (
    MANIFEST_VERSION,
    STATE_RECORDING,
    RecordingFolder,
    utc_now,
)
from dreamlink.record.journal import (
    DEFAULT_ANNOTATION_BYTES,
    EdfLayout,
    EventLog,
    SignalJournal,
    layout_for,
)
from dreamlink.sources.base import Chunk, SourceInfo

logger = logging.getLogger("dreamlink.record")

#: Free space kept in reserve (bytes): below it the recorder stops and finalises.
DEFAULT_RESERVE_BYTES = 20 * 1024 * 1024
#: Assumed length of a night when the duration is not known in advance (s), for the space check.
DEFAULT_NIGHT_SEC = 10 * 3600.0
#: Minimum spacing (s of signal) between repeated low-space warnings.
_WARN_EVERY_SEC = 300.0


def choose_file_format(info: SourceInfo, requested: str = "auto") -> tuple[str, str]:
    """Decide between 16-bit EDF+ and 24-bit BDF+ for a source.

    How the source's resolution is known, in order:

    1. ``info.extra["resolution_bits"]`` when the source declares it (> 16 → BDF);
    2. a file source: the file's own format (``.bdf`` → BDF, ``.edf`` → EDF; FIF holds floats → BDF);
    3. a BrainFlow board: BDF (EEG boards digitise with 24-bit ADCs, e.g. the ADS1299);
    4. an LSL stream: ``info.extra["channel_format"]`` ``int16`` → EDF, anything else → BDF;
    5. otherwise (the simulator): EDF, whose 0.1 µV step is below any EEG noise floor.

    Parameters
    ----------
    info : SourceInfo
        The source's metadata.
    requested : {"auto", "edf", "bdf"}
        Force a format, or decide automatically.

    Returns
    -------
    tuple of str
        ``(format, reason)``.
    """
    requested = (requested or "auto").lower()
    if requested in ("edf", "bdf"):
        return requested, "requested"
    if requested != "auto":
        raise RecordingError(f"unknown recording format {requested!r}; use auto, edf or bdf")
    extra = info.extra or {}
    bits = extra.get("resolution_bits")
    if bits is not None:
        fmt = "bdf" if int(bits) > 16 else "edf"
        return fmt, f"source declares {int(bits)}-bit resolution"
    name = (info.name or "").lower()
    path = str(extra.get("path") or extra.get("file") or "")
    target = (path or name).lower()
    if target.endswith(".bdf"):
        return "bdf", "source file is BDF (24-bit)"
    if target.endswith((".fif", ".fif.gz")):
        return "bdf", "source file is FIF (floating point): 24-bit keeps more of it"
    if target.endswith((".edf", ".rec")):
        return "edf", "source file is EDF (16-bit)"
    if name.startswith("brainflow") or extra.get("board_id") is not None:
        return "bdf", "BrainFlow EEG boards digitise with 24-bit ADCs"
    if name.startswith("lsl") or "channel_format" in extra:
        cf = str(extra.get("channel_format", "")).lower()
        if cf in ("int16", "int8"):
            return "edf", f"LSL stream carries {cf} samples"
        return "bdf", f"LSL stream carries {cf or 'floating-point'} samples"
    return "edf", "simulated/unspecified resolution: 16-bit EDF (0.1 µV steps)"


_DIM_TO_UV = {"uv": 1.0, "µv": 1.0, "mv": 1e3, "v": 1e6, "nv": 1e-3}


def file_physical_ranges(path: str | Path, ch_names: Sequence[str]) -> list[float] | None:
    """Symmetric physical range (µV) of each channel in the EDF/BDF file a source replays.

    Recording a file with the file's own ranges keeps its quantisation (a lossless copy at the same
    resolution). Channels not found by label, or with a unit other than V/mV/µV, get ``None``
    (the default range). Returns ``None`` if the file is not an EDF/BDF or cannot be parsed.
    """
    path = Path(path)
    if path.suffix.lower() not in (".edf", ".bdf") or not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            head = fh.read(256)
            ns = int(head[252:256])
            sig = fh.read(256 * ns)
        labels = [sig[16 * i : 16 * i + 16].decode("latin-1").strip() for i in range(ns)]
        base = 96 * ns
        dims = [sig[base + 8 * i : base + 8 * i + 8].decode("latin-1").strip().lower() for i in range(ns)]
        pmin = [float(sig[104 * ns + 8 * i : 104 * ns + 8 * i + 8]) for i in range(ns)]
        pmax = [float(sig[112 * ns + 8 * i : 112 * ns + 8 * i + 8]) for i in range(ns)]
    except (OSError, ValueError):
        return None
    out: list[float | None] = []
    for name in ch_names:
        if name not in labels:
            out.append(None)
            continue
        i = labels.index(name)
        scale = _DIM_TO_UV.get(dims[i])
        out.append(max(abs(pmin[i]), abs(pmax[i])) * scale if scale else None)
    return out if any(v is not None for v in out) else None


def free_bytes(folder: Path) -> int:
    """Free bytes available to this user on the file system holding ``folder``."""
    st = os.statvfs(folder)
    return int(st.f_bavail * st.f_frsize)


def check_writable(folder: Path) -> None:
    """Create, fsync and delete a probe file in ``folder``.

    Raises
    ------
    RecordingError
        If the folder is read-only or not writable (names the fix).
    """
    probe = Path(folder) / ".dreamlink-write-probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, b"probe")
            os.fsync(fd)
        finally:
            os.close(fd)
        probe.unlink()
    except OSError as err:
        raise RecordingError(
            f"recording folder {folder} is not writable ({err.strerror}); make it writable or choose "
            "another --out"
        ) from err


def check_free_space(folder: Path, need_bytes: float, reserve_bytes: int) -> int:
    """Raise if ``folder`` lacks ``need_bytes`` plus the reserve; return the free bytes."""
    free = free_bytes(folder)
    if free < need_bytes + reserve_bytes:
        raise RecordingError(
            f"not enough free space in {folder}: {free / 1e6:.1f} MB free, the recording needs "
            f"{need_bytes / 1e6:.1f} MB plus a {reserve_bytes / 1e6:.1f} MB reserve; free space or "
            "choose another --out"
        )
    return free


@dataclass
class RecordingSummary:
    """What a finished (or recovered) recording holds."""

    folder: Path
    signal_path: Path
    file_format: str
    format_reason: str
    ch_names: list[str]
    sfreq: float
    n_samples: int
    duration_sec: float
    n_events: int
    n_annotations: int
    state: str
    clipped: dict[str, int] = field(default_factory=dict)
    bids_path: Path | None = None
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """Human-readable summary lines."""
        out = [
            f"recording: {self.folder} ({self.state})",
            f"signal:    {self.signal_path.name} ({self.file_format.upper()}+, {self.format_reason})",
            f"channels:  {len(self.ch_names)} ({', '.join(self.ch_names)}) at {self.sfreq:g} Hz",
            f"duration:  {self.duration_sec:.2f} s ({self.n_samples} samples per channel)",
            f"events:    {self.n_events} logged, {self.n_annotations} written as EDF+ annotations",
        ]
        if self.bids_path is not None:
            out.append(f"BIDS:      {self.bids_path}")
        clipped = {k: v for k, v in self.clipped.items() if v}
        if clipped:
            out.append(f"CLIPPED:   {clipped} samples outside the recording range")
        out.extend(f"WARNING:   {w}" for w in self.warnings)
        return out


class Recorder:
    """Write a source's chunks and the rig's events into a recording folder, crash-safely.

    Parameters
    ----------
    folder : str or Path
        The recording folder (created; must be new or empty).
    info : SourceInfo
        Channels and sampling rate of the source.
    file_format : {"auto", "edf", "bdf"}
        See :func:`choose_file_format`.
    physical_range_uv : float or sequence | None
        Symmetric recording range ±X µV per channel (default ±3276.7 µV EDF, ±187500 µV BDF);
        ``info.extra["physical_range_uv"]`` is used when the source provides it, and the replayed
        file's own ranges for a file source (``info.extra["path"]``, see :func:`file_physical_ranges`).
    expected_duration : float | None
        Planned length in seconds, for the free-space check (default: a 10-h night).
    source_uri : str
        The source string, stored in the manifest.
    meas_date : datetime | None
        Wall-clock start (UTC); default ``info.meas_date`` or now.
    reserve_bytes : int
        Free space that must remain; below it the recorder stops, finalises and raises.
    check_interval_sec : float
        Seconds of signal between free-space and writability checks during the night.
    bids : bool
        Also write the BIDS layout (mne-bids) when finalising.
    subject, session, task : str
        BIDS entities.
    sync : bool
        fsync completed data records (protects against power cuts).
    sync_interval : float
        Minimum wall-clock seconds between fsyncs (0: after every record); see
        :class:`~dreamlink.record.journal.SignalJournal`.
    annotation_bytes : int
        EDF+ annotation space reserved per data record.
    on_warning : callable | None
        Called with each warning text (the CLI prints them).
    """

    def __init__(
        self,
        folder: str | Path,
        info: SourceInfo,
        *,
        file_format: str = "auto",
        physical_range_uv: float | Sequence[float] | None = None,
        expected_duration: float | None = None,
        source_uri: str = "",
        meas_date: _dt.datetime | None = None,
        reserve_bytes: int = DEFAULT_RESERVE_BYTES,
        check_interval_sec: float = 10.0,
        bids: bool = True,
        subject: str = "01",
        session: str | None = None,
        task: str = "sleep",
        sync: bool = True,
        sync_interval: float = 0.5,
        annotation_bytes: int = DEFAULT_ANNOTATION_BYTES,
        on_warning: Callable[[str], None] | None = None,
    ) -> None:
        self.folder = RecordingFolder(folder)
        self.info = info
        self.file_format, self.format_reason = choose_file_format(info, file_format)
        if physical_range_uv is None:
            physical_range_uv = (info.extra or {}).get("physical_range_uv")
        if physical_range_uv is None and (info.extra or {}).get("path"):
            from dreamlink.record.journal import DEFAULT_RANGE_UV

            ranges = file_physical_ranges(info.extra["path"], info.ch_names)
            if ranges is not None:  # keep the replayed file's own resolution
                default = DEFAULT_RANGE_UV[self.file_format]
                physical_range_uv = [r if r else default for r in ranges]
        self.layout: EdfLayout = layout_for(
            info.ch_names, info.ch_types, info.sfreq, self.file_format, physical_range_uv,
            annotation_bytes,
        )
        self.expected_duration = expected_duration
        self.source_uri = source_uri
        if meas_date is None and info.meas_date is not None:
            meas_date = _dt.datetime.fromtimestamp(info.meas_date, _dt.UTC).replace(microsecond=0)
        self.meas_date = meas_date or utc_now()
        self.reserve_bytes = int(reserve_bytes)
        self.check_interval_sec = float(check_interval_sec)
        self.bids = bids
        self.subject, self.session, self.task = subject, session, task
        self.sync = sync
        self.sync_interval = sync_interval
        self.on_warning = on_warning
        self.warnings: list[str] = []
        self._journal: SignalJournal | None = None
        self._log: EventLog | None = None
        self._n_in = 0
        self._next_check = 0.0
        self._last_warn = -np.inf
        self._closed = False
        self.summary: RecordingSummary | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def open(self) -> Recorder:
        """Check the folder (writable, free space), create it and start the journal."""
        root = self.folder.root
        if self.folder.exists():
            raise RecordingError(
                f"{root} already holds a recording; choose a new --out folder "
                f"(or run `dreamlink recover {root}` if it was interrupted)"
            )
        if root.exists() and not root.is_dir():
            raise RecordingError(f"{root} is a file, not a folder; choose another --out")
        if root.is_dir() and any(root.iterdir()):
            raise RecordingError(f"{root} is not empty; give a new folder name to --out")
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise RecordingError(
                f"cannot create recording folder {root} ({err.strerror}); choose a writable --out"
            ) from err
        check_writable(root)
        duration = self.expected_duration or DEFAULT_NIGHT_SEC
        need = duration * self.layout.bytes_per_second * 1.05 + 1e6
        if self.expected_duration is not None:
            check_free_space(root, need, self.reserve_bytes)
        else:
            free = check_free_space(root, 0, self.reserve_bytes)
            if free < need + self.reserve_bytes:
                self._warn(
                    f"only {free / 1e6:.0f} MB free in {root}: enough for "
                    f"{(free - self.reserve_bytes) / self.layout.bytes_per_second / 3600:.1f} h of recording"
                )
        signal_path = self.folder.signal_path(self.file_format)
        manifest: dict[str, Any] = {
            "format": "dreamlink-recording",
            "version": MANIFEST_VERSION,
            "state": STATE_RECORDING,
            "source": self.source_uri or self.info.name,
            "source_name": self.info.name,
            "signal_file": signal_path.name,
            "format_reason": self.format_reason,
            "layout": self.layout.to_dict(),
            "meas_date": self.meas_date.isoformat(),
            "created": utc_now().isoformat(),
            "expected_duration_sec": self.expected_duration,
            "bids": {"enabled": self.bids, "subject": self.subject, "session": self.session,
                     "task": self.task},
            "padded_samples": 0,
        }
        self.folder.write_manifest(manifest)
        start = self.meas_date.astimezone(_dt.UTC).replace(tzinfo=None)
        self._journal = SignalJournal(signal_path, self.layout, start, sync=self.sync,
                                      sync_interval=self.sync_interval).open()
        self._log = EventLog(self.folder.event_log_path).open()
        # A marker at time 0 naming the source: every recording has at least one event, so the
        # BIDS layout always holds an _events.tsv.
        self._log.append(Event(0.0, 0.0, "recording_start", self.source_uri or self.info.name or None,
                               None, "record", {"meas_date": self.meas_date.isoformat()}))
        self._next_check = self.check_interval_sec
        logger.info("recording %s into %s (%s)", self.source_uri or self.info.name, root, signal_path.name)
        return self

    def __enter__(self) -> Recorder:
        return self.open()

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        # Finalise even after an error or Ctrl-C, so the folder holds a valid EDF+ (unless the
        # failure was the disk itself, in which case `dreamlink recover` finishes the job later).
        if self._closed:
            return
        try:
            self.close()
        except RecordingError as err:
            if exc_type is None:
                raise
            logger.error("could not finalise %s: %s", self.folder.root, err)

    # -- writing ------------------------------------------------------------------------------
    @property
    def n_samples(self) -> int:
        """Samples per channel received so far."""
        return self._n_in

    @property
    def elapsed(self) -> float:
        """Seconds of signal received so far."""
        return self._n_in / self.info.sfreq

    def write(self, data: Chunk | np.ndarray) -> None:
        """Append samples (a :class:`Chunk` or an ``(n_channels, n)`` array in volts)."""
        if self._journal is None or self._closed:
            raise RecordingError(f"recorder for {self.folder.root} is not open: call open() first")
        arr = data.data if isinstance(data, Chunk) else np.asarray(data)
        self._journal.append(arr)
        self._n_in += arr.shape[1]
        if self.elapsed >= self._next_check:
            self._next_check = self.elapsed + self.check_interval_sec
            self.check_disk()

    def add_event(self, event: Event) -> None:
        """Log an event (onset in seconds from the recording's first sample); fsync'd at once."""
        if self._log is None or self._closed:
            raise RecordingError(f"recorder for {self.folder.root} is not open: call open() first")
        self._log.append(event)

    def add_note(self, text: str, onset: float | None = None, source: str = "operator") -> Event:
        """Log an operator note at ``onset`` (default: now in recording time)."""
        event = Event(self.elapsed if onset is None else onset, 0.0, "note", text, None, source)
        self.add_event(event)
        return event

    def check_disk(self) -> None:
        """Check free space and writability now (called every ``check_interval_sec`` of signal)."""
        root = self.folder.root
        try:
            check_writable(root)
        except RecordingError as err:
            self._warn(str(err), log_event=False)
            raise RecordingError(
                f"recording folder {root} became read-only at {self.elapsed:.0f} s; everything up to "
                f"now is on disk; run `dreamlink recover {root}` when it is writable again"
            ) from err
        free = free_bytes(root)
        if free < self.reserve_bytes:
            msg = (
                f"disk almost full in {root} ({free / 1e6:.1f} MB free, reserve "
                f"{self.reserve_bytes / 1e6:.1f} MB): recording stopped at {self.elapsed:.0f} s"
            )
            self._warn(msg)
            self.close()
            raise RecordingError(msg + " and finalised; free space and start a new recording")
        if self.expected_duration is not None:
            remaining = max(0.0, self.expected_duration - self.elapsed) * self.layout.bytes_per_second
            if free - self.reserve_bytes < remaining and self.elapsed - self._last_warn >= _WARN_EVERY_SEC:
                self._last_warn = self.elapsed
                hours = (free - self.reserve_bytes) / self.layout.bytes_per_second / 3600
                self._warn(
                    f"disk space running out in {root}: {free / 1e6:.0f} MB free, room for {hours:.2f} h "
                    f"more but {remaining / self.layout.bytes_per_second / 3600:.2f} h are planned"
                )

    def _warn(self, text: str, log_event: bool = True) -> None:
        logger.warning(text)
        self.warnings.append(text)
        if self.on_warning is not None:
            self.on_warning(text)
        if log_event and self._log is not None and self._log._fd is not None:
            with contextlib.suppress(RecordingError):
                self._log.append(Event(self.elapsed, 0.0, "recording_warning", text, None, "record"))

    # -- finishing ----------------------------------------------------------------------------
    def close(self) -> RecordingSummary:
        """Write the last partial record (zero-padded, marked), finalise EDF+/events/BIDS."""
        from dreamlink.record.recover import finalise_folder

        if self._closed:
            if self.summary is None:
                raise RecordingError(f"recording {self.folder.root} was closed without finalising")
            return self.summary
        self._closed = True
        try:
            if self._journal is not None:
                journal = self._journal
                clipped = {n: int(c) for n, c in zip(self.layout.ch_names, journal.clipped, strict=True)}
                n_real = journal.n_samples_written + journal.n_samples_pending
                pending = journal.n_samples_pending
                padded = self.layout.samples_per_record - pending if pending else 0
                # The manifest learns about the padding first: if it cannot be written (read-only
                # folder), the partial second is not padded and `recover` finds a consistent folder.
                self.folder.update_manifest(padded_samples=padded, clipped_samples=clipped)
                if padded:
                    self._log.append(
                        Event(n_real / self.info.sfreq, padded / self.info.sfreq, "recording_padding",
                              "zeros after the end of the recording", None, "record")
                    )
                    journal.flush_partial()
        finally:
            if self._journal is not None:
                self._journal.close()
            if self._log is not None:
                self._log.close()
        self.summary = finalise_folder(self.folder.root, from_close=True)
        self.summary.warnings[:0] = self.warnings
        return self.summary


def record_source(
    source: Any,
    folder: str | Path,
    duration: float | None,
    *,
    source_uri: str = "",
    progress: Callable[[float], None] | None = None,
    events: Sequence[Event] = (),
    **recorder_options: Any,
) -> RecordingSummary:
    """Record an (unopened or open) source for ``duration`` seconds (``None``: until it ends).

    Parameters
    ----------
    source : Source
        Any dreamlink source.
    folder : str or Path
        New recording folder.
    duration : float | None
        Seconds of signal to record.
    source_uri : str
        The source string (stored in the manifest).
    progress : callable | None
        Called with the seconds recorded after each chunk.
    events : sequence of Event
        Events known in advance (e.g. a simulator's ground truth) to log with the recording.
    **recorder_options
        Passed to :class:`Recorder`.
    """
    if duration is not None and not duration > 0:
        raise RecordingError(f"--duration must be positive seconds, got {duration}")
    if not source.is_open:
        source.open()
    try:
        info = source.info
        n_target = None if duration is None else int(round(duration * info.sfreq))
        with Recorder(folder, info, expected_duration=duration, source_uri=source_uri,
                      **recorder_options) as rec:
            for event in events:
                if n_target is None or event.onset < duration:
                    rec.add_event(event)
            interrupted = False
            try:
                for chunk in source.chunks():
                    data = chunk.data
                    if n_target is not None:
                        data = data[:, : n_target - rec.n_samples]
                    rec.write(data)
                    if progress is not None:
                        progress(rec.elapsed)
                    if n_target is not None and rec.n_samples >= n_target:
                        break
            except KeyboardInterrupt:
                interrupted = True
                rec.add_note(f"recording interrupted by the operator at {rec.elapsed:.1f} s", source="record")
        summary = rec.summary
        if interrupted:
            summary.warnings.append("interrupted before the planned duration; the folder is finalised")
        return summary
    finally:
        source.close()

