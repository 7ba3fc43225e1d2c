"""The rig pipeline offline: decimation, ground-truth replay, relay policy, stop-and-resume exactness."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dreamlink.errors import ConfigError
from dreamlink.events import Event
from dreamlink.rig.client import Outbox
from dreamlink.rig.pipeline import Decimator, GroundTruthEvents, RelayPolicy, RigPipeline, build_event_stages
from dreamlink.server.protocol import SignalFrame, decode_block
from dreamlink.sources import open_source
from dreamlink.sources.base import Chunk

SIM = "sim:seed=3,hours=0.25,inject=lrlr@300;morse:E@500"


def test_decimator_output_does_not_depend_on_chunking() -> None:
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3, 2000))
    whole, first = Decimator(256, 64, 3).process(data, 0)
    assert first == 0 and whole.shape == (3, 500)
    dec = Decimator(256, 64, 3)
    parts, firsts, pos = [], [], 0
    for n in (7, 130, 1, 862, 1000):
        out, f = dec.process(data[:, pos : pos + n], pos)
        parts.append(out)
        firsts.append(f)
        pos += n
    np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, atol=1e-12)
    # a 10-Hz sine survives, a 100-Hz one (above the new Nyquist, 32 Hz) is removed
    t = np.arange(25600) / 256
    x = np.vstack([np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 100 * t)])
    y, _ = Decimator(256, 64, 2).process(x, 0)
    assert np.std(y[0, 200:]) > 0.6 and np.std(y[1, 200:]) < 0.01


def test_ground_truth_replay_is_exact_across_a_resume() -> None:
    events = [Event(10.0, 2.0, "lrlr"), Event(30.0, 0.0, "x"), Event(29.0, 1.0, "y"), Event(59.5, 1.0, "z")]
    whole = GroundTruthEvents(events)
    chunks = [Chunk(np.zeros((1, 256 * 10)), i * 2560, 256.0) for i in range(7)]
    got_whole = [e.trial_type for c in chunks for e in whole.update(c)]
    first = GroundTruthEvents(events)
    got = [e.trial_type for c in chunks[:3] for e in first.update(c)]
    resumed = GroundTruthEvents(events, start=chunks[3].start_time)
    got += [e.trial_type for c in chunks[3:] for e in resumed.update(c)]
    assert got == got_whole == ["lrlr", "y", "x", "z"]


def test_relay_policy_ready_only_in_stable_rem_and_receipt_by_lrlr() -> None:
    p = RelayPolicy(partner="bob", ready_after_sec=60, require_signal=True)
    p.on_event(Event(0, 30, "stage", "N2"))
    assert not p.is_ready(100)
    p.on_event(Event(100, 30, "stage", "R"))
    assert not p.is_ready(150)  # REM, not yet stable
    assert not p.is_ready(170)  # stable, but no LRLR signal yet
    p.on_event(Event(165, 2, "lrlr", "LRLR"))
    assert p.is_ready(170)
    frames, _ = p.on_event(Event(180, 10, "message", "HI"))
    assert frames == [{"type": "relay", "to": "bob", "text": "HI", "ttl": 1800.0}]
    p.awaiting.append((5, 200.0))
    assert p.on_event(Event(190, 2, "lrlr"))[1] == []  # before the cue: not a receipt
    assert p.on_event(Event(210, 2, "lrlr"))[1] == [5]
    p.on_event(Event(230, 30, "stage", "W"))
    assert not p.is_ready(240)
    q = RelayPolicy()
    q.restore(p.snapshot())
    assert q.snapshot() == p.snapshot()


def test_event_mode_errors() -> None:
    src = open_source("sim:seed=1,hours=0.05", speed=None)
    with pytest.raises(ConfigError, match="truth, stager, detect or none"):
        build_event_stages("psychic", src, src.info)
    file_like = open_source("sim:seed=1,hours=0.05", speed=None)
    file_like._night = None  # a source without ground truth
    with pytest.raises(ConfigError, match="simulated source"):
        build_event_stages("truth", type("S", (), {"night": None})(), src.info)


def _frames(box: Outbox) -> list[dict]:
    return [json.loads(text) for _, text in box.pending(0, 10**6)]


def test_pipeline_stopped_and_resumed_produces_every_sample_and_event_once(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite")
    first = RigPipeline(open_source(SIM, speed=None), box, block_sec=5.0, record_dir=tmp_path)

    def stop_midway(end: int) -> None:
        if end >= 256 * 400:
            first.stop()

    first.on_chunk = stop_midway
    s1 = first.run()
    assert 0 < s1.samples < 256 * 900
    second = RigPipeline(open_source(SIM, speed=None), box, block_sec=5.0, record_dir=tmp_path)
    s2 = second.run()
    assert s2.resumed_from == s1.samples
    frames = _frames(box)
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    signals = [SignalFrame(**f) for f in frames if f["type"] == "signal"]
    n_total = open_source(SIM, speed=None).night.n_times
    assert [s.src_first for s in signals] == list(range(0, n_total, 256 * 5))
    assert sum(s.src_n for s in signals) == n_total
    assert sum(decode_block(s).shape[1] for s in signals) == n_total // 4
    night = open_source(SIM, speed=None).night
    kinds = ("stage", "lrlr", "message", "count", "emg_code", "arousal")
    want = sorted(
        (e.trial_type, e.onset) for e in list(night.events) + night.stage_events() if e.trial_type in kinds
    )
    got = sorted(
        (f["event"]["trial_type"], f["event"]["onset"])
        for f in frames
        if f["type"] == "event" and f["event"]["trial_type"] in kinds
    )
    assert got == want
    # each run recorded locally into its own folder
    assert sorted(p.name for p in tmp_path.glob("recording-run*")) == ["recording-run01", "recording-run02"]


def test_detect_mode_decodes_an_eye_morse_message_with_the_real_detectors(tmp_path: Path) -> None:
    from dreamlink.hypnogram import Hypnogram
    from dreamlink.io.hypnogram_formats import write_hypnogram_yasa

    hypno = tmp_path / "hypno.txt"  # 2 min N2, then 8 min REM
    write_hypnogram_yasa(Hypnogram(np.array(["N2"] * 4 + ["R"] * 16)), hypno)
    source = f"sim:seed=1,hypnogram={hypno},inject=morse:HI@rem1+30"
    box = Outbox(tmp_path / "outbox.sqlite")
    RigPipeline(open_source(source, speed=None), box, events_mode="detect", block_sec=2.0).run()
    events = [f["event"] for f in _frames(box) if f["type"] == "event"]
    decoded = [e for e in events if e["trial_type"] == "message" and e["value"] == "HI"]
    assert len(decoded) == 1 and 150 <= decoded[0]["onset"] <= 170
    assert any(e["trial_type"] == "stage" and e["source"].startswith("staging") for e in events)


def test_design_runtime_decides_what_is_relayed_and_resumes_after_a_stop(tmp_path: Path) -> None:
    from dreamlink.designs import load_design

    design = load_design(Path(__file__).resolve().parents[2] / "examples" / "designs" / "relay.yaml")
    source = "sim:seed=11,hours=2,inject=morse:HI@rem1+30"
    box = Outbox(tmp_path / "outbox.sqlite")
    policy = RelayPolicy(partner="bob")
    first = RigPipeline(open_source(source, speed=None), box, block_sec=30.0, design=design, policy=policy)
    first.on_chunk = lambda end: first.stop() if end >= 256 * 3000 else None
    first.run()
    assert box.get("design")["state"] == "listen"
    second = RigPipeline(
        open_source(source, speed=None), box, block_sec=30.0, design=design, policy=RelayPolicy(partner="bob")
    )
    second.run()
    frames = _frames(box)
    relays = [f for f in frames if f["type"] == "relay"]
    assert [(r["to"], r["text"]) for r in relays] == [("bob", "HI")]
    design_events = [f["event"] for f in frames if f["type"] == "event" and f["event"]["source"] == "design"]
    assert any(e["trial_type"] == "relay_sent" and e["value"] == "HI" for e in design_events)


def test_relay_policy_relays_only_the_chosen_codes():
    from dreamlink.events import Event
    from dreamlink.rig.pipeline import RelayPolicy

    def message(text: str, kind: str | None) -> Event:
        data = {"kind": kind} if kind else {}
        return Event(100.0, 2.0, "message", text, 0.9, "detect.decode", data)

    eye_only = RelayPolicy(partner="bob", relay_codes=("eye_morse", "count"))
    assert eye_only.on_event(message("HI", "eye_morse"))[0][0]["text"] == "HI"
    assert eye_only.on_event(message("yes", "emg_yes_no"))[0] == []
    assert eye_only.on_event(message("SOS", None))[0][0]["text"] == "SOS"  # ground truth has no kind
    everything = RelayPolicy(partner="bob", relay_codes=None)
    assert everything.on_event(message("yes", "emg_yes_no"))[0][0]["text"] == "yes"


def test_a_repeated_control_is_acknowledged_each_time_but_obeyed_once(tmp_path: Path) -> None:
    """The server resends unacknowledged controls on reconnect; the rig must not pause (or sound an
    alarm) twice, not even after a restart, but must acknowledge every copy."""
    box = Outbox(tmp_path / "outbox.sqlite")
    pause = {"type": "control", "action": "pause", "control_id": 7}
    first = RigPipeline(open_source(SIM, speed=None), box, block_sec=5.0, record_dir=tmp_path)
    for frame in (pause, pause, {"type": "control", "action": "start", "control_id": 8}):
        first.inbox.put(dict(frame))

    def stop_early(end: int) -> None:
        if end >= 256 * 100:
            first.stop()

    first.on_chunk = stop_early
    first.run()
    second = RigPipeline(open_source(SIM, speed=None), box, block_sec=5.0, record_dir=tmp_path)
    second.inbox.put(dict(pause))  # resent after the restart: already obeyed before it
    second.run()
    frames = _frames(box)
    acks = [f["control_id"] for f in frames if f["type"] == "control_ack"]
    assert acks == [7, 7, 8, 7]
    controls = [f["event"]["value"] for f in frames if f["type"] == "event"
                and f["event"]["trial_type"] == "design_control"]
    assert controls == ["pause", "start"]
    assert second.paused is False


ASK_COUNT = """\
design: ask_a_count
version: 1
description: Ask for a count straight away and score it.
initial: ask
states:
  ask:
    enter:
      - ask: {text: "What is eight minus eight?", answer: count, expect: 0, timeout_sec: 560,
              on_answer: right, on_wrong: wrong, on_timeout: wrong}
  right:
    enter:
      - end: answered
  wrong:
    enter:
      - end: not answered
