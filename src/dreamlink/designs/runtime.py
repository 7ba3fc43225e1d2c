"""Run a dream design: a deterministic state machine driven by the event stream.

:class:`DesignRuntime` consumes :class:`~dreamlink.events.Event` objects in time order (``feed``) and the
passage of time (``advance``), fires the design's transitions and hands every action to an
:class:`ActionSink` (the cue layer, the relay, the recorder). Given the same design and the same events,
it produces the same actions: no wall clock, no randomness, and timed triggers (``timer``, ``clock``,
``stage`` held for N s) fire at their exact due time, in time order, before any later event.

Semantics
---------
- One transition fires per event: the ``always`` transitions first, then the state's own, in file order;
  a transition whose ``when:`` does not hold is skipped (recorded as *blocked*).
- Order at one instant: a timed trigger due at time *t* fires before an event processed at *t* (the
  stage held until *t* counts as held; an arousal reported at *t* comes after a cue due at *t*).
- ``stage`` triggers are level-triggered per state entry: they fire once when the current stage is one
  of ``stage`` and has been held for ``for_sec`` seconds, at the later of that time and the state's
  entry. ``clock`` fires once per state entry at the later of its time and the entry. ``timer`` fires
  ``after_sec`` after the entry (and every ``after_sec`` with ``repeat: true``). A timed trigger whose
  ``when:`` fails is consumed.
- A question (``ask``) puts the runtime in :attr:`RuntimeStatus.AWAITING_ANSWER`: only the ``always``
  transitions and the answer (an event of the ``answer`` kind) are considered; after ``timeout_sec`` the
  question is asked again (``retries`` times) and then ``on_timeout`` is taken. With ``min_confidence``
  an answer decoded less surely (the event's confidence: for an eye or EMG message, its least sure
  symbol) is not taken: it is logged as ``unsure`` and the question is asked again at once, as after a
  timeout (on REM EOG, ``benchmarks/signals.py`` shows what such a bound leaves of the eye-Morse errors).
  With ``choices`` (the words a ``message`` answer is one of) a rig reads eye-Morse answers as the word
  that fits best (:attr:`DesignRuntime.awaited_choices`), and an answer that is none of them (an EMG
  message, say) is not taken either: logged ``unsure``, the question asked again. With ``lexicon`` (a
  free-text ``message`` answer, no choices) a rig reads an eye-Morse answer that spells a non-word as
  the nearby word of that lexicon that fits it (:attr:`DesignRuntime.awaited_lexicon`).
- A message the detector reports again, whole, after a frame inside it closed it early (data
  ``revises``, same onset as the first reading) acts like any message while the runtime is still in
  the state it was in when the message began; once the design has moved on (on the first reading or
  otherwise), it only updates ``message`` and is logged as a ``revision``: one message acts once.
- Design-wide guards apply to every cue and question prompt (not to alarms): a cue that breaks one is
  skipped and recorded with the reason. The safety layer of :mod:`dreamlink.cues` may still refuse a
  cue; the sink reports that by returning ``False`` and the runtime does not count it.
- A REM period starts with a ``rem_entry`` event or a stage change into ``R``, and ends with a change
  to another stage. Sleep onset is the start of the first epoch scored N1, N2, N3 or R (AASM).
- The runtime's status follows :class:`RuntimeStatus` and refuses illegal moves (feeding events to an
  ended design, starting twice), like Starlette's ``WebSocketState``.
- With ``state_path`` the whole decision state is written to a JSON file after every change, atomically
  (temporary file, fsync, rename), so a restarted rig resumes where it was and then behaves exactly as
  an uninterrupted run would.
"""

from __future__ import annotations

import json
import logging
import math
import os
import string
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from dreamlink.designs.model import Action, Condition, Design, Transition, Trigger
from dreamlink.designs.schema import TRIGGER_TYPES
from dreamlink.errors import DesignError
from dreamlink.events import Event
from dreamlink.link import morse

logger = logging.getLogger("dreamlink.designs")

#: Value of ``source`` on every event the runtime emits.
SOURCE = "design"
#: Format tag of the persisted state file.
STATE_FORMAT = "dreamlink.design_state/1"
#: Firings allowed at one instant before the runtime decides the design loops without time passing.
MAX_FIRINGS_PER_INSTANT = 200
_SLEEP = frozenset({"N1", "N2", "N3", "R"})
#: Stage changes remembered (to know how long the stage has stayed within a set of stages).
_HISTORY = 64
#: event trial_type -> trigger types it can fire.
_EVENT_TRIGGERS: dict[str, tuple[str, ...]] = {}
for _name, (_kinds, _) in TRIGGER_TYPES.items():
    for _kind in _kinds:
        _EVENT_TRIGGERS.setdefault(_kind, ())
        _EVENT_TRIGGERS[_kind] += (_name,)
#: answer kind -> event trial_types that carry the answer.
_ANSWER_EVENTS: dict[str, tuple[str, ...]] = {
    "count": ("count",),
    "message": ("message",),
    "lrlr": ("lrlr",),
    "yes_no": ("yes_no", "emg_code", "message"),
}


