"""The rig's cue layer: every cue a rig presents goes through the real
:class:`~dreamlink.cues.safety.SafetyGovernor` and :class:`~dreamlink.cues.scheduler.CueScheduler`.

Cue requests come from three places: the design runtime (:class:`dreamlink.designs.runtime.CueRequest`),
relayed messages and their acknowledgements, and operator controls from the dashboard. All of them
become :class:`dreamlink.cues.base.Cue` objects handed to :class:`RigCueLayer`, which

- approves them with the governor (caps, pauses after ``arousal``/``wake``, global abort) — a refusal
  is a ``cue_refused`` event with a reason;
- dispatches them through the scheduler to the outputs chosen with ``--cue-output``: ``file`` (a WAV
  track for audio and a CSV of on/off times for light and vibration, in the rig's ``--out`` folder, so
  a headless rig produces exactly what would have been played), ``null``, ``audio`` (the sound card)
  or ``serial:PORT`` (a light/vibration device);
- records requested vs actual time of every cue in its ``cue`` event.

Clocks
------
A rig's source may run faster than real time (a simulated night at ``--speed 20`` or ``max``). The
cues must then follow the **sample clock** (session time of the samples being processed), not the wall
clock: :class:`SampleClock` is a :class:`~dreamlink.cues.base.SessionClock` whose time is set by the
pipeline, and :class:`SampleClockScheduler` dispatches queued cues when the pipeline's sample time
passes their requested time (each one at its requested time, or, when it was requested for a moment
the rig had already passed, at the sample time the rig learnt of it — the end of the chunk being
processed, so ``lag_ms`` is the rig's real decision latency). In real time (``speed`` 1 and live
devices) the scheduler's own dispatcher thread runs on a monotonic :class:`SessionClock` aligned with
the sample time of the first chunk.

The WAV track is written as the rig goes (:class:`StreamingWavSink`): a whole night held in memory, as
:class:`dreamlink.cues.sinks.WavSink` does for short sessions, would need gigabytes. It uses the
standard library's :mod:`wave` because scipy's ``wavfile`` cannot append to an open file.
"""

from __future__ import annotations

import heapq
import json
import logging
import threading
import time
import wave
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dreamlink.cues.base import Cue, CueOutput, Rendering, SessionClock
from dreamlink.cues.safety import RESPONSE_KINDS, Calibration, SafetyGovernor, enforce_hard_cap
from dreamlink.cues.scheduler import CueScheduler, DispatchRecord
from dreamlink.cues.sinks import CsvSink, NullSink
from dreamlink.errors import ConfigError, CueSafetyError, DreamlinkError, RecordingError
from dreamlink.events import Event, EventBus

log = logging.getLogger("dreamlink.rig.cues")

#: Default sampling rate of the rig's WAV cue track in Hz (speech and tones up to 4 kHz; 8 h ≈ 460 MB).
DEFAULT_WAV_RATE = 8000.0
#: Event kinds from the pipeline that the safety layer and ramps listen to.
SAFETY_KINDS = frozenset({"wake", "arousal", *RESPONSE_KINDS})
#: Events the cue layer itself produces (collected for the recording and the server).
CUE_EVENT_KINDS = ("cue", "cue_refused", "cue_abort")


class SampleClock(SessionClock):
    """Session time set by the pipeline: the time of the samples being processed (never goes back).

    Parameters
    ----------
    t : float
        Starting session time in seconds.
    """

    def __init__(self, t: float = 0.0) -> None:
        super().__init__(0.0)
        self._t = float(t)
        self._lock = threading.Lock()

    def now(self) -> float:
        """Current sample time in seconds."""
        return self._t

    def set(self, t: float) -> float:
        """Move to ``t`` seconds (ignored if earlier than now); returns the time."""
        with self._lock:
            if t > self._t:
                self._t = float(t)
            return self._t


