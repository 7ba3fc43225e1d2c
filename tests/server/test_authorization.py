"""Every HTTP route and WebSocket channel, taken from the app's route table, refuses anonymous callers
and callers without the right role, membership or grant; and admits the right one.

A route missing from ``ACCESS`` fails :func:`test_every_route_declares_its_access`, and each access rule
has wrong users below, so a new route cannot be forgotten.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocketDisconnect

from tests.server.conftest import make_app

#: Who is refused under each access rule (the world: session with op/obs/alice/bob; alice granted op).
WRONG_USERS: dict[str, tuple[str, ...]] = {
    "public": (),
    "authenticated": (),
    "admin": ("op", "obs", "alice", "mallory"),
    "staff": ("obs", "alice", "oscar"),
    "member": ("mallory", "eve", "oscar"),
    "operator": ("obs", "alice", "mallory", "eve"),
    "dreamer": ("op", "obs", "mallory", "eve", "root"),
    "grant": ("obs", "bob", "mallory", "eve", "root"),
}
#: Who is admitted under each rule.
RIGHT_USER: dict[str, str] = {
    "public": "op",
    "authenticated": "obs",
    "admin": "root",
    "staff": "op",
    "member": "obs",
    "operator": "op",
    "dreamer": "alice",
    "grant": "op",
}
_DESIGN = (Path(__file__).resolve().parents[2] / "examples" / "designs" / "relay.yaml").read_text()
#: Valid bodies per request model, so refusals are about access, not validation.
BODIES: dict[str, dict] = {
    "LoginBody": {"name": "op", "password": "correct-horse-9"},
    "NewUser": {"name": "newbie", "role": "observer", "password": "long-enough-1"},
    "NewSession": {"name": "another night"},
    "NewMember": {"name": "oscar", "role": "observer"},
    "GrantBody": {"grantee": None},
    "MessageBody": {"to": "alice", "text": "HELLO"},
    # dashboard routes (dreamlink.server.dashboard)
    "CueBody": {"kind": "tones", "text": "2", "level_db": 0.0},
    "ControlBody": {"action": "pause"},
    "NoteBody": {"text": "dreamer moved"},
    "AttachBody": {"name": "relay", "text": _DESIGN},
    "JournalBody": {"text": "I flew over the sea", "lucid": True},
    "DesignBody": {"name": "relay", "text": _DESIGN},
    "CheckBody": {"text": _DESIGN},
    "RehearseBody": {"text": _DESIGN, "night": "sim", "seed": 1, "hours": 0.05},
}


APP = make_app(":memory:")
ACCESS = APP.state.access  # the app's own table (extras mounted on the app add their rules to it)


def _routes() -> list[tuple[str, str, object]]:
    app = APP
    out = []
    for route in app.routes:
        if isinstance(route, WebSocketRoute):
            out.append(("WS", route.path, route))
        elif isinstance(route, APIRoute | Route):
            for method in sorted(route.methods or ()):
                if method != "HEAD":
                    out.append((method, route.path, route))
    return out


ROUTES = _routes()
IDS = [f"{m} {p}" for m, p, _ in ROUTES]


def test_every_route_declares_its_access() -> None:
    missing = [(m, p) for m, p, _ in ROUTES if (m, p) not in ACCESS]
    assert not missing, f"routes without an access rule in ACCESS: {missing}"
    assert {rule for rule in ACCESS.values()} <= set(WRONG_USERS)
    public = [(m, p) for m, p, _ in ROUTES if ACCESS[(m, p)] == "public"]
    assert public == [("GET", "/health"), ("POST", "/auth/login")] or sorted(public) == sorted(
        [("GET", "/health"), ("POST", "/auth/login")]
    )


def _call(world, method: str, path: str, route, user: str | None):
    url = path.replace("{sid}", world.sid).replace("{dreamer}", "alice")
    headers = world.h(user) if user else {}
    if method == "WS":
        try:
            with world.client.websocket_connect(url, headers=headers) as ws:
                if path.startswith("/ws/rig"):
                    ws.send_json({"type": "hello"})
                first = ws.receive_json()
                return ("open", first)
        except WebSocketDisconnect as exc:
            return ("closed", exc.code)
    kwargs = {"headers": headers}
    if isinstance(route, APIRoute) and route.body_field is not None:
        model = route.body_field.field_info.annotation.__name__
        assert model in BODIES, f"add a valid example body for {model} to BODIES"
        kwargs["json"] = BODIES[model]
    return world.client.request(method, url, **kwargs)


@pytest.mark.parametrize(("method", "path", "route"), ROUTES, ids=IDS)
def test_anonymous_is_refused(world, method, path, route) -> None:
    rule = ACCESS[(method, path)]
    result = _call(world, method, path, route, None)
    if rule == "public":
        assert result.status_code == 200
    elif method == "WS":
        assert result == ("closed", 4401)
    else:
        assert result.status_code == 401, result.text


@pytest.mark.parametrize(("method", "path", "route"), ROUTES, ids=IDS)
def test_expired_or_bogus_token_is_refused(world, method, path, route) -> None:
    if ACCESS[(method, path)] == "public":
        pytest.skip("public route")
    world.app.state.db.execute(
        "UPDATE tokens SET expires = 0 WHERE user_id = (SELECT id FROM users WHERE name = 'op')"
    )
    for headers in (world.h("op"), {"Authorization": "Bearer not-a-token"}):
        url = path.replace("{sid}", world.sid).replace("{dreamer}", "alice")
        if method == "WS":
            with (
                pytest.raises(WebSocketDisconnect) as exc,
                world.client.websocket_connect(url, headers=headers) as ws,
            ):
                ws.receive_json()
            assert exc.value.code == 4401
        else:
            assert world.client.request(method, url, headers=headers).status_code == 401


@pytest.mark.parametrize(("method", "path", "route"), ROUTES, ids=IDS)
def test_wrong_users_are_refused(world, method, path, route) -> None:
    rule = ACCESS[(method, path)]
    if not WRONG_USERS[rule]:
        pytest.skip(f"rule {rule!r}: every authenticated user is entitled")
    for user in WRONG_USERS[rule]:
        result = _call(world, method, path, route, user)
        if method == "WS":
            assert result == ("closed", 4403), (user, result)
        else:
            assert result.status_code == 403, (user, result.status_code, result.text)


@pytest.mark.parametrize(("method", "path", "route"), ROUTES, ids=IDS)
def test_right_user_is_admitted(world, method, path, route) -> None:
    rule = ACCESS[(method, path)]
    result = _call(world, method, path, route, RIGHT_USER[rule])
    if method == "WS":
        assert result[0] == "open" and result[1]["type"] == "welcome"
    else:
        assert result.status_code in (200, 201), (result.status_code, result.text)


def test_grants_follow_the_dreamer(world) -> None:
    c, sid = world.client, world.sid
    url = f"/sessions/{sid}/dreamers/bob/events"
    assert c.get(url, headers=world.h("op")).status_code == 403
    assert c.get(url, headers=world.h("bob")).status_code == 200  # a dreamer sees their own data
    assert c.post(f"/sessions/{sid}/grants", json={}, headers=world.h("bob")).status_code == 201
    assert c.get(url, headers=world.h("op")).status_code == 200
    assert c.get(url, headers=world.h("obs")).status_code == 200
    assert c.get(url, headers=world.h("mallory")).status_code == 403  # not a member: grant is per session
    assert c.delete(f"/sessions/{sid}/grants", headers=world.h("bob")).status_code == 200
    assert c.get(url, headers=world.h("obs")).status_code == 403
    # the dashboard listing hides state of dreamers you may not see
    listing = {d["name"]: d for d in c.get(f"/sessions/{sid}/dreamers", headers=world.h("obs")).json()}
    assert listing["bob"] == {"name": "bob", "visible": False}


def test_live_feed_only_carries_granted_dreamers(world) -> None:
    c, sid = world.client, world.sid
    with (
        c.websocket_connect(f"/ws/sessions/{sid}", headers=world.h("obs")) as feed_obs,
        c.websocket_connect(f"/ws/sessions/{sid}", headers=world.h("op")) as feed_op,
        c.websocket_connect(f"/ws/rig/{sid}", headers=world.h("alice")) as rig,
    ):
        assert feed_obs.receive_json()["visible"] == []
        assert feed_op.receive_json()["visible"] == ["alice"]
        rig.send_json({"type": "hello"})
        rig.receive_json()
        rig.send_json({"type": "event", "seq": 1, "event": {"onset": 1.0, "trial_type": "lrlr"}})
        assert rig.receive_json() == {"type": "ack", "seq": 1}
        got = feed_op.receive_json()
        while got["type"] != "event":
            got = feed_op.receive_json()
        assert got["dreamer"] == "alice" and got["event"]["trial_type"] == "lrlr"
        feed_obs.send_json({"type": "ping"})
        assert feed_obs.receive_json()["type"] == "pong"  # nothing about alice was queued before it


def test_audit_log_records_views_and_is_append_only(world) -> None:
    import sqlite3

    c, sid = world.client, world.sid
    c.get(f"/sessions/{sid}/dreamers/alice/events", headers=world.h("op"))
    rows = c.get("/audit", headers=world.h("root")).json()
    assert any(r["actor"] == "op" and r["action"] == "view_events" and "alice" in r["target"] for r in rows)
    db = world.app.state.db
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE audit SET actor = 'nobody'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM audit")
