"""One dreamer's pipeline in one process: source → ring buffer → staging and detectors → relay
policy (design) → cues → local recording and the server outbox.

The pipeline is built from pluggable stages so each part can be swapped for the real one as it
lands (see :func:`build_event_stages`):

- an **event stage** turns chunks into :class:`~dreamlink.events.Event` objects: the causal stager
  (:class:`dreamlink.staging.causal.CausalStager`), the detectors (``dreamlink.detect``), or, for a
  simulated night, :class:`GroundTruthEvents`, which replays the simulator's true stages and injected
  signals at the moment a causal decoder could know them (their end);
- the :class:`RelayPolicy` stands in for the design runtime's link behaviour: it says when the dreamer
  is ready to receive a relayed message (stable REM for ``ready_after_sec``, optionally after an LRLR
  "ready" signal), sends decoded ``message`` events to the linked partner (a revised reading of a
  relayed message names the text it replaces), turns incoming relayed messages into cues (a correction
  as "correction: TEXT"), and turns the dreamer's next LRLR after such a cue into a receipt;
- the **cue layer** (:class:`dreamlink.rig.cues.RigCueLayer`) presents every cue — the design's, relayed
  messages and their acknowledgements, operator cues and the wake alarm — through the real safety
  governor and scheduler, on the pipeline's sample clock, to the chosen outputs (by default files in
  the rig's folder: a WAV track and a CSV of light/vibration pulses);
- **operator controls** from the dashboard (``{"type": "control", "action": ..., "control_id": N}``
  frames: ``start``, ``pause``, ``abort``, ``wake_alarm``, ``cue``) are obeyed once, recorded as
  events and acknowledged with ``control_ack`` frames (the server resends unacknowledged ones when
  the rig reconnects; a repeat is acknowledged again, not obeyed again);
- the **recorder** (:class:`dreamlink.record.Recorder`) writes EDF+ and events locally.

Exactly-once: each chunk's outputs (its signal block, its events, state changes, relay requests,
receipts, and the server frames it handled) are committed to the :class:`~dreamlink.rig.client.Outbox`
in one transaction together with the source position. A restarted rig resumes from that position;
a simulated source is re-opened at exactly that sample, so the server sees every sample once.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import queue
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from scipy import signal as sps

from dreamlink.errors import ConfigError, DreamlinkError
from dreamlink.events import Event
from dreamlink.rig.client import Outbox, RigLink
from dreamlink.rig.cues import RigCueLayer, build_outputs, cue_from_control
from dreamlink.server.protocol import encode_block
from dreamlink.signal.ringbuffer import RingBuffer
from dreamlink.sources.base import Chunk, PacedSource, Source, SourceInfo

log = logging.getLogger("dreamlink.rig.pipeline")


class EventStage(Protocol):
    """Anything that turns chunks into events."""

    def update(self, chunk: Chunk) -> list[Event]: ...


# -- decimation ------------------------------------------------------------------------------
class Decimator:
    """Causal anti-aliased decimation by an integer factor, chunk by chunk.

    A Butterworth low-pass (order 8, cut-off 0.8 × the new Nyquist frequency, second-order
    sections with carried state) followed by keeping every ``factor``-th sample on the absolute
    sample grid, so the output does not depend on how the stream is cut into chunks.

    Parameters
    ----------
    sfreq : float
        Input rate in Hz.
    target : float
        Wanted output rate in Hz (the factor is ``round(sfreq / target)``, at least 1).
    n_channels : int
        Rows of every chunk.
    """

    def __init__(self, sfreq: float, target: float, n_channels: int) -> None:
        self.factor = max(1, int(round(sfreq / target)))
        self.sfreq_out = sfreq / self.factor
        self._sos = None
        self._zi = None
        if self.factor > 1:
            self._sos = sps.butter(8, 0.8 / self.factor, output="sos")
            self._zi = np.zeros((self._sos.shape[0], n_channels, 2))

    def process(self, data: np.ndarray, first_sample: int) -> tuple[np.ndarray, int]:
        """Filter and decimate one chunk; returns ``(decimated, index of its first output sample)``."""
        if self.factor == 1:
            return data, first_sample
        filtered, self._zi = sps.sosfilt(self._sos, data, axis=1, zi=self._zi)
        offset = (-first_sample) % self.factor
        out = filtered[:, offset :: self.factor]
        return out, (first_sample + offset) // self.factor


# -- event stages ----------------------------------------------------------------------------
class GroundTruthEvents:
    """Replay a simulated night's ground truth as if detected causally.

    Each event is released with the chunk during which its *end* (onset + duration) passes, keeping
    its true onset; stages come as one ``stage`` event per 30-s epoch at the epoch's end. Used when
    the real stager/detectors are not wanted (fast end-to-end tests) or not available.

    Parameters
    ----------
    events : sequence of Event
        The ground truth (e.g. ``night.events + night.stage_events()``).
    kinds : iterable of str | None
        Keep only these trial types.
    start : float
        Resume time in seconds: events released before it (end < start) are skipped.
    """

    def __init__(
        self, events: Sequence[Event], kinds: Iterable[str] | None = None, start: float = 0.0
    ) -> None:
        wanted = set(kinds) if kinds is not None else None
        chosen = [e for e in events if wanted is None or e.trial_type in wanted]
        self._events = sorted(chosen, key=lambda e: (e.end, e.onset, e.trial_type))
        self._i = 0
        while start > 0 and self._i < len(self._events) and self._events[self._i].end <= start:
            self._i += 1

    def update(self, chunk: Chunk) -> list[Event]:
        out = []
        end = chunk.end_time
        while self._i < len(self._events) and self._events[self._i].end <= end:
            ev = self._events[self._i]
            out.append(
                Event(
                    ev.onset,
                    ev.duration,
                    ev.trial_type,
                    ev.value,
                    ev.confidence,
                    ev.source or "sim.truth",
                    {**dict(ev.data), "truth": True},
                )
            )
            self._i += 1
        return out


class StagerStage:
    """Adapter: :class:`dreamlink.staging.causal.CausalStager` on the EEG/EOG/EMG rows of a chunk.

    ``on_stage`` (optional) is called with each ``stage`` event as it is scored, e.g. to drive the
    detectors' EMG gate (:meth:`DetectorStage.observe`).
    """

    def __init__(
        self, info: SourceInfo, t0: float = 0.0, on_stage: Callable[[Event], None] | None = None
    ) -> None:
        from dreamlink.staging.causal import CausalStager

        picks, types = [], []
        for kind in ("eeg", "eog", "emg"):
            rows = info.picks(kind)
            if rows:
                picks.append(rows[0])
                types.append(kind)
        if "eeg" not in types:
            raise ConfigError("the source has no EEG channel: causal staging needs one")
        self._picks = picks
        self._stager = CausalStager(info.sfreq, types, t0=t0)
        self._on_stage = on_stage

    def update(self, chunk: Chunk) -> list[Event]:
        events = self._stager.update(chunk.data[self._picks])
        if self._on_stage is not None:
            for ev in events:
                if ev.trial_type == "stage":
                    self._on_stage(ev)
        return events


class DetectorStage:
    """Adapter: :class:`dreamlink.detect.pipeline.DetectorPipeline` (eye signals, eye-Morse and count
    messages, REMs, EMG codes, arousals) on the rig's channels.

    The horizontal EOG is ``E1 − E2`` (the first two ``eog`` channels), EMG the first ``emg`` channel,
    EEG the first ``eeg`` channel. Event onsets are shifted by ``t0`` (the resume time). With an
    ``eye_model`` (:mod:`dreamlink.detect.eye_emission`) eye messages are read with the dreamer's
    learned emission.
    """

    def __init__(self, info: SourceInfo, swing: float, t0: float = 0.0, eye_model: Any = None) -> None:
        from dreamlink.detect.calibration import Calibration
        from dreamlink.detect.pipeline import DetectorPipeline

        eog = [info.ch_names[i] for i in info.picks("eog")]
        if not eog:
            raise ConfigError("the source has no EOG channel: the eye-signal detectors need one")
        emg = [info.ch_names[i] for i in info.picks("emg")]
        eeg = [info.ch_names[i] for i in info.picks("eeg")]
        self._t0 = float(t0)
        self._pipe = DetectorPipeline(
            info,
            eog[0],
            Calibration(swing, "calibration" if swing else "estimated"),
            eog_right=eog[1] if len(eog) > 1 else None,
            emg=emg[0] if emg else None,
            eeg=eeg[0] if eeg else None,
            rem_events=False,
            eye_model=eye_model,
        )

    def observe(self, event: Event) -> None:
        """Take a ``stage`` event from the rig's stager: EMG codes are read only in stage R."""
        self._pipe.observe(event)

    def expect_answer(
        self, answer: str | None, choices: Sequence[str] = (), lexicon: str | None = None
    ) -> None:
        """Read eye messages as the answer a design's open question awaits (``None``: no question).

        A count answer is framed by the closing frame's rests, not by the detector's markers
        (:meth:`dreamlink.detect.eye_messages.EyeMessageDecoder._count_closing`), so while a ``count`` is
        awaited the eye decoder reads counts only (:data:`EYE_CODE_FOR_ANSWER`); a ``message`` with
        ``choices`` is read as eye-Morse, as the choice that fits best; otherwise ``"auto"``. A
        ``message`` with a ``lexicon`` reads free text that spells a non-word as a nearby word of it.
        """
        words = tuple(choices) if answer == "message" else ()
        lexicon = lexicon if answer == "message" and not words else None
        eye_code = "morse" if words else EYE_CODE_FOR_ANSWER.get(answer or "", "auto")
        if (eye_code, words, lexicon) != (self._pipe.eye_code, self._pipe.vocabulary, self._pipe.lexicon):
            log.info("eye decoder now expects %s messages%s", eye_code,
                     f" among {', '.join(words)}" if words else
                     f" of {lexicon} words" if lexicon else "")  # fmt: skip
            self._pipe.expect_eye_code(eye_code, words, lexicon)

    def update(self, chunk: Chunk) -> list[Event]:
        out = self._pipe.update(chunk.data)
        if not self._t0:
            return out
        return [
            Event(e.onset + self._t0, e.duration, e.trial_type, e.value, e.confidence, e.source, e.data)
            for e in out
        ]


