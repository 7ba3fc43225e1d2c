"""Faults: a rig that disconnects mid-message, a server restart mid-session, accounts under attack."""

from __future__ import annotations

import json
import os
import struct
import time

import httpx
import pytest
from websockets.sync.client import connect

from dreamlink.errors import ConfigError
from dreamlink.server.app import create_app
from dreamlink.server.auth import MAX_FAILURES
from dreamlink.server.db import Database
from tests.server.conftest import PASSWORD, build_world
from tests.server.helpers import server_thread


def _ws_url(base: str, sid: str) -> str:
    return base.replace("http://", "ws://") + f"/ws/rig/{sid}"


def test_rig_disconnecting_mid_message_leaves_consistent_state(world_template, tmp_path) -> None:
    world = build_world(world_template, tmp_path)
    with server_thread(world.app) as base:
        url, headers = _ws_url(base, world.sid), world.h("alice")
        with connect(url, additional_headers=headers) as ws:
            ws.send(json.dumps({"type": "hello"}))
            json.loads(ws.recv())
            ws.send(json.dumps({"type": "event", "seq": 1, "event": {"onset": 1, "trial_type": "lrlr"}}))
            assert json.loads(ws.recv()) == {"type": "ack", "seq": 1}
            # half a frame: a masked text frame announcing 1000 bytes, then only 10, then the TCP close
            payload = json.dumps(
                {
                    "type": "event",
                    "seq": 2,
                    "event": {"onset": 2, "trial_type": "x", "data": {"pad": "y" * 900}},
                }
            ).encode()
            mask = os.urandom(4)
            masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            header = bytes([0x81, 0x80 | 126]) + struct.pack("!H", len(payload)) + mask
            ws.socket.sendall(header + masked[:10])
            ws.socket.close()
        # the server is fine, stored nothing from the torn frame, and the rig resumes at seq 2
        assert httpx.get(f"{base}/health").status_code == 200
        with connect(url, additional_headers=headers) as ws:
            ws.send(json.dumps({"type": "hello"}))
            assert json.loads(ws.recv())["last_seq"] == 1
            ws.send(json.dumps({"type": "event", "seq": 2, "event": {"onset": 2, "trial_type": "x"}}))
            assert json.loads(ws.recv()) == {"type": "ack", "seq": 2}
        events = httpx.get(f"{base}/sessions/{world.sid}/dreamers/alice/events", headers=headers).json()
        assert [e["seq"] for e in events] == [1, 2]


def test_server_restart_mid_session_keeps_state(world_template, tmp_path) -> None:
    world = build_world(world_template, tmp_path)
    with world.client as c, c.websocket_connect(f"/ws/rig/{world.sid}", headers=world.h("alice")) as ws:
        ws.send_json({"type": "hello"})
        ws.receive_json()
        for seq in (1, 2, 3):
            ws.send_json(
                {
                    "type": "event",
                    "seq": seq,
                    "event": {"onset": seq, "trial_type": "stage", "value": "R"},
                }
            )
            ws.receive_json()
        ws.send_json({"type": "relay", "seq": 4, "to": "bob", "text": "HI"})
        ws.receive_json()
    world.app.state.db.close()
    # a new server process on the same database file
    app2 = create_app(world.db_path)
    from fastapi.testclient import TestClient

    with TestClient(app2) as c2:
        assert c2.get("/me", headers=world.h("op")).json()["name"] == "op"  # tokens survive
        with c2.websocket_connect(f"/ws/rig/{world.sid}", headers=world.h("alice")) as ws:
            ws.send_json({"type": "hello"})
            assert ws.receive_json()["last_seq"] == 4
            ws.send_json({"type": "event", "seq": 3, "event": {"onset": 3, "trial_type": "stage"}})
            assert ws.receive_json() == {"type": "ack", "seq": 4}  # replay after restart: deduplicated
        with c2.websocket_connect(f"/ws/rig/{world.sid}", headers=world.h("bob")) as ws:
            ws.send_json({"type": "hello"})
            ws.receive_json()
            ws.send_json({"type": "state", "seq": 1, "ready": True, "stage": "R"})
            assert ws.receive_json()["text"] == "HI"  # the queued message survived the restart
        events = c2.get(f"/sessions/{world.sid}/dreamers/alice/events", headers=world.h("alice")).json()
        assert [e["seq"] for e in events if e["seq"]] == [1, 2, 3]


def test_login_throttling_token_expiry_cookie_and_logout(world_template, tmp_path) -> None:
    world = build_world(world_template, tmp_path, token_ttl=0.5)
    with world.client as c:
        # the cookie works like the bearer header, and is HttpOnly
        r = c.post("/auth/login", json={"name": "op", "password": PASSWORD})
        assert r.status_code == 200 and "httponly" in r.headers["set-cookie"].lower()
        token = r.json()["token"]
        assert c.get("/me").json()["name"] == "op"  # via the cookie jar
        c.cookies.clear()
        assert c.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        time.sleep(0.6)
        r = c.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and "expired" in r.json()["detail"]
        token = c.post("/auth/login", json={"name": "op", "password": PASSWORD}).json()["token"]
        c.cookies.clear()
        assert c.post("/auth/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        assert c.get("/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        # an unknown name answers exactly like a wrong password
        assert c.post("/auth/login", json={"name": "ghost", "password": "x"}).json()["detail"] == (
            "wrong user name or password"
        )
        for _ in range(MAX_FAILURES - 1):
            r = c.post("/auth/login", json={"name": "obs", "password": "wrong-password"})
            assert r.status_code == 401 and r.json()["detail"] == "wrong user name or password"
        r = c.post("/auth/login", json={"name": "obs", "password": PASSWORD})  # right password, but throttled
        assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
        # the address is throttled too: other names from it are refused for now
        assert c.post("/auth/login", json={"name": "op", "password": PASSWORD}).status_code == 429
        audit = [r["action"] for r in world.app.state.db.all("SELECT action FROM audit")]
        assert audit.count("login_failed") >= MAX_FAILURES and "logout" in audit


def test_throttling_is_per_user_across_addresses(world_template, tmp_path) -> None:
    from dreamlink.server.auth import AuthError, authenticate

    world = build_world(world_template, tmp_path)
    db = world.app.state.db
    for i in range(MAX_FAILURES):
        with pytest.raises(AuthError) as err:
            authenticate(db, "obs", "wrong-password", ip=f"10.0.0.{i}")
        assert err.value.status == 401
    with pytest.raises(AuthError) as err:
        authenticate(db, "obs", PASSWORD, ip="10.0.0.99")
    assert err.value.status == 429
    assert authenticate(db, "op", PASSWORD, ip="10.0.0.99").name == "op"  # other accounts unaffected


def test_database_url_options(tmp_path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.sqlite'}")
    assert db.version >= 2 and (tmp_path / "x.sqlite").is_file()
    assert db.one("PRAGMA journal_mode")[0] == "wal"
    db.close()
    with pytest.raises(ConfigError, match="PostgreSQL"):
        Database("postgresql://localhost/dreamlink")
    with pytest.raises(ConfigError, match="unsupported"):
        Database("mysql://localhost/x")
