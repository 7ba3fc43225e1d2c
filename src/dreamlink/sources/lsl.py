"""A Lab Streaming Layer stream as a source: ``lsl:STREAM_NAME[:type=EEG,timeout=5,unit=uV]``.

Uses mne-lsl's low-level bindings (:mod:`mne_lsl.lsl`, whose wheel bundles liblsl) — not its high-level
``StreamLSL`` buffer, because dreamlink keeps its own :class:`~dreamlink.signal.ringbuffer.RingBuffer`.

* The stream is resolved by name (or by ``type=`` when the name is ``*``); if none appears within
  ``timeout`` seconds (default 5) a :class:`~dreamlink.errors.StreamTimeoutError` names the fix.
* Channel names, types and units come from the stream description (the XDF/mne-lsl ``channels`` node);
  missing names become ``ch1..``, missing types are inferred from the names. Samples are converted to
  volts from the stream's unit (``microvolts``/``uV``, ``millivolts``, ``volts``, or an mne-lsl power of ten);
  a stream without units is assumed to be in µV (what EEG senders such as BrainFlow and the OpenBCI GUI
  send) unless ``unit=`` says otherwise.
* Timestamps: the inlet applies liblsl's clock synchronisation, dejittering and monotonisation, and
  :attr:`LSLSource.last_timestamps` holds the timestamps of the latest chunk in seconds from the first
  received sample. Sample indices (``Chunk.first_sample``) count received samples, so gaps in the
  sender show up as timestamp jumps, not index jumps.
* A sender that stops for ``stall_timeout`` seconds (default 10) raises :class:`StreamTimeoutError`.

:class:`EventInlet` reads the JSON event markers published by
:class:`~dreamlink.sources.lsl_outlet.EventOutlet`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from dreamlink.errors import SourceError, StreamTimeoutError
from dreamlink.events import Event
from dreamlink.sources.base import CHANNEL_TYPES, Source, SourceInfo
from dreamlink.sources.channels import infer_channel_types

logger = logging.getLogger("dreamlink.sources.lsl")

DEFAULT_TIMEOUT = 5.0

_UNIT_SCALE = {
    "v": 1.0, "volt": 1.0, "volts": 1.0,
    "mv": 1e-3, "millivolt": 1e-3, "millivolts": 1e-3,
    "uv": 1e-6, "µv": 1e-6, "μv": 1e-6, "microvolt": 1e-6, "microvolts": 1e-6,
    "nv": 1e-9, "nanovolt": 1e-9, "nanovolts": 1e-9,
}
_PROCESSING = ("clocksync", "dejitter", "monotize")


def quiet_liblsl() -> bool:
    """Silence liblsl's own console log (INFO/ERR lines on stderr) for command-line runs.

    liblsl reads its settings from the file named by ``LSLAPICFG`` or from ``./lsl_api.cfg``,
    ``~/lsl_api/lsl_api.cfg``, ``/etc/lsl_api/lsl_api.cfg``. When none of these exists and liblsl is not
    loaded yet, this writes a one-setting config (``[log] level = -3``, fatal errors only) to the temp
    folder and points ``LSLAPICFG`` at it. Meant for the CLI (it sets an environment variable), never
    called by library code. Returns whether it did.
    """
    import os
    import sys
    import tempfile
    from pathlib import Path

    user_files = [
        Path("lsl_api.cfg"), Path.home() / "lsl_api" / "lsl_api.cfg", Path("/etc/lsl_api/lsl_api.cfg")
    ]
    if "LSLAPICFG" in os.environ or any(p.exists() for p in user_files) or "mne_lsl.lsl" in sys.modules:
        return False
    cfg = Path(tempfile.gettempdir()) / "dreamlink-lsl_api.cfg"
    try:
        cfg.write_text("[log]\nlevel = -3\n", encoding="ascii")
    except OSError:
        return False
    os.environ["LSLAPICFG"] = str(cfg)
    return True


def unit_scale(unit: str | None, default: float = 1e-6) -> float:
    """Factor converting samples in ``unit`` to volts (``default`` when the unit is missing/unknown)."""
    if unit is None:
        return default
    text = str(unit).strip().lower()
    if text in _UNIT_SCALE:
        return _UNIT_SCALE[text]
    try:  # mne-lsl writes powers of ten, e.g. "-6" for µV
        return 10.0 ** int(text)
    except ValueError:
        return default


def resolve(name: str | None, stype: str | None, timeout: float) -> Any:
    """Find one stream by name and/or type, or raise :class:`StreamTimeoutError` after ``timeout`` s."""
    from mne_lsl.lsl import resolve_streams

    found = resolve_streams(timeout=timeout, name=name, stype=stype, minimum=1)
    if not found:
        what = f"named {name!r}" if name else f"of type {stype!r}"
        raise StreamTimeoutError(
            f"no LSL stream {what} appeared within {timeout:g} s; "
            "check the sender is running and on this network (`dreamlink sys-info` lists visible streams)"
        )
    if len(found) > 1:
        logger.warning("%d LSL streams match %s; using the first (%s)", len(found), name or stype,
                       found[0].source_id)
    return found[0]


class LSLSource(Source):
    """Samples from an LSL stream.

    Parameters
    ----------
    name : str | None
        Stream name (``None`` or ``"*"``: any name, then ``stype`` is required).
    stype : str | None
        Stream type to match (``"EEG"``...).
    timeout : float
        Seconds to wait for the stream to appear (s).
    unit : str | None
        Unit of the samples when the stream description has none (default µV).
    stall_timeout : float
        Seconds without samples after which the sender counts as gone (s).
    """

    default_chunk_sec = 0.1

    def __init__(
        self,
        name: str | None,
        stype: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        unit: str | None = None,
        stall_timeout: float = 10.0,
    ) -> None:
        super().__init__()
        self.name = None if name in (None, "", "*") else name
        self.stype = stype
        if self.name is None and not stype:
            raise SourceError("an LSL source needs a stream name or type=, e.g. lsl:MyEEG or lsl:*:type=EEG")
        self.timeout = float(timeout)
        self.unit = unit
        self.stall_timeout = float(stall_timeout)
        self._info: SourceInfo | None = None
        self._inlet: Any = None
        self._scale = np.ones(0)
        self._t_first: float | None = None
        self._last_data = 0.0
        self.last_timestamps = np.zeros(0)

    @property
    def info(self) -> SourceInfo:
        if self._info is None:
            raise SourceError(
                f"LSL stream {self.name or self.stype!r}: channel information is known once "
                "the source is open"
            )
        return self._info

    @property
    def t_first(self) -> float | None:
        """LSL time (``mne_lsl.lsl.local_clock`` base) of the first received sample, in seconds."""
        return self._t_first

    def _open(self) -> None:
        from mne_lsl.lsl import StreamInlet

        sinfo = resolve(self.name, self.stype, self.timeout)
        if sinfo.sfreq <= 0:
            raise SourceError(
                f"LSL stream {sinfo.name!r} is irregular (a marker stream); dreamlink reads signal streams "
                "here (use EventInlet for dreamlink event markers)"
            )
        if sinfo.dtype == "string":
            raise SourceError(f"LSL stream {sinfo.name!r} carries strings, not samples")
        inlet = StreamInlet(sinfo, processing_flags=_PROCESSING)
        try:
            inlet.open_stream(timeout=self.timeout)
            # The first clock-offset estimate takes a few hundred ms; get it now, not in the first read.
            inlet.time_correction(timeout=self.timeout)
            full = inlet.get_sinfo(timeout=self.timeout)
        except TimeoutError as err:
            raise StreamTimeoutError(
                f"LSL stream {sinfo.name!r} was found but did not answer within {self.timeout:g} s; "
                "check the sender is still running and that no firewall blocks it"
            ) from err
        n = full.n_channels
        names = full.get_channel_names() or [None] * n
        names = [nm or f"ch{i + 1}" for i, nm in enumerate(names)]
        types = full.get_channel_types() or [None] * n
        types = [str(t).lower() if t else None for t in types]
        if any(t is None or t not in CHANNEL_TYPES for t in types):
            inferred = infer_channel_types(names)
            types = [t if t in CHANNEL_TYPES else inferred[i] for i, t in enumerate(types)]
        units = full.get_channel_units() or [None] * n
        default = unit_scale(self.unit) if self.unit else 1e-6
        self._scale = np.array(
            [default if self.unit else unit_scale(u, default) for u in units], dtype=float
        )[:, None]
        self._info = SourceInfo(
            ch_names=tuple(names),
            ch_types=tuple(types),
            sfreq=float(full.sfreq),
            name=f"lsl:{full.name}",
            duration=None,
            extra={"source_id": full.source_id, "hostname": full.hostname, "stype": full.stype,
                   "units": list(units)},
        )
        self._inlet = inlet
        self._t_first = None
        self._last_data = time.monotonic()

    def _close(self) -> None:
        inlet, self._inlet = self._inlet, None
        if inlet is not None:
            inlet.close_stream()
            del inlet

    def _read(self, max_samples: int, timeout: float | None) -> np.ndarray | None:
        wait = 0.5 if timeout is None else timeout
        data, stamps = self._inlet.pull_chunk(timeout=0.0, max_samples=max_samples)
        if not len(stamps) and wait > 0:
            data, stamps = self._inlet.pull_chunk(timeout=wait, max_samples=1)
            if len(stamps):  # something arrived: take whatever else is there too
                more, more_t = self._inlet.pull_chunk(timeout=0.0, max_samples=max_samples - 1)
                if len(more_t):
                    data = np.concatenate([data, more], axis=0)
                    stamps = np.concatenate([stamps, more_t])
        now = time.monotonic()
        if not len(stamps):
            if now - self._last_data > self.stall_timeout:
                raise StreamTimeoutError(
                    f"LSL stream {self.info.name} sent nothing for {self.stall_timeout:g} s; "
                    "check the sender is still running"
                )
            self.last_timestamps = np.zeros(0)
            return np.zeros((self.info.n_channels, 0))
        self._last_data = now
        if self._t_first is None:
            self._t_first = float(stamps[0])
        self.last_timestamps = np.asarray(stamps, dtype=float) - self._t_first
        return np.asarray(data, dtype=np.float64).T * self._scale


class EventInlet:
    """Receive dreamlink :class:`~dreamlink.events.Event` markers (JSON strings) from an LSL stream.

    Parameters
    ----------
    name : str
        Marker stream name.
    timeout : float
        Seconds to wait for the stream to appear (s).
    """

    def __init__(self, name: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        from mne_lsl.lsl import StreamInlet

        sinfo = resolve(name, None, timeout)
        if sinfo.dtype != "string":
            raise SourceError(f"LSL stream {name!r} is not a marker stream (its samples are not strings)")
        self._inlet = StreamInlet(sinfo, processing_flags=_PROCESSING)
        try:
            self._inlet.open_stream(timeout=timeout)
        except TimeoutError as err:
            raise StreamTimeoutError(
                f"LSL marker stream {name!r} did not answer within {timeout:g} s; check the sender"
            ) from err

    def pull(self, timeout: float = 0.0, max_events: int = 1024) -> list[Event]:
        """Events received so far (waiting up to ``timeout`` s for the first)."""
        samples, _ = self._inlet.pull_chunk(timeout=timeout, max_samples=max_events)
        events = []
        for sample in samples:
            text = sample[0] if isinstance(sample, list | tuple) else sample
            try:
                events.append(Event.from_row(json.loads(text)))
            except (ValueError, KeyError, TypeError):
                logger.warning("ignored a marker that is not a dreamlink event: %r", text)
        return events

    def close(self) -> None:
        """Close the inlet."""
        self._inlet.close_stream()


def source_from_uri(target: str, params: Mapping[str, str], **options: Any) -> LSLSource:
    """Create an :class:`LSLSource` from ``lsl:STREAM_NAME[:type=EEG,timeout=5,unit=uV,stall_timeout=10]``."""
    merged: dict[str, Any] = {**dict(params), **{k: v for k, v in options.items() if k != "speed"}}
    known = {"type", "timeout", "unit", "stall_timeout"}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise SourceError(
            f"unknown LSL source option(s) {', '.join(unknown)}; accepted: {', '.join(sorted(known))}"
        )
    try:
        timeout = float(merged.get("timeout", DEFAULT_TIMEOUT))
        stall = float(merged.get("stall_timeout", 10.0))
    except ValueError as err:
        raise SourceError(f"LSL timeouts must be numbers of seconds ({err})") from err
    return LSLSource(target, stype=merged.get("type"), timeout=timeout, unit=merged.get("unit"),
                     stall_timeout=stall)