"""


def test_while_a_design_awaits_a_count_the_detectors_read_counts(tmp_path: Path) -> None:
    # The dreamer answers "0": two markers with a rest between, which the eye decoder's default mode
    # ("auto") does not read as a message. The design's open question makes the rig's detectors
    # expect a count, so the answer is read live and scored; once answered, they read as before.
    from dreamlink.designs import load_design
    from dreamlink.hypnogram import Hypnogram
    from dreamlink.io.hypnogram_formats import write_hypnogram_yasa

    hypno = tmp_path / "hypno.txt"  # 2 min N2, then 8 min REM
    write_hypnogram_yasa(Hypnogram(np.array(["N2"] * 4 + ["R"] * 16)), hypno)
    (tmp_path / "ask.yaml").write_text(ASK_COUNT)
    source = f"sim:seed=2,hypnogram={hypno},inject=count:0@rem1+30"

    def messages(box: Outbox) -> list[tuple[float, str, str]]:
        events = [f["event"] for f in _frames(box) if f["type"] == "event"]
        return [(e["onset"], e["data"]["kind"], e["value"]) for e in events if e["trial_type"] == "message"]

    asked = Outbox(tmp_path / "asked.sqlite")
    design = load_design(tmp_path / "ask.yaml")
    RigPipeline(
        open_source(source, speed=None), asked, events_mode="detect", block_sec=2.0, design=design
    ).run()
    read = [(t, v) for t, kind, v in messages(asked) if kind == "count" and v != "unreadable"]
    assert [v for _, v in read] == ["0"] and 150 <= read[0][0] <= 165
    assert asked.get("design")["state"] == "right"
    not_asked = Outbox(tmp_path / "not_asked.sqlite")
    RigPipeline(open_source(source, speed=None), not_asked, events_mode="detect", block_sec=2.0).run()
    assert not any(v == "0" for _, _, v in messages(not_asked))
    after = read[0][0] + 10.0  # the answer's frames are behind
    assert [m for m in messages(asked) if m[0] > after] == [m for m in messages(not_asked) if m[0] > after]
    assert any(m[0] > after for m in messages(asked))  # (the natural REMs of this night open one)


ASK_A_LETTER = ASK_COUNT.replace("ask_a_count", "ask_a_letter").replace(
    'ask: {text: "What is eight minus eight?", answer: count, expect: 0,',
    'ask: {text: "E or T?", answer: message, choices: ["E", "T"], expect: "E",',
)


def test_while_a_design_awaits_one_of_its_choices_the_detectors_read_eye_morse(tmp_path: Path) -> None:
    # The dreamer answers "E": one dot between the frames, which the eye decoder's default mode
    # ("auto") does not read as a message. The question's choices make the rig's detectors read
    # eye-Morse as one of them, so the answer is read live and scored.
    from dreamlink.designs import load_design
    from dreamlink.hypnogram import Hypnogram
    from dreamlink.io.hypnogram_formats import write_hypnogram_yasa

    hypno = tmp_path / "hypno.txt"  # 2 min N2, then 8 min REM
    write_hypnogram_yasa(Hypnogram(np.array(["N2"] * 4 + ["R"] * 16)), hypno)
    (tmp_path / "ask.yaml").write_text(ASK_A_LETTER)
    source = f"sim:seed=2,hypnogram={hypno},inject=morse:E@rem1+30"

    def answers(box: Outbox) -> list[str]:
        events = [f["event"] for f in _frames(box) if f["type"] == "event"]
        read = [e for e in events if e["trial_type"] == "message" and e["data"]["kind"] == "eye_morse"]
        return [e["value"] for e in read if e["value"] != "unreadable"]

    asked = Outbox(tmp_path / "asked.sqlite")
    RigPipeline(
        open_source(source, speed=None), asked, events_mode="detect", block_sec=2.0,
        design=load_design(tmp_path / "ask.yaml"),
    ).run()
    assert answers(asked)[:1] == ["E"]  # (natural REMs before it may make an unreadable "message")
    assert asked.get("design")["state"] == "right"
    not_asked = Outbox(tmp_path / "not_asked.sqlite")
    RigPipeline(open_source(source, speed=None), not_asked, events_mode="detect", block_sec=2.0).run()
    assert "E" not in answers(not_asked)


def test_while_a_question_names_a_lexicon_the_detectors_read_free_text_as_its_words(shared_data) -> None:
    # Real REM EOG with an "OK" whose first dash natural REMs spoiled (it spells a non-word): while a
    # design's free-text question names the English lexicon, the rig's detectors read it "OK".
    from dreamlink.rig.pipeline import DetectorStage
    from dreamlink.sources.base import SourceInfo
    from tests.detect.test_eye_messages import real_rem_ok

    data, fs, _ = real_rem_ok(shared_data, seed=1)
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), fs)

    def messages(lexicon: str | None) -> list[tuple[str, str | None]]:
        stage = DetectorStage(info, swing=800e-6)
        stage.expect_answer("message", (), lexicon)
        out: list[Event] = []
        step = int(fs)
        for i in range(0, data.shape[1], step):
            out += stage.update(Chunk(data[:, i : i + step], i, fs))
        return [(e.value, e.data.get("spelled")) for e in out if e.trial_type == "message"]

    free = messages(None)
    assert len(free) == 1 and free[0][0] not in ("OK", "unreadable")
    assert messages("english") == [("OK", free[0][0])]


def _reading(text: str, onset: float = 100.0, revises: str | None = None, confidence: float = 0.8) -> Event:
    """A decoded eye-Morse message; with ``revises``, the detector's second, whole reading of it."""
    data = {"kind": "eye_morse", **({"revises": revises} if revises is not None else {})}
    return Event(onset, 5.0, "message", text, confidence, "detect.decode", data)


