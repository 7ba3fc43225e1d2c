"""Typed, immutable form of a validated dream design.

:func:`design_from_data` builds a :class:`Design` from the plain data of a document that passed
:mod:`dreamlink.designs.validate`; the runtime only ever sees these objects. Each element keeps the
``(line, col)`` it came from so runtime messages can point at the file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from dreamlink.designs.schema import STAGE_NAMES

Scalar = str | int | float | bool | None
Loc = tuple[int, int]


@dataclass(frozen=True)
class Trigger:
    """What fires a transition (see :data:`dreamlink.designs.schema.TRIGGER_TYPES`).

    Parameters
    ----------
    type : str
        Trigger type.
    stages : tuple of str
        For ``stage``: the stage(s) that count.
    for_sec : float
        For ``stage``: seconds the stage must be held (0 = on entry).
    after_sec : float | None
        For ``timer``: seconds after entering the state.
    repeat : bool
        For ``timer``: fire every ``after_sec`` while the state lasts.
    at_sec : float | None
        For ``clock``: seconds from the recording's start.
    hours_since_sleep_onset : float | None
        For ``clock``: hours after the first epoch of sleep.
    match : str | None
        For text events: fire only if the value equals this text (case-insensitive).
    equals : int | None
        For ``count``: fire only for this number.
    min_confidence : float | None
        Ignore events whose confidence is below this.
    """

    type: str
    stages: tuple[str, ...] = ()
    for_sec: float = 0.0
    after_sec: float | None = None
    repeat: bool = False
    at_sec: float | None = None
    hours_since_sleep_onset: float | None = None
    match: str | None = None
    equals: int | None = None
    min_confidence: float | None = None


@dataclass(frozen=True)
class Condition:
    """A ``when:`` guard of one transition; every given field must hold."""

    stages: tuple[str, ...] = ()
    min_hours_since_sleep_onset: float | None = None
    max_hours_since_sleep_onset: float | None = None
    quiet_for_sec: float | None = None
    no_arousal_within_min: float | None = None
    vars: tuple[tuple[str, str, Scalar], ...] = ()


@dataclass(frozen=True)
class Action:
    """One action: ``kind`` (``cue, ask, relay, mark, alarm, set, add, end``) and its parameters."""

    kind: str
    params: dict[str, Any]
    loc: Loc = (0, 0)

    def get(self, name: str, default: Any = None) -> Any:
        """Parameter ``name`` or ``default``."""
        return self.params.get(name, default)


@dataclass(frozen=True)
class Transition:
    """``on`` entry: when ``trigger`` fires and ``when`` holds, run ``actions`` then go to ``goto``."""

    trigger: Trigger
    when: Condition | None
    actions: tuple[Action, ...]
    goto: str | None
    index: int
    scope: str
    loc: Loc = (0, 0)

    @property
    def key(self) -> str:
        """Stable identifier, e.g. ``wait_rem#0`` or ``always#1``."""
        return f"{self.scope}#{self.index}"


@dataclass(frozen=True)
class State:
    """A named state: ``enter`` actions run on entry, ``on`` transitions wait for triggers."""

    name: str
    enter: tuple[Action, ...]
    on: tuple[Transition, ...]
    description: str = ""
    loc: Loc = (0, 0)


@dataclass(frozen=True)
class Guards:
    """Design-wide limits applied to every cue (questions included; alarms excepted).

    Parameters
    ----------
    max_cues_per_rem : int | None
        At most this many cues in one REM period (Carr et al. 2020 paced cues within REM).
    max_cues_total : int | None
        At most this many cues in the night.
    min_quiet_sec : float
        Minimum seconds between two cues.
    no_cues_within_min_of_arousal : float
        No cue within this many minutes after an arousal or a wake event.
    min_hours_since_sleep_onset, max_hours_since_sleep_onset : float | None
        Cues only within this window after sleep onset.
    """

    max_cues_per_rem: int | None = None
    max_cues_total: int | None = None
    min_quiet_sec: float = 0.0
    no_cues_within_min_of_arousal: float = 0.0
    min_hours_since_sleep_onset: float | None = None
    max_hours_since_sleep_onset: float | None = None


@dataclass(frozen=True)
class Design:
    """A whole dream design.

    Attributes
    ----------
    name, description : str
        From the file.
    version : int
        Language version.
    linked : bool
        Whether the design talks with a linked dreamer (relays).
    variables : dict
        Initial variable values.
    guards : Guards
        Design-wide cue limits.
    initial : str
        The state the design starts in.
    states : dict of str to State
        Every state by name.
    always : tuple of Transition
        Transitions checked in every state before the state's own.
    file : str
        Where it was read from.
    digest : str
        SHA-256 of the canonical JSON of the document (a persisted run refuses another design).
    """

    name: str
    version: int
    initial: str
    states: dict[str, State]
    always: tuple[Transition, ...] = ()
    variables: dict[str, Scalar] = field(default_factory=dict)
    guards: Guards = field(default_factory=Guards)
    linked: bool = False
    description: str = ""
    file: str = "<design>"
    digest: str = ""

    def transitions(self, state: str) -> tuple[Transition, ...]:
        """Transitions active in ``state``: the ``always`` ones first, then the state's own."""
        return self.always + self.states[state].on


