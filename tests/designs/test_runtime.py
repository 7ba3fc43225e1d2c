"""The design runtime: determinism, persistence and resume, refused transitions, guards, questions."""

from __future__ import annotations

import json

import pytest

from dreamlink.designs import design_from_text
from dreamlink.designs.runtime import DesignRuntime, IllegalTransitionError, RecordingSink, RuntimeStatus
from dreamlink.errors import DesignError
from dreamlink.events import Event

DIALOGUE = """\
design: dialogue
version: 1
variables: {a: 8, b: 4, asked: 0}
guards: {max_cues_per_rem: 4, no_cues_within_min_of_arousal: 1}
initial: wait_rem
always:
  - trigger: wake
    goto: wait_rem
states:
  wait_rem:
    on:
      - trigger: {type: stage, stage: R, for_sec: 60}
        do: [{cue: {kind: tones, text: "3", level_db: 5}}]
        goto: wait_lucid
  wait_lucid:
    on:
      - trigger: lrlr
        do: [{add: {asked: 1}}]
        goto: ask
      - trigger: {type: stage, stage: [W, N1, N2, N3]}
        goto: wait_rem
  ask:
    enter:
      - ask: {text: "What is {a} minus {b}? (question {asked})", answer: count, expect: 4, store: reply,
              timeout_sec: 30, retries: 1, on_answer: good, on_wrong: bad, on_timeout: wait_lucid}
  good:
    enter: [{mark: {label: correct, value: "{reply}"}}]
    on:
      - trigger: {type: timer, after_sec: 5}
        goto: wait_lucid
  bad:
    enter: [{mark: {label: wrong, value: "{reply}"}}, {end: wrong answer}]
"""


#: The dialogue taking only answers decoded with confidence ≥ 0.7.
SURE_DIALOGUE = DIALOGUE.replace("retries: 1,", "retries: 1, min_confidence: 0.7,")
assert SURE_DIALOGUE != DIALOGUE


def _stage(t: float, s: str) -> Event:
    return Event(t, 30.0, "stage", s, None, "test")


def _night() -> list[Event]:
    """N2 from 0, R from 600, an LRLR, a right answer, a silent question, an LRLR, a wrong answer."""
    return [
        _stage(0, "N2"), _stage(300, "N2"), _stage(600, "R"), _stage(630, "R"),
        Event(700, 2.0, "lrlr", "LRLR"), Event(720, 8.0, "count", 4),
        Event(800, 2.0, "lrlr", "LRLR"),  # asked at 800; nothing for 30 s; retried at 830; timeout at 860
        Event(900, 2.0, "lrlr", "LRLR"), Event(910, 8.0, "count", 5),
        Event(1000, 0.0, "stage", "N2"),
    ]


def _run(events, text: str = DIALOGUE, **kw) -> DesignRuntime:
    rt = DesignRuntime(design_from_text(text), **kw)
    rt.start(0.0)
    for ev in events:
        if rt.status is RuntimeStatus.ENDED:
            break
        rt.feed(ev)
    return rt


def _plain(rt: DesignRuntime) -> list[tuple]:
    return [(round(r.t, 6), r.kind, r.name, r.value, r.state, r.detail) for r in rt.timeline
            if r.kind != "status"]


