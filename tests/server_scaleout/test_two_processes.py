"""End to end: two server processes sharing one SQLite file and one Redis behave as one server.

Rig A (alice) is connected to process 1; the operator's dashboard feed and rig B (bob) to process 2.
Alice streams numbered events and then relays a message to bob: bob's rig receives the cue from
process 2, confirms receipt there, and alice receives the acknowledgement on process 1. The dashboard
on process 2 sees every one of alice's events, in order, and every relay hop; both processes serve the
same stored data.

The processes run ``dreamlink serve --broker URL`` when the serve command has that option, else the
module launcher ``python -m dreamlink.server.scaleout`` (the same app, with the broker installed).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.server.helpers import add_users, bearer, login, make_session, wait_health
from tests.server_scaleout.conftest import free_port

pytestmark = pytest.mark.slow
websockets_sync = pytest.importorskip("websockets.sync.client")

N_EVENTS = 60


def serve_command(db: Path, port: int, broker: str) -> list[str]:
    """`dreamlink serve --broker` if wired, else the scale-out module launcher."""
    from click.testing import CliRunner

    from dreamlink.commands.serve import command as serve

    help_text = CliRunner().invoke(serve, ["--help"]).output
    if "--broker" in help_text:
        return [
            sys.executable,
            "-m",
            "dreamlink.cli",
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--broker",
            broker,
        ]
    return [
        sys.executable,
        "-m",
        "dreamlink.server.scaleout",
        "--db",
        str(db),
        "--port",
        str(port),
        "--broker",
        broker,
    ]


@contextlib.contextmanager
def servers(db: Path, broker: str, n: int = 2):
    procs, bases = [], []
    try:
        for _ in range(n):
            port = free_port()
            proc = subprocess.Popen(
                serve_command(db, port, broker),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            procs.append(proc)
            bases.append(f"http://127.0.0.1:{port}")
        for base, proc in zip(bases, procs, strict=True):
            wait_health(base, proc=proc)
        yield bases
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def ws_connect(base: str, path: str, token: str):
    url = base.replace("http://", "ws://") + path
    return websockets_sync.connect(url, additional_headers=bearer(token), open_timeout=10)


def recv_until(ws, pred, timeout: float = 15.0) -> list[dict]:
    """Frames received until one satisfies ``pred`` (included)."""
    frames = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no matching frame within {timeout} s; got {[f.get('type') for f in frames]}")
        frame = json.loads(ws.recv(timeout=left))
        frames.append(frame)
        if pred(frame):
            return frames


def test_relay_and_live_feed_across_two_processes(tmp_path: Path, redis_url: str) -> None:
    db = tmp_path / "shared.sqlite"
    add_users(db, {"op": "operator", "alice": "dreamer", "bob": "dreamer"})
    with servers(db, redis_url) as (p1, p2):
        tokens = {"op": login(p1, "op"), "alice": login(p2, "alice"), "bob": login(p1, "bob")}
        sid = make_session(
            p1,
            tokens["op"],
            {"alice": "dreamer", "bob": "dreamer"},
            {"alice": tokens["alice"], "bob": tokens["bob"]},
        )

        with (
            ws_connect(p2, f"/ws/sessions/{sid}", tokens["op"]) as dash,
            ws_connect(p1, f"/ws/rig/{sid}", tokens["alice"]) as rig_a,
            ws_connect(p2, f"/ws/rig/{sid}", tokens["bob"]) as rig_b,
        ):
            welcome = json.loads(dash.recv(timeout=10))
            assert welcome["type"] == "welcome" and set(welcome["visible"]) == {"alice", "bob"}
            for rig in (rig_a, rig_b):
                rig.send(json.dumps({"type": "hello", "protocol": 1}))
                assert json.loads(rig.recv(timeout=10))["type"] == "welcome"
            # both processes know both rigs are connected (presence through Redis)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                views = [
                    httpx.get(f"{b}/sessions/{sid}/dreamers", headers=bearer(tokens["op"]), timeout=10).json()
                    for b in (p1, p2)
                ]
                if all(all(d["connected"] for d in v) for v in views):
                    break
                time.sleep(0.1)
            assert all(all(d["connected"] for d in v) for v in views), views

            # bob (process 2) is ready; alice (process 1) streams events, then relays a message to bob
            rig_b.send(json.dumps({"type": "state", "seq": 1, "ready": True, "stage": "R"}))
            assert json.loads(rig_b.recv(timeout=10)) == {"type": "ack", "seq": 1}
            for i in range(1, N_EVENTS + 1):
                rig_a.send(
                    json.dumps(
                        {
                            "type": "event",
                            "seq": i,
                            "event": {"onset": float(i), "trial_type": "rem", "value": i, "source": "test"},
                        }
                    )
                )
            rig_a.send(json.dumps({"type": "relay", "seq": N_EVENTS + 1, "to": "bob", "text": "HI"}))
            acks = recv_until(rig_a, lambda f: f.get("type") == "ack" and f["seq"] == N_EVENTS + 1)
            assert [f["seq"] for f in acks if f["type"] == "ack"] == list(range(1, N_EVENTS + 2))

            # bob's rig, on the other process, gets the cue and confirms it
            cue = recv_until(rig_b, lambda f: f.get("type") == "cue")[-1]
            assert cue["text"] == "HI" and cue["from"] == "alice"
            rig_b.send(json.dumps({"type": "receipt", "seq": 2, "relay_id": cue["relay_id"]}))
            # alice's rig, on process 1, gets the acknowledgement
            ack = recv_until(rig_a, lambda f: f.get("type") == "relay_ack")[-1]
            assert ack["relay_id"] == cue["relay_id"] and ack["to"] == "bob"

            # the dashboard (process 2) saw every event alice sent to process 1, in order, and every hop
            feed = recv_until(
                dash, lambda f: f.get("type") == "relay" and f.get("hop") == "relay_ack", timeout=20
            )
            values = [
                f["event"]["value"]
                for f in feed
                if f.get("type") == "event"
                and f.get("dreamer") == "alice"
                and f["event"]["trial_type"] == "rem"
            ]
            assert values == list(range(1, N_EVENTS + 1))
            hops = [f["hop"] for f in feed if f.get("type") == "relay"]
            assert hops == ["relay_sent", "relay_queued", "relay_delivered", "relay_ack"]

        # one stored truth, served the same by both processes
        for base in (p1, p2):
            relays = httpx.get(
                f"{base}/sessions/{sid}/relays", headers=bearer(tokens["op"]), timeout=10
            ).json()
            assert [(r["sender"], r["recipient"], r["status"]) for r in relays] == [("alice", "bob", "acked")]
            events = httpx.get(
                f"{base}/sessions/{sid}/dreamers/alice/events",
                headers=bearer(tokens["op"]),
                params={"trial_type": "rem"},
                timeout=10,
            ).json()
            assert [e["value"] for e in events] == [str(i) for i in range(1, N_EVENTS + 1)] or [
                e["value"] for e in events
            ] == list(range(1, N_EVENTS + 1))
            kinds = httpx.get(
                f"{base}/sessions/{sid}/dreamers/bob/events", headers=bearer(tokens["op"]), timeout=10
            ).json()
            assert [e["trial_type"] for e in kinds if e["trial_type"].startswith("relay_")] == [
                "relay_queued",
                "relay_delivered",
            ]