def _stages(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value if str(v) in STAGE_NAMES)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _trigger(raw: Any) -> Trigger:
    if isinstance(raw, str):
        return Trigger(type=raw)
    return Trigger(
        type=str(raw["type"]),
        stages=_stages(raw.get("stage")),
        for_sec=float(raw.get("for_sec", 0.0)),
        after_sec=_float(raw.get("after_sec")),
        repeat=bool(raw.get("repeat", False)),
        at_sec=_float(raw.get("at_sec")),
        hours_since_sleep_onset=_float(raw.get("hours_since_sleep_onset")),
        match=raw.get("match"),
        equals=raw.get("equals"),
        min_confidence=_float(raw.get("min_confidence")),
    )


def _condition(raw: Any) -> Condition | None:
    if not raw:
        return None
    var_checks = []
    for name, ops in (raw.get("vars") or {}).items():
        for op, value in ops.items():
            var_checks.append((str(name), str(op), value))
    return Condition(
        stages=_stages(raw.get("stage")),
        min_hours_since_sleep_onset=_float(raw.get("min_hours_since_sleep_onset")),
        max_hours_since_sleep_onset=_float(raw.get("max_hours_since_sleep_onset")),
        quiet_for_sec=_float(raw.get("quiet_for_sec")),
        no_arousal_within_min=_float(raw.get("no_arousal_within_min")),
        vars=tuple(var_checks),
    )


def _actions(raw: Any, marks: dict, path: tuple) -> tuple[Action, ...]:
    out = []
    for i, item in enumerate(raw or []):
        ((kind, params),) = item.items()
        if kind == "end":
            params = {"reason": params if isinstance(params, str) else "end"}
        out.append(Action(kind=kind, params=dict(params or {}), loc=marks.get((*path, i), (0, 0))))
    return tuple(out)


def _transitions(raw: Any, scope: str, marks: dict, path: tuple) -> tuple[Transition, ...]:
    out = []
    for i, item in enumerate(raw or []):
        out.append(
            Transition(
                trigger=_trigger(item["trigger"]),
                when=_condition(item.get("when")),
                actions=_actions(item.get("do"), marks, (*path, i, "do")),
                goto=item.get("goto"),
                index=i,
                scope=scope,
                loc=marks.get((*path, i), (0, 0)),
            )
        )
    return tuple(out)


def design_digest(data: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of a design document."""
    text = json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def design_from_data(data: dict[str, Any], file: str = "<design>", marks: dict | None = None) -> Design:
    """Build a :class:`Design` from a document that passed validation.

    Parameters
    ----------
    data : dict
        The parsed document.
    file : str
        Its file name (kept for messages).
    marks : dict | None
        ``path -> (line, col)`` of values, from :class:`~dreamlink.designs.loader.SourceDocument`.
    """
    marks = marks or {}
    states = {}
    for name, raw in data["states"].items():
        raw = raw or {}
        states[name] = State(
            name=name,
            enter=_actions(raw.get("enter"), marks, ("states", name, "enter")),
            on=_transitions(raw.get("on"), name, marks, ("states", name, "on")),
            description=str(raw.get("description", "")),
            loc=marks.get(("states", name), (0, 0)),
        )
    g = data.get("guards") or {}
    guards = Guards(
        max_cues_per_rem=g.get("max_cues_per_rem"),
        max_cues_total=g.get("max_cues_total"),
        min_quiet_sec=float(g.get("min_quiet_sec", 0.0)),
        no_cues_within_min_of_arousal=float(g.get("no_cues_within_min_of_arousal", 0.0)),
        min_hours_since_sleep_onset=_float(g.get("min_hours_since_sleep_onset")),
        max_hours_since_sleep_onset=_float(g.get("max_hours_since_sleep_onset")),
    )
    return Design(
        name=str(data["design"]),
        version=int(data["version"]),
        initial=str(data["initial"]),
        states=states,
        always=_transitions(data.get("always"), "always", marks, ("always",)),
        variables=dict(data.get("variables") or {}),
        guards=guards,
        linked=bool(data.get("linked", False)),
        description=str(data.get("description", "")),
        file=file,
        digest=design_digest(data),
    )