def test_dialogue_sequence():
    rt = _run(_night())
    shown = ("action", "answer", "timeout", "skipped")
    rows = [(r.t, r.kind, r.name, r.value) for r in rt.timeline if r.kind in shown]
    assert rows == [
        (660.0, "action", "cue", "3"),                       # REM held 60 s
        (700.0, "action", "add", "asked=1"),
        (700.0, "action", "question", "What is 8 minus 4? (question 1)"),
        (720.0, "answer", "count", "4"),
        (720.0, "action", "mark", "correct=4"),
        (800.0, "action", "add", "asked=2"),
        (800.0, "action", "question", "What is 8 minus 4? (question 2)"),
        (830.0, "timeout", "count", "retry 1"),
        (830.0, "action", "question", "What is 8 minus 4? (question 2)"),
        (860.0, "timeout", "count", "no answer"),
        (900.0, "action", "add", "asked=3"),
        (900.0, "skipped", "question", "What is 8 minus 4? (question 3)"),  # 5th cue of this REM period
        (910.0, "answer", "count", "5"),
        (910.0, "action", "mark", "wrong=5"),
        (910.0, "action", "end", "wrong answer"),
    ]
    assert rt.status is RuntimeStatus.ENDED
    assert rt.counts["answer:correct"] == 1 and rt.counts["answer:wrong"] == 1
    kinds = [e.trial_type for e in rt.sink.events]
    assert kinds == ["cue", "cue", "mark", "cue", "cue", "mark", "design_end"]
    assert rt.counts["skipped:question"] == 1 and rt.cues_in_rem == 4


def test_awaited_answer_is_the_open_questions_answer_kind():
    events = _night()
    assert _run(events[:4]).awaited_answer is None  # REM, no LRLR yet
    assert _run(events[:5]).awaited_answer == "count"  # asked at the LRLR
    assert _run(events[:6]).awaited_answer is None  # answered
    timed_out = _run(events[:7])
    timed_out.advance(861.0)
    assert timed_out.awaited_answer is None


def test_deterministic():
    a, b = _run(_night()), _run(_night())
    assert _plain(a) == _plain(b)
    assert [e.to_json() for e in a.sink.events] == [e.to_json() for e in b.sink.events]


@pytest.mark.parametrize("split", [3, 5, 6, 7, 8])
def test_resume_from_state_file_matches_uninterrupted_run(tmp_path, split):
    events = _night()
    whole = _run(events)
    path = tmp_path / "state.json"
    first = _run(events[:split], state_path=path)
    assert path.exists() and not list(tmp_path.glob(".*.tmp"))  # atomic write leaves no temporary file
    snap = json.loads(path.read_text())
    assert snap["state"] == first.state and snap["status"] == first.status.value
    # a restarted rig: a new runtime on the same file continues where the first stopped
    second = DesignRuntime(design_from_text(DIALOGUE), state_path=path)
    assert second.status is first.status and second.state == first.state and second.vars == first.vars
    for ev in events[split:]:
        if second.status is RuntimeStatus.ENDED:
            break
        second.feed(ev)
    combined = _plain(first) + [r for r in _plain(second)]
    assert combined == _plain(whole)
    assert [e.to_json() for e in first.sink.events + second.sink.events] == \
        [e.to_json() for e in whole.sink.events]


def test_resume_refuses_another_design_and_corrupt_files(tmp_path):
    path = tmp_path / "state.json"
    _run(_night()[:4], state_path=path)
    other = design_from_text(DIALOGUE.replace("design: dialogue", "design: other"))
    with pytest.raises(DesignError, match="different file or version"):
        DesignRuntime(other, state_path=path)
    path.write_text("{not json")
    with pytest.raises(DesignError, match="delete it"):
        DesignRuntime(design_from_text(DIALOGUE), state_path=path)


def test_illegal_transitions_are_refused():
    rt = DesignRuntime(design_from_text(DIALOGUE))
    with pytest.raises(IllegalTransitionError, match="before start"):
        rt.feed(_stage(0, "N2"))
    rt.start(0.0)
    with pytest.raises(IllegalTransitionError, match="from running to running"):
        rt.start(0.0)
    rt.stop("operator")
    assert rt.status is RuntimeStatus.ENDED
    with pytest.raises(IllegalTransitionError, match="it has ended"):
        rt.feed(_stage(10, "R"))
    with pytest.raises(IllegalTransitionError):
        rt.stop()


def test_time_never_goes_back():
    rt = _run([_stage(0, "N2"), _stage(600, "R")])
    rt.feed(Event(100, 0, "lrlr"))  # a late event acts now (660 was the REM hold)
    assert rt.now == 600.0
    rt.advance(700)
    assert rt.state == "wait_lucid" and rt.now == 700.0