def test_relay_policy_names_the_relayed_reading_a_revision_replaces() -> None:
    p = RelayPolicy(partner="bob")
    assert p.on_event(_reading("F"))[0] == [{"type": "relay", "to": "bob", "text": "F", "ttl": 1800.0}]
    frames, _ = p.on_event(_reading("FLY", revises="F"))
    assert frames == [{"type": "relay", "to": "bob", "text": "FLY", "ttl": 1800.0, "revises": "F"}]
    # a later revision of the same message revises what was relayed last ("FLY"), not the first reading
    assert p.on_event(_reading("FLYING", revises="FLY"))[0][0]["revises"] == "FLY"
    # a revision whose first reading was not relayed is a plain message: unreadable ...
    frames, _ = p.on_event(_reading("unreadable", onset=200.0, confidence=0.0))
    assert frames == []
    frames, _ = p.on_event(_reading("HI", onset=200.0, revises="unreadable"))
    assert frames == [{"type": "relay", "to": "bob", "text": "HI", "ttl": 1800.0}]
    # ... another message (another onset), or the wrong text
    assert "revises" not in p.on_event(_reading("SOS", onset=300.0, revises="S"))[0][0]
    assert "revises" not in p.on_event(_reading("SOSO", onset=300.0, revises="O"))[0][0]