class RuntimeStatus(StrEnum):
    """Life cycle of a running design."""

    CREATED = "created"
    RUNNING = "running"
    AWAITING_ANSWER = "awaiting_answer"
    ENDED = "ended"


_ALLOWED: dict[RuntimeStatus, frozenset[RuntimeStatus]] = {
    RuntimeStatus.CREATED: frozenset({RuntimeStatus.RUNNING}),
    RuntimeStatus.RUNNING: frozenset({RuntimeStatus.AWAITING_ANSWER, RuntimeStatus.ENDED}),
    RuntimeStatus.AWAITING_ANSWER: frozenset({RuntimeStatus.RUNNING, RuntimeStatus.ENDED}),
    RuntimeStatus.ENDED: frozenset(),
}


class IllegalTransitionError(DesignError):
    """The runtime was asked to do something its current status forbids."""


@dataclass(frozen=True)
class CueRequest:
    """A request to present something to the sleeper, for the cue layer to schedule and execute.

    Parameters
    ----------
    onset : float
        When the design asks for it, seconds from the recording's start.
    kind : str
        A :mod:`dreamlink.cues` kind: ``speech``, ``tones``, ``morse-audio``, ``wav``, ``morse-light``,
        ``flashes``, ``morse-vibration``, ``buzzes``.
    text : str
        The cue layer's payload: words (templates filled in), a count, frequencies or a WAV path.
    level_db : float
        Intensity in dB relative to the sleeper's calibrated threshold (the safety layer caps it).
    repeat : int
        Times to present it.
    purpose : str
        ``cue``, ``question`` or ``alarm``.
    design, state : str
        Which design and state asked (for the record).
    unit_ms : float | None
        Morse unit, ms (``None``: the cue layer's default).
    voice : str | None
        eSpeak NG voice for speech (``None``: default).
    """

    onset: float
    kind: str
    text: str
    level_db: float = 0.0
    repeat: int = 1
    purpose: str = "cue"
    design: str = ""
    state: str = ""
    unit_ms: float | None = None
    voice: str | None = None

    def to_event(self) -> Event:
        """The ``cue`` event recording this request."""
        data = {k: v for k, v in asdict(self).items() if k not in ("onset", "text") and v is not None}
        return Event(self.onset, 0.0, "cue", self.text, None, SOURCE, data)

    def to_cue(self) -> Any:
        """The :class:`dreamlink.cues.base.Cue` the cue layer executes (requester ``design``)."""
        from dreamlink.cues.base import Cue

        extra: dict[str, Any] = {}
        if self.unit_ms is not None:
            extra["unit_ms"] = float(self.unit_ms)
        if self.voice is not None:
            extra["voice"] = self.voice
        return Cue(kind=self.kind, payload=self.text, level_db=float(self.level_db), at=None,
                   requester="design", label=f"{self.design}/{self.state}/{self.purpose}", **extra)


class ActionSink(Protocol):
    """Where a running design's actions go (the cue layer, the relay link, the recorder)."""

    def request_cue(self, request: CueRequest) -> bool:
        """Present a cue or question prompt; return ``False`` if the safety layer refused it."""
        ...

    def relay(self, event: Event) -> None:
        """Send a ``relay_sent`` event's message to the linked dreamer (``data['to']``)."""
        ...

    def mark(self, event: Event) -> None:
        """Record a ``mark`` event."""
        ...

    def alarm(self, request: CueRequest) -> None:
        """Wake the dreamer (not subject to design guards)."""
        ...

    def end(self, event: Event) -> None:
        """The design ended (a ``design_end`` event)."""
        ...


@dataclass
class RecordingSink:
    """An :class:`ActionSink` that only records what it is asked (rehearsal, tests).

    Parameters
    ----------
    refuse : callable | None
        ``refuse(request) -> bool``: simulate the safety layer refusing some cues.
    """

    refuse: Any = None
    events: list[Event] = field(default_factory=list)
    requests: list[CueRequest] = field(default_factory=list)

    def request_cue(self, request: CueRequest) -> bool:
        if self.refuse is not None and self.refuse(request):
            self.events.append(Event(request.onset, 0.0, "cue_refused", request.kind, None,
                                     SOURCE, {"purpose": request.purpose, "payload": request.text}))
            return False
        self.requests.append(request)
        self.events.append(request.to_event())
        return True

    def relay(self, event: Event) -> None:
        self.events.append(event)

    def mark(self, event: Event) -> None:
        self.events.append(event)

    def alarm(self, request: CueRequest) -> None:
        self.requests.append(request)
        self.events.append(Event(request.onset, 0.0, "alarm", request.text, None, SOURCE,
                                 {"kind": request.kind, "level_db": request.level_db}))

    def end(self, event: Event) -> None:
        self.events.append(event)


@dataclass(frozen=True)
class TimelineRow:
    """One line of a run's timeline.

    ``kind`` is ``trigger`` (a transition fired), ``blocked`` (its ``when:`` failed), ``action``,
    ``skipped`` (a cue broke a guard), ``refused`` (the sink refused it), ``state`` (entered a state),
    ``answer``, ``unsure`` (an answer below the question's ``min_confidence``), ``timeout``, ``status``
    or ``revision`` (a message the detector read again whole, not acted on again:
    :meth:`DesignRuntime._dispatch`).
    """

    t: float
    kind: str
    name: str
    value: str = ""
    state: str = ""
    detail: str = ""


