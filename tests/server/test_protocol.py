"""Bad input on the rig WebSocket: each case gets a clear error frame or a clean recovery."""

from __future__ import annotations

import json

import numpy as np
import pytest
from starlette.websockets import WebSocketDisconnect

from dreamlink.server import protocol as proto


def _rig(world, name: str = "alice"):
    ws = world.client.websocket_connect(f"/ws/rig/{world.sid}", headers=world.h(name))
    return ws


def _hello(ws) -> dict:
    ws.send_json({"type": "hello"})
    welcome = ws.receive_json()
    assert welcome["type"] == "welcome"
    return welcome


def _event(seq: int, onset: float = 1.0, kind: str = "lrlr") -> dict:
    return {"type": "event", "seq": seq, "event": {"onset": onset, "trial_type": kind}}


def test_malformed_json_unknown_type_and_bad_fields_get_error_frames(world) -> None:
    with _rig(world) as ws:
        _hello(ws)
        ws.send_text("{not json")
        err = ws.receive_json()
        assert (err["type"], err["code"]) == ("error", "bad_json")
        ws.send_text("[1, 2]")
        assert ws.receive_json()["code"] == "bad_frame"
        ws.send_json({"type": "teleport", "seq": 1})
        err = ws.receive_json()
        assert err["code"] == "unknown_type" and "teleport" in err["message"] and "signal" in err["message"]
        ws.send_json({"type": "event", "seq": "one", "event": {"onset": 0, "trial_type": "x"}})
        err = ws.receive_json()
        assert err["code"] == "invalid_field" and "seq" in err["message"]
        ws.send_json({"type": "event", "seq": 1, "event": {"onset": 0, "trial_type": "x"}, "extra": 1})
        assert ws.receive_json()["code"] == "invalid_field"
        ws.send_bytes(b"\x00\x01")
        assert ws.receive_json()["code"] == "binary_frame"
        # the connection still works after errors
        ws.send_json(_event(1))
        assert ws.receive_json() == {"type": "ack", "seq": 1}


def test_signal_payload_must_match_its_declared_shape(world) -> None:
    block = np.zeros((2, 4))
    frame = {
        "type": "signal",
        "seq": 1,
        "src_first": 0,
        "src_n": 16,
        "first": 0,
        "n": 5,
        "sfreq": 64.0,
        "ch_names": ["a", "b"],
        "data": proto.encode_block(block),
    }
    with _rig(world) as ws:
        _hello(ws)
        ws.send_json(frame)
        err = ws.receive_json()
        assert err["code"] == "invalid_field" and "2 channels × 5 samples" in err["message"]
        ws.send_json({**frame, "n": 4})
        assert ws.receive_json() == {"type": "ack", "seq": 1}


def test_oversized_frame_is_refused_and_closed(world) -> None:
    with _rig(world) as ws:
        _hello(ws)
        ws.send_text(
            json.dumps(
                {
                    "type": "event",
                    "seq": 1,
                    "event": {"onset": 0, "trial_type": "x", "data": {"pad": "x" * proto.MAX_FRAME_BYTES}},
                }
            )
        )
        err = ws.receive_json()
        assert err["code"] == "frame_too_large"
        with pytest.raises(WebSocketDisconnect) as exc:
            ws.receive_json()
        assert exc.value.code == 1009
    # nothing was stored
    assert (
        world.client.get(f"/sessions/{world.sid}/dreamers/alice/events", headers=world.h("op")).json() == []
    )


def test_first_frame_must_be_hello_and_match_the_token(world) -> None:
    with _rig(world) as ws:
        ws.send_json(_event(1))
        assert ws.receive_json()["code"] == "no_hello"
        with pytest.raises(WebSocketDisconnect):
            ws.receive_json()
    with _rig(world) as ws:
        ws.send_json({"type": "hello", "dreamer": "bob"})
        err = ws.receive_json()
        assert err["code"] == "wrong_dreamer" and "alice" in err["message"]
    with _rig(world) as ws:
        ws.send_json({"type": "hello", "protocol": 99})
        assert ws.receive_json()["code"] == "bad_protocol"