def test_relay_policy_remembers_relayed_readings_across_a_restart_and_only_the_recent_ones() -> None:
    from dreamlink.rig.pipeline import RELAYED_KEPT

    p = RelayPolicy(partner="bob")
    p.on_event(_reading("F", onset=40.0))
    state = json.loads(json.dumps(p.snapshot()))  # as the outbox stores it
    restarted = RelayPolicy(partner="bob")
    restarted.restore(state)
    assert restarted.on_event(_reading("FLY", onset=40.0, revises="F"))[0][0]["revises"] == "F"
    forgetful = RelayPolicy(partner="bob")  # without the snapshot it would be a plain message
    assert "revises" not in forgetful.on_event(_reading("FLY", onset=40.0, revises="F"))[0][0]
    # a partner changed on the restart never heard the first reading
    other = RelayPolicy(partner="carol")
    other.restore(state)
    assert "revises" not in other.on_event(_reading("FLY", onset=40.0, revises="F"))[0][0]
    # bounded: the oldest readings are forgotten
    for i in range(RELAYED_KEPT + 5):
        restarted.on_event(_reading(f"M{i}", onset=1000.0 + i))
    assert len(restarted.snapshot()["relayed"]) == RELAYED_KEPT
    assert "revises" not in restarted.on_event(_reading("M0X", onset=1000.0, revises="M0"))[0][0]
    last = 1000.0 + RELAYED_KEPT + 4
    assert restarted.on_event(_reading("LAST", onset=last, revises=f"M{RELAYED_KEPT + 4}"))[0][0]["revises"]