#: The eye decoder's mode while a design's question awaits an answer of this kind (any other: "auto").
EYE_CODE_FOR_ANSWER: dict[str, str] = {"count": "count"}

#: Full left↔right swing of the simulator's eye signals on E1 − E2 (4 × its 150-µV amplitude), volts.
SIM_SWING_V = 600e-6


def build_event_stages(
    mode: str,
    source: Source,
    info: SourceInfo,
    start: float = 0.0,
    swing: float | None = None,
    eye_model: Any = None,
) -> list[EventStage]:
    """The event stages for ``mode``.

    Parameters
    ----------
    mode : {"truth", "stager", "detect", "none"}
        ``truth``: the simulator's ground truth (simulated sources only); ``stager``: the causal stager
        for stages plus ground truth of the injected signals when the source is simulated;
        ``detect``: the real parts, causal stager and detector pipeline (LRLR, eye-Morse, counts,
        EMG codes, arousals); ``none``: no events (record and stream only).
    swing : float | None
        The dreamer's calibrated full eye swing in volts (``detect``); default for simulated
        sources :data:`SIM_SWING_V`.
    eye_model : EyeModel | None
        The dreamer's learned eye model (``detect``; :mod:`dreamlink.detect.eye_emission`).
    """
    night = getattr(source, "night", None)
    if mode == "none":
        return []
    if mode == "truth":
        if night is None:
            raise ConfigError("--events truth needs a simulated source (sim:...); use --events stager")
        return [
            GroundTruthEvents(
                list(night.events) + night.stage_events(),
                ("stage", "lrlr", "message", "count", "emg_code", "arousal"),
                start,
            )
        ]
    if mode == "stager":
        stages: list[EventStage] = [StagerStage(info, t0=start)]
        if night is not None:
            stages.append(GroundTruthEvents(night.events, ("lrlr", "message", "count", "emg_code"), start))
        return stages
    if mode == "detect":
        if swing is None:
            if night is None:
                raise ConfigError("--events detect needs --calibration FILE (the dreamer's eye swing)")
            swing = SIM_SWING_V
        detectors = DetectorStage(info, swing, t0=start, eye_model=eye_model)
        # the stager runs first on each chunk; its stages open/close the detectors' EMG gate
        return [StagerStage(info, t0=start, on_stage=detectors.observe), detectors]
    raise ConfigError(f"unknown --events {mode!r}; choose truth, stager, detect or none")


