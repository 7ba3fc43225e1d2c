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


# -- revisions: the detector read a message again, whole ("F", then "FLY") ---------------------------
def _until_ack(ws, seq: int, limit: int = 20) -> list[dict]:
    """The frames the server sends before acknowledging ``seq``."""
    out = []
    for _ in range(limit):
        frame = ws.receive_json()
        if frame == {"type": "ack", "seq": seq}:
            return out
        out.append(frame)
    raise AssertionError(f"no ack of {seq}")


class _AliceRig:
    """Alice's relay policy (no design), its frames numbered and sent as her rig's link sends them."""

    def __init__(self, ws, ttl: float = 1800.0) -> None:
        from dreamlink.rig.pipeline import RelayPolicy

        self.ws = ws
        self.policy = RelayPolicy(partner="bob", ttl=ttl)
        self.seq = 0
        self.sent: list[dict] = []

    def read(self, text: str, revises: str | None = None, onset: float = 100.0) -> list[dict]:
        from dreamlink.events import Event

        data = {"kind": "eye_morse", **({"revises": revises} if revises is not None else {})}
        frames, _ = self.policy.on_event(Event(onset, 5.0, "message", text, 0.8, "detect.decode", data))
        for frame in frames:
            self.seq += 1
            self.sent.append({**frame, "seq": self.seq})
            self.ws.send_json(self.sent[-1])
            _until_ack(self.ws, self.seq)
        return frames


def _bob_rig(tmp_path):
    """Bob's real rig code (no design), its cue layer open, fed by hand with what his link received."""
    from dreamlink.rig.client import Outbox
    from dreamlink.rig.pipeline import RigPipeline
    from dreamlink.sources import open_source

    source = open_source("sim:seed=1,hours=0.05", speed=None)
    pipe = RigPipeline(source, Outbox(tmp_path / "bob" / "outbox.sqlite"))
    pipe.cues = pipe._open_cues(source, 1, 0.0)
    return pipe


def _present(pipe, frames: list[dict], t: float) -> tuple[list, list]:
    """Bob's rig handles the server's frames at ``t``: its events and the cues it presented."""
    for frame in frames:
        pipe.inbox.put(frame)
    events, frames, handled = pipe._incoming(t)
    pipe.outbox.commit(frames, None, handled)  # as the rig commits each chunk's work
    pipe.cues.pump(t + 30.0)
    return events, [c for c in pipe.cues.drain() if c.trial_type == "cue"]


def _rows(world) -> list[dict]:
    return [dict(r) for r in world.app.state.db.all("SELECT * FROM relays ORDER BY id")]


def test_a_revision_of_a_queued_message_supersedes_it(world_template, tmp_path) -> None:
    world = build_world(world_template, tmp_path, expire_interval=0.05)
    with world.client:
        a = _connect(world, "alice")
        try:
            alice = _AliceRig(a, ttl=1.0)
            alice.read("F")
            alice.policy.ttl = 1800.0  # the first reading would expire soon; superseded, it must not
            assert alice.read("FLY", revises="F")[0]["revises"] == "F"
            first, revision = _rows(world)
            assert (first["text"], first["status"], revision["revises_id"]) == (
                "F",
                "superseded",
                first["id"],
            )
            time.sleep(1.3)  # past the first reading's expiry: the sweeper leaves a superseded message alone
            b = _connect(world, "bob")
            try:
                b.send_json({"type": "state", "seq": 1, "ready": True, "stage": "R"})
                cues = _until_ack(b, 1)
                assert [(c["type"], c["text"], c["relay_id"]) for c in cues] == [
                    ("cue", "FLY", revision["id"])
                ]
                assert "revises" not in cues[0]  # bob never heard "F": a plain message
                events, presented = _present(_bob_rig(tmp_path), cues, 500.0)
                assert [(e.value, e.data.get("revises")) for e in events] == [("FLY", None)]
                assert [(c.value, c.data["payload"]) for c in presented] == [("FLY", "FLY")]
                b.send_json({"type": "receipt", "seq": 2, "relay_id": revision["id"]})
                _until_ack(b, 2)
                b.send_json({"type": "receipt", "seq": 3, "relay_id": first["id"]})  # never acknowledged
                _until_ack(b, 3)
            finally:
                b.__exit__(None, None, None)
            ack = _recv(a, "relay_ack")
            assert (ack["relay_id"], ack["text"]) == (revision["id"], "FLY")
        finally:
            a.__exit__(None, None, None)
        b = _connect(world, "bob")  # a reconnecting rig is not sent the superseded message either
        try:
            b.send_json({"type": "state", "seq": 4, "ready": True, "stage": "R"})
            assert _until_ack(b, 4) == []
        finally:
            b.__exit__(None, None, None)
        first, revision = _rows(world)
        assert (first["status"], first["delivered"], first["acked"]) == ("superseded", None, None)
        assert revision["status"] == "acked"
        assert _hops(world, "alice") == ["relay_sent", "relay_sent", "relay_revised", "relay_ack"]
        assert _hops(world, "bob") == ["relay_queued", "relay_queued", "relay_delivered"]
        alice_events = world.client.get(
            f"/sessions/{world.sid}/dreamers/alice/events", headers=world.h("alice")
        ).json()
        revised = next(e for e in alice_events if e["trial_type"] == "relay_revised")
        assert revised["value"] == "F" and revised["source"] == "server.relay"
        assert (revised["data"]["relay_id"], revised["data"]["revised_by"]) == (first["id"], revision["id"])
        assert (revised["data"]["sender"], revised["data"]["recipient"]) == ("alice", "bob")
        # the lists show it
        listed = {r["id"]: r for r in _relays(world)}
        assert (
            listed[first["id"]]["status"] == "superseded"
            and listed[revision["id"]]["revises_id"] == first["id"]
        )
        morning = world.client.get(f"/ui/api/sessions/{world.sid}/morning", headers=world.h("alice"))
        assert morning.status_code == 200
        rows = {r["id"]: r for r in morning.json()["relays"]}
        assert (
            rows[first["id"]]["status"] == "superseded" and rows[revision["id"]]["revises_id"] == first["id"]
        )
        table = {
            r["what"]: r["acknowledged"] for r in morning.json()["communication"] if r["kind"] == "message"
        }
        assert table["F"] == "superseded by FLY" and table["FLY (revises F)"].startswith("yes")