def _listening_rig(tmp_path: Path, design=None, relay_cue: str = "speech") -> RigPipeline:
    """A rig as it runs, with its cue layer open (sample clock, no output device)."""
    source = open_source("sim:seed=1,hours=0.05", speed=None)
    pipe = RigPipeline(source, Outbox(tmp_path / "outbox.sqlite"), design=design, relay_cue=relay_cue)
    pipe.cues = pipe._open_cues(source, 1, 0.0)
    return pipe


#: A relayed message that corrects one delivered before (as the server sends it).
CORRECTION = {
    "type": "cue",
    "relay_id": 2,
    "from": "alice",
    "sender_kind": "dreamer",
    "text": "FLY",
    "revises": "F",
}


def test_a_relayed_correction_is_presented_as_one(tmp_path: Path) -> None:
    pipe = _listening_rig(tmp_path / "plain")
    pipe.inbox.put({"type": "cue", "relay_id": 1, "from": "alice", "sender_kind": "dreamer", "text": "F"})
    pipe.inbox.put(dict(CORRECTION))
    events, _, _ = pipe._incoming(10.0)
    pipe.cues.pump(30.0)
    cues = [e for e in pipe.cues.drain() if e.trial_type == "cue"]
    assert [(e.value, e.data.get("revises")) for e in events] == [("F", None), ("FLY", "F")]
    assert [(c.value, c.data["payload"], c.data.get("revises")) for c in cues] == [
        ("F", "F", None),
        ("FLY", "correction: FLY", "F"),
    ]
    # Morse has no colon
    morse = _listening_rig(tmp_path / "morse", relay_cue="morse-audio")
    morse.inbox.put(dict(CORRECTION))
    morse._incoming(10.0)
    morse.cues.pump(60.0)
    assert [c.data["payload"] for c in morse.cues.drain() if c.trial_type == "cue"] == ["correction FLY"]
    # with a design, the design presents it: the rig only passes the correction on in the event
    from dreamlink.designs import load_design

    design = load_design(Path(__file__).resolve().parents[2] / "examples" / "designs" / "relay.yaml")
    with_design = _listening_rig(tmp_path / "design", design=design)
    with_design.inbox.put(dict(CORRECTION))
    events, _, _ = with_design._incoming(10.0)
    with_design.cues.pump(30.0)
    assert [(e.trial_type, e.value, e.data["revises"]) for e in events] == [("relay_in", "FLY", "F")]
    assert with_design.cues.drain() == [] and with_design.policy.awaiting == [(2, 10.0)]