# -- relay policy ----------------------------------------------------------------------------
#: Relayed messages remembered (their onset and text) so that a revision can name what it replaces.
RELAYED_KEPT = 32
#: Onsets (s) this close belong to the same message (a revision keeps its first reading's onset).
ONSET_TOLERANCE_SEC = 1e-6


@dataclass
class RelayPolicy:
    """When this dreamer can receive relayed messages, and what their signals mean for the link.

    Parameters
    ----------
    partner : str | None
        The linked dreamer that decoded ``message`` events are sent to (``None``: not sent).
    ready_after_sec : float
        Seconds of continuous REM before the dreamer counts as ready (stable REM).
    require_signal : bool
        Also require an LRLR ("I am lucid and ready") in the current REM period.
    receipt : {"lrlr", "cue"}
        What counts as the dreamer signalling receipt of a relayed cue: their next LRLR after it, or
        the cue having been presented.
    ttl : float
        Seconds a sent message may wait at the server before it expires.
    relay_codes : tuple of str | None
        Which decoded message kinds (the ``kind`` in a message event's data: ``eye_morse``, ``count``,
        ``emg_yes_no``, ``emg_morse``) are relayed without a design; ``None`` relays every kind.
        Events with no kind (the simulator's ground truth) are always relayed.

    Notes
    -----
    The detector may read a message again, whole, after a first reading that ended early: a second
    ``message`` event with the same onset and ``data["revises"]`` the first reading's text ("F", then
    "FLY"). If the first reading was relayed to the partner, the revision's relay frame carries
    ``revises`` (the server then withdraws the first if it is still undelivered, or delivers the
    revision as a correction); if it was not (it was unreadable, or not relayable), the revision is
    relayed as a plain message. What was relayed is remembered per message onset (the last
    :data:`RELAYED_KEPT` ones), in :meth:`snapshot` too.
    """

    partner: str | None = None
    ready_after_sec: float = 60.0
    require_signal: bool = False
    receipt: str = "lrlr"
    ttl: float = 1800.0
    stage: str = "?"
    rem_since: float | None = None
    signalled: bool = False
    ready: bool = False
    awaiting: list[tuple[int, float]] = field(default_factory=list)  # (relay_id, cue onset)
    design_mode: bool = False  # a design decides what to relay and when a message is acknowledged
    relay_codes: tuple[str, ...] | None = None
    relayed: list[tuple[float, str, str]] = field(default_factory=list)  # (message onset, text, to)

    def snapshot(self) -> dict[str, Any]:
        """Resume state."""
        return {
            "stage": self.stage,
            "rem_since": self.rem_since,
            "signalled": self.signalled,
            "ready": self.ready,
            "awaiting": self.awaiting,
            "relayed": self.relayed,
        }

    def restore(self, state: dict[str, Any] | None) -> None:
        """Restore :meth:`snapshot` output."""
        if state:
            self.stage = state.get("stage", "?")
            self.rem_since = state.get("rem_since")
            self.signalled = bool(state.get("signalled"))
            self.ready = bool(state.get("ready"))
            self.awaiting = [tuple(a) for a in state.get("awaiting", [])]
            self.relayed = [(float(t), str(x), str(to)) for t, x, to in state.get("relayed", [])]

    def on_event(self, ev: Event) -> tuple[list[dict[str, Any]], list[int]]:
        """Update with one local event; returns (relay frames to send, relay ids now receipted)."""
        frames: list[dict[str, Any]] = []
        receipted: list[int] = []
        if (
            ev.trial_type == "stage"
            and isinstance(ev.value, str)
            and (ev.data or {}).get("kind") != "settled"
        ):
            if ev.value == "R":
                if self.stage != "R":
                    self.rem_since = ev.onset
                    self.signalled = False
            else:
                self.rem_since = None
                self.signalled = False
            self.stage = ev.value
        elif ev.trial_type == "lrlr":
            if self.stage == "R":
                self.signalled = True
            if self.receipt == "lrlr" and not self.design_mode:
                receipted = [rid for rid, t in self.awaiting if ev.onset >= t]
        elif (
            ev.trial_type == "message"
            and self.partner
            and ev.value not in (None, "")
            and not (ev.value == "unreadable" and not ev.confidence)  # the decoder could not read it
            and not self.design_mode
            and self._relayable_kind(ev)
        ):
            text = str(ev.value)
            frame: dict[str, Any] = {"type": "relay", "to": self.partner, "text": text, "ttl": self.ttl}
            revises = (ev.data or {}).get("revises")
            if revises is not None and self._was_relayed(ev.onset, str(revises), self.partner):
                frame["revises"] = str(revises)
            frames.append(frame)
            self._remember(ev.onset, text, self.partner)
        if receipted:
            self.awaiting = [(rid, t) for rid, t in self.awaiting if rid not in receipted]
        return frames, receipted

    def _was_relayed(self, onset: float, text: str, to: str) -> bool:
        """Whether the message read at ``onset`` was relayed to ``to`` as ``text`` (its latest reading)."""
        for t, sent, dest in reversed(self.relayed):
            if abs(t - onset) <= ONSET_TOLERANCE_SEC and dest == to:
                return sent == text
        return False

    def _remember(self, onset: float, text: str, to: str) -> None:
        """Record the latest reading of the message at ``onset`` relayed to ``to`` (bounded)."""
        self.relayed = [
            r for r in self.relayed if not (abs(r[0] - onset) <= ONSET_TOLERANCE_SEC and r[2] == to)
        ]
        self.relayed.append((float(onset), text, to))
        del self.relayed[:-RELAYED_KEPT]

    def _relayable_kind(self, ev: Event) -> bool:
        kind = (ev.data or {}).get("kind")
        return self.relay_codes is None or kind is None or kind in self.relay_codes

    def is_ready(self, t: float) -> bool:
        """Whether the dreamer can receive a relayed message at time ``t`` (s)."""
        stable = (
            self.stage == "R" and self.rem_since is not None and t - self.rem_since >= self.ready_after_sec
        )
        return bool(stable and (self.signalled or not self.require_signal))