def test_a_revision_of_a_delivered_message_is_delivered_as_a_correction(world, tmp_path) -> None:
    a, b = _connect(world, "alice"), _connect(world, "bob")
    bob = _bob_rig(tmp_path)
    try:
        b.send_json({"type": "state", "seq": 1, "ready": True, "stage": "R"})
        assert _until_ack(b, 1) == []
        alice = _AliceRig(a)
        alice.read("F")
        heard = [_recv(b, "cue")]
        assert "revises" not in heard[0]
        _, presented = _present(bob, heard, 100.0)
        assert [c.data["payload"] for c in presented] == ["F"]
        alice.read("FLY", revises="F")
        correction = _recv(b, "cue")
        assert (correction["text"], correction["revises"]) == ("FLY", "F")
        events, presented = _present(bob, [correction], 200.0)
        assert [(e.trial_type, e.value, e.data["revises"]) for e in events] == [("relay_in", "FLY", "F")]
        assert [(c.value, c.data["payload"], c.data["revises"]) for c in presented] == [
            ("FLY", "correction: FLY", "F")
        ]
    finally:
        a.__exit__(None, None, None)
        b.__exit__(None, None, None)
    first, revision = _rows(world)
    assert first["status"] == "delivered" and revision["revises_id"] == first["id"]
    assert "relay_revised" not in _hops(world, "alice")
    # the revision's frame replayed (a lost ack, a reconnect): no second relay
    a = _connect(world, "alice")
    try:
        a.send_json(alice.sent[-1])
        assert _recv(a, "ack")["seq"] == alice.sent[-1]["seq"]
    finally:
        a.__exit__(None, None, None)
    assert len(_rows(world)) == 2
    # and bob's rig, reconnecting, gets both unconfirmed cues again, the revision still as a correction
    b = _connect(world, "bob")
    try:
        again = [_recv(b, "cue"), _recv(b, "cue")]
    finally:
        b.__exit__(None, None, None)
    assert [(c["text"], c.get("revises")) for c in again] == [("F", None), ("FLY", "F")]
    events, presented = _present(bob, again, 300.0)  # already handled: presented once only
    assert events == [] and presented == []


def test_a_revision_of_nothing_relayed_is_a_plain_message(world) -> None:
    a, b = _connect(world, "alice"), _connect(world, "bob")
    try:
        b.send_json({"type": "state", "seq": 1, "ready": True, "stage": "R"})
        _until_ack(b, 1)
        a.send_json({"type": "relay", "seq": 1, "to": "bob", "text": "OK", "revises": "MK"})
        _until_ack(a, 1)
        cue = _recv(b, "cue")
        assert cue["text"] == "OK" and "revises" not in cue
    finally:
        a.__exit__(None, None, None)
        b.__exit__(None, None, None)
    assert [(r["text"], r["revises_id"]) for r in _rows(world)] == [("OK", None)]