def test_guards_arousal_and_quiet():
    text = """\
design: g
version: 1
guards: {no_cues_within_min_of_arousal: 2, min_quiet_sec: 50}
initial: s
states:
  s:
    on:
      - trigger: {type: timer, after_sec: 30, repeat: true}
        do: [{cue: {kind: tones, text: "1"}}]
"""
    rt = DesignRuntime(design_from_text(text))
    rt.start(0.0)
    rt.feed(Event(100, 0, "arousal"))
    rt.advance(400)
    times = [r.t for r in rt.timeline if r.kind == "action" and r.name == "cue"]
    skipped = {r.t: r.detail for r in rt.timeline if r.kind == "skipped"}
    # 30 ok; 60 too soon after 30 (quiet 50 s); 90 ok; 120..210 within 2 min of the arousal at 100;
    # 240 ok; 270 too soon; 300 ok; 330 too soon; 360 ok; 390 too soon
    assert times == [30, 90, 240, 300, 360]
    assert "min_quiet_sec" in skipped[60] and "arousal" in skipped[150] and "arousal" in skipped[210]


def test_sink_refusal_is_not_counted():
    text = """\
design: r
version: 1
guards: {max_cues_total: 2}
initial: s
states:
  s:
    on:
      - trigger: {type: timer, after_sec: 10, repeat: true}
        do: [{cue: {kind: speech, text: "cue at {t}"}}]
"""
    sink = RecordingSink(refuse=lambda req: req.onset == 20.0)
    rt = DesignRuntime(design_from_text(text), sink)
    rt.start(0.0)
    rt.advance(60)
    assert [r.value for r in rt.timeline if r.kind == "action"] == ["cue at 10.0", "cue at 30.0"]
    assert [e.trial_type for e in sink.events] == ["cue", "cue_refused", "cue"]
    assert rt.counts["refused:cue"] == 1 and rt.counts["skipped:cue"] == 3


def test_clock_triggers_and_hours_since_sleep_onset():
    text = """\
design: c
version: 1
initial: a
states:
  a:
    on:
      - trigger: {type: clock, hours_since_sleep_onset: 1}
        do: [{mark: {label: one_hour, value: "{hours_since_sleep_onset}"}}]
        goto: b
  b:
    on:
      - trigger: {type: clock, at_sec: 7200}
        do: [{mark: {label: two_hours_from_start}}]
"""
    rt = DesignRuntime(design_from_text(text))
    rt.start(0.0)
    rt.feed(_stage(0, "W"))
    rt.feed(_stage(900, "N1"))  # sleep onset
    rt.advance(8000)
    marks = [(r.t, r.value) for r in rt.timeline if r.kind == "action"]
    assert marks == [(4500.0, "one_hour=1.00"), (7200.0, "two_hours_from_start")]


def test_loop_without_time_passing_is_an_error():
    text = """\
design: loop
version: 1
initial: a
states:
  a:
    on:
      - trigger: {type: stage, stage: R}
        goto: b
  b:
    on:
      - trigger: {type: stage, stage: R}
        goto: a
"""
    rt = DesignRuntime(design_from_text(text))
    rt.start(0.0)
    with pytest.raises(DesignError, match="loops without time passing"):
        rt.feed(_stage(30, "R"))


def test_detector_messages_count_as_answers():
    """dreamlink.detect reports a decoded count as a `message` with data kind `count`."""
    events = [_stage(0, "N2"), _stage(600, "R"), Event(700, 2.0, "lrlr", "LRLR"),
              Event(705, 3.0, "message", "unreadable", 0.0, "detect", {"kind": "count"}),
              Event(720, 8.0, "message", "4", 0.9, "detect", {"kind": "count"})]
    rt = _run(events)
    answers = [(r.t, r.value, r.detail) for r in rt.timeline if r.kind == "answer"]
    assert answers == [(720.0, "4", "correct")]
    assert rt.vars["reply"] == "4"


