"""Check a dream design and say precisely what is wrong: file, line, column, field, fix.

Two passes. The structural pass runs the published JSON Schema (:mod:`dreamlink.designs.schema`) with
``jsonschema`` and rewrites each of its errors into one located line with a suggestion for near-misses
(an unknown field, trigger type, stage or action kind). When the structure is sound, the semantic pass
checks what a schema cannot: every state named by ``initial``/``goto``/``on_answer``/``on_timeout``
exists (did you mean ...?), every state is reachable from ``initial``, a question is the last action of
its list and has somewhere to go, templates only name known variables, relays need ``linked: true``.

:func:`validate_document` never raises on bad input; :func:`load_design` raises
:class:`~dreamlink.designs.loader.DesignValidationError` carrying every issue.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema

from dreamlink.designs.loader import (
    DesignIssue,
    DesignValidationError,
    DocPath,
    SourceDocument,
    load_document,
    parse_document,
    suggest,
)
from dreamlink.designs.model import Design, design_from_data
from dreamlink.designs.schema import (
    ACTION_KINDS,
    BUILTIN_VARIABLES,
    CUE_KINDS,
    LEVEL_CAPS_DB,
    STAGE_ALIASES,
    TRIGGER_TYPES,
    load_schema,
)
from dreamlink.link import morse

_TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "object": "a mapping (key: value lines)",
    "array": "a list (lines starting with '- ')",
    "null": "nothing",
}
_REQUIRED_HINTS = {
    "timeout_sec": "a question needs timeout_sec: the seconds to wait for the answer before retrying",
    "on_timeout": "a question needs on_timeout: the state to go to when no answer comes",
    "on_answer": "a question needs on_answer: the state to go to when the answer comes",
    "trigger": "a transition needs a trigger (e.g. `trigger: lrlr`)",
    "after_sec": "a timer needs after_sec: seconds after entering the state",
    "stage": "a stage trigger needs stage: one of W, N1, N2, N3, R",
    "initial": "the design needs initial: the name of the state it starts in",
    "states": "the design needs states: a mapping of state names to states",
    "design": "the design needs design: a name",
    "version": "the design needs version: 1",
}

_validator: jsonschema.protocols.Validator | None = None


def _get_validator() -> jsonschema.protocols.Validator:
    global _validator
    if _validator is None:
        schema = load_schema()
        cls = jsonschema.validators.validator_for(schema)
        _validator = cls(schema)
    return _validator


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null"


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _leaf_errors(error: jsonschema.ValidationError) -> list[jsonschema.ValidationError]:
    """Replace a oneOf/anyOf failure by the errors of the branch that fits the instance's type."""
    if error.validator not in ("oneOf", "anyOf") or not error.context:
        return [error]
    branches: dict[int, list[jsonschema.ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.schema_path[0], []).append(sub)
    kind = _json_type(error.instance)
    subschemas = error.validator_value
    # prefer the branch whose declared type (or enum) matches the instance's type
    for idx, subs in sorted(branches.items()):
        schema = subschemas[idx]
        declared = schema.get("type")
        declared = [declared] if isinstance(declared, str) else (declared or [])
        enum = schema.get("enum")
        fits = kind in declared or (kind == "integer" and "number" in declared)
        fits = fits or (enum is not None and kind in ("string", "integer", "number") and not declared)
        if fits:
            out: list[jsonschema.ValidationError] = []
            for sub in subs:
                out.extend(_leaf_errors(sub))
            return out
    return [error]


def _schema_issues(doc: SourceDocument) -> list[DesignIssue]:
    issues: list[DesignIssue] = []
    seen: set[tuple] = set()
    for error in _get_validator().iter_errors(doc.data):
        for leaf in _leaf_errors(error):
            for issue in _translate(doc, leaf):
                key = (issue.line, issue.col, issue.field, issue.message)
                if key not in seen:
                    seen.add(key)
                    issues.append(issue)
    return issues


def _translate(doc: SourceDocument, err: jsonschema.ValidationError) -> Iterator[DesignIssue]:
    path: DocPath = tuple(err.absolute_path)
    v, inst, vv = err.validator, err.instance, err.validator_value
    last = path[-1] if path else None
    if v == "additionalProperties" and isinstance(inst, dict):
        allowed = list((err.schema.get("properties") or {}).keys())
        for extra in [k for k in inst if k not in allowed]:
            if set(allowed) == set(ACTION_KINDS):
                message = f"unknown action '{extra}' (an action is one of: {', '.join(allowed)})"
            else:
                where = f"'{last}'" if isinstance(last, str) else "this mapping"
                message = f"unknown field '{extra}' in {where} (expected one of: {', '.join(allowed)})"
            yield doc.issue((*path, extra), message, suggest(extra, allowed), key=True)
        return
    if v == "required":
        for name in vv:
            if isinstance(inst, dict) and name not in inst:
                if name in ("timeout_sec", "on_timeout", "on_answer", "answer", "text") and last == "ask":
                    hint = _REQUIRED_HINTS.get(name, f"a question needs {name}")
                else:
                    hint = _REQUIRED_HINTS.get(name, f"missing required field '{name}'")
                # a present but misspelled key is reported (with a suggestion) by additionalProperties
                yield doc.issue(path, hint + (f" (missing field '{name}')" if name not in hint else ""),
                                key=True)
        return
    if v == "enum" or v == "const":
        choices = vv if v == "enum" else [vv]
        words = [str(c) for c in choices]
        if path and path[-1] == "type" and set(words) == set(TRIGGER_TYPES) or (
            set(words) == set(TRIGGER_TYPES) and last == "trigger"
        ):
            message = f"unknown trigger type {_describe(inst)} (expected one of: {', '.join(words)})"
        elif last == "version":
            message = f"version must be {vv}, got {_describe(inst)}"
        elif set(words) == {"W", "N1", "N2", "N3", "R"}:
            message = f"unknown stage {_describe(inst)} (expected one of: {', '.join(words)})"
        else:
            message = f"{_describe(inst)} is not allowed here (expected one of: {', '.join(words)})"
        yield doc.issue(path, message, suggest(inst, words, STAGE_ALIASES))
        return
    if v == "type":
        want = [vv] if isinstance(vv, str) else list(vv)
        words = " or ".join(_TYPE_WORDS.get(w, w) for w in want)
        hint = ""
        if isinstance(inst, bool) and want == ["string"]:  # YAML reads yes/no/on/off unquoted as true/false
            hint = ': YAML reads yes, no, on and off as true or false; quote the word ("yes")'
        yield doc.issue(path, f"expected {words}, got {_TYPE_WORDS.get(_json_type(inst), 'nothing')} "
                              f"{_describe(inst)}{hint}")
        return
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        sign = {"minimum": "≥", "exclusiveMinimum": ">", "maximum": "≤", "exclusiveMaximum": "<"}[v]
        yield doc.issue(path, f"must be {sign} {vv}, got {_describe(inst)}")
        return
    if v == "pattern":
        yield doc.issue(path, f"{_describe(inst)} is not a valid name: use letters, digits, _ and -, "
                              "starting with a letter or _", key=True)
        return
    if v in ("minProperties", "maxProperties") and last is not None and _is_action_path(path):
        yield doc.issue(path, "an action is a mapping with exactly one key, one of: "
                              f"{', '.join(ACTION_KINDS)}")
        return
    if v == "minProperties":
        yield doc.issue(path, f"needs at least {vv} entr{'y' if vv == 1 else 'ies'}")
        return
    if v == "minItems":
        yield doc.issue(path, f"needs at least {vv} item(s)")
        return
    if v == "uniqueItems":
        yield doc.issue(path, "items must not repeat")
        return
    if v == "oneOf" and last in ("trigger",) or (v == "oneOf" and isinstance(inst, dict) and "type" in inst
                                                and inst.get("type") == "clock"):
        if isinstance(inst, dict) and inst.get("type") == "clock":
            both = "at_sec" in inst and "hours_since_sleep_onset" in inst
            msg = ("a clock trigger takes at_sec or hours_since_sleep_onset, not both" if both else
                   "a clock trigger needs at_sec (seconds from the start) or hours_since_sleep_onset")
            yield doc.issue(path, msg)
            return
        yield doc.issue(path, "a trigger is a trigger type name or a mapping with `type:` "
                              f"(types: {', '.join(TRIGGER_TYPES)})")
        return
    if v == "oneOf" and isinstance(inst, dict) and "type" not in inst:
        yield doc.issue(path, "expected a mapping with `type:`")
        return
    if v == "oneOf":
        yield doc.issue(path, f"{_describe(inst)} does not fit here")
        return
    if v == "propertyNames":
        yield doc.issue(path, f"invalid key in {_describe(last)}", key=True)
        return
    yield doc.issue(path, err.message.split("\n")[0][:200])


def _is_action_path(path: DocPath) -> bool:
    return len(path) >= 2 and isinstance(path[-1], int) and path[-2] in ("do", "enter")


# -- semantic pass ------------------------------------------------------------------------------


def _iter_transitions(data: dict) -> Iterator[tuple[DocPath, dict, str]]:
    for i, tr in enumerate(data.get("always") or []):
        yield ("always", i), tr, "always"
    for name, state in (data.get("states") or {}).items():
        for i, tr in enumerate((state or {}).get("on") or []):
            yield ("states", name, "on", i), tr, name


def _iter_action_lists(data: dict) -> Iterator[tuple[DocPath, list, dict | None]]:
    for name, state in (data.get("states") or {}).items():
        state = state or {}
        if state.get("enter"):
            yield ("states", name, "enter"), state["enter"], None
    for path, tr, _ in _iter_transitions(data):
        yield (*path, "do"), tr.get("do") or [], tr


def _templates(text: str) -> list[str] | str:
    """Field names used by ``{name}`` templates in ``text``, or an error message."""
    names = []
    try:
        for _, field_name, spec, _conv in string.Formatter().parse(text):
            if field_name is None:
                continue
            if field_name == "" or not field_name.replace("_", "a").replace("-", "a").isalnum():
                return (f"template field {{{field_name}}} is not a variable name "
                        "(write {{ for a literal brace)")
            if spec:
                inner = _templates(spec)
                if isinstance(inner, str):
                    return inner
            names.append(field_name)
    except ValueError as err:
        return f"malformed template ({err}); write {{{{ and }}}} for literal braces"
    return names


def _semantic_issues(doc: SourceDocument) -> list[DesignIssue]:
    data: dict = doc.data
    issues: list[DesignIssue] = []
    states: dict = data["states"]
    names = list(states)
    linked = bool(data.get("linked", False))

    def check_state_ref(path: DocPath, target: Any, what: str) -> None:
        if target not in states:
            issues.append(doc.issue(path, f"{what} names a state '{target}' that does not exist "
                                          f"(states: {', '.join(names)})", suggest(target, names)))

    check_state_ref(("initial",), data["initial"], "initial")

    # variables that templates may use
    known_vars = set(BUILTIN_VARIABLES) | set((data.get("variables") or {}).keys())
    for _path, actions, _tr in _iter_action_lists(data):
        for action in actions:
            ((kind, params),) = action.items()
            if kind in ("set", "add"):
                known_vars |= set(params)
            if kind == "ask" and params.get("store"):
                known_vars.add(params["store"])
    numeric = {k for k, v in (data.get("variables") or {}).items()
               if isinstance(v, int | float) and not isinstance(v, bool)}

    edges: dict[str, set[str]] = {n: set() for n in names}
    global_targets: set[str] = set()

    for path, tr, scope in _iter_transitions(data):
        trig = tr["trigger"]
        ttype = trig if isinstance(trig, str) else trig["type"]
        if ttype in ("relay_in", "relay_ack") and not linked:
            issues.append(doc.issue((*path, "trigger"), f"trigger '{ttype}' needs a linked dreamer: "
                                                        "add `linked: true` at the top of the design"))
        goto = tr.get("goto")
        if goto is not None:
            check_state_ref((*path, "goto"), goto, "goto")
            if goto in states:
                (global_targets if scope == "always" else edges[scope]).add(goto)
        when = tr.get("when") or {}
        lo, hi = when.get("min_hours_since_sleep_onset"), when.get("max_hours_since_sleep_onset")
        if lo is not None and hi is not None and lo >= hi:
            issues.append(doc.issue((*path, "when"), f"min_hours_since_sleep_onset ({lo}) must be below "
                                                     f"max_hours_since_sleep_onset ({hi})"))
        for var in (when.get("vars") or {}):
            if var not in known_vars:
                issues.append(doc.issue((*path, "when", "vars", var), f"unknown variable '{var}' "
                                        "(declare it under variables:)", suggest(var, sorted(known_vars)),
                                        key=True))
        has_ask = any("ask" in a for a in tr.get("do") or [])
        if has_ask and goto is not None:
            issues.append(doc.issue((*path, "goto"), "a transition that asks a question goes on through the "
                                                     "question's on_answer/on_timeout; remove goto"))

    for path, actions, _tr in _iter_action_lists(data):
        scope = path[1] if path[0] == "states" else "always"
        for i, action in enumerate(actions):
            ((kind, params),) = action.items()
            apath = (*path, i, kind)
            is_last = i == len(actions) - 1
            if kind in ("ask", "end") and not is_last:
                issues.append(doc.issue((*path, i), f"'{kind}' must be the last action of its list "
                                                    "(actions after it would never run)", key=True))
            if kind == "ask":
                for key in ("on_answer", "on_wrong", "on_timeout"):
                    if key in params:
                        check_state_ref((*apath, key), params[key], key)
                        if params[key] in states:
                            (global_targets if scope == "always" else edges[scope]).add(params[key])
                if "on_wrong" in params and "expect" not in params:
                    issues.append(doc.issue((*apath, "on_wrong"), "on_wrong needs expect: the right answer"))
                answer = params.get("answer")
                expect = params.get("expect")
                if answer == "count" and expect is not None and (not isinstance(expect, int) or
                                                                 isinstance(expect, bool)):
                    issues.append(doc.issue((*apath, "expect"), f"a count answer is a whole number, got "
                                                                f"{expect!r}"))
                choices = params.get("choices")
                if choices is not None and answer != "message":
                    why = f"choices are the words of a message answer; this question's answer is {answer!r}"
                    issues.append(doc.issue((*apath, "choices"), why))
                elif isinstance(choices, list):
                    for k, word in enumerate(choices):
                        try:
                            morse.encode(str(word))
                        except morse.MorseEncodingError as exc:
                            issues.append(doc.issue((*apath, "choices", k), str(exc)))
                    if expect is not None and str(expect).upper() not in {str(w).upper() for w in choices}:
                        issues.append(doc.issue((*apath, "expect"), f"the right answer {expect!r} is not one "
                                                                    f"of the choices"))
                if "lexicon" in params and answer != "message":
                    why = f"a lexicon is for a free-text message answer; this question's answer is {answer!r}"
                    issues.append(doc.issue((*apath, "lexicon"), why))
                elif "lexicon" in params and choices is not None:
                    issues.append(doc.issue((*apath, "lexicon"), "the choices already say which words the "
                                                                 "answer is; remove lexicon or choices"))
                if answer == "lrlr" and expect is not None:
                    issues.append(doc.issue((*apath, "expect"), "an lrlr answer carries no value; remove "
                                                                "expect"))
            if kind in ("cue", "ask", "alarm"):
                ckind = params.get("kind", "tones" if kind == "alarm" else "speech")
                level = params.get("level_db", 20.0 if kind == "alarm" else 0.0)
                modality = CUE_KINDS.get(ckind, "audio")
                cap = LEVEL_CAPS_DB[modality]
                if isinstance(level, int | float) and level > cap:
                    issues.append(doc.issue((*apath, "level_db"),
                                            f"{level} dB is above the {modality} hard cap of the cue layer "
                                            f"({cap:g} dB above threshold)"))
                text = params.get("text")
                if isinstance(text, str) and not text.strip():
                    issues.append(doc.issue((*apath, "text"), "text is empty: give the words, count or file"))
            if kind == "relay" and not linked:
                issues.append(doc.issue((*path, i), "relay needs a linked dreamer: add `linked: true` at the "
                                                    "top of the design", key=True))
            if kind == "add":
                for var in params:
                    if var not in numeric:
                        issues.append(doc.issue((*apath, var),
                                                f"add needs '{var}' declared as a number under variables:",
                                                suggest(var, sorted(numeric)), key=True))
            if kind == "mark" and params.get("since") is not None and params["since"] not in known_vars:
                issues.append(doc.issue((*apath, "since"), f"unknown variable '{params['since']}'",
                                        suggest(params["since"], sorted(known_vars))))
            if isinstance(params, dict):
                for key, value in params.items():
                    if isinstance(value, str) and key in ("text", "value", "label") or kind == "set":
                        if not isinstance(value, str):
                            continue
                        found = _templates(value)
                        if isinstance(found, str):
                            issues.append(doc.issue((*apath, key), found))
                            continue
                        for name in found:
                            if name not in known_vars:
                                issues.append(doc.issue((*apath, key),
                                                        f"template uses unknown variable {{{name}}} "
                                                        "(declare it under variables:)",
                                                        suggest(name, sorted(known_vars))))

    lo = (data.get("guards") or {}).get("min_hours_since_sleep_onset")
    hi = (data.get("guards") or {}).get("max_hours_since_sleep_onset")
    if lo is not None and hi is not None and lo >= hi:
        issues.append(doc.issue(("guards",), f"min_hours_since_sleep_onset ({lo}) must be below "
                                             f"max_hours_since_sleep_onset ({hi})"))

    # reachability from initial (always-transitions can be taken from any state)
    if data["initial"] in states:
        seen = {data["initial"]} | global_targets
        stack = list(seen)
        while stack:
            for nxt in edges.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        for name in names:
            if name not in seen:
                issues.append(doc.issue(("states", name), f"state '{name}' is unreachable from the initial "
                                                          f"state '{data['initial']}' (no goto leads to it)",
                                        key=True))
    # dead ends: a state with nothing to leave by and no end (warning: the design idles there)
    for name, state in states.items():
        state = state or {}
        ends = any("end" in a for a in state.get("enter") or [])
        asks = any("ask" in a for a in state.get("enter") or [])
        if not state.get("on") and not ends and not asks and not data.get("always"):
            issues.append(doc.issue(("states", name), f"state '{name}' has no transitions and no end: "
                                                      "the design would idle there", key=True,
                                    severity="warning"))
    return issues


def validate_document(doc: SourceDocument) -> list[DesignIssue]:
    """All issues of a parsed document (parse, structure, then meaning), sorted by position."""
    issues = list(doc.issues)
    if doc.data is not None and not issues:
        if not isinstance(doc.data, dict):
            issues.append(doc.issue((), "a design is a mapping starting with `design: NAME`, got "
                                        f"{_TYPE_WORDS.get(_json_type(doc.data), 'something else')}"))
        else:
            issues.extend(_schema_issues(doc))
            if not issues:
                issues.extend(_semantic_issues(doc))
    return sorted(issues, key=lambda i: (i.line, i.col, i.field, i.message))


def check_text(text: str, file: str = "<design>") -> list[DesignIssue]:
    """Validate design text; returns every issue (empty list: valid)."""
    return validate_document(parse_document(text, file))


def check_file(path: str | Path) -> list[DesignIssue]:
    """Validate a design file; returns every issue (empty: valid). Missing file: InputFileError."""
    return validate_document(load_document(path))


def _build(doc: SourceDocument) -> Design:
    issues = validate_document(doc)
    if any(i.severity == "error" for i in issues):
        raise DesignValidationError(issues)
    return design_from_data(doc.data, file=doc.file, marks=doc.value_marks)


def load_design(path: str | Path) -> Design:
    """Read, validate and build a design file.

    Raises
    ------
    InputFileError
        The file is missing.
    DesignValidationError
        The design has errors (``.issues`` lists them, each located).
    """
    return _build(load_document(path))


def design_from_text(text: str, file: str = "<design>") -> Design:
    """Validate and build a design from YAML text (see :func:`load_design`)."""
    return _build(parse_document(text, file))