class SampleClockScheduler(CueScheduler):
    """A :class:`CueScheduler` without a dispatcher thread, driven by :meth:`run_until`.

    ``clock`` must be a :class:`SampleClock`. :attr:`current` is the record being dispatched (so a
    subscriber of the ``cue`` event knows which request it belongs to).
    """

    current: DispatchRecord | None = None

    def run_until(self, t: float) -> int:
        """Dispatch every queued cue requested at or before ``t`` (s), in order; returns how many."""
        clock: SampleClock = self.clock  # type: ignore[assignment]
        n = 0
        while True:
            with self._cond:
                if not self._heap or self._heap[0][0] > t:
                    break
                _, _, record, rendering = heapq.heappop(self._heap)
            clock.set(record.requested)
            if record.status == "pending":
                self._dispatch(record, rendering)
                n += 1
        clock.set(t)
        return n

    def _dispatch(self, record: DispatchRecord, rendering: Rendering) -> None:
        self.current = record
        try:
            super()._dispatch(record, rendering)
        finally:
            self.current = None


class _ThreadScheduler(SampleClockScheduler):
    """The real-time variant: the inherited dispatcher thread (:meth:`CueScheduler.start`) on a wall clock."""


class StreamingWavSink(CueOutput):
    """Audio cues written into one WAV track on the session time base, as the rig goes.

    Sample ``i`` of the file is session time ``origin + i / sfreq``. Overlapping cues add; an abort (or a
    ``wake``) cuts every cue still sounding at that time, as a sound card would. :meth:`advance` writes
    the track up to a time no later cue can start before; :meth:`close` writes the rest.

    Parameters
    ----------
    path : str or Path
        The ``.wav`` file (16-bit PCM mono).
    sfreq : float
        Sampling rate in Hz (cues must be rendered at this rate).
    origin : float
        Session time (s) of the first sample.
    """

    name = "wav-file"
    modalities = frozenset({"audio"})

    def __init__(self, path: str | Path, sfreq: float = DEFAULT_WAV_RATE, origin: float = 0.0) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.suffix.lower() != ".wav":
            raise RecordingError(f"audio cues are written as WAV: use a .wav file name, not {self.path.name}")
        self.sfreq = float(sfreq)
        self.origin = float(origin)
        self._clips: list[list[Any]] = []  # [first sample index, samples, stop index]
        self._written = 0
        self._wav: wave.Wave_write | None = None
        self._lock = threading.Lock()

    def open(self) -> StreamingWavSink:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._wav = wave.open(str(self.path), "wb")  # noqa: SIM115 - closed in close()
        except OSError as err:
            raise RecordingError(f"cannot write {self.path} ({err}); choose a writable --out folder") from err
        self._wav.setnchannels(1)
        self._wav.setsampwidth(2)
        self._wav.setframerate(int(round(self.sfreq)))
        self.path.with_suffix(".json").write_text(
            json.dumps({"origin_sec": self.origin, "sfreq": self.sfreq, "wav": self.path.name})
        )
        return self

    def _index(self, t: float) -> int:
        return int(round((t - self.origin) * self.sfreq))

    def deliver(self, rendering: Rendering, onset: float) -> None:
        if rendering.audio is None:
            return
        enforce_hard_cap(rendering)
        if rendering.audio.sfreq != self.sfreq:
            raise RecordingError(f"cue audio at {rendering.audio.sfreq} Hz in a {self.sfreq} Hz track")
        with self._lock:
            i0 = max(self._index(onset), self._written)
            self._clips.append([i0, rendering.audio.samples, i0 + rendering.audio.samples.size])

    def abort(self, at: float) -> None:
        i = self._index(at)
        with self._lock:
            for clip in self._clips:
                if clip[0] <= i < clip[2]:
                    clip[2] = max(i, self._written)

    def advance(self, t: float) -> None:
        """Write the track up to session time ``t`` (s)."""
        self._write_to(self._index(t))

    def _write_to(self, end: int) -> None:
        with self._lock:
            if self._wav is None or end <= self._written:
                return
            step = int(self.sfreq * 60)
            while self._written < end:
                a, b = self._written, min(end, self._written + step)
                block = np.zeros(b - a)
                for c0, x, stop in self._clips:
                    lo, hi = max(a, c0), min(b, stop, c0 + x.size)
                    if lo < hi:
                        block[lo - a : hi - a] += x[lo - c0 : hi - c0]
                pcm = np.clip(np.round(block * 32767.0), -32768, 32767).astype("<i2")
                self._wav.writeframes(pcm.tobytes())
                self._written = b
                self._clips = [c for c in self._clips if min(c[2], c[0] + c[1].size) > b]

    def close(self) -> None:
        with self._lock:
            end = max([min(c[2], c[0] + c[1].size) for c in self._clips], default=self._written)
        self._write_to(end)
        with self._lock:
            if self._wav is not None:
                self._wav.close()
                self._wav = None