def test_unsure_answers_are_asked_again_then_given_up():
    """With min_confidence, a decoded answer below it is logged `unsure` and the question asked again
    at once; once the retries are spent, the question is given up for on_timeout."""
    unsure = [Event(720, 8.0, "message", "5", 0.55, "detect", {"kind": "count"}),
              Event(740, 8.0, "message", "4", 0.62, "detect", {"kind": "count"})]
    rt = _run([_stage(0, "N2"), _stage(600, "R"), Event(700, 2.0, "lrlr", "LRLR"), *unsure], SURE_DIALOGUE)
    shown = ("unsure", "timeout", "answer")
    rows = [(r.t, r.kind, r.value, r.detail) for r in rt.timeline if r.kind in shown]
    assert rows == [
        (720.0, "unsure", "5", "confidence 0.55 < 0.7"),
        (720.0, "timeout", "retry 1", ""),
        (740.0, "unsure", "4", "confidence 0.62 < 0.7"),
        (740.0, "timeout", "no sure answer", ""),
    ]
    assert rt.state == "wait_lucid" and rt.awaited_answer is None
    assert rt.counts["answer:unsure"] == 2 and rt.counts.get("answer", 0) == 0
    prompts = [r.t for r in rt.timeline if r.kind == "action" and r.name == "question"]
    assert prompts == [700.0, 720.0]


def test_sure_answer_after_an_unsure_one_is_taken():
    events = [_stage(0, "N2"), _stage(600, "R"), Event(700, 2.0, "lrlr", "LRLR"),
              Event(720, 8.0, "message", "5", 0.4, "detect", {"kind": "count"}),
              Event(735, 8.0, "message", "4", 0.9, "detect", {"kind": "count"})]
    rt = _run(events, SURE_DIALOGUE)
    answers = [(r.t, r.value, r.detail) for r in rt.timeline if r.kind == "answer"]
    assert answers == [(735.0, "4", "correct")]
    assert rt.vars["reply"] == "4" and rt.counts["answer:unsure"] == 1


def test_hours_since_sleep_onset_guard_and_when():
    text = """\
design: h
version: 1
guards: {min_hours_since_sleep_onset: 1, max_hours_since_sleep_onset: 2}
initial: s
states:
  s:
    on:
      - trigger: {type: timer, after_sec: 1800, repeat: true}
        when: {stage: [N2, R]}
        do: [{cue: {kind: tones, text: "1"}}]
"""
    rt = DesignRuntime(design_from_text(text))
    rt.start(0.0)
    rt.feed(_stage(0, "W"))
    rt.feed(_stage(600, "N2"))  # sleep onset: cues allowed from 4200 s to 7800 s
    rt.feed(_stage(9000, "W"))
    rt.advance(10800)
    assert [r.t for r in rt.timeline if r.kind == "action"] == [5400.0, 7200.0]
    assert [r.t for r in rt.timeline if r.kind == "skipped"] == [1800.0, 3600.0, 9000.0]
    assert [r.t for r in rt.timeline if r.kind == "blocked"] == [10800.0]  # stage W: when fails


#: The dialogue asking a yes/no question answered in eye-Morse, among known words.
CHOICE_DIALOGUE = DIALOGUE.replace(
    'answer: count, expect: 4,', 'answer: message, choices: ["yes", "no"], expect: "yes",'
)
assert CHOICE_DIALOGUE != DIALOGUE


