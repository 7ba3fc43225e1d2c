"""The rig's outbox and link: buffering while the server is away, exactly-once catch-up."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from dreamlink.errors import ConfigError
from dreamlink.rig.client import Outbox, RigLink, ws_url
from tests.server.helpers import (
    add_users,
    bearer,
    free_port,
    login,
    make_session,
    server_process,
)


def _event(i: int) -> dict:
    return {"type": "event", "event": {"onset": float(i), "trial_type": "tick", "value": i}}


def test_outbox_numbers_frames_and_commits_state_atomically(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.sqlite")
    assert box.commit([_event(0), _event(1)], {"src_end": 512}) == [1, 2]
    with pytest.raises(TypeError):
        box.commit([_event(2)], {"src_end": 768, "bad": object()})  # not JSON: whole commit rolled back
    assert box.last_seq == 2 and box.get("src_end") == 512
    box.commit([_event(2)], {"src_end": 768}, handled=[(7, "cue")])
    assert box.seen(7, "cue") and not box.seen(7, "relay_ack")
    box.close()
    again = Outbox(tmp_path / "outbox.sqlite")  # a restarted rig
    assert [seq for seq, _ in again.pending(0)] == [1, 2, 3] and again.get("src_end") == 768
    again.mark_acked(2)
    assert [seq for seq, _ in again.pending(again.acked_seq)] == [3]


def test_ws_url_forms() -> None:
    assert ws_url("http://h:1/", "abc") == "ws://h:1/ws/rig/abc"
    assert ws_url("https://h", "abc") == "wss://h/ws/rig/abc"
    with pytest.raises(ConfigError, match="http://HOST:PORT"):
        ws_url("h:1", "abc")


def _setup(tmp_path: Path, port: int):
    db = tmp_path / "server.sqlite"
    add_users(db, {"op": "operator", "alice": "dreamer"})
    return db


def _events_on_server(base: str, token: str, sid: str) -> list[dict]:
    return httpx.get(
        f"{base}/sessions/{sid}/dreamers/alice/events?limit=10000", headers=bearer(token), timeout=30
    ).json()


def test_rig_buffers_while_server_is_down_and_survives_a_server_kill(tmp_path: Path) -> None:
    port = free_port()
    db = _setup(tmp_path, port)
    with server_process(db, port) as (base, _):
        tokens = {n: login(base, n) for n in ("op", "alice")}
        sid = make_session(base, tokens["op"], {"alice": "dreamer"}, {"alice": tokens["alice"]})
    # the server is down: the rig keeps producing into its outbox
    box = Outbox(tmp_path / "rig" / "outbox.sqlite")
    link = RigLink(box, f"http://127.0.0.1:{port}", sid, tokens["alice"]).start()
    stop = threading.Event()

    def produce() -> None:
        i = 0
        while not stop.is_set():
            box.commit([_event(i)])
            link.notify()
            i += 1
            time.sleep(0.002)

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        time.sleep(0.5)
        assert not link.connected.is_set() and box.last_seq > 50
        with server_process(db, port) as (base, server):
            assert link.connected.wait(15)
            time.sleep(0.5)
            server.send_signal(signal.SIGKILL)  # the server dies mid-stream
            server.wait(10)
        with server_process(db, port) as (base, _):  # ... and comes back on the same database
            time.sleep(0.5)
            stop.set()
            producer.join()
            assert link.drain(30), f"not drained: acked {box.acked_seq} of {box.last_seq}"
            events = _events_on_server(base, tokens["op"], sid)
    finally:
        stop.set()
        link.stop()
    assert link.connections >= 2
    assert [e["seq"] for e in events] == list(range(1, box.last_seq + 1))
    assert [e["value"] for e in events] == list(range(box.last_seq))
