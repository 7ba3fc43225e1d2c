"""Validation of dream designs: every example is valid, every mistake is located and explained."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from dreamlink.designs import DesignValidationError, check_text, design_from_text, load_design
from dreamlink.designs.schema import CUE_KINDS, LEVEL_CAPS_DB, SCHEMA_FILE, build_schema
from dreamlink.errors import InputFileError

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "designs").glob("*.yaml"))

GOOD = """\
design: t
version: 1
variables: {a: 8}
initial: wait
states:
  wait:
    on:
      - trigger: {type: stage, stage: R, for_sec: 60}
        goto: ask
  ask:
    enter:
      - ask: {text: "What is {a} minus 4?", answer: count, timeout_sec: 30, on_answer: wait, on_timeout: wait}
"""


def _errors(text: str) -> list:
    return [i for i in check_text(text, "d.yaml") if i.severity == "error"]


def test_examples_exist_and_are_valid():
    assert len(EXAMPLES) >= 6
    for path in EXAMPLES:
        assert [str(i) for i in _errors(path.read_text())] == [], path.name
        design = load_design(path)
        assert design.initial in design.states
        # every example cites its source in the header comment
        header = path.read_text().split("design:")[0]
        assert "Source" in header and ("doi:" in header or "DOI" in header), path.name


def test_good_design_builds():
    design = design_from_text(GOOD)
    assert set(design.states) == {"wait", "ask"}
    tr = design.states["wait"].on[0]
    assert tr.trigger.type == "stage" and tr.trigger.stages == ("R",) and tr.trigger.for_sec == 60
    assert design.states["ask"].enter[0].kind == "ask"
    assert len(design.digest) == 64


@pytest.mark.parametrize(
    ("old", "new", "line", "col", "field", "needle", "suggestion"),
    [
        # typo in a state name
        ("goto: ask", "goto: aks", 9, 15, "states.wait.on[0].goto", "does not exist", "ask"),
        # unknown trigger type (shorthand and mapping)
        ("{type: stage, stage: R, for_sec: 60}", "lrrl", 8, 18, "states.wait.on[0].trigger",
         "unknown trigger type", "lrlr"),
        ("{type: stage, stage: R, for_sec: 60}", "{type: rem_entyr}", 8, 25,
         "states.wait.on[0].trigger.type", "unknown trigger type", "rem_entry"),
        # a stage alias
        ("stage: R,", "stage: REM,", 8, 39, "states.wait.on[0].trigger.stage", "unknown stage", "R"),
        # question with no timeout
        ("timeout_sec: 30, ", "", 12, 9, "states.ask.enter[0].ask", "timeout_sec", None),
        # a confidence bound beyond 1
        ("timeout_sec: 30, ", "timeout_sec: 30, min_confidence: 1.5, ", 12, 93,
         "states.ask.enter[0].ask.min_confidence", "must be ≤ 1", None),
        # unknown field with a near miss
        ("for_sec: 60", "for_secs: 60", 8, 42, "states.wait.on[0].trigger.for_secs", "unknown field",
         "for_sec"),
        # unknown action kind
        ("- ask: {", "- aks: {", 12, 9, "states.ask.enter[0].aks", "unknown action", "ask"),
        # template with an unknown variable
        ("{a} minus", "{aa} minus", 12, 21, "states.ask.enter[0].ask.text", "unknown variable", "a"),
        # initial names a missing state
        ("initial: wait", "initial: wiat", 4, 10, "initial", "does not exist", "wait"),
        # bad version
        ("version: 1", "version: 2", 2, 10, "version", "version must be 1", None),
    ],
)
def test_located_errors(old, new, line, col, field, needle, suggestion):
    text = GOOD.replace(old, new, 1)
    assert text != GOOD
    errors = _errors(text)
    assert errors, text
    match = [e for e in errors if e.field == field and needle in e.message]
    assert match, [str(e) for e in errors]
    issue = match[0]
    assert (issue.line, issue.col) == (line, col), str(issue)
    assert issue.suggestion == suggestion
    rendered = str(issue)
    assert rendered.startswith(f"d.yaml:{line}:{col}: {field}: ")
    if suggestion:
        assert rendered.endswith(f"(did you mean '{suggestion}'?)")


def test_unreachable_state():
    text = GOOD + "  orphan:\n    on:\n      - trigger: wake\n        goto: wait\n"
    errors = _errors(text)
    assert len(errors) == 1
    assert errors[0].field == "states.orphan" and "unreachable" in errors[0].message
    assert (errors[0].line, errors[0].col) == (13, 3)


def test_yaml_syntax_error_is_located():
    errors = _errors("design: t\nversion: 1\nstates: {a: [\n")
    assert len(errors) == 1 and "YAML syntax error" in errors[0].message
    assert errors[0].line == 4


def test_duplicate_key_is_located():
    errors = _errors(GOOD.replace("variables: {a: 8}\n", "variables: {a: 8}\nvariables: {b: 1}\n"))
    assert any("duplicate key 'variables'" in e.message and e.line == 4 for e in errors)


def test_empty_and_non_mapping_documents():
    assert "empty" in _errors("")[0].message
    assert "mapping" in _errors("- a\n- b\n")[0].message
    assert "mapping" in _errors("just text\n")[0].message


def test_level_above_the_cue_layer_cap():
    text = GOOD.replace('answer: count,', 'answer: count, level_db: 25, kind: flashes,')
    errors = _errors(text)
    assert any("hard cap" in e.message and e.field.endswith("level_db") for e in errors)


def test_relay_needs_linked():
    text = GOOD.replace("        goto: ask\n", "        do: [{relay: {text: hi}}]\n        goto: ask\n")
    errors = _errors(text)
    assert any("linked: true" in e.message for e in errors)
    assert not _errors("linked: true\n" + text)


def test_ask_must_be_last_and_excludes_goto():
    text = GOOD.replace("on_timeout: wait}\n", "on_timeout: wait}\n      - mark: {label: x}\n")
    assert any("must be the last action" in e.message for e in _errors(text))


def test_load_design_raises_with_all_issues(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace("goto: ask", "goto: aks").replace("initial: wait", "initial: wiat"))
    with pytest.raises(DesignValidationError) as info:
        load_design(path)
    assert len(info.value.issues) == 2
    assert str(info.value).startswith(f"{path}:4:10: initial:")
    with pytest.raises(InputFileError, match="not found"):
        load_design(tmp_path / "missing.yaml")


def test_published_schema_matches_and_is_valid():
    published = json.loads((Path(__import__("dreamlink.designs").designs.__file__).parent / SCHEMA_FILE)
                           .read_text())
    assert published == json.loads(json.dumps(build_schema()))
    jsonschema.Draft202012Validator.check_schema(published)


def test_vocabulary_matches_the_cue_layer():
    cues_base = pytest.importorskip("dreamlink.cues.base")
    safety = pytest.importorskip("dreamlink.cues.safety")
    assert dict(cues_base.KIND_MODALITY) == CUE_KINDS
    assert {m: c.max_above_threshold_db for m, c in safety.HARD_CAPS.items()} == LEVEL_CAPS_DB


MESSAGE_QUESTION = GOOD.replace(
    'answer: count,', 'answer: message, choices: ["yes", "no"], expect: "yes",'
)


def test_a_lexicon_goes_with_a_free_text_message_answer_only():
    free_text = GOOD.replace("answer: count,", "answer: message, lexicon: english,")
    assert _errors(free_text) == []
    assert design_from_text(free_text).states["ask"].enter[0].params["lexicon"] == "english"
    counted = GOOD.replace("answer: count,", "answer: count, lexicon: english,")
    match = [e for e in _errors(counted) if e.field == "states.ask.enter[0].ask.lexicon"]
    assert match and "free-text message answer" in match[0].message and match[0].line == 12


def test_choices_of_a_message_answer_are_valid():
    assert _errors(MESSAGE_QUESTION) == []
    ask = design_from_text(MESSAGE_QUESTION).states["ask"].enter[0]
    assert ask.params["choices"] == ["yes", "no"]


@pytest.mark.parametrize(
    ("old", "new", "field", "needle"),
    [
        # choices only go with a message answer
        ("answer: message,", "answer: count,", "states.ask.enter[0].ask.choices", "of a message answer"),
        # a choice eye-Morse cannot spell
        ('"no"]', '"n#o"]', "states.ask.enter[0].ask.choices[1]", "no Morse code for '#'"),
        # the right answer is none of the choices
        ('expect: "yes",', "expect: maybe,", "states.ask.enter[0].ask.expect", "not one of the choices"),
        # one choice is no choice
        ('choices: ["yes", "no"]', 'choices: ["yes"]', "states.ask.enter[0].ask.choices", "at least 2"),
        # YAML reads an unquoted yes as true
        ('"no"]', "no]", "states.ask.enter[0].ask.choices[1]", 'quote the word ("yes")'),
        # a lexicon is for free text, not with choices, and must be one there is
        ('expect: "yes",', 'expect: "yes", lexicon: english,', "states.ask.enter[0].ask.lexicon",
         "the choices already say"),
        ('choices: ["yes", "no"], expect: "yes",', "lexicon: klingon,", "states.ask.enter[0].ask.lexicon",
         "english"),
    ],
)
def test_choices_mistakes_are_located(old, new, field, needle):
    text = MESSAGE_QUESTION.replace(old, new, 1)
    assert text != MESSAGE_QUESTION
    match = [e for e in _errors(text) if e.field == field and needle in e.message]
    assert match, [str(e) for e in _errors(text)]
    assert match[0].line == 12
