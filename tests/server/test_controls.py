"""Operator controls are kept until the rig acknowledges them, resent on reconnect, and expire."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from dreamlink.server import protocol as proto
from dreamlink.server import sessions as store
from dreamlink.server.controls import MOMENTARY_CONTROL_TTL, ControlService, control_ttl
from dreamlink.server.db import Database
from dreamlink.server.hub import Hub


class RigSocket:
    """The sending end of a connected rig: what the hub writes to it (a real coroutine, as the app's)."""

    def __init__(self, fail: bool = False) -> None:
        self.frames: list[dict] = []
        self.fail = fail

    async def __call__(self, frame: dict) -> None:
        if self.fail:
            raise ConnectionError("socket closed")
        self.frames.append(json.loads(json.dumps(frame)))


@pytest.fixture
def service(tmp_path: Path):
    db = Database(tmp_path / "server.sqlite")
    yield ControlService(db, Hub()), db
    db.close()


def test_controls_wait_for_the_rig_and_are_resent_until_acknowledged(service) -> None:
    controls, db = service
    run = asyncio.run
    cid_pause, sent = run(controls.submit("s1", "alice", {"type": "control", "action": "pause"}, "op"))
    assert sent is False  # no rig connected: kept
    cid_abort, _ = run(controls.submit("s1", "alice", {"type": "control", "action": "abort"}, "op"))
    assert [c["action"] for c in controls.pending("s1", "alice")] == ["pause", "abort"]

    rig = RigSocket()
    controls.hub.attach_rig("s1", "alice", rig)
    assert run(controls.rig_connected("s1", "alice")) == 2
    sent_frames = [(f["action"], f["control_id"]) for f in rig.frames]
    assert sent_frames == [("pause", cid_pause), ("abort", cid_abort)]
    assert controls.ack("s1", "alice", cid_pause) is True
    assert controls.ack("s1", "bob", cid_abort) is False  # not bob's control: ignored
    # the connection drops before the abort is acknowledged: the next connection gets it again
    rig2 = RigSocket()
    controls.hub.attach_rig("s1", "alice", rig2)
    run(controls.rig_connected("s1", "alice"))
    assert [f["control_id"] for f in rig2.frames] == [cid_abort]
    controls.ack("s1", "alice", cid_abort)
    controls.ack("s1", "alice", cid_abort)  # a repeated acknowledgement changes nothing
    assert controls.pending("s1", "alice") == []
    row = db.one("SELECT status, sent FROM controls WHERE id = ?", (cid_abort,))
    assert (row["status"], row["sent"]) == ("acked", 2)


def test_a_failed_send_stays_pending(service) -> None:
    controls, _ = service
    controls.hub.attach_rig("s1", "alice", RigSocket(fail=True))
    cid, sent = asyncio.run(controls.submit("s1", "alice", {"type": "control", "action": "abort"}, "op"))
    assert sent is False
    assert [c["id"] for c in controls.pending("s1", "alice")] == [cid]


def test_momentary_controls_expire_and_the_timeline_says_so(service) -> None:
    controls, db = service
    assert control_ttl("abort") > 3600 and control_ttl("wake_alarm") == MOMENTARY_CONTROL_TTL
    asyncio.run(controls.submit("s1", "alice", {"type": "control", "action": "wake_alarm"}, "op"))
    cid_abort, _ = asyncio.run(controls.submit("s1", "alice", {"type": "control", "action": "abort"}, "op"))
    db.execute(  # a minute passes
        "UPDATE controls SET expires = expires - ? WHERE action = 'wake_alarm'", (MOMENTARY_CONTROL_TTL + 1,)
    )
    assert controls.expire() == 1
    assert controls.expire() == 0  # once
    assert [c["id"] for c in controls.pending("s1", "alice")] == [cid_abort]  # the abort still waits
    events = store.events(db, "s1", "alice")
    expired = [e for e in events if e["trial_type"] == "control_expired"]
    assert len(expired) == 1 and expired[0]["value"] == "wake_alarm" and expired[0]["data"]["sent"] == 0


def test_control_ack_frames_are_validated() -> None:
    frame = proto.parse_rig_frame(json.dumps({"type": "control_ack", "seq": 3, "control_id": 12}))
    assert isinstance(frame, proto.ControlAckFrame) and frame.control_id == 12
    with pytest.raises(proto.ProtocolError) as err:
        proto.parse_rig_frame(json.dumps({"type": "control_ack", "seq": 3, "control_id": 0}))
    assert err.value.code == "invalid_field" and "control_id" in str(err.value)
