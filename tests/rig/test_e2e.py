"""End to end: a real server and real `dreamlink rig` processes on simulated nights, over loopback.

Dreamer A (alice, seed 11: REM from 4380 s) sends "HI" in eye-Morse 30 s into her REM period; her rig
has no design, so the decoded message goes to her partner. Dreamer B (bob, seed 2: REM from 6210 s)
runs the example design ``examples/designs/relay.yaml``: the server delivers the message once his rig
reports 60 s of stable REM, his design presents it ("Message from your partner: HI ...") and takes his
LRLR 100 s into REM as the answer, which his rig turns into the receipt; alice receives the
acknowledgement as a cue. Meanwhile dreamer C
(carol) is killed with SIGKILL mid-stream and restarted; every sample and event must reach the server
exactly once.

The rigs use ``--events truth``: their decoded events (stages, LRLR, the eye-Morse message) come from
the simulator's ground truth, released when a causal decoder could know them, because the eye-Morse
decoder pipeline is not wired into the rig yet. Everything else (rig processes, outbox, WebSocket
link, server, relay, database) is the real thing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from dreamlink.sources import open_source
from tests.server.helpers import (
    add_users,
    finish,
    get_json,
    login,
    make_session,
    server_process,
    start_dreamlink,
)

pytestmark = pytest.mark.slow

SPEED = "600"
NIGHT_A = "sim:seed=11,hours=2,inject=morse:HI@rem1+30"
NIGHT_B = "sim:seed=2,hours=2,inject=lrlr@rem1+100"
DESIGN = Path(__file__).resolve().parents[2] / "examples" / "designs" / "relay.yaml"
NIGHT_C = "sim:seed=3,hours=1.5,inject=lrlr@1800;count:3@2400"
TRUTH_KINDS = ("stage", "lrlr", "message", "count", "emg_code", "arousal")


def _rig(base: str, token: str, sid: str, source: str, out: Path, *extra: str) -> subprocess.Popen:
    return start_dreamlink(
        "rig", source, "--server", base, "--token", token, "--session", sid, "--out", str(out),
        "--speed", SPEED, "--block-sec", "10", "--events", "truth", "--no-record", *extra,
    )  # fmt: skip


def test_two_dreamers_relay_and_sigkill_resume(tmp_path: Path) -> None:
    db = tmp_path / "server.sqlite"
    add_users(db, {"op": "operator", "alice": "dreamer", "bob": "dreamer", "carol": "dreamer"})
    with server_process(db) as (base, _server):
        tokens = {n: login(base, n) for n in ("op", "alice", "bob", "carol")}
        sid = make_session(
            base,
            tokens["op"],
            {"alice": "dreamer", "bob": "dreamer", "carol": "dreamer"},
            {n: tokens[n] for n in ("alice", "bob", "carol")},
        )

        rig_a = _rig(
            base, tokens["alice"], sid, NIGHT_A, tmp_path / "a", "--partner", "bob", "--linger", "60"
        )
        rig_c = _rig(base, tokens["carol"], sid, NIGHT_C, tmp_path / "c")
        time.sleep(1.0)
        rig_b = _rig(
            base,
            tokens["bob"],
            sid,
            NIGHT_B,
            tmp_path / "b",
            "--linger",
            "20",
            "--partner",
            "alice",
            "--design",
            str(DESIGN),
        )

        # SIGKILL carol mid-stream, once the server holds part of her night
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            cov = get_json(base, tokens["op"], f"/sessions/{sid}/dreamers/carol/coverage")
            if cov["last_seq"] > 40:
                break
            time.sleep(0.1)
        assert rig_c.poll() is None, "carol's rig finished before it could be killed; slow it down"
        os.kill(rig_c.pid, signal.SIGKILL)
        rig_c.wait(10)
        killed_at = get_json(base, tokens["op"], f"/sessions/{sid}/dreamers/carol/coverage")["end"]
        rig_c2 = _rig(base, tokens["carol"], sid, NIGHT_C, tmp_path / "c")

        out_a = finish(rig_a)
        out_b = finish(rig_b)
        out_c = finish(rig_c2)

        # --- relay: B got the cue, A got the acknowledgement, every hop persisted -------------
        relays = get_json(base, tokens["op"], f"/sessions/{sid}/relays")
        assert len(relays) == 1, relays
        relay = relays[0]
        assert (relay["sender"], relay["recipient"], relay["text"], relay["status"]) == (
            "alice",
            "bob",
            "HI",
            "acked",
        )
        assert relay["created"] <= relay["delivered"] <= relay["acked"]
        ev_a = get_json(base, tokens["op"], f"/sessions/{sid}/dreamers/alice/events?limit=10000")
        ev_b = get_json(base, tokens["op"], f"/sessions/{sid}/dreamers/bob/events?limit=10000")
        kinds_a = [e["trial_type"] for e in ev_a]
        kinds_b = [e["trial_type"] for e in ev_b]
        # server-side hops
        assert kinds_a.count("relay_sent") == 1
        assert [e for e in ev_b if e["trial_type"] == "relay_queued"]
        assert [e for e in ev_b if e["trial_type"] == "relay_delivered"]
        server_acks = [e for e in ev_a if e["trial_type"] == "relay_ack" and e["source"] == "server.relay"]
        assert len(server_acks) == 1
        # rig-side: B's design presented the relayed message; A got the ack and was cued
        relay_in = [e for e in ev_b if e["trial_type"] == "relay_in"]
        assert len(relay_in) == 1 and relay_in[0]["data"]["relay_id"] == relay["id"]
        assert relay_in[0]["onset"] >= 6210 + 60, "delivered before bob's stable REM"
        # the design asked for the prompt; the rig's cue layer (safety governor + scheduler) presented it
        b_asked = [e for e in ev_b if e["trial_type"] == "cue_request" and "HI" in str(e["value"])]
        assert b_asked and b_asked[0]["source"] == "design"
        b_cues = [e for e in ev_b if e["trial_type"] == "cue" and "HI" in str(e["value"])]
        assert b_cues and b_cues[0]["source"] == "rig.cues" and b_cues[0]["onset"] >= relay_in[0]["onset"]
        assert b_cues[0]["data"]["purpose"] == "question" and b_cues[0]["data"]["kind"] == "speech"
        # ... and wrote it into bob's WAV cue track at its session time (sample clock at --speed 600)
        with wave.open(str(tmp_path / "b" / "cues-run01.wav"), "rb") as fh:
            rate = fh.getframerate()
            on, dur = b_cues[0]["onset"], b_cues[0]["duration"]
            fh.setpos(int((on - 5) * rate))
            pcm = np.frombuffer(fh.readframes(int((dur + 5) * rate)), dtype="<i2").astype(float)
        assert not np.any(pcm[: int(4.9 * rate)]) and np.sqrt(np.mean(pcm[int(5 * rate) :] ** 2)) > 30
        assert [e for e in ev_b if e["trial_type"] == "lrlr" and e["onset"] > b_cues[0]["onset"]]
        a_acks = [e for e in ev_a if e["trial_type"] == "relay_ack" and e["source"] == "rig.link"]
        assert len(a_acks) == 1 and a_acks[0]["value"] == "HI"
        assert [e for e in ev_a if e["trial_type"] == "cue" and e["data"].get("mode") == "ack"]
        assert "relay_in" in kinds_b and "acks received     : 1" in out_a and "relayed cues      : 1" in out_b

        # --- SIGKILL + restart: nothing lost, nothing duplicated --------------------------------
        night_c = open_source(NIGHT_C, speed=None).night
        cov = get_json(base, tokens["op"], f"/sessions/{sid}/dreamers/carol/coverage")
        assert 0 < killed_at < night_c.n_times
        assert cov["total"] == night_c.n_times and cov["end"] == night_c.n_times
        assert cov["gaps"] == 0 and cov["overlaps"] == 0
        ev_c = get_json(base, tokens["op"], f"/sessions/{sid}/dreamers/carol/events?limit=10000")
        rig_events = [e for e in ev_c if e["seq"] is not None]
        seqs = [e["seq"] for e in rig_events]
        assert len(seqs) == len(set(seqs))
        got = sorted(
            (e["trial_type"], round(e["onset"], 3)) for e in rig_events if e["trial_type"] in TRUTH_KINDS
        )
        truth = [e for e in list(night_c.events) + night_c.stage_events() if e.trial_type in TRUTH_KINDS]
        want = sorted((e.trial_type, round(e.onset, 3)) for e in truth)
        assert got == want
        assert [e for e in ev_c if e["trial_type"] == "rig_resumed"]
        assert "resumed from sample 0" not in out_c
        # every rig frame was stored exactly once: seq numbers of carol are 1..last_seq without holes
        assert cov["last_seq"] >= cov["blocks"] + len(rig_events)