def test_a_question_with_choices_names_them_and_asks_again_for_another_word():
    start = [_stage(0, "N2"), _stage(600, "R"), Event(700, 2.0, "lrlr", "LRLR")]
    rt = _run(start, CHOICE_DIALOGUE)
    assert rt.awaited_answer == "message" and rt.awaited_choices == ("YES", "NO")
    rt.feed(Event(720, 8.0, "message", "SOS", 0.9, "detect", {"kind": "eye_morse"}))
    rt.feed(Event(740, 8.0, "message", "YES", 0.8, "detect", {"kind": "eye_morse"}))
    rows = [(r.t, r.kind, r.value, r.detail) for r in rt.timeline if r.kind in ("unsure", "answer")]
    assert rows == [(720.0, "unsure", "SOS", "not one of the choices"), (740.0, "answer", "YES", "correct")]
    assert rt.awaited_choices == () and rt.counts["answer:unsure"] == 1


def test_a_free_text_question_names_its_lexicon_while_it_is_open():
    text = DIALOGUE.replace("answer: count, expect: 4,", 'answer: message, lexicon: english, expect: "OK",')
    assert text != DIALOGUE
    start = [_stage(0, "N2"), _stage(600, "R"), Event(700, 2.0, "lrlr", "LRLR")]
    rt = _run(start, text)
    assert (rt.awaited_answer, rt.awaited_choices, rt.awaited_lexicon) == ("message", (), "english")
    rt.feed(Event(720, 8.0, "message", "OK", 0.6, "detect", {"kind": "eye_morse", "spelled": "MK"}))
    assert [(r.kind, r.value, r.detail) for r in rt.timeline if r.kind == "answer"] == [
        ("answer", "OK", "correct")
    ]
    assert rt.awaited_lexicon is None


LISTEN = """\
design: listen
version: 1
initial: first
states:
  first:
    on:
      - trigger: message
        do: [{mark: {label: heard, value: "{message}"}}]
        goto: second
  second:
    on:
      - trigger: message
        do: [{mark: {label: heard_again, value: "{message}"}}]
        goto: first
"""


def _marks(rt: DesignRuntime) -> list[str]:
    return [r.value for r in rt.timeline if r.kind == "action" and r.name == "mark"]


def test_a_revised_message_acts_once():
    # The detector reads "F" (a frame inside "FLY" closed it early), then "FLY" again whole with the
    # same onset: the design acted on "F" and moved on, so the revision is kept in the timeline but
    # does not fire the next state's trigger. A new message does.
    rt = DesignRuntime(design_from_text(LISTEN))
    rt.start(0.0)
    first = Event(700.0, 20.0, "message", "F", 0.8, "detect", {"kind": "eye_morse"})
    revised = Event(700.0, 45.0, "message", "FLY", 0.7, "detect", {"kind": "eye_morse", "revises": "F"})
    new = Event(760.0, 20.0, "message", "HI", 0.9, "detect", {"kind": "eye_morse"})
    rt.feed(first, at=720.4)
    rt.feed(revised, at=745.4)
    assert rt.state == "second" and rt.last_message == "FLY"
    rows = [(r.kind, r.value, r.detail) for r in rt.timeline if r.kind == "revision"]
    assert rows == [("revision", "FLY", "revises 'F'; the message began before this state")]
    rt.feed(new, at=780.4)
    assert _marks(rt) == ["heard=F", "heard_again=HI"] and rt.state == "first"


def test_a_revision_of_a_message_the_design_did_not_move_on_acts():
    # Nothing fired on the first reading in this state (it began after the state was entered): the
    # revision is the message the design hears.
    text = LISTEN.replace("      - trigger: message\n        do: [{mark: {label: heard,",
                          "      - trigger: {type: message, match: FLY}\n        do: [{mark: {label: heard,")
    rt = DesignRuntime(design_from_text(text))
    rt.start(0.0)
    rt.feed(Event(700.0, 20.0, "message", "F", 0.8, "detect", {"kind": "eye_morse"}), at=720.4)
    assert rt.state == "first"
    revised = Event(700.0, 45.0, "message", "FLY", 0.7, "detect", {"kind": "eye_morse", "revises": "F"})
    rt.feed(revised, at=745.4)
    assert rt.state == "second" and _marks(rt) == ["heard=FLY"]