def test_the_rigs_detectors_read_with_the_dreamers_eye_model(tmp_path) -> None:
    # `dreamlink rig --events detect --eye-model`: the detector stage reads eye-Morse with the model.
    from dreamlink.detect.eye_emission import LearnedEmission, learn_eye_model
    from dreamlink.hypnogram import Hypnogram
    from dreamlink.link import eye_code
    from dreamlink.rig.pipeline import DetectorStage
    from dreamlink.sim.night import simulate_night
    from dreamlink.sources.base import SourceInfo
    from tests.detect import synth

    rem = simulate_night(None, seed=5, sfreq=synth.FS, hypnogram=Hypnogram(np.array(["R"] * 6)))
    e1_e2 = rem.get_data()[[rem.info.index("E1-M2"), rem.info.index("E2-M2")]]
    model = learn_eye_model([e1_e2[0] - e1_e2[1]], synth.FS, synth.SWING, messages=40, seed=2)
    e1, e2, _ = synth.eog(synth.centre(3) + eye_code.eye_morse("GO", 0.5) + synth.centre(8), seed=36)
    data = np.vstack([e1, e2])
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), synth.FS)
    stage = DetectorStage(info, swing=synth.SWING, eye_model=model)
    assert isinstance(stage._pipe.eye_decoder.emission, LearnedEmission)
    assert stage._pipe.eye_decoder.emission.model is model
    out: list[Event] = []
    step = int(synth.FS)
    for i in range(0, data.shape[1], step):
        out += stage.update(Chunk(data[:, i : i + step], i, synth.FS))
    assert [e.value for e in out if e.trial_type == "message"] == ["GO"]