# -- design runtime --------------------------------------------------------------------------
class _DesignSink:
    """Where the design runtime's actions go in a rig: relays become frames, cues go to the cue layer.

    A ``relay`` action with ``kind: ack`` is the dreamer's confirmation of the relayed message that is
    waiting for one: it becomes a ``receipt`` frame for that message (the server acknowledges it to the
    sender). Other relays go to ``to`` (``partner`` = the rig's ``--partner``). Cue and question prompts
    and alarms are requests to the :class:`~dreamlink.rig.cues.RigCueLayer` (behind the safety governor:
    a refusal returns ``False`` and the runtime does not count the cue).
    """

    def __init__(self, policy: RelayPolicy, cues: RigCueLayer | None = None) -> None:
        self.policy = policy
        self.cues = cues
        self.frames: list[dict[str, Any]] = []

    def _request(self, request: Any) -> bool:
        if self.cues is None:
            return True
        data = {"purpose": request.purpose, "design": request.design, "state": request.state}
        cue = dataclasses.replace(request.to_cue(), label=request.text)
        ok = self.cues.request(cue, at=request.onset, data={**data, "requested_by": "design"})
        at = request.onset
        for i in range(1, max(1, int(request.repeat))):  # repeats follow each other with a 1-s gap
            records = self.cues.scheduler.records
            at = (records[-1].requested + records[-1].duration + 1.0) if records else at + 1.0
            ok = self.cues.request(cue, at=at, data={**data, "requested_by": "design", "repeat": i}) and ok
        return ok

    def request_cue(self, request: Any) -> bool:
        return self._request(request)

    def relay(self, event: Event) -> None:
        data = dict(event.data or {})
        if data.get("kind") == "ack":
            if self.policy.awaiting:
                rid, _ = self.policy.awaiting.pop(0)
                self.frames.append({"type": "receipt", "relay_id": rid})
            return
        to = data.get("to")
        if to in (None, "", "partner"):
            to = self.policy.partner
        if to:
            self.frames.append(
                {"type": "relay", "to": str(to), "text": str(event.value), "ttl": self.policy.ttl}
            )

    def mark(self, event: Event) -> None:
        pass

    def alarm(self, request: Any) -> None:
        self._request(request)

    def end(self, event: Event) -> None:
        pass