class _Missing(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _fmt_num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


class DesignRuntime:
    """A dream design running against an event stream.

    Parameters
    ----------
    design : Design
        A validated design (:func:`dreamlink.designs.load_design`).
    sink : ActionSink | None
        Receives actions (default: a new :class:`RecordingSink`, kept as ``.sink``).
    state_path : str or Path | None
        JSON file persisting the runtime's state after every change; if it exists, the runtime
        resumes from it.

    Examples
    --------
    >>> rt = DesignRuntime(design)            # doctest: +SKIP
    >>> rt.start(0.0)
    >>> for event in events:
    ...     rt.feed(event)
    >>> rt.advance(night_end)
    """

    def __init__(self, design: Design, sink: ActionSink | None = None,
                 state_path: str | Path | None = None) -> None:
        self.design = design
        self.sink: ActionSink = sink if sink is not None else RecordingSink()
        self.state_path = Path(state_path) if state_path is not None else None
        self.timeline: list[TimelineRow] = []
        self._emitted: list[Event] = []
        self._reset()
        if self.state_path is not None and self.state_path.exists():
            self._load(self.state_path)

    # -- state ------------------------------------------------------------------------------------
    def _reset(self) -> None:
        self.status = RuntimeStatus.CREATED
        self.state: str | None = None
        self.state_entered = 0.0
        self.now = 0.0
        self.vars: dict[str, Any] = dict(self.design.variables)
        self.stage: str | None = None
        self.stage_since: float | None = None
        self.stage_changes: list[list[Any]] = []
        self.sleep_onset: float | None = None
        self.in_rem = False
        self.rem_periods = 0
        self.cues_in_rem = 0
        self.cues_total = 0
        self.last_cue_t: float | None = None
        self.last_arousal_t: float | None = None
        self.fired: dict[str, int] = {}
        self.stage_fired: dict[str, float] = {}
        self.question: dict[str, Any] | None = None
        self.last_message: str = ""
        self.last_event: dict[str, Any] = {"type": "", "value": ""}
        self.counts: dict[str, int] = {}

    def _set_status(self, new: RuntimeStatus) -> None:
        if new not in _ALLOWED[self.status]:
            raise IllegalTransitionError(
                f"design '{self.design.name}' cannot go from {self.status.value} to {new.value}"
            )
        self.status = new
        self._log(self.now, "status", new.value)

    @property
    def awaited_answer(self) -> str | None:
        """The answer kind a pending ``ask`` awaits (:data:`~dreamlink.designs.schema.ANSWER_KINDS`,
        e.g. ``"count"``), or ``None`` when no question is open."""
        return None if self.question is None else str(self.question["answer"])

    @property
    def awaited_choices(self) -> tuple[str, ...]:
        """The words a pending ``ask`` with ``choices`` awaits (upper case, single spaces; a rig reads
        eye-Morse answers as one of them), else ``()``."""
        if self.question is None:
            return ()
        return tuple(morse.plain(w) for w in self.question["params"].get("choices", ()))

    @property
    def awaited_lexicon(self) -> str | None:
        """The lexicon a pending ``ask`` names for its free-text ``message`` answer (a rig reads an
        eye-Morse answer that spells a non-word as a nearby word of it), else ``None``."""
        if self.question is None:
            return None
        return self.question["params"].get("lexicon")

    @property
    def hours_since_sleep_onset(self) -> float | None:
        """Hours from sleep onset to :attr:`now` (``None`` before sleep onset)."""
        return None if self.sleep_onset is None else max(0.0, (self.now - self.sleep_onset) / 3600.0)

    def snapshot(self) -> dict[str, Any]:
        """The decision state as JSON-ready data (what :attr:`state_path` holds)."""
        return {
            "format": STATE_FORMAT,
            "design": self.design.name,
            "digest": self.design.digest,
            "status": self.status.value,
            "state": self.state,
            "state_entered": self.state_entered,
            "now": self.now,
            "vars": self.vars,
            "stage": self.stage,
            "stage_since": self.stage_since,
            "stage_changes": self.stage_changes,
            "sleep_onset": self.sleep_onset,
            "in_rem": self.in_rem,
            "rem_periods": self.rem_periods,
            "cues_in_rem": self.cues_in_rem,
            "cues_total": self.cues_total,
            "last_cue_t": self.last_cue_t,
            "last_arousal_t": self.last_arousal_t,
            "fired": self.fired,
            "stage_fired": self.stage_fired,
            "question": self.question,
            "last_message": self.last_message,
            "last_event": self.last_event,
            "counts": self.counts,
        }

    def save(self, path: str | Path | None = None) -> Path:
        """Write :meth:`snapshot` atomically (temporary file in the same folder, fsync, rename)."""
        path = Path(path) if path is not None else self.state_path
        if path is None:
            raise ValueError("no state path given")
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.snapshot(), indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def _load(self, path: Path) -> None:
        try:
            snap = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise DesignError(f"cannot resume from {path}: not a readable design state file ({err}); "
                              "delete it to start the design afresh") from err
        if not isinstance(snap, dict) or snap.get("format") != STATE_FORMAT:
            raise DesignError(f"cannot resume from {path}: not a dreamlink design state file; delete it "
                              "or choose another state path")
        if snap.get("digest") != self.design.digest:
            raise DesignError(f"cannot resume from {path}: it was written by design '{snap.get('design')}' "
                              f"(a different file or version than '{self.design.name}'); delete it to start "
                              "afresh or give the design it belongs to")
        try:
            self.status = RuntimeStatus(snap["status"])
            self.state = snap["state"]
            for key in ("state_entered", "now"):
                setattr(self, key, float(snap[key]))
            for key in ("stage_since", "sleep_onset", "last_cue_t", "last_arousal_t"):
                setattr(self, key, None if snap[key] is None else float(snap[key]))
            for key in ("vars", "fired", "stage_fired", "counts", "last_event"):
                setattr(self, key, dict(snap[key]))
            for key in ("stage", "last_message", "question"):
                setattr(self, key, snap[key])
            self.stage_changes = [[float(a), str(b)] for a, b in snap["stage_changes"]]
            self.in_rem = bool(snap["in_rem"])
            for key in ("rem_periods", "cues_in_rem", "cues_total"):
                setattr(self, key, int(snap[key]))
        except (KeyError, TypeError, ValueError) as err:
            raise DesignError(f"cannot resume from {path}: the state file is incomplete ({err}); delete it "
                              "to start afresh") from err
        if self.state is not None and self.state not in self.design.states:
            raise DesignError(f"cannot resume from {path}: state '{self.state}' is not in the design")
        self._log(self.now, "status", "resumed", detail=str(path))

    def _persist(self) -> None:
        if self.state_path is not None:
            self.save()

    # -- public API -------------------------------------------------------------------------------
    def start(self, t: float = 0.0) -> list[Event]:
        """Enter the initial state at time ``t`` (seconds); returns the actions emitted."""
        self._emitted = []
        self.now = float(t)
        self._set_status(RuntimeStatus.RUNNING)
        self._enter(self.design.initial, self.now)
        self._run_due(self.now)
        self._persist()
        return self._emitted

    def feed(self, event: Event, at: float | None = None) -> list[Event]:
        """Process one event; returns the actions emitted (timed triggers due before it included).

        Parameters
        ----------
        event : Event
            The event.
        at : float | None
            When it acts, seconds (default: its onset; a detector reports a gesture at its end).
            Processing happens at ``max(now, at)``: a late event acts now, time never goes back.
        """
        self._require_active("feed an event to")
        self._emitted = []
        t = max(self.now, float(event.onset if at is None else at))
        self._run_due(t)
        self.now = t
        if self.status is not RuntimeStatus.ENDED:
            self._observe(event, t)
            self._dispatch(event, t)
            self._run_due(t)
        self._persist()
        return self._emitted

    def feed_many(self, events: Iterable[Event]) -> list[Event]:
        """Feed events in order (stops early if the design ends); returns every action emitted."""
        out: list[Event] = []
        for event in events:
            if self.status is RuntimeStatus.ENDED:
                break
            out.extend(self.feed(event))
        return out

    def advance(self, t: float) -> list[Event]:
        """Let time pass to ``t`` seconds, firing due timers, clocks, stage holds and question timeouts."""
        self._require_active("advance")
        self._emitted = []
        t = max(self.now, float(t))
        self._run_due(t)
        self.now = t
        self._persist()
        return self._emitted

    def stop(self, reason: str = "stopped") -> None:
        """End the design now (operator stop)."""
        self._require_active("stop")
        self._end(self.now, reason)
        self._persist()

    def _require_active(self, what: str) -> None:
        if self.status is RuntimeStatus.CREATED:
            raise IllegalTransitionError(f"cannot {what} design '{self.design.name}' before start()")
        if self.status is RuntimeStatus.ENDED and what != "advance":
            raise IllegalTransitionError(f"cannot {what} design '{self.design.name}': it has ended")

    # -- context from events ---------------------------------------------------------------------
    def _observe(self, event: Event, t: float) -> None:
        kind = event.trial_type
        if kind == "stage" and event.value is not None:
            stage = str(event.value)
            if stage != self.stage:
                self.stage, self.stage_since = stage, t
                self.stage_changes.append([t, stage])
                del self.stage_changes[:-_HISTORY]
                if stage in _SLEEP and self.sleep_onset is None:
                    self.sleep_onset = t
                if stage == "R":
                    self._rem_start()
                else:
                    self.in_rem = False
                if stage == "W" and self.sleep_onset is not None:
                    self.last_arousal_t = t
        elif kind == "rem_entry":
            self._rem_start()
        elif kind in ("arousal", "wake"):
            self.last_arousal_t = t
        if kind in ("message", "relay_in", "relay_delivered", "operator_message"):
            self.last_message = "" if event.value is None else str(event.value)
        self.last_event = {"type": kind, "value": "" if event.value is None else event.value}

    def _rem_start(self) -> None:
        if not self.in_rem:
            self.in_rem = True
            self.rem_periods += 1
            self.cues_in_rem = 0

    # -- matching ----------------------------------------------------------------------------------
    def _active(self) -> tuple[Transition, ...]:
        if self.state is None:
            return ()
        if self.status is RuntimeStatus.AWAITING_ANSWER:
            return self.design.always
        return self.design.transitions(self.state)

    @staticmethod
    def _matches(trigger: Trigger, event: Event) -> bool:
        if not any(trigger.type in _EVENT_TRIGGERS.get(kind, ()) for kind in _kinds_of(event)):
            return False
        if trigger.min_confidence is not None and event.confidence is not None and \
                event.confidence < trigger.min_confidence:
            return False
        if trigger.match is not None and \
                str(event.value or "").strip().lower() != trigger.match.strip().lower():
            return False
        if trigger.equals is not None:
            try:
                return int(float(event.value)) == trigger.equals  # type: ignore[arg-type]
            except (TypeError, ValueError):
                return False
        return True

    def _holds(self, cond: Condition | None, t: float) -> tuple[bool, str]:
        if cond is None:
            return True, ""
        if cond.stages and self.stage not in cond.stages:
            return False, f"stage {self.stage} not in {list(cond.stages)}"
        hours = None if self.sleep_onset is None else (t - self.sleep_onset) / 3600.0
        if cond.min_hours_since_sleep_onset is not None and (hours is None or
                                                             hours < cond.min_hours_since_sleep_onset):
            return False, f"hours since sleep onset {_fmt_num(hours, 2) or 'n/a'} < " \
                          f"{cond.min_hours_since_sleep_onset}"
        if cond.max_hours_since_sleep_onset is not None and hours is not None and \
                hours > cond.max_hours_since_sleep_onset:
            return False, f"hours since sleep onset {hours:.2f} > {cond.max_hours_since_sleep_onset}"
        if cond.quiet_for_sec is not None and self.last_cue_t is not None and \
                t - self.last_cue_t < cond.quiet_for_sec:
            return False, f"last cue {t - self.last_cue_t:.0f} s ago < {cond.quiet_for_sec} s"
        if cond.no_arousal_within_min is not None and self.last_arousal_t is not None and \
                t - self.last_arousal_t < 60.0 * cond.no_arousal_within_min:
            return False, f"arousal {(t - self.last_arousal_t) / 60:.1f} min ago"
        for name, op, value in cond.vars:
            if not _compare(self.vars.get(name), op, value):
                return False, f"{name}={self.vars.get(name)!r} fails {op} {value!r}"
        return True, ""

    def _dispatch(self, event: Event, t: float) -> None:
        if _is_revision(event) and event.onset < self.state_entered:
            # The detector read again, whole, a message that a frame inside it had closed early
            # (data 'revises'); the design moved on since the message began, on its first reading
            # or otherwise: the message acts once. The revision stays in the timeline.
            self._log(t, "revision", event.trial_type, _value_text(event.value),
                      detail=f"revises {event.data['revises']!r}; the message began before this state")
            return
        q = self.question
        for tr in self._active():
            if self._matches(tr.trigger, event):
                ok, why = self._holds(tr.when, t)
                if not ok:
                    self._log(t, "blocked", tr.trigger.type, _value_text(event.value), detail=why)
                    continue
                self._fire(tr, t, event.trial_type, event.value)
                return
        if q is not None and self.status is RuntimeStatus.AWAITING_ANSWER and t >= q["asked_at"] and \
                _kinds_of(event) & set(_ANSWER_EVENTS[q["answer"]]):
            self._answer(event, t)

    # -- timed triggers -----------------------------------------------------------------------------
    def _deadline(self, tr: Transition) -> float | None:
        trig = tr.trigger
        key = tr.key
        n = self.fired.get(key, 0)
        if trig.type == "timer":
            if n and not trig.repeat:
                return None
            return self.state_entered + float(trig.after_sec or 0.0) * (n + 1)
        if trig.type == "clock":
            if n:
                return None
            if trig.at_sec is not None:
                at = trig.at_sec
            elif self.sleep_onset is not None and trig.hours_since_sleep_onset is not None:
                at = self.sleep_onset + 3600.0 * trig.hours_since_sleep_onset
            else:
                return None
            return max(at, self.state_entered)
        if trig.type == "stage":
            since = self._run_start(trig.stages)
            if since is None or self.stage_fired.get(key) == since:
                return None
            return max(since + trig.for_sec, self.state_entered)
        return None

    def _earliest(self) -> tuple[float, Transition | None] | None:
        if self.status not in (RuntimeStatus.RUNNING, RuntimeStatus.AWAITING_ANSWER):
            return None
        best: tuple[float, Transition | None] | None = None
        if self.status is RuntimeStatus.AWAITING_ANSWER and self.question is not None:
            best = (float(self.question["deadline"]), None)
        for tr in self._active():
            if tr.trigger.type not in ("timer", "clock", "stage"):
                continue
            due = self._deadline(tr)
            if due is not None and (best is None or due < best[0]):
                best = (due, tr)
        return best

    def _run_start(self, stages: tuple[str, ...]) -> float | None:
        """Start of the current uninterrupted run of stages within ``stages`` (``None``: not in one)."""
        if self.stage is None or self.stage not in stages:
            return None
        since = self.stage_since
        for t, stage in reversed(self.stage_changes):
            if stage not in stages:
                break
            since = t
        return since

    def _next_due(self, t: float) -> tuple[float, Transition | None] | None:
        best = self._earliest()
        if best is not None and best[0] > t:
            return None
        return best

    def next_due(self) -> float | None:
        """Time (s) of the next timed trigger or question timeout, ``None`` if nothing is pending.

        A live rig calls :meth:`advance` at that time if no event comes first.
        """
        best = self._earliest()
        return None if best is None else max(best[0], self.now)

    def _run_due(self, t: float) -> None:
        firings = 0
        last_at = None
        while self.status in (RuntimeStatus.RUNNING, RuntimeStatus.AWAITING_ANSWER):
            due = self._next_due(t)
            if due is None:
                break
            at, tr = due
            at = max(at, self.now)
            firings = firings + 1 if at == last_at else 1
            last_at = at
            if firings > MAX_FIRINGS_PER_INSTANT:
                raise DesignError(
                    f"design '{self.design.name}' loops without time passing at t={at:.1f} s in state "
                    f"'{self.state}': a timed trigger leads back to a state where it fires again at once; "
                    "add a timer or a when: condition"
                )
            self.now = at
            if tr is None:
                self._ask_again(at, "no answer")
                continue
            if tr.trigger.type == "stage":
                self.stage_fired[tr.key] = float(self._run_start(tr.trigger.stages))  # type: ignore[arg-type]
            self.fired[tr.key] = self.fired.get(tr.key, 0) + 1
            ok, why = self._holds(tr.when, at)
            if not ok:
                self._log(at, "blocked", tr.trigger.type, detail=why)
                continue
            value = self.stage if tr.trigger.type == "stage" else ""
            self._fire(tr, at, tr.trigger.type, value)

    # -- firing ----------------------------------------------------------------------------------------
    def _fire(self, tr: Transition, t: float, event_type: str, value: Any) -> None:
        self.last_event = {"type": event_type, "value": "" if value is None else value}
        self._count(f"trigger:{tr.trigger.type}")
        self._log(t, "trigger", tr.trigger.type, _value_text(value), detail=tr.key)
        if self.status is RuntimeStatus.AWAITING_ANSWER:
            # an `always` transition interrupts the question
            self.question = None
            self._set_status(RuntimeStatus.RUNNING)
        asked = self._run_actions(tr.actions, t)
        if asked or self.status is RuntimeStatus.ENDED:
            return
        if tr.goto is not None:
            self._enter(tr.goto, t)

    def _enter(self, name: str, t: float) -> None:
        self.state = name
        self.state_entered = t
        self.fired = {}
        self.stage_fired = {}
        self._count(f"state:{name}")
        self._log(t, "state", name)
        self._run_actions(self.design.states[name].enter, t)

    def _run_actions(self, actions: tuple[Action, ...], t: float) -> bool:
        """Run actions in order; returns True if one was a question (it decides the next state)."""
        for action in actions:
            if self.status is RuntimeStatus.ENDED:
                return False
            kind = action.kind
            if kind == "cue":
                self._cue(action, t, "cue")
            elif kind == "ask":
                self._ask(action, t)
                return True
            elif kind == "relay":
                text = self._render(action.get("text", ""))
                ev = Event(t, 0.0, "relay_sent", text, None, SOURCE,
                           {"to": action.get("to", "partner"), "kind": action.get("kind", "message"),
                            "design": self.design.name})
                self._emit("relay", ev.value, t)
                self._emitted.append(ev)
                self.sink.relay(ev)
            elif kind == "mark":
                self._mark(action, t)
            elif kind == "alarm":
                req = CueRequest(t, str(action.get("kind", "tones")), self._render(action.get("text", "3")),
                                 float(action.get("level_db", 20.0)), 1, "alarm", self.design.name,
                                 self.state or "")
                self._emit("alarm", req.text, t)
                self._emitted.append(Event(t, 0.0, "alarm", req.text, None, SOURCE,
                                           {"kind": req.kind, "level_db": req.level_db}))
                self.sink.alarm(req)
            elif kind == "set":
                for name, value in action.params.items():
                    self.vars[name] = self._resolve(value)
                self._log(t, "action", "set", ", ".join(f"{k}={self.vars[k]}" for k in action.params),
                          self.state or "")
            elif kind == "add":
                for name, value in action.params.items():
                    self.vars[name] = (self.vars.get(name) or 0) + value
                self._log(t, "action", "add", ", ".join(f"{k}={self.vars[k]}" for k in action.params),
                          self.state or "")
            elif kind == "end":
                self._end(t, str(action.get("reason", "end")))
                return False
        return False

    def _end(self, t: float, reason: str) -> None:
        self.question = None
        self._set_status(RuntimeStatus.ENDED)
        ev = Event(t, 0.0, "design_end", reason, None, SOURCE, {"design": self.design.name})
        self._emit("end", reason, t)
        self._emitted.append(ev)
        self.sink.end(ev)

    def _mark(self, action: Action, t: float) -> None:
        label = self._render(str(action.get("label")))
        value = action.get("value")
        value = self._render(value) if isinstance(value, str) else value
        onset, duration, data = t, 0.0, {"design": self.design.name, "state": self.state}
        since = action.get("since")
        if since is not None:
            try:
                start = float(self.vars.get(since))  # type: ignore[arg-type]
            except (TypeError, ValueError):
                start = math.nan
            if math.isfinite(start) and start <= t:
                onset, duration = start, t - start
                data["interval_sec"] = round(duration, 3)
                value = round(duration, 3) if value is None else value
        if value is not None:
            data["value"] = value
        ev = Event(onset, duration, "mark", label, None, SOURCE, data)
        self._emit("mark", f"{label}={value}" if value is not None else label, t)
        self._emitted.append(ev)
        self.sink.mark(ev)

    # -- cues and guards ---------------------------------------------------------------------------------
    def _guard(self, t: float) -> str | None:
        g = self.design.guards
        if g.max_cues_total is not None and self.cues_total >= g.max_cues_total:
            return f"max_cues_total {g.max_cues_total} reached"
        if g.max_cues_per_rem is not None and self.in_rem and self.cues_in_rem >= g.max_cues_per_rem:
            return f"max_cues_per_rem {g.max_cues_per_rem} reached"
        if g.min_quiet_sec and self.last_cue_t is not None and t - self.last_cue_t < g.min_quiet_sec:
            return f"min_quiet_sec: last cue {t - self.last_cue_t:.0f} s ago"
        if g.no_cues_within_min_of_arousal and self.last_arousal_t is not None and \
                t - self.last_arousal_t < 60.0 * g.no_cues_within_min_of_arousal:
            return f"no_cues_within_min_of_arousal: arousal {(t - self.last_arousal_t) / 60:.1f} min ago"
        hours = None if self.sleep_onset is None else (t - self.sleep_onset) / 3600.0
        if g.min_hours_since_sleep_onset is not None and \
                (hours is None or hours < g.min_hours_since_sleep_onset):
            return f"min_hours_since_sleep_onset {g.min_hours_since_sleep_onset}"
        if g.max_hours_since_sleep_onset is not None and hours is not None and \
                hours > g.max_hours_since_sleep_onset:
            return f"max_hours_since_sleep_onset {g.max_hours_since_sleep_onset}"
        return None

    def _cue(self, action: Action, t: float, purpose: str) -> bool:
        req = CueRequest(
            onset=t,
            kind=str(action.get("kind", "speech")),
            text=self._render(action.get("text", "")),
            level_db=float(action.get("level_db", 0.0)),
            repeat=int(action.get("repeat", 1)),
            purpose=purpose,
            design=self.design.name,
            state=self.state or "",
            unit_ms=action.get("unit_ms"),
            voice=action.get("voice"),
        )
        label = req.text
        why = self._guard(t)
        if why is not None:
            self._count(f"skipped:{purpose}")
            self._log(t, "skipped", purpose, label, self.state or "", why)
            return False
        if not self.sink.request_cue(req):
            self._count(f"refused:{purpose}")
            self._log(t, "refused", purpose, label, self.state or "", "refused by the cue layer")
            return False
        self.cues_total += 1
        if self.in_rem:
            self.cues_in_rem += 1
        self.last_cue_t = t
        self._emit(purpose, label, t)
        self._emitted.append(req.to_event())
        return True

    # -- questions ----------------------------------------------------------------------------------------
    def _ask(self, action: Action, t: float) -> None:
        self.question = {
            "params": dict(action.params),
            "answer": action.get("answer"),
            "attempt": 1,
            "asked_at": t,
            "deadline": t + float(action.get("timeout_sec")),
            "state": self.state,
        }
        self._set_status(RuntimeStatus.AWAITING_ANSWER)
        self._prompt(t)

    def _prompt(self, t: float) -> None:
        q = self.question
        assert q is not None
        params = q["params"]
        prompt = Action("cue", {"kind": params.get("kind", "speech"), "text": params.get("text"),
                                "level_db": params.get("level_db", 0.0)})
        self._cue(prompt, t, "question")

    def _answer(self, event: Event, t: float) -> None:
        q = self.question
        assert q is not None
        params = q["params"]
        value = event.value
        least = params.get("min_confidence")
        if least is not None and event.confidence is not None and event.confidence < float(least):
            self._count("answer:unsure")
            self._log(t, "unsure", str(q["answer"]), _value_text(value), self.state or "",
                      f"confidence {event.confidence:.2f} < {float(least):g}")
            self._ask_again(t, "no sure answer")
            return
        choices = self.awaited_choices
        if choices and morse.plain(value) not in choices:
            self._count("answer:unsure")
            self._log(t, "unsure", str(q["answer"]), _value_text(value), self.state or "",
                      "not one of the choices")
            self._ask_again(t, "no answer among the choices")
            return
        if q["answer"] == "lrlr":
            value = "lrlr"
        self.vars["answer"] = value
        if params.get("store"):
            self.vars[params["store"]] = value
        expect = params.get("expect")
        correct = expect is None or _same_answer(value, expect)
        self._count("answer")
        self._count("answer:correct" if correct else "answer:wrong")
        self._log(t, "answer", str(q["answer"]), _value_text(value), self.state or "",
                  "" if expect is None else ("correct" if correct else f"expected {expect}"))
        self.question = None
        self._set_status(RuntimeStatus.RUNNING)
        target = params["on_answer"] if correct or not params.get("on_wrong") else params["on_wrong"]
        self._enter(target, t)

    def _ask_again(self, t: float, why: str) -> None:
        """Ask the open question again if it has retries left, else give it up (``why``) for
        ``on_timeout``."""
        q = self.question
        assert q is not None
        params = q["params"]
        if q["attempt"] <= int(params.get("retries", 0)):
            q["attempt"] += 1
            q["deadline"] = t + float(params["timeout_sec"])
            self._log(t, "timeout", str(q["answer"]), f"retry {q['attempt'] - 1}", self.state or "")
            self._count("retry")
            self._prompt(t)
            return
        self._count("timeout")
        self._log(t, "timeout", str(q["answer"]), why, self.state or "")
        self.question = None
        self._set_status(RuntimeStatus.RUNNING)
        self._enter(params["on_timeout"], t)

    # -- helpers ----------------------------------------------------------------------------------------
    def _resolve(self, value: Any) -> Any:
        """Value of a ``set:``: a lone ``{name}`` keeps the variable's raw value (``{t}``: full precision)."""
        if not isinstance(value, str):
            return value
        name = value.strip()
        if name.startswith("{") and name.endswith("}") and name[1:-1].isidentifier():
            key = name[1:-1]
            raw = {"t": self.now, "hours": self.now / 3600.0,
                   "hours_since_sleep_onset": self.hours_since_sleep_onset,
                   "event_value": self.last_event.get("value", ""), "message": self.last_message,
                   "cue_count": self.cues_total, "state": self.state or "", "design": self.design.name}
            if key in raw:
                return raw[key]
            if key in self.vars:
                return self.vars[key]
        return _coerce(self._render(value))

    def _render(self, text: Any) -> str:
        if not isinstance(text, str):
            return "" if text is None else str(text)
        hours = self.hours_since_sleep_onset
        ctx = _Missing(self.vars)
        ctx.update({
            "t": _fmt_num(self.now), "hours": _fmt_num(self.now / 3600.0, 2),
            "hours_since_sleep_onset": _fmt_num(hours, 2), "state": self.state or "",
            "event_type": self.last_event.get("type", ""), "event_value": self.last_event.get("value", ""),
            "message": self.last_message, "cue_count": self.cues_total, "design": self.design.name,
        })
        ctx.setdefault("answer", "")
        try:
            return string.Formatter().vformat(text, (), ctx)
        except (ValueError, IndexError, KeyError, AttributeError, TypeError):
            return text

    def _count(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    def _emit(self, kind: str, value: Any, t: float) -> None:
        self._count(f"action:{kind}")
        self._log(t, "action", kind, _value_text(value), self.state or "")

    def _log(self, t: float, kind: str, name: str, value: str = "", state: str | None = None,
             detail: str = "") -> None:
        self.timeline.append(TimelineRow(t, kind, name, value, (self.state or "") if state is None else state,
                                         detail))


def _is_revision(event: Event) -> bool:
    """Whether ``event`` is a message the detector reported again, whole, with the onset of an earlier
    reading it revises (:attr:`dreamlink.detect.decoded.Decoded.revises`)."""
    data = event.data if isinstance(event.data, dict) else {}
    return event.trial_type == "message" and data.get("revises") is not None


def _kinds_of(event: Event) -> set[str]:
    """The event kinds an event counts as.

    :mod:`dreamlink.detect` reports every decoded message as a ``message`` event with ``data['kind']``
    ``count``, ``eye_morse``, ``emg_yes_no`` or ``emg_morse``: a decoded count also counts as a ``count``
    event and a decoded EMG yes/no as a ``yes_no`` event (the simulator's ground truth uses those kinds
    directly). An unreadable message (value ``unreadable``, confidence 0) counts as nothing.
    """
    kind = event.trial_type
    if kind != "message":
        return {kind}
    if event.value == "unreadable" and not event.confidence:
        return set()
    code = event.data.get("kind") if isinstance(event.data, dict) else None
    if code == "count":
        return {"message", "count"}
    if code == "emg_yes_no":
        return {"message", "yes_no"}
    return {"message"}


def _value_text(value: Any) -> str:
    return "" if value is None else str(value)


def _coerce(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and "." not in text else number


def _same_answer(value: Any, expect: Any) -> bool:
    if isinstance(expect, bool):
        return str(value).strip().lower() in (("yes", "true", "1") if expect else ("no", "false", "0"))
    if isinstance(expect, int | float):
        try:
            return float(value) == float(expect)
        except (TypeError, ValueError):
            return False
    return str(value).strip().lower() == str(expect).strip().lower()


def _compare(left: Any, op: str, right: Any) -> bool:
    try:
        if op == "eq":
            return left == right
        if op == "ne":
            return left != right
        if op == "lt":
            return left < right
        if op == "le":
            return left <= right
        if op == "gt":
            return left > right
        if op == "ge":
            return left >= right
    except TypeError:
        return False
    return False
