"""The JSON Schema of a dream design, the vocabulary it names, and the published ``design.schema.json``.

A dream design is a YAML (or JSON) document; this module holds its structure as a JSON Schema
(draft 2020-12), built here in Python so that the names the validator, the runtime and the docs use
come from one place. ``design.schema.json`` next to this module is the published copy, regenerated
with ``python -m dreamlink.designs.schema`` (a test checks that it matches).

Shape of a design
-----------------
.. code-block:: yaml

    design: two_way_dialogue          # a name
    version: 1
    description: ...
    linked: false                     # true: the design exchanges messages with a linked dreamer
    variables: {a: 8, b: 4}           # usable in every text as {a}
    guards: {max_cues_per_rem: 6, min_quiet_sec: 20, no_cues_within_min_of_arousal: 2}
    initial: wait_rem
    always:                           # transitions checked in every state, before the state's own
      - trigger: wake
        goto: wait_rem
    states:
      wait_rem:
        enter: [ ... actions ... ]
        on:
          - trigger: {type: stage, stage: R, for_sec: 60}
            when: {min_hours_since_sleep_onset: 2}
            do: [ {cue: {kind: speech, text: "You are dreaming", level_db: 6}} ]
            goto: ready

Trigger types are :data:`TRIGGER_TYPES`; action kinds :data:`ACTION_KINDS`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from dreamlink.link.lexicon import LEXICON_NAMES

#: Version of the design language this module describes.
LANGUAGE_VERSION = 1
#: Sleep stages a design may name (AASM; ``R`` is REM).
STAGE_NAMES: tuple[str, ...] = ("W", "N1", "N2", "N3", "R")
#: Common aliases authors write for stages, mapped to the AASM name (used for suggestions only).
STAGE_ALIASES: dict[str, str] = {
    "REM": "R", "WAKE": "W", "S1": "N1", "S2": "N2", "S3": "N3", "S4": "N3", "SWS": "N3", "NREM3": "N3",
    "NREM2": "N2", "NREM1": "N1",
}  # fmt: skip

#: trigger type -> (event trial_types that fire it, one-line description). Timed triggers have none.
TRIGGER_TYPES: dict[str, tuple[tuple[str, ...], str]] = {
    "stage": ((), "the scored stage becomes one of `stage` and stays for `for_sec` seconds"),
    "rem_entry": (("rem_entry",), "a REM period starts (a `rem_entry` event)"),
    "lrlr": (("lrlr",), "the dreamer signals LRLR with the eyes (lucid / ready)"),
    "message": (("message",), "a message decoded from the dreamer (eye- or EMG-Morse)"),
    "count": (("count",), "a count answer decoded from the dreamer's eyes (value: the number)"),
    "arousal": (("arousal",), "an arousal is detected"),
    "wake": (("wake",), "the dreamer wakes up (a `wake` event)"),
    "timer": ((), "`after_sec` seconds after entering the state (`repeat: true` for every period)"),
    "clock": ((), "a time of night: `at_sec` from the recording start or `hours_since_sleep_onset`"),
    "operator_message": (("operator_message",), "the operator sends a message from the dashboard"),
    "relay_in": (("relay_in", "relay_delivered"), "a message from the linked dreamer arrives"),
    "relay_ack": (("relay_ack",), "the linked dreamer acknowledged our message"),
}
#: Triggers fired by the passage of time rather than by an event.
TIMED_TRIGGERS: frozenset[str] = frozenset({"stage", "timer", "clock"})
#: Action kinds: each action is a one-key mapping ``{kind: parameters}``.
ACTION_KINDS: tuple[str, ...] = ("cue", "ask", "relay", "mark", "alarm", "set", "add", "end")
#: Cue kinds of :mod:`dreamlink.cues` (``dreamlink.cues.base.KIND_MODALITY``) and the sense each reaches.
CUE_KINDS: dict[str, str] = {
    "speech": "audio", "tones": "audio", "morse-audio": "audio", "wav": "audio",
    "morse-light": "light", "flashes": "light", "morse-vibration": "vibration", "buzzes": "vibration",
}  # fmt: skip
#: Highest ``level_db`` (dB above the sleeper's calibrated threshold) the cue layer ever allows, per sense
#: (``dreamlink.cues.safety.HARD_CAPS``); a design asking for more is rejected before the night.
LEVEL_CAPS_DB: dict[str, float] = {"audio": 30.0, "light": 20.0, "vibration": 20.0}
#: What counts as the answer to a question: the event kind that carries it. While a ``count`` is awaited,
#: a rig running the real detectors reads eye messages as counts
#: (:data:`dreamlink.rig.pipeline.EYE_CODE_FOR_ANSWER`).
ANSWER_KINDS: tuple[str, ...] = ("count", "message", "lrlr", "yes_no")
#: Comparison operators of ``when: {vars: {name: {op: value}}}``.
VAR_OPERATORS: tuple[str, ...] = ("eq", "ne", "lt", "le", "gt", "ge")
#: Names every template may use without declaring them.
BUILTIN_VARIABLES: tuple[str, ...] = (
    "t", "hours", "hours_since_sleep_onset", "state", "event_type", "event_value", "answer", "message",
    "cue_count", "design",
)  # fmt: skip

_NAME = {"type": "string", "pattern": r"^[A-Za-z_][A-Za-z0-9_\-]*$"}
_SECONDS = {"type": "number", "minimum": 0}
_POS_SECONDS = {"type": "number", "exclusiveMinimum": 0}
_LEVEL = {
    "type": "number",
    "minimum": -60,
    "maximum": 30,
    "description": "intensity in dB relative to the sleeper's calibrated threshold (0 = at threshold); "
                   "the cue layer's safety governor caps it",
}
_STAGE = {"enum": list(STAGE_NAMES)}
_STAGES = {"oneOf": [_STAGE, {"type": "array", "items": _STAGE, "minItems": 1, "uniqueItems": True}]}
_SCALAR = {"type": ["string", "number", "integer", "boolean"]}


def _obj(properties: dict[str, Any], required: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        out["required"] = list(required)
    out.update(extra)
    return out


def _trigger_schema() -> dict[str, Any]:
    per_type: dict[str, dict[str, Any]] = {
        "stage": {"stage": _STAGES, "for_sec": _SECONDS},
        "timer": {"after_sec": _POS_SECONDS, "repeat": {"type": "boolean"}},
        "clock": {"at_sec": _SECONDS, "hours_since_sleep_onset": {"type": "number", "minimum": 0}},
        "message": {"match": {"type": "string"}},
        "operator_message": {"match": {"type": "string"}},
        "relay_in": {"match": {"type": "string"}},
        "count": {"equals": {"type": "integer"}},
    }
    common = {"type": {"enum": list(TRIGGER_TYPES)}, "min_confidence": {"type": "number", "minimum": 0,
                                                                          "maximum": 1}}
    all_props: dict[str, Any] = dict(common)
    for props in per_type.values():
        all_props.update(props)
    branches = []
    for name in TRIGGER_TYPES:
        allowed = {**common, **per_type.get(name, {})}
        then: dict[str, Any] = {"properties": {k: True for k in allowed}, "additionalProperties": False}
        if name == "stage":
            then["required"] = ["stage"]
        elif name == "timer":
            then["required"] = ["after_sec"]
        elif name == "clock":
            then["oneOf"] = [{"required": ["at_sec"]}, {"required": ["hours_since_sleep_onset"]}]
        branches.append({"if": {"properties": {"type": {"const": name}}, "required": ["type"]},
                         "then": then})
    return {
        "description": "what fires a transition: a trigger type name, or a mapping with `type` and options",
        "oneOf": [
            {"enum": list(TRIGGER_TYPES)},
            {"type": "object", "properties": all_props, "required": ["type"], "additionalProperties": False,
             "allOf": branches},
        ],
    }


def _action_schema() -> dict[str, Any]:
    payload = {"type": ["string", "integer"],
               "description": "words to speak or key in Morse ({var} templates), a count of tones/flashes/"
                              "buzzes, frequencies for tones, or a WAV path"}
    cue = _obj(
        {
            "kind": {"enum": list(CUE_KINDS)},
            "text": payload,
            "level_db": _LEVEL,
            "repeat": {"type": "integer", "minimum": 1, "maximum": 20},
            "unit_ms": {"type": "number", "minimum": 20, "maximum": 1000},
            "voice": {"type": "string"},
        },
        ("kind", "text"),
    )
    ask = _obj(
        {
            "text": {"type": "string"},
            "kind": {"enum": list(CUE_KINDS)},
            "level_db": _LEVEL,
            "answer": {"enum": list(ANSWER_KINDS)},
            "timeout_sec": _POS_SECONDS,
            "retries": {"type": "integer", "minimum": 0, "maximum": 10},
            "min_confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "choices": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 2,
                "uniqueItems": True,
                "description": "the words a `message` answer is one of: an eye-Morse answer is read as "
                               "the word that fits it best",
            },
            "lexicon": {
                "enum": list(LEXICON_NAMES),
                "description": "for a free-text `message` answer: an eye-Morse answer that spells a "
                               "non-word is read as the nearby word of this lexicon that fits it",
            },
            "expect": _SCALAR,
            "store": _NAME,
            "on_answer": _NAME,
            "on_wrong": _NAME,
            "on_timeout": _NAME,
        },
        ("text", "answer", "timeout_sec", "on_answer", "on_timeout"),
    )
    relay = _obj(
        {
            "text": {"type": "string"},
            "to": {"type": "string", "description": "the linked dreamer (default: partner)"},
            "kind": {"enum": ["message", "ack"]},
        },
        ("text",),
    )
    mark = _obj({"label": _NAME, "value": _SCALAR, "since": _NAME}, ("label",))
    alarm = _obj({"text": payload, "kind": {"enum": list(CUE_KINDS)}, "level_db": _LEVEL})
    assign = {"type": "object", "propertyNames": _NAME, "additionalProperties": _SCALAR, "minProperties": 1}
    add = {"type": "object", "propertyNames": _NAME, "additionalProperties": {"type": "number"},
           "minProperties": 1}
    return {
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
        "properties": {
            "cue": cue,
            "ask": ask,
            "relay": relay,
            "mark": mark,
            "alarm": alarm,
            "set": assign,
            "add": add,
            "end": {"type": ["string", "boolean", "null"]},
        },
    }


def _when_schema() -> dict[str, Any]:
    cmp = {"type": "object", "propertyNames": {"enum": list(VAR_OPERATORS)}, "additionalProperties": _SCALAR,
           "minProperties": 1}
    return _obj(
        {
            "stage": _STAGES,
            "min_hours_since_sleep_onset": {"type": "number", "minimum": 0},
            "max_hours_since_sleep_onset": {"type": "number", "minimum": 0},
            "quiet_for_sec": _SECONDS,
            "no_arousal_within_min": _SECONDS,
            "vars": {"type": "object", "propertyNames": _NAME, "additionalProperties": cmp},
        }
    )


def build_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a dream design as a dict."""
    transition = _obj(
        {
            "trigger": {"$ref": "#/$defs/trigger"},
            "when": {"$ref": "#/$defs/when"},
            "do": {"type": "array", "items": {"$ref": "#/$defs/action"}},
            "goto": _NAME,
        },
        ("trigger",),
    )
    state = _obj(
        {
            "description": {"type": "string"},
            "enter": {"type": "array", "items": {"$ref": "#/$defs/action"}},
            "on": {"type": "array", "items": {"$ref": "#/$defs/transition"}},
        }
    )
    guards = _obj(
        {
            "max_cues_per_rem": {"type": "integer", "minimum": 0},
            "max_cues_total": {"type": "integer", "minimum": 0},
            "min_quiet_sec": _SECONDS,
            "no_cues_within_min_of_arousal": _SECONDS,
            "min_hours_since_sleep_onset": {"type": "number", "minimum": 0},
            "max_hours_since_sleep_onset": {"type": "number", "minimum": 0},
        }
    )
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dreamlink.example/schemas/design-1.schema.json",
        "title": "dreamlink dream design",
        "description": "A protocol to run during one night of sleep: states, triggers, guards and actions.",
        "type": "object",
        "additionalProperties": False,
        "required": ["design", "version", "initial", "states"],
        "properties": {
            "design": _NAME,
            "version": {"const": LANGUAGE_VERSION},
            "description": {"type": "string"},
            "linked": {"type": "boolean"},
            "variables": {"type": "object", "propertyNames": _NAME, "additionalProperties": _SCALAR},
            "guards": guards,
            "initial": _NAME,
            "always": {"type": "array", "items": {"$ref": "#/$defs/transition"}},
            "states": {"type": "object", "propertyNames": _NAME, "additionalProperties": state,
                       "minProperties": 1},
        },
        "$defs": {
            "trigger": _trigger_schema(),
            "when": _when_schema(),
            "action": _action_schema(),
            "transition": transition,
        },
    }


#: File name of the published schema inside the package.
SCHEMA_FILE = "design.schema.json"


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    """Return the published schema (``design.schema.json``), falling back to :func:`build_schema`."""
    try:
        text = resources.files("dreamlink.designs").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return build_schema()
    return json.loads(text)


def write_schema(path: str | Path | None = None) -> Path:
    """Write :func:`build_schema` as pretty JSON (default: the package's ``design.schema.json``)."""
    path = Path(path) if path is not None else Path(__file__).with_name(SCHEMA_FILE)
    path.write_text(json.dumps(build_schema(), indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


if __name__ == "__main__":  # pragma: no cover
    print(write_schema())
