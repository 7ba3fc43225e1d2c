"""Relay between dreamers: queued until the recipient is ready, delivered as a cue, acknowledged back,
expired when nobody confirms; every hop an event."""

from __future__ import annotations

import time

from tests.server.conftest import build_world


def _connect(world, name):
    ws = world.client.websocket_connect(f"/ws/rig/{world.sid}", headers=world.h(name))
    ws.__enter__()
    ws.send_json({"type": "hello"})
    assert ws.receive_json()["type"] == "welcome"
    return ws


def _recv(ws, kind: str, limit: int = 20) -> dict:
    for _ in range(limit):
        frame = ws.receive_json()
        if frame["type"] == kind:
            return frame
    raise AssertionError(f"no {kind} frame")


def _hops(world, dreamer: str) -> list[str]:
    events = world.client.get(
        f"/sessions/{world.sid}/dreamers/{dreamer}/events", headers=world.h(dreamer)
    ).json()
    return [e["trial_type"] for e in events if e["trial_type"].startswith("relay_")]


def _relays(world) -> list[dict]:
    world.client.post(f"/sessions/{world.sid}/grants", json={}, headers=world.h("bob"))
    return world.client.get(f"/sessions/{world.sid}/relays", headers=world.h("op")).json()


def test_message_waits_for_ready_then_is_delivered_and_acknowledged(world) -> None:
    a, b = _connect(world, "alice"), _connect(world, "bob")
    try:
        a.send_json({"type": "relay", "seq": 1, "to": "bob", "text": "HI"})
        assert _recv(a, "ack")["seq"] == 1
        b.send_json({"type": "state", "seq": 1, "ready": False, "stage": "N2"})
        assert b.receive_json() == {"type": "ack", "seq": 1}  # not ready: no cue before the ack
        assert _relays(world)[0]["status"] == "queued"
        b.send_json({"type": "state", "seq": 2, "ready": True, "stage": "R"})
        cue = b.receive_json()
        assert (cue["type"], cue["text"], cue["from"]) == ("cue", "HI", "alice")
        assert b.receive_json() == {"type": "ack", "seq": 2}
        b.send_json({"type": "receipt", "seq": 3, "relay_id": cue["relay_id"]})
        assert _recv(b, "ack")["seq"] == 3
        ack = _recv(a, "relay_ack")
        assert (ack["relay_id"], ack["to"], ack["text"]) == (cue["relay_id"], "bob", "HI")
        # a repeated receipt is harmless
        b.send_json({"type": "receipt", "seq": 4, "relay_id": cue["relay_id"]})
        assert _recv(b, "ack")["seq"] == 4
    finally:
        a.__exit__(None, None, None)
        b.__exit__(None, None, None)
    relay = _relays(world)[0]
    assert relay["status"] == "acked" and relay["created"] <= relay["delivered"] <= relay["acked"]
    assert _hops(world, "alice") == ["relay_sent", "relay_ack"]
    assert _hops(world, "bob") == ["relay_queued", "relay_delivered"]


def test_replayed_relay_frame_is_not_sent_twice(world) -> None:
    a = _connect(world, "alice")
    try:
        a.send_json({"type": "relay", "seq": 1, "to": "bob", "text": "HI"})
        _recv(a, "ack")
    finally:
        a.__exit__(None, None, None)
    a = _connect(world, "alice")  # reconnect and resend seq 1 (as after a lost ack)
    try:
        a.send_json({"type": "relay", "seq": 1, "to": "bob", "text": "HI"})
        assert _recv(a, "ack")["seq"] == 1
    finally:
        a.__exit__(None, None, None)
    assert len(_relays(world)) == 1


def test_offline_sender_gets_the_ack_on_reconnect_and_cues_are_redelivered(world) -> None:
    a = _connect(world, "alice")
    a.send_json({"type": "relay", "seq": 1, "to": "bob", "text": "SOS"})
    _recv(a, "ack")
    a.__exit__(None, None, None)  # alice goes offline
    b = _connect(world, "bob")
    b.send_json({"type": "state", "seq": 1, "ready": True, "stage": "R"})
    cue = _recv(b, "cue")
    b.__exit__(None, None, None)  # bob's rig drops before confirming
    b = _connect(world, "bob")  # ... and gets the unconfirmed cue again on reconnect
    try:
        again = _recv(b, "cue")
        assert again["relay_id"] == cue["relay_id"]
        b.send_json({"type": "receipt", "seq": 2, "relay_id": cue["relay_id"]})
        _recv(b, "ack")
    finally:
        b.__exit__(None, None, None)
    a = _connect(world, "alice")  # the acknowledgement waited for alice
    try:
        assert _recv(a, "relay_ack")["relay_id"] == cue["relay_id"]
    finally:
        a.__exit__(None, None, None)


def test_operator_message_and_unknown_recipient(world) -> None:
    c = world.client
    r = c.post(f"/sessions/{world.sid}/messages", json={"to": "carol", "text": "HI"}, headers=world.h("op"))
    assert r.status_code == 404 and "not a dreamer" in r.json()["detail"]
    r = c.post(f"/sessions/{world.sid}/messages", json={"to": "bob", "text": "WAKE"}, headers=world.h("op"))
    assert r.status_code == 201 and r.json()["sender_kind"] == "operator"
    b = _connect(world, "bob")
    try:
        b.send_json({"type": "state", "seq": 1, "ready": True, "stage": "R"})
        cue = _recv(b, "cue")
        assert (cue["text"], cue["from"], cue["sender_kind"]) == ("WAKE", "op", "operator")
        b.send_json({"type": "receipt", "seq": 2, "relay_id": cue["relay_id"]})
        _recv(b, "ack")
    finally:
        b.__exit__(None, None, None)
    assert _hops(world, "bob") == ["relay_sent", "relay_queued", "relay_delivered", "relay_ack"]
    # a receipt for somebody else's message is refused
    a = _connect(world, "alice")
    try:
        a.send_json({"type": "receipt", "seq": 1, "relay_id": cue["relay_id"]})
        assert _recv(a, "error")["code"] == "relay_refused"
    finally:
        a.__exit__(None, None, None)


def test_undelivered_message_expires_and_the_sender_is_told(world_template, tmp_path) -> None:
    world = build_world(world_template, tmp_path, expire_interval=0.05)
    with world.client:
        a = _connect(world, "alice")
        try:
            a.send_json({"type": "relay", "seq": 1, "to": "bob", "text": "LATE", "ttl": 0.2})
            _recv(a, "ack")
            expired = _recv(a, "relay_expired")
            assert expired["text"] == "LATE"
        finally:
            a.__exit__(None, None, None)
        time.sleep(0.1)
        b = _connect(world, "bob")
        try:
            b.send_json({"type": "state", "seq": 1, "ready": True, "stage": "R"})
            assert b.receive_json() == {"type": "ack", "seq": 1}  # no cue: it expired
        finally:
            b.__exit__(None, None, None)
        assert _relays(world)[0]["status"] == "expired"
        assert _hops(world, "bob") == ["relay_queued", "relay_expired"]