def build_outputs(
    spec: str, folder: Path | None, run: int = 1, origin: float = 0.0, wav_rate: float = DEFAULT_WAV_RATE
) -> list[CueOutput]:
    """The cue outputs for ``--cue-output``.

    Parameters
    ----------
    spec : str
        ``null``; ``file`` (``cues-runNN.wav`` + ``cues-runNN.csv`` in ``folder``); ``audio`` (the sound
        card); ``serial:PORT`` (light/vibration device; audio cues are then not presented).
    folder : Path | None
        The rig's output folder (needed for ``file``).
    run : int
        Run number (a resumed rig writes new files; each WAV starts at ``origin``).
    origin : float
        Session time (s) of the first WAV sample.
    """
    if spec == "null":
        return [NullSink()]
    if spec == "file":
        if folder is None:
            raise ConfigError("--cue-output file needs an output folder (--out)")
        return [
            StreamingWavSink(Path(folder) / f"cues-run{run:02d}.wav", wav_rate, origin),
            CsvSink(Path(folder) / f"cues-run{run:02d}.csv"),
        ]
    if spec == "audio":
        from dreamlink.cues.audio import SoundDeviceOutput

        return [SoundDeviceOutput()]
    if spec.startswith("serial:") and len(spec) > len("serial:"):
        from dreamlink.cues.serial_device import SerialCueOutput

        return [SerialCueOutput(spec[len("serial:") :])]
    raise ConfigError(f"unknown --cue-output {spec!r}; use null, file, audio or serial:PORT")


