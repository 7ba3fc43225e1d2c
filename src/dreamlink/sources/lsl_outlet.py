"""Publish dreamlink's signals and events on the Lab Streaming Layer, so other lab tools can listen.

* :class:`SignalOutlet` publishes the chunks of any :class:`~dreamlink.sources.base.Source` as a regular
  LSL stream (type ``EEG`` by default) whose description carries the channel names, types and units.
  Samples are sent in **microvolts** (the unit LSL EEG tools and the XDF metadata convention expect),
  converted here; :class:`~dreamlink.sources.lsl.LSLSource` converts back to volts from the unit.
* :class:`EventOutlet` publishes :class:`~dreamlink.events.Event` objects on an irregular string marker
  stream (type ``Markers``), one JSON object per event (the keys of :meth:`Event.to_json`).
* :func:`publish` pumps a source into a signal outlet until it ends (what a relay or a test sender does).

Uses mne-lsl's low-level bindings (:mod:`mne_lsl.lsl`, liblsl bundled in its wheel).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import numpy as np

from dreamlink.events import Event
from dreamlink.sources.base import Chunk, Source, SourceInfo

#: Unit sent on the wire and its factor from volts.
WIRE_UNIT = "microvolts"
_WIRE_SCALE = 1e6
_NONE_UNIT_TYPES = {"stim"}


class SignalOutlet:
    """An LSL outlet carrying one source's samples.

    Parameters
    ----------
    info : SourceInfo
        Channel names/types and rate of what will be pushed.
    name : str
        LSL stream name (what inlets resolve).
    stype : str
        LSL stream type.
    source_id : str | None
        Unique id (lets inlets recover after a restart); default: a random uuid.
    dtype : str
        Sample format on the wire (``"float64"`` keeps integer counters exact; ``"float32"`` halves traffic).
    chunk_size : int
        Samples per network packet (1: send each push straight away).
    """

    def __init__(
        self,
        info: SourceInfo,
        name: str,
        stype: str = "EEG",
        source_id: str | None = None,
        dtype: str = "float64",
        chunk_size: int = 1,
    ) -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        sinfo = StreamInfo(name, stype, info.n_channels, float(info.sfreq), dtype,
                           source_id or f"dreamlink-{uuid.uuid4()}")
        sinfo.set_channel_names(list(info.ch_names))
        sinfo.set_channel_types(list(info.ch_types))
        sinfo.set_channel_units(["none" if t in _NONE_UNIT_TYPES else WIRE_UNIT for t in info.ch_types])
        self._scale = np.array([1.0 if t in _NONE_UNIT_TYPES else _WIRE_SCALE for t in info.ch_types])
        self.info = info
        self.name = name
        self._outlet = StreamOutlet(sinfo, chunk_size=chunk_size)

    def push(self, data: np.ndarray | Chunk, timestamp: float | None = None) -> None:
        """Send samples (volts, ``(n_channels, n_times)``); ``timestamp`` is the LSL time of the last one."""
        if isinstance(data, Chunk):
            data = data.data
        data = np.asarray(data, dtype=float)
        if data.shape[1] == 0:
            return
        wire = np.ascontiguousarray((data * self._scale[:, None]).T)
        if wire.shape[0] == 1:
            self._outlet.push_sample(wire[0], timestamp=timestamp or 0.0)
        else:
            self._outlet.push_chunk(wire, timestamp=timestamp)

    def wait_for_consumers(self, timeout: float) -> bool:
        """Block until an inlet is connected (or ``timeout`` s pass); returns whether one is."""
        return bool(self._outlet.wait_for_consumers(timeout))

    @property
    def has_consumers(self) -> bool:
        """Whether any inlet is connected."""
        return bool(self._outlet.has_consumers)

    def close(self) -> None:
        """Withdraw the stream from the network."""
        outlet, self._outlet = self._outlet, None
        del outlet

    def __enter__(self) -> SignalOutlet:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class EventOutlet:
    """An LSL marker outlet publishing one JSON string per :class:`~dreamlink.events.Event`.

    Parameters
    ----------
    name : str
        LSL stream name.
    source_id : str | None
        Unique id; default a random uuid.
    """

    def __init__(self, name: str, source_id: str | None = None) -> None:
        from mne_lsl.lsl import StreamInfo, StreamOutlet

        sinfo = StreamInfo(name, "Markers", 1, 0.0, "string", source_id or f"dreamlink-events-{uuid.uuid4()}")
        sinfo.set_channel_names(["event"])
        self.name = name
        self._outlet = StreamOutlet(sinfo)

    @staticmethod
    def encode(event: Event) -> str:
        """The JSON text sent for ``event``."""
        return json.dumps(event.to_json(), sort_keys=True, default=str)

    def push(self, event: Event, timestamp: float | None = None) -> None:
        """Send one event (``timestamp``: LSL time, default now)."""
        self._outlet.push_sample([self.encode(event)], timestamp=timestamp or 0.0)

    def wait_for_consumers(self, timeout: float) -> bool:
        """Block until an inlet is connected (or ``timeout`` s pass)."""
        return bool(self._outlet.wait_for_consumers(timeout))

    def __call__(self, event: Event) -> None:
        """Push ``event``; lets an outlet subscribe to an :class:`~dreamlink.events.EventBus`."""
        self.push(event)

    def close(self) -> None:
        """Withdraw the stream from the network."""
        outlet, self._outlet = self._outlet, None
        del outlet

    def __enter__(self) -> EventOutlet:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def publish(
    source: Source,
    name: str,
    stype: str = "EEG",
    chunk_sec: float = 0.05,
    stop: threading.Event | None = None,
    wait_for_consumer: float = 0.0,
    linger: float = 0.0,
) -> int:
    """Push every chunk of ``source`` (opened if needed) into a new :class:`SignalOutlet`.

    Parameters
    ----------
    source : Source
        What to publish; a paced source keeps its pace (real time × speed).
    name, stype : str
        LSL stream name and type.
    chunk_sec : float
        Chunk length read from the source (s).
    stop : threading.Event | None
        Set it to stop early.
    wait_for_consumer : float
        Seconds to wait for an inlet before sending (0: send straight away).
    linger : float
        Up to this many seconds, keep the outlet open after the last chunk while an inlet is still
        connected, so it can fetch what is in flight (ends early when the last inlet leaves).

    Returns
    -------
    int
        Samples pushed.
    """
    if not source.is_open:
        source.open()
    n = 0
    with SignalOutlet(source.info, name, stype) as outlet:
        if wait_for_consumer > 0:
            outlet.wait_for_consumers(wait_for_consumer)
        for chunk in source.chunks(chunk_sec):
            outlet.push(chunk)
            n += chunk.n_times
            if stop is not None and stop.is_set():
                break
        deadline = time.monotonic() + linger
        while time.monotonic() < deadline and outlet.has_consumers:
            if stop is not None and stop.is_set():
                break
            time.sleep(0.05)
    return n