def test_replayed_and_out_of_order_sequence_numbers(world) -> None:
    with _rig(world) as ws:
        _hello(ws)
        for seq in (1, 2, 3):
            ws.send_json(_event(seq, onset=float(seq)))
            assert ws.receive_json() == {"type": "ack", "seq": seq}
        ws.send_json(_event(2, onset=99.0))  # replay: acknowledged again, not stored twice
        assert ws.receive_json() == {"type": "ack", "seq": 3}
        ws.send_json(_event(7, onset=7.0))  # a jump: refused, naming the expected number
        err = ws.receive_json()
        assert err["code"] == "seq_gap" and "expected seq 4" in err["message"] and err["seq"] == 7
        ws.send_json(_event(4, onset=4.0))
        assert ws.receive_json() == {"type": "ack", "seq": 4}
    events = world.client.get(f"/sessions/{world.sid}/dreamers/alice/events", headers=world.h("alice")).json()
    assert [(e["seq"], e["onset"]) for e in events] == [(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]
    # a reconnecting rig learns where the server is
    with _rig(world) as ws:
        assert _hello(ws)["last_seq"] == 4


def test_too_many_errors_close_the_connection(world) -> None:
    with _rig(world) as ws:
        _hello(ws)
        with pytest.raises(WebSocketDisconnect) as exc:
            for _ in range(100):
                ws.send_text("garbage")
                ws.receive_json()
        assert exc.value.code == 1008


def test_subscriber_frames_are_validated_and_observers_cannot_send(world) -> None:
    c = world.client
    with c.websocket_connect(f"/ws/sessions/{world.sid}", headers=world.h("obs")) as ws:
        ws.receive_json()
        ws.send_json({"type": "send_message", "to": "alice", "text": "HI"})
        assert ws.receive_json()["code"] == "forbidden"
        ws.send_json({"type": "subscribe_everything"})
        assert ws.receive_json()["code"] == "unknown_type"
    with c.websocket_connect(f"/ws/sessions/{world.sid}", headers=world.h("op")) as ws:
        ws.receive_json()
        ws.send_json({"type": "send_message", "to": "nobody", "text": "HI"})
        assert ws.receive_json()["code"] == "relay_refused"
        ws.send_json({"type": "send_message", "to": "alice", "text": "HI"})
        got = ws.receive_json()
        while got["type"] != "message_queued":
            got = ws.receive_json()
        assert got["relay"]["status"] == "queued"


def test_relay_frame_revises_is_optional_and_bounded(world) -> None:
    plain = proto.parse_rig_frame(json.dumps({"type": "relay", "seq": 1, "to": "bob", "text": "HI"}))
    assert isinstance(plain, proto.RelayFrame) and plain.revises is None and plain.ttl == 1800.0
    revision = proto.parse_rig_frame(
        json.dumps({"type": "relay", "seq": 2, "to": "bob", "text": "FLY", "revises": "F"})
    )
    assert revision.revises == "F"
    too_long = {"type": "relay", "seq": 3, "to": "bob", "text": "FLY", "revises": "F" * (proto.MAX_TEXT + 1)}
    with pytest.raises(proto.ProtocolError) as err:
        proto.parse_rig_frame(json.dumps(too_long))
    assert err.value.code == "invalid_field" and err.value.message.startswith("relay: revises:")
    assert str(proto.MAX_TEXT) in err.value.message and err.value.seq == 3
    # on the wire: refused with an error frame, nothing relayed, and the rig may go on
    with _rig(world) as ws:
        _hello(ws)
        ws.send_json({**too_long, "seq": 1})
        got = ws.receive_json()
        assert (got["type"], got["code"], got["seq"]) == ("error", "invalid_field", 1)
        assert "revises" in got["message"]
        ws.send_json({"type": "relay", "seq": 1, "to": "bob", "text": "HI"})
        assert ws.receive_json() == {"type": "ack", "seq": 1}
    assert [r["text"] for r in world.app.state.db.all("SELECT text FROM relays")] == ["HI"]