class RigCueLayer:
    """Cue requests → safety governor → scheduler → outputs, on the rig's sample (or wall) clock.

    Parameters
    ----------
    outputs : sequence of CueOutput
        Where cues go (see :func:`build_outputs`).
    clock : {"sample", "wall"}
        ``sample``: cues follow the pipeline's sample time (:meth:`pump`); ``wall``: a dispatcher thread on
        the monotonic clock (real-time rigs).
    calibration : Calibration | None
        The sleeper's thresholds (default references otherwise).
    t0 : float
        Session time (s) the rig starts (resumes) at.
    sfreq : float
        Audio rendering rate in Hz (the WAV track's rate when there is one).
    """

    def __init__(
        self,
        outputs: Sequence[CueOutput],
        *,
        clock: str = "sample",
        calibration: Calibration | None = None,
        t0: float = 0.0,
        sfreq: float | None = None,
    ) -> None:
        if clock not in ("sample", "wall"):
            raise ConfigError(f"unknown cue clock {clock!r}; use sample or wall")
        self.mode = clock
        self.outputs = list(outputs)
        if sfreq is None:
            rates = [o.sfreq for o in self.outputs if isinstance(o, StreamingWavSink)]
            sfreq = rates[0] if rates else DEFAULT_WAV_RATE
        self.bus = EventBus()
        self.clock: SessionClock = SampleClock(t0) if clock == "sample" else SessionClock()
        self.governor = SafetyGovernor(calibration, bus=self.bus, clock=self.clock, source="rig.safety")
        cls = SampleClockScheduler if clock == "sample" else _ThreadScheduler
        self.scheduler = cls(
            self.outputs, self.governor, self.bus, self.clock, sfreq=sfreq, source="rig.cues"
        )
        self._extra: dict[int, dict[str, Any]] = {}
        self._refusal_extra: dict[str, Any] = {}
        self._events: list[Event] = []
        self._lock = threading.Lock()
        self._opened = False
        self.bus.subscribe(self._collect, kinds=CUE_EVENT_KINDS)

    # -- life cycle ---------------------------------------------------------------------------
    def open(self, t: float) -> RigCueLayer:
        """Open the outputs; ``t`` is the session time of the first processed sample."""
        for output in self.outputs:
            output.open()
        if self.mode == "wall":
            self.clock.t0 = time.monotonic() - float(t)
            self.scheduler.start()
        else:
            self.clock.set(t)  # type: ignore[attr-defined]
        self._opened = True
        return self

    def close(self, t: float) -> list[Event]:
        """Dispatch what is due by ``t``, stop, close the outputs; returns the last cue events."""
        if not self._opened:
            return []
        if self.mode == "sample":
            self.scheduler.run_until(t)
        else:
            self.scheduler.wait_idle(timeout=max(0.0, t - self.clock()) + 1.0)
        self.scheduler.close()
        self._opened = False
        return self.drain()

    # -- requests -----------------------------------------------------------------------------
    def request(self, cue: Cue, at: float | None = None, data: dict[str, Any] | None = None) -> bool:
        """Approve and queue ``cue`` for session time ``at`` (default now); ``False`` if refused.

        ``data`` is merged into the cue's ``cue`` (or ``cue_refused``) event.
        """
        extra = dict(data or {})
        self._extra[id(cue)] = extra
        self._refusal_extra = extra
        try:
            self.scheduler.schedule(cue, at=at)
        except DreamlinkError as err:  # CueSafetyError, render errors: logged as cue_refused
            self._extra.pop(id(cue), None)
            log.info("cue refused: %s", err)
            return False
        finally:
            self._refusal_extra = {}
        return True

    def observe(self, events: Iterable[Event]) -> None:
        """Pass the pipeline's ``wake``/``arousal`` (and response) events to the governor and ramps."""
        for ev in events:
            if ev.trial_type in SAFETY_KINDS:
                self.bus.publish(ev)

    def abort(self, reason: str = "operator abort") -> None:
        """Global abort: cut what sounds, cancel what is queued, refuse cues until :meth:`resume`."""
        self.governor.abort(reason)

    def resume(self) -> None:
        """Lift an abort (an explicit operator action)."""
        self.governor.resume()

    @property
    def aborted(self) -> bool:
        return self.governor.aborted

    def cap_db(self, modality: str) -> float:
        """Highest level allowed for ``modality``, dB re threshold."""
        return self.governor.cap_db(modality)

    def pump(self, t: float) -> None:
        """The pipeline reached session time ``t`` (s): dispatch what is due, write files up to ``t``."""
        if self.mode == "sample":
            self.scheduler.run_until(t)
            upto = t
        else:
            upto = self.clock() - 2.0  # the dispatcher thread may still place a cue slightly earlier
        for output in self.outputs:
            if isinstance(output, StreamingWavSink):
                output.advance(upto)

    def now(self) -> float:
        """Session time of the cue layer's clock, seconds."""
        return self.clock()

    def drain(self) -> list[Event]:
        """The ``cue``, ``cue_refused`` and ``cue_abort`` events since the last call."""
        with self._lock:
            out, self._events = self._events, []
        return out

    def _collect(self, event: Event) -> None:
        extra: dict[str, Any] = {}
        if event.trial_type == "cue":
            record = getattr(self.scheduler, "current", None)
            if record is not None:
                extra = self._extra.pop(id(record.cue), {})
                extra = {**extra, "cue_id": record.cue_id}
            extra["clock"] = self.mode
        elif event.trial_type == "cue_refused":
            extra = dict(self._refusal_extra)
        if extra:
            event = Event(
                event.onset,
                event.duration,
                event.trial_type,
                event.value,
                event.confidence,
                event.source,
                {**dict(event.data or {}), **extra},
            )
        with self._lock:
            self._events.append(event)


def cue_from_control(body: dict[str, Any]) -> Cue:
    """The :class:`Cue` an operator's ``{"action": "cue", "cue": {...}}`` control asks for.

    Raises
    ------
    CueSafetyError
        If the request has no usable kind or level.
    """
    if not isinstance(body, dict):
        raise CueSafetyError("operator cue without a 'cue' object")
    try:
        level = float(body.get("level_db", 0.0))
        kwargs: dict[str, Any] = {}
        for key in ("unit_ms", "freq_hz"):
            if body.get(key) is not None:
                kwargs[key] = float(body[key])
        payload = str(body.get("payload") or body.get("text") or "")
        return Cue(
            kind=str(body.get("kind", "")),
            payload=payload,
            level_db=level,
            requester="operator",
            label=payload or str(body.get("kind", "")),
            **kwargs,
        )
    except (TypeError, ValueError, DreamlinkError) as err:
        raise CueSafetyError(f"bad operator cue request ({err})") from err