class DesignDriver:
    """Run a dream design (:class:`dreamlink.designs.runtime.DesignRuntime`) inside the rig.

    Its decision state is saved in the outbox with each chunk (not in a separate file), so a rig killed
    at any moment resumes the design exactly where its last committed chunk left it.

    Operator controls: :meth:`pause` freezes the design (no events, no time reach it, so it neither
    decides nor acts); :meth:`resume` lets it go on — the latest stage seen while paused is fed first
    and the timers that came due meanwhile fire at the resume time; :meth:`abort` ends it. The design's
    own ``cue`` events are recorded as ``cue_request`` (what it asked for); the cue layer's ``cue`` events
    say what was presented and when.
    """

    def __init__(
        self,
        design: Any,
        policy: RelayPolicy,
        snapshot: dict[str, Any] | None,
        t0: float,
        folder: Path,
        cues: RigCueLayer | None = None,
    ) -> None:
        from dreamlink.designs.runtime import DesignRuntime, RuntimeStatus

        self._ended = RuntimeStatus.ENDED
        self.sink = _DesignSink(policy, cues)
        self.start_events: list[Event] = []
        self.paused = False
        self._last_stage: Event | None = None
        if snapshot:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "design_state.resume.json"
            path.write_text(json.dumps(snapshot))
            self.runtime = DesignRuntime(design, self.sink, state_path=path)
            self.runtime.state_path = None
            path.unlink()
        else:
            self.runtime = DesignRuntime(design, self.sink)
            self.start_events = self.runtime.start(t0)

    @property
    def ended(self) -> bool:
        return self.runtime.status is self._ended

    def pause(self) -> None:
        self.paused = True

    def resume(self, t: float) -> list[Event]:
        """Lift a pause at ``t`` (s); returns what the design did on waking up."""
        if not self.paused:
            return []
        self.paused = False
        out: list[Event] = []
        last, self._last_stage = self._last_stage, None
        if self.ended:
            return out
        if last is not None and last.value != self.runtime.stage:
            out += self.runtime.feed(last, at=t)
        if not self.ended:
            out += self.runtime.advance(t)
        return self._rename(out)

    def abort(self, reason: str) -> list[Event]:
        """End the design now (operator abort)."""
        if self.ended:
            return []
        self.runtime.stop(reason)
        self.paused = False
        return []

    @staticmethod
    def _rename(events: list[Event]) -> list[Event]:
        out = []
        for ev in events:
            if ev.trial_type == "cue":
                ev = Event(ev.onset, ev.duration, "cue_request", ev.value, ev.confidence, ev.source,
                           {**dict(ev.data or {}), "requested_by": "design"})
            out.append(ev)
        return out

    def step(self, events: list[Event], t: float) -> tuple[list[Event], list[dict[str, Any]]]:
        """Feed the chunk's events (each at its end) and let time pass to ``t``."""
        out, self.start_events = list(self.start_events), []
        if self.paused:
            for ev in events:
                if ev.trial_type == "stage" and (ev.data or {}).get("kind") != "settled":
                    self._last_stage = ev
        else:
            for ev in sorted(events, key=lambda e: (e.end, e.onset)):
                if self.runtime.status is self._ended:
                    break
                out += self.runtime.feed(ev, at=ev.end)
            if self.runtime.status is not self._ended:
                out += self.runtime.advance(t)
        frames, self.sink.frames = self.sink.frames, []
        return self._rename(out), frames

    def snapshot(self) -> dict[str, Any]:
        return self.runtime.snapshot()

    @property
    def awaited_answer(self) -> str | None:
        """The answer kind the design's open question awaits, or ``None``."""
        return None if self.ended else self.runtime.awaited_answer

    @property
    def awaited_choices(self) -> tuple[str, ...]:
        """The words the design's open question's answer is one of (``()``: any)."""
        return () if self.ended else self.runtime.awaited_choices

    @property
    def awaited_lexicon(self) -> str | None:
        """The lexicon the design's open question's free-text answer is likely made of, or ``None``."""
        return None if self.ended else self.runtime.awaited_lexicon


# -- the pipeline ----------------------------------------------------------------------------
class _ResumedSource(PacedSource):
    """A simulated night re-opened at sample ``offset`` (paced like the original)."""

    def __init__(self, night: Any, offset: int, speed: float | None) -> None:
        super().__init__(speed=speed)
        self._night, self._offset = night, int(offset)

    @property
    def info(self) -> SourceInfo:
        return self._night.info

    @property
    def n_total(self) -> int:
        return max(0, self._night.n_times - self._offset)

    def _generate(self, start: int, n: int) -> np.ndarray:
        return self._night.generate(self._offset + start, n)


@dataclass
class RigSummary:
    """What a pipeline run did."""

    samples: int
    frames: int
    events: int
    relays_sent: int
    cues: int
    acks: int
    resumed_from: int
    seconds: float
    cues_presented: int = 0
    cues_refused: int = 0

    def lines(self) -> list[str]:
        return [
            f"samples processed : {self.samples} (resumed from sample {self.resumed_from})",
            f"frames produced   : {self.frames}",
            f"events            : {self.events}",
            f"relays sent       : {self.relays_sent}",
            f"relayed cues      : {self.cues}",
            f"acks received     : {self.acks}",
            f"cues presented    : {self.cues_presented} (refused: {self.cues_refused})",
            f"wall time (s)     : {self.seconds:.1f}",
        ]


class RigPipeline:
    """Run one dreamer's pipeline.

    Parameters
    ----------
    source : Source
        Not yet opened.
    outbox : Outbox
        Durable frames for the server and resume state.
    link : RigLink | None
        The server link (``None``: offline, record only).
    events_mode : str
        See :func:`build_event_stages`.
    policy : RelayPolicy
        Link behaviour (stands in for the design runtime's ``relay``/``relay_in``/``relay_ack``).
    block_sec : float
        Seconds of signal per chunk and per decimated block sent to the server.
    decimate_to : float
        Rate of the streamed signal in Hz.
    record_dir : Path | None
        Where to record EDF+ and events locally (a new sub-folder per run); ``None`` = no recording.
    linger_sec : float
        At the end of the source, keep the link this long while sent messages wait for an
        acknowledgement (wall seconds).
    eye_model : EyeModel | None
        The dreamer's learned eye model for ``events_mode="detect"`` (:func:`build_event_stages`).
    design : Design | None
        A validated dream design (:func:`dreamlink.designs.load_design`). With a design, the design
        decides what to relay, how to present a relayed message and when it is acknowledged (a ``relay``
        action with ``kind: ack``); without one, :class:`RelayPolicy` relays every decoded message to the
        partner, presents relayed messages as cues and takes the next LRLR as the receipt.
    on_chunk : callable | None
        Called with each processed chunk's end sample (progress).
    cue_output : str
        Where cues go: ``null``, ``file`` (``cues-runNN.wav``/``.csv`` in the outbox folder), ``audio`` or
        ``serial:PORT`` (see :func:`dreamlink.rig.cues.build_outputs`).
    cue_clock : {"auto", "sample", "wall"}
        The cue scheduler's clock: the pipeline's sample time, or the wall clock; ``auto`` = wall only for
        a source paced at real time (``speed`` 1 or a live device), else sample.
    calibration : dreamlink.cues.safety.Calibration | None
        The sleeper's cue thresholds (default references otherwise).
    relay_cue : str
        Cue kind that presents a relayed message without a design (``speech``, ``morse-audio``, ...).
    wav_rate : float
        Sampling rate of the WAV cue track, Hz.
    """

    def __init__(
        self,
        source: Source,
        outbox: Outbox,
        link: RigLink | None = None,
        *,
        events_mode: str = "truth",
        policy: RelayPolicy | None = None,
        block_sec: float = 1.0,
        decimate_to: float = 64.0,
        record_dir: Path | None = None,
        cue_output: str = "null",
        cue_clock: str = "auto",
        calibration: Any = None,
        relay_cue: str = "speech",
        wav_rate: float = 8000.0,
        swing: float | None = None,
        eye_model: Any = None,
        design: Any = None,
        linger_sec: float = 0.0,
        on_chunk: Callable[[int], None] | None = None,
    ) -> None:
        self.source = source
        self.outbox = outbox
        self.link = link
        self.events_mode = events_mode
        self.policy = policy or RelayPolicy()
        self.block_sec = float(block_sec)
        self.decimate_to = float(decimate_to)
        self.record_dir = record_dir
        self.cue_output = cue_output
        self.cue_clock = cue_clock
        self.calibration = calibration
        self.relay_cue = relay_cue
        self.wav_rate = float(wav_rate)
        self.cues: RigCueLayer | None = None
        self.paused = False
        self.inbox: queue.Queue[dict[str, Any]] = link.incoming if link is not None else queue.Queue()
        self.swing = swing
        self.eye_model = eye_model
        self.design = design
        self.driver: DesignDriver | None = None
        self.linger_sec = float(linger_sec)
        self.on_chunk = on_chunk
        self._stop = False
        self.counts = {"events": 0, "relays": 0, "cues": 0, "acks": 0}

    def stop(self) -> None:
        """Ask :meth:`run` to finish after the current chunk."""
        self._stop = True

    def _incoming(self, t: float) -> tuple[list[Event], list[dict[str, Any]], list[tuple[int, str]]]:
        """Turn server frames into local events and frames; returns (events, frames, handled)."""
        events: list[Event] = []
        frames: list[dict[str, Any]] = []
        handled: list[tuple[int, str]] = []
        while True:
            try:
                msg = self.inbox.get_nowait()
            except queue.Empty:
                break
            kind = msg.get("type")
            if kind in ("cue", "relay_ack", "relay_expired"):
                rid = int(msg["relay_id"])
                if self.outbox.seen(rid, kind) or (rid, kind) in handled:
                    continue
                handled.append((rid, kind))
                if kind == "cue":
                    data = {"relay_id": rid, "from": msg.get("from"), "sender_kind": msg.get("sender_kind")}
                    if msg.get("revises") is not None:  # corrects a message delivered before
                        data["revises"] = str(msg["revises"])
                    events.append(Event(t, 0.0, "relay_in", msg.get("text"), None, "rig.link", data))
                    self.counts["cues"] += 1
                    if self.design is not None:
                        self.policy.awaiting.append((rid, t))  # the design presents it and acknowledges
                        continue
                    self._relay_cue(str(msg.get("text")), t, "relay", data)
                    if self.policy.receipt == "cue":
                        frames.append({"type": "receipt", "relay_id": rid})
                    else:
                        self.policy.awaiting.append((rid, t))
                elif kind == "relay_ack":
                    data = {"relay_id": rid, "to": msg.get("to")}
                    events.append(Event(t, 0.0, "relay_ack", msg.get("text"), None, "rig.link", data))
                    self._relay_cue("ack", t, "ack", data)
                    self.counts["acks"] += 1
                else:
                    events.append(
                        Event(
                            t,
                            0.0,
                            "relay_expired",
                            msg.get("text"),
                            None,
                            "rig.link",
                            {"relay_id": rid, "to": msg.get("to")},
                        )
                    )
            elif kind == "control":
                cid = msg.get("control_id")
                if isinstance(cid, int):  # kept by the server until acknowledged: obey once, ack each time
                    frames.append({"type": "control_ack", "control_id": cid})
                    if self.outbox.seen(cid, "control") or (cid, "control") in handled:
                        continue
                    handled.append((cid, "control"))
                events += self._control(msg, t)
                if self.cues is not None:
                    self.cues.pump(t)  # present it before the next control (an abort) in the same batch
            elif kind == "error":
                log.warning("server: %s: %s", msg.get("code"), msg.get("message"))
        return events, frames, handled

    # -- cues and operator controls -----------------------------------------------------------
    def _relay_cue(self, text: str, t: float, mode: str, data: dict[str, Any]) -> bool:
        """Present a relayed message (``mode`` relay) or an acknowledgement (``ack``) as a cue.

        A relayed message that corrects one delivered before (``data["revises"]``) is presented as
        "correction: TEXT" (spoken; "correction TEXT" in Morse, which has no colon); the cue's label
        stays the message text.
        """
        from dreamlink.cues.base import Cue

        if self.cues is None:
            return False
        if mode == "ack":
            cue = Cue(kind="tones", payload="660 880", requester="api", label="ack")
        else:
            payload = text
            if data.get("revises") is not None:
                payload = f"correction: {text}" if self.relay_cue == "speech" else f"correction {text}"
            cue = Cue(kind=self.relay_cue, payload=payload, requester="api", label=text)
        return self.cues.request(cue, at=t, data={"mode": mode, **data})

    def _control(self, msg: dict[str, Any], t: float) -> list[Event]:
        """Obey an operator control frame; returns the events recording it."""
        action = str(msg.get("action", ""))
        operator = msg.get("operator")
        data: dict[str, Any] = {"action": action}
        if operator:
            data["operator"] = operator
        events: list[Event] = []
        if action == "pause":
            self.paused = True
            if self.driver is not None:
                self.driver.pause()
            data["result"] = "design paused" if self.driver is not None else "paused (no design)"
        elif action == "start":
            self.paused = False
            if self.cues is not None and self.cues.aborted:
                self.cues.resume()
                data["cues"] = "abort lifted"
            if self.driver is not None:
                if self.driver.ended:
                    data["result"] = "design has ended; cues resumed"
                else:
                    events += self.driver.resume(t)
                    data["result"] = "design running"
            else:
                data["result"] = "running (no design)"
        elif action == "abort":
            if self.driver is not None and not self.driver.ended:
                self.driver.abort("operator abort")
                events.append(Event(t, 0.0, "design_end", "operator abort", None, "rig.control", {}))
            if self.cues is not None:
                self.cues.abort("operator abort")
            data["result"] = "design ended, cues aborted"
        elif action == "wake_alarm":
            from dreamlink.cues.base import Cue

            ok = False
            if self.cues is not None:
                level = min(20.0, self.cues.cap_db("audio"))
                cue = Cue(kind="tones", payload="3", level_db=level, requester="operator", label="wake_alarm")
                ok = self.cues.request(cue, at=t, data={"mode": "alarm", **data})
            events.append(
                Event(t, 0.0, "wake_alarm", "operator", None, "rig.control", {**data, "accepted": ok})
            )
            return events
        elif action == "cue":
            body = msg.get("cue") or {}
            ev_data = {**data, **{k: v for k, v in body.items() if k in ("kind", "payload", "level_db")}}
            events.append(
                Event(t, 0.0, "cue_request", body.get("payload") or body.get("kind"), None, "rig.control",
                      {**ev_data, "requested_by": "operator"})
            )
            try:
                cue = cue_from_control(body)
            except DreamlinkError as err:
                events.append(Event(t, 0.0, "cue_refused", str(body.get("kind")), None, "rig.control",
                                    {**ev_data, "reason": "invalid_request", "message": str(err)}))
                return events
            if self.cues is not None:
                self.cues.request(cue, at=t, data={"mode": "operator", **data})
            return events
        else:
            data["result"] = "unknown action: ignored"
            log.warning("unknown control action %r from the server: ignored", action)
        events.insert(0, Event(t, 0.0, "design_control", action, None, "rig.control", data))
        return events

    def _open_cues(self, source: Source, run_no: int, t0: float) -> RigCueLayer:
        mode = self.cue_clock
        if mode == "auto":
            speed = getattr(source, "speed", 1.0)
            mode = "wall" if speed is not None and speed == 1 else "sample"
        outputs = build_outputs(self.cue_output, self.outbox.path.parent, run_no, t0, self.wav_rate)
        layer = RigCueLayer(outputs, clock=mode, calibration=self.calibration, t0=t0)
        return layer.open(t0)

    def run(self) -> RigSummary:
        """Process the source to its end (or until :meth:`stop`); returns a summary."""
        t_wall = time.monotonic()
        resume = int(self.outbox.get("src_end", 0))
        self.policy.restore(self.outbox.get("policy"))
        control = self.outbox.get("control") or {}
        source = self.source
        night = getattr(source, "night", None)
        if resume and night is not None:
            source = _ResumedSource(night, resume, getattr(self.source, "speed", None))
            source.night = night  # type: ignore[attr-defined]
            log.info("resuming the simulated night at sample %d", resume)
        elif resume:
            log.info(
                "resuming: sample numbering continues at %d (samples during the outage are not"
                " recoverable from a live device)",
                resume,
            )
        info = self.source.info
        sfreq = info.sfreq
        stages = build_event_stages(
            self.events_mode, source, info, start=resume / sfreq, swing=self.swing, eye_model=self.eye_model
        )
        run_no = int(self.outbox.get("runs", 0)) + 1
        self.cues = self._open_cues(source, run_no, resume / sfreq)
        if control.get("aborted"):
            self.cues.abort("operator abort (before the restart)")
            self.cues.drain()
        if self.design is not None:
            self.policy.design_mode = True
            self.driver = DesignDriver(
                self.design,
                self.policy,
                self.outbox.get("design"),
                resume / sfreq,
                self.outbox.path.parent,
                self.cues,
            )
            if control.get("paused"):
                self.driver.pause()
            self._expect_answers(stages)  # a question still open when the rig stopped
        self.paused = bool(control.get("paused"))
        ring = RingBuffer(info.n_channels, int(sfreq * 60))
        dec = Decimator(sfreq, self.decimate_to, info.n_channels)
        recorder = self._open_recorder(info)
        self.outbox.set("runs", run_no)
        if resume:
            self.outbox.commit(
                [
                    {
                        "type": "event",
                        "event": Event(
                            resume / sfreq, 0.0, "rig_resumed", run_no, None, "rig", {"sample": resume}
                        ).to_json(),
                        "wall": time.time(),
                    }
                ]
            )
        src_end = resume
        try:
            source.open()
            for chunk in source.chunks(self.block_sec):
                if self._stop:
                    break
                chunk = Chunk(chunk.data, resume + chunk.first_sample, chunk.sfreq)
                ring.write(chunk.data)
                t = chunk.end_time
                self.cues.pump(t)  # cues queued for times inside this chunk sound at those times
                events: list[Event] = []
                for stage in stages:
                    events += stage.update(chunk)
                self.cues.observe(sorted(events, key=lambda e: e.onset))
                in_events, frames, handled = self._incoming(t)
                src_end = chunk.first_sample + chunk.n_times
                dec_data, dec_first = dec.process(chunk.data, chunk.first_sample)
                wall = time.time()
                frames.insert(
                    0,
                    {
                        "type": "signal",
                        "src_first": chunk.first_sample,
                        "src_n": chunk.n_times,
                        "first": dec_first,
                        "n": int(dec_data.shape[1]),
                        "sfreq": dec.sfreq_out,
                        "ch_names": list(info.ch_names),
                        "data": encode_block(dec_data),
                        "wall": wall,
                    },
                )
                design_events, design_frames = self._design_step(events + in_events, t)
                self._expect_answers(stages)
                self.cues.pump(t)  # what was asked for now (or earlier) is presented now
                cue_events = self.cues.drain()
                frames += self._policy_frames(events + in_events + design_events + cue_events, t, wall)
                frames += self._count_frames(design_frames, wall)
                if recorder is not None:
                    recorder.write(chunk)
                    for ev in events + in_events + design_events + cue_events:
                        recorder.add_event(ev)
                self.outbox.commit(frames, {"src_end": src_end, **self._state()}, handled)
                if self.link is not None:
                    self.link.notify()
                if self.on_chunk is not None:
                    self.on_chunk(src_end)
            self._linger(src_end / sfreq)
        finally:
            source.close()
            last = self.cues.close(src_end / sfreq)
            if last:
                self.outbox.commit(self._policy_frames(last, src_end / sfreq, time.time()), self._state())
                if recorder is not None:
                    for ev in last:
                        recorder.add_event(ev)
            if recorder is not None:
                try:
                    recorder.close()
                except Exception as err:  # noqa: BLE001 - a recording problem must not hide the run's
                    log.warning("closing the local recording failed: %s", err)
        return RigSummary(
            src_end - resume,
            self.outbox.count(),
            self.counts["events"],
            self.counts["relays"],
            self.counts["cues"],
            self.counts["acks"],
            resume,
            time.monotonic() - t_wall,
            self.counts.get("presented", 0),
            self.counts.get("refused", 0),
        )

    def _design_step(self, events: list[Event], t: float) -> tuple[list[Event], list[dict[str, Any]]]:
        if self.driver is None:
            return [], []
        return self.driver.step(events, t)

    def _expect_answers(self, stages: list[EventStage]) -> None:
        """Tell the detectors what answer the design's open question awaits (a count is read as one)."""
        if self.driver is None:
            return
        for stage in stages:
            if isinstance(stage, DetectorStage):
                stage.expect_answer(
                    self.driver.awaited_answer, self.driver.awaited_choices, self.driver.awaited_lexicon
                )

    def _count_frames(self, frames: list[dict[str, Any]], wall: float) -> list[dict[str, Any]]:
        self.counts["relays"] += sum(1 for f in frames if f["type"] == "relay")
        return [{**f, "wall": wall} for f in frames]

    def _state(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "policy": self.policy.snapshot(),
            "control": {"paused": self.paused, "aborted": bool(self.cues is not None and self.cues.aborted)},
        }
        if self.driver is not None:
            state["design"] = self.driver.snapshot()
        return state

    def _policy_frames(self, events: list[Event], t: float, wall: float) -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = []
        was_ready = self.policy.ready
        for ev in sorted(events, key=lambda e: e.onset):
            frames.append({"type": "event", "event": ev.to_json(), "wall": wall})
            self.counts["events"] += 1
            if ev.trial_type in ("cue", "cue_refused"):
                key = "presented" if ev.trial_type == "cue" else "refused"
                self.counts[key] = self.counts.get(key, 0) + 1
            relay_frames, receipted = self.policy.on_event(ev)
            for rf in relay_frames:
                frames.append({**rf, "wall": wall})
                self.counts["relays"] += 1
                if rf.get("revises") is not None:  # may replace one that will never be acknowledged
                    self.counts["revisions"] = self.counts.get("revisions", 0) + 1
            for rid in receipted:
                frames.append({"type": "receipt", "relay_id": rid, "wall": wall})
        self.policy.ready = self.policy.is_ready(t)
        if self.policy.ready != was_ready or any(e.trial_type == "stage" for e in events):
            frames.append(
                {"type": "state", "ready": self.policy.ready, "stage": self.policy.stage, "wall": wall}
            )
        return frames

    def _linger(self, t: float) -> None:
        """After the source ended: wait for acknowledgements of sent messages (and deliver the outbox)."""
        if self.link is None or self.linger_sec <= 0:
            return
        deadline = time.monotonic() + self.linger_sec
        while time.monotonic() < deadline and not self._stop:
            in_events, frames, handled = self._incoming(t)
            if in_events or frames or handled:
                wall = time.time()
                design_events, design_frames = self._design_step(in_events, t)
                if self.cues is not None:
                    self.cues.pump(t)
                    in_events += self.cues.drain()
                frames = self._policy_frames(in_events + design_events, t, wall) + frames
                frames += self._count_frames(design_frames, wall)
                self.outbox.commit(frames, self._state(), handled)
                self.link.notify()
            messages = self.counts["relays"] - self.counts.get("revisions", 0)
            if self.counts["acks"] >= messages and self.outbox.acked_seq >= self.outbox.last_seq:
                break
            time.sleep(0.05)

    def _open_recorder(self, info: SourceInfo) -> Any:
        if self.record_dir is None:
            return None
        try:
            from dreamlink.record.recorder import Recorder
        except ImportError:  # pragma: no cover - recorder shipped with dreamlink
            log.warning("dreamlink.record is unavailable: not recording locally")
            return None
        run = int(self.outbox.get("runs", 0)) + 1
        folder = Path(self.record_dir) / f"recording-run{run:02d}"
        rec = Recorder(folder, info, source_uri=info.name, bids=False, sync=False)
        rec.open()
        return rec
