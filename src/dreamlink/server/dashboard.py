"""The operator dashboard: web pages, their static files and the few routes they need beyond the server's.

:func:`mount_dashboard` adds everything to an application built by
:func:`dreamlink.server.app.create_app` (one line in the app factory). The pages are plain HTML with
vanilla JavaScript ES modules and ``<canvas>`` drawing in ``static/`` (no build step, no CDN, nothing
fetched from the internet at run time).

Pages (``{sid}`` a session id)::

    GET /                       redirect to /ui/
    GET /ui/login               the login page (public; served before the auth gate, not a route)
    GET /ui/                    session list, links to the studio and the morning view
    GET /ui/session/{sid}       live view of every dreamer of a session (operators get the controls;
                                observers, or anyone with ?mode=observe, a read-only view)
    GET /ui/morning/{sid}       a dreamer's own morning view: their night and a dream-journal form
    GET /ui/studio              design studio: write/adapt a design, live validation, rehearsal

JSON routes (all authenticated; each declares its rule in :data:`DASHBOARD_ACCESS`, merged into the
server's ``ACCESS`` table so the authorisation tests walk them too)::

    GET  /ui/api/sessions/{sid}/context                      member: role, dreamers, cue caps, design
    POST /ui/api/sessions/{sid}/dreamers/{dreamer}/cue       session operator who may see the dreamer
    POST /ui/api/sessions/{sid}/dreamers/{dreamer}/control   same: start | pause | abort | wake_alarm
    POST /ui/api/sessions/{sid}/dreamers/{dreamer}/notes     same: a note in the dreamer's timeline
    POST /ui/api/sessions/{sid}/design                       session operator: attach a design
    GET  /ui/api/sessions/{sid}/morning                      the dreamer themself: their night
    POST /ui/api/sessions/{sid}/journal                      the dreamer themself: a journal entry
    GET  /ui/api/designs                                     own saved designs
    POST /ui/api/designs                                     save (create or update) a design
    GET  /ui/api/designs/examples                            the example library
    POST /ui/api/designs/check                               validate a design text (located issues)
    POST /ui/api/designs/rehearse                            rehearse a design on a night
    GET  /ui/api/nights                                      recorded nights available for rehearsal

Operator cues pass the real :class:`dreamlink.cues.safety.SafetyGovernor` (hard caps over the default
or calibrated reference): a cue above the cap is refused with 400 and a ``cue_refused`` event. Cues,
design controls and wake alarms that pass are stored as events in the dreamer's timeline, published to
the live feed, and forwarded to the rig as ``{"type": "control", ..., "control_id": N}`` frames, kept
and resent on reconnect until the rig acknowledges them (:mod:`dreamlink.server.controls`; see
:mod:`dreamlink.rig.pipeline` for what the rig does with them).

Dashboard-owned tables (designs, attachments, journal entries) are created here with
``CREATE TABLE IF NOT EXISTS`` in the server's SQLite database.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.staticfiles import StaticFiles

from dreamlink.errors import CueSafetyError, DreamlinkError
from dreamlink.server import audit
from dreamlink.server import sessions as store
from dreamlink.server.auth import AuthError, User, can_see_dreamer, require_member, user_for_token

log = logging.getLogger("dreamlink.server.dashboard")

STATIC_DIR = Path(__file__).parent / "static"
#: Files served without authentication (the login page and what it loads).
PUBLIC_FILES: dict[str, str] = {
    "/ui/login": "login.html",
    "/ui/static/login.js": "login.js",
    "/ui/static/dashboard.css": "dashboard.css",
    "/ui/static/favicon.svg": "favicon.svg",
}
#: Where the example designs live (a source checkout); overridable with DREAMLINK_DESIGN_EXAMPLES.
EXAMPLES_DIR = Path(__file__).resolve().parents[3] / "examples" / "designs"
#: Longest design text accepted, characters.
MAX_DESIGN_CHARS = 200_000
#: Longest rehearsal night, hours.
MAX_REHEARSAL_HOURS = 12.0

#: Access rule of every dashboard route (same vocabulary as :data:`dreamlink.server.app.ACCESS`).
DASHBOARD_ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/"): "authenticated",
    ("GET", "/ui/"): "authenticated",
    ("GET", "/ui/studio"): "authenticated",
    ("GET", "/ui/session/{sid}"): "member",
    ("GET", "/ui/morning/{sid}"): "dreamer",
    ("GET", "/ui/api/sessions/{sid}/context"): "member",
    ("POST", "/ui/api/sessions/{sid}/dreamers/{dreamer}/cue"): "grant",
    ("POST", "/ui/api/sessions/{sid}/dreamers/{dreamer}/control"): "grant",
    ("POST", "/ui/api/sessions/{sid}/dreamers/{dreamer}/notes"): "grant",
    ("POST", "/ui/api/sessions/{sid}/design"): "operator",
    ("GET", "/ui/api/sessions/{sid}/morning"): "dreamer",
    ("POST", "/ui/api/sessions/{sid}/journal"): "dreamer",
    ("GET", "/ui/api/designs"): "authenticated",
    ("POST", "/ui/api/designs"): "authenticated",
    ("GET", "/ui/api/designs/examples"): "authenticated",
    ("POST", "/ui/api/designs/check"): "authenticated",
    ("POST", "/ui/api/designs/rehearse"): "authenticated",
    ("GET", "/ui/api/nights"): "authenticated",
}

_TABLES = (
    """CREATE TABLE IF NOT EXISTS dashboard_designs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        owner TEXT NOT NULL,
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        UNIQUE (owner, name)
    )""",
    """CREATE TABLE IF NOT EXISTS dashboard_attachments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        name TEXT NOT NULL,
        text TEXT NOT NULL,
        attached_by TEXT NOT NULL,
        ts REAL NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS dashboard_journal (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        dreamer TEXT NOT NULL,
        text TEXT NOT NULL,
        lucid INTEGER NOT NULL DEFAULT 0,
        created REAL NOT NULL
    )""",
)


# -- request bodies -----------------------------------------------------------------------------
class CueBody(BaseModel):
    kind: str = Field(min_length=1, max_length=32, description="cue kind, e.g. tones, speech, flashes")
    text: str = Field("", max_length=500, description="payload: text, count or tone list")
    level_db: float = Field(description="dB re the sleeper's threshold")


class ControlBody(BaseModel):
    action: Literal["start", "pause", "abort", "wake_alarm"]


class NoteBody(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


class AttachBody(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    text: str = Field(min_length=1, max_length=MAX_DESIGN_CHARS)


class JournalBody(BaseModel):
    text: str = Field(min_length=1, max_length=20_000)
    lucid: bool = False


class DesignBody(BaseModel):
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\- ]+$")
    text: str = Field(min_length=1, max_length=MAX_DESIGN_CHARS)


class CheckBody(BaseModel):
    text: str = Field(max_length=MAX_DESIGN_CHARS)


class RehearseBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_DESIGN_CHARS)
    night: Literal["sim", "file"] = "sim"
    seed: int = Field(0, ge=0, le=2**31 - 1)
    hours: float = Field(8.0, gt=0, le=MAX_REHEARSAL_HOURS)
    file: str | None = Field(None, max_length=255, description="name from GET /ui/api/nights")


#: Valid example bodies for the authorisation tests (merge into their ``BODIES``).
EXAMPLE_BODIES: dict[str, dict[str, Any]] = {
    "CueBody": {"kind": "tones", "text": "440 660", "level_db": 0.0},
    "ControlBody": {"action": "pause"},
    "NoteBody": {"text": "moved, settled again"},
    "AttachBody": {
        "name": "minimal",
        "text": "design: minimal\nversion: 1\ninitial: a\nstates:\n  a: {}\n",
    },
    "JournalBody": {"text": "I flew over a lake", "lucid": False},
    "DesignBody": {"name": "minimal", "text": "design: minimal\nversion: 1\ninitial: a\nstates:\n  a: {}\n"},
    "CheckBody": {"text": "design: minimal\nversion: 1\ninitial: a\nstates:\n  a: {}\n"},
    "RehearseBody": {
        "text": "design: minimal\nversion: 1\ninitial: a\nstates:\n  a: {}\n",
        "night": "sim",
        "hours": 0.5,
    },
}


# -- helpers ------------------------------------------------------------------------------------
def _user(request: Request) -> User:
    user = request.scope.get("state", {}).get("user")
    if user is None:
        raise AuthError(401, "authentication required")
    return user


#: Headers of every dashboard page: nothing but this origin may run or be framed.
PAGE_HEADERS: dict[str, str] = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _page(name: str) -> FileResponse:
    return FileResponse(STATIC_DIR / name, media_type="text/html", headers=PAGE_HEADERS)


def _operator_on(db: Any, sid: str, dreamer: str, user: User) -> None:
    """Refuse unless ``user`` operates the session and may see ``dreamer``."""
    require_member(db, sid, user, ("operator",))
    if not can_see_dreamer(db, sid, dreamer, user):
        raise AuthError(403, f"{dreamer!r} has not granted you access in session {sid}")
    if not _is_dreamer(db, sid, dreamer):
        raise AuthError(404, f"{dreamer!r} is not a dreamer of session {sid}")


def _is_dreamer(db: Any, sid: str, name: str) -> bool:
    return (
        db.one(
            "SELECT 1 FROM members m JOIN users u ON u.id = m.user_id "
            "WHERE m.session_id = ? AND u.name = ? AND m.role = 'dreamer'",
            (sid, name),
        )
        is not None
    )


def cue_caps() -> dict[str, dict[str, float]]:
    """Highest operator cue level per modality (dB re the default reference and dBFS).

    Returns
    -------
    dict
        ``{modality: {"max_db": ..., "max_dbfs": ..., "reference_dbfs": ...}}`` from
        :class:`dreamlink.cues.safety.SafetyGovernor` with the default calibration.
    """
    from dreamlink.cues.base import KIND_MODALITY, MODALITIES
    from dreamlink.cues.safety import SafetyGovernor

    gov = SafetyGovernor(clock=lambda: 0.0)
    out: dict[str, dict[str, Any]] = {}
    for modality in MODALITIES:
        out[modality] = {
            "max_db": round(gov.cap_db(modality), 2),
            "max_dbfs": round(gov.cap_dbfs(modality), 2),
            "reference_dbfs": gov.calibration.threshold_dbfs(modality),
            "kinds": [k for k, m in KIND_MODALITY.items() if m == modality and k != "wav"],
        }
    return out


def check_design_text(text: str) -> list[dict[str, Any]]:
    """Validate a design text; returns its issues as dicts (line, col, field, message, ...)."""
    from dreamlink.designs import check_text

    out = []
    for issue in check_text(text, file="design"):
        out.append(
            {
                "line": issue.line,
                "col": issue.col,
                "field": issue.field,
                "message": issue.message,
                "suggestion": issue.suggestion,
                "severity": issue.severity,
                "text": str(issue),
            }
        )
    return out


def _examples_dir() -> Path:
    return Path(os.environ.get("DREAMLINK_DESIGN_EXAMPLES", str(EXAMPLES_DIR)))


def _nights_dir() -> Path | None:
    folder = os.environ.get("DREAMLINK_NIGHTS")
    return Path(folder) if folder else None


def list_nights() -> list[str]:
    """Recordings (EDF/BDF/FIF) in the folder named by ``DREAMLINK_NIGHTS``, for rehearsal."""
    folder = _nights_dir()
    if folder is None or not folder.is_dir():
        return []
    return sorted(
        p.name for p in folder.iterdir() if p.is_file() and p.suffix.lower() in (".edf", ".bdf", ".fif")
    )


def _publish_event(app: FastAPI, sid: str, dreamer: str, ev: dict[str, Any]) -> None:
    app.state.hub.publish(sid, dreamer, {"type": "event", "event": ev})


def _stage_summary(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Hypnogram and minutes per stage from a dreamer's ``stage`` events (settled ones preferred)."""
    epochs: dict[int, tuple[str, float | None, dict[str, float] | None]] = {}
    for ev in events:
        if ev["trial_type"] != "stage" or not isinstance(ev["value"], str):
            continue
        data = ev.get("data") or {}
        if data.get("kind") == "provisional":
            continue
        epochs[int(round(ev["onset"] / 30.0))] = (ev["value"], ev["confidence"], data.get("proba"))
    if not epochs:
        return {"epochs": [], "minutes": {}}
    n = max(epochs) + 1
    seq = [epochs.get(i, ("?", None, None)) for i in range(n)]
    minutes: dict[str, float] = {}
    for stage, _, _ in seq:
        minutes[stage] = minutes.get(stage, 0.0) + 0.5
    return {
        "epochs": [{"stage": s, "confidence": c, "proba": p} for s, c, p in seq],
        "minutes": minutes,
    }


def communication_rows(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The morning report's communication table (:func:`dreamlink.report.data.communication_timeline`)
    for stored event rows, JSON-ready (missing numbers as ``None``)."""
    import math

    from dreamlink.events import Event
    from dreamlink.report.data import communication_timeline

    evs = []
    for e in events:
        value = e.get("value")
        evs.append(
            Event(
                float(e["onset"]),
                float(e.get("duration") or 0.0),
                e["trial_type"],
                value if isinstance(value, str | int | float) or value is None else str(value),
                e.get("confidence"),
                e.get("source") or "",
                dict(e.get("data") or {}),
            )
        )
    table = communication_timeline(evs)
    rows = []
    for rec in table.to_dict(orient="records"):
        rows.append({k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec.items()})
    return rows


# -- the ASGI middleware in front of the server's auth gate ---------------------------------------
class _LoginFront:
    """Serve the login page and its files without authentication, and send browsers that are not
    logged in (or whose token expired) from dashboard pages to the login page.

    Only requests that ask for HTML (``Accept: text/html``) are redirected; API clients keep the
    server's 401 answer.
    """

    def __init__(self, app: Any, db: Any) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope.get("method") not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in PUBLIC_FILES:
            headers = PAGE_HEADERS if path == "/ui/login" else None
            await FileResponse(STATIC_DIR / PUBLIC_FILES[path], headers=headers)(scope, receive, send)
            return
        if path == "/" or (path.startswith("/ui/") and not path.startswith(("/ui/api/", "/ui/static/"))):
            from dreamlink.server.app import _token_from_scope

            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if "text/html" in headers.get("accept", ""):
                try:
                    user_for_token(self.db, _token_from_scope(scope))
                except AuthError:
                    query = scope.get("query_string", b"").decode("latin-1")
                    target = path + (f"?{query}" if query else "")
                    from urllib.parse import quote

                    response = RedirectResponse(f"/ui/login?next={quote(target, safe='')}", status_code=303)
                    await response(scope, receive, send)
                    return
        await self.app(scope, receive, send)


# -- the router ---------------------------------------------------------------------------------
def build_router(app: FastAPI) -> APIRouter:
    """The dashboard's routes, bound to ``app``'s database, hub and relay."""
    db = app.state.db
    hub = app.state.hub
    router = APIRouter()

    # -- pages ------------------------------------------------------------------------------
    @router.get("/", include_in_schema=False)
    def root(request: Request) -> RedirectResponse:
        _user(request)
        return RedirectResponse("/ui/", status_code=303)

    @router.get("/ui/", include_in_schema=False)
    def sessions_page(request: Request) -> FileResponse:
        _user(request)
        return _page("index.html")

    @router.get("/ui/studio", include_in_schema=False)
    def studio_page(request: Request) -> FileResponse:
        _user(request)
        return _page("studio.html")

    @router.get("/ui/session/{sid}", include_in_schema=False)
    def session_page(request: Request, sid: str) -> FileResponse:
        require_member(db, sid, _user(request))
        return _page("session.html")

    @router.get("/ui/morning/{sid}", include_in_schema=False)
    def morning_page(request: Request, sid: str) -> FileResponse:
        require_member(db, sid, _user(request), ("dreamer",))
        return _page("morning.html")

    # -- session API -------------------------------------------------------------------------
    @router.get("/ui/api/sessions/{sid}/context", tags=["dashboard"])
    def context(request: Request, sid: str) -> dict[str, Any]:
        """What the live view needs first: your role, the dreamers, cue caps, the attached design."""
        user = _user(request)
        role = require_member(db, sid, user)
        info = store.session_info(db, sid) or {}
        from dreamlink.server.auth import visible_dreamers

        visible = visible_dreamers(db, sid, user)
        dreamers = []
        for m in info.get("members", []):
            if m["role"] != "dreamer":
                continue
            item: dict[str, Any] = {"name": m["name"], "visible": m["name"] in visible}
            if item["visible"]:
                st = store.rig_state(db, sid, m["name"])
                item.update(
                    stage=st["stage"],
                    ready=bool(st["ready"]),
                    last_seq=st["last_seq"],
                    connected=hub.rig_connected(sid, m["name"]),
                )
            dreamers.append(item)
        row = db.one(
            "SELECT name, text, attached_by, ts FROM dashboard_attachments WHERE session_id = ? "
            "ORDER BY id DESC LIMIT 1",
            (sid,),
        )
        audit.record(db, user.name, "open_dashboard", f"session:{sid}")
        return {
            "session": {k: info.get(k) for k in ("id", "name", "created", "started", "status")},
            "members": info.get("members", []),
            "me": {"name": user.name, "role": user.role},
            "role": role,
            "dreamers": dreamers,
            "caps": cue_caps(),
            "design": dict(row) if row else None,
            "server_time": time.time(),
        }

    @router.post("/ui/api/sessions/{sid}/dreamers/{dreamer}/cue", tags=["dashboard"], status_code=201)
    async def send_cue(request: Request, sid: str, dreamer: str, body: CueBody) -> dict[str, Any]:
        """Ask for an operator cue; refused (400, ``cue_refused`` event) above the safety cap."""
        from dreamlink.cues.base import Cue
        from dreamlink.cues.safety import SafetyGovernor

        user = _user(request)
        _operator_on(db, sid, dreamer, user)
        cue = Cue(kind=body.kind, payload=body.text, level_db=body.level_db, requester="operator")
        refused: list[Any] = []
        gov = SafetyGovernor(clock=lambda: round(store.session_clock(db, sid), 3))
        try:
            dbfs = gov.approve(cue)
        except CueSafetyError as err:
            refused = gov.refusals
            data = {**refused[-1].data, "operator": user.name} if refused else {"operator": user.name}
            ev = store.add_server_event(
                db, sid, dreamer, "cue_refused", cue.kind, data, source="server.dashboard"
            )
            _publish_event(app, sid, dreamer, ev)
            audit.record(db, user.name, "cue_refused", f"session:{sid}/dreamer:{dreamer}", str(err))
            raise
        data = {**cue.describe(), "dbfs": round(dbfs, 2), "operator": user.name, "requested": True}
        ev = store.add_server_event(
            db, sid, dreamer, "cue_request", body.text or body.kind, data, source="server.dashboard"
        )
        _publish_event(app, sid, dreamer, ev)
        audit.record(db, user.name, "cue_request", f"session:{sid}/dreamer:{dreamer}", data)
        control_id, delivered = await app.state.controls.submit(
            sid, dreamer, {"type": "control", "action": "cue", "cue": data}, user.name
        )
        return {"status": "requested", "event": ev, "forwarded": delivered, "control_id": control_id}

    @router.post("/ui/api/sessions/{sid}/dreamers/{dreamer}/control", tags=["dashboard"], status_code=201)
    async def control(request: Request, sid: str, dreamer: str, body: ControlBody) -> dict[str, Any]:
        """Start, pause or abort the dreamer's design, or sound the wake alarm."""
        user = _user(request)
        _operator_on(db, sid, dreamer, user)
        kind = "wake_alarm" if body.action == "wake_alarm" else "design_control"
        ev = store.add_server_event(
            db, sid, dreamer, kind, body.action, {"operator": user.name}, source="server.dashboard"
        )
        _publish_event(app, sid, dreamer, ev)
        audit.record(db, user.name, kind, f"session:{sid}/dreamer:{dreamer}", {"action": body.action})
        control_id, delivered = await app.state.controls.submit(
            sid, dreamer, {"type": "control", "action": body.action}, user.name
        )
        return {"status": "sent", "event": ev, "forwarded": delivered, "control_id": control_id}

    @router.post("/ui/api/sessions/{sid}/dreamers/{dreamer}/notes", tags=["dashboard"], status_code=201)
    def add_note(request: Request, sid: str, dreamer: str, body: NoteBody) -> dict[str, Any]:
        """Add an operator's note to the dreamer's timeline."""
        user = _user(request)
        _operator_on(db, sid, dreamer, user)
        ev = store.add_server_event(
            db, sid, dreamer, "note", body.text, {"author": user.name}, source="server.dashboard"
        )
        _publish_event(app, sid, dreamer, ev)
        audit.record(db, user.name, "note", f"session:{sid}/dreamer:{dreamer}")
        return {"status": "stored", "event": ev}

    @router.post("/ui/api/sessions/{sid}/design", tags=["dashboard"], status_code=201)
    def attach_design(request: Request, sid: str, body: AttachBody) -> dict[str, Any]:
        """Attach a (valid) design to the session; a snapshot of its text is kept."""
        user = _user(request)
        require_member(db, sid, user, ("operator",))
        errors = [i for i in check_design_text(body.text) if i["severity"] == "error"]
        if errors:
            first = errors[0]["text"]
            raise DreamlinkError(f"design {body.name!r} has {len(errors)} error(s), first: {first}")
        db.execute(
            "INSERT INTO dashboard_attachments (session_id, name, text, attached_by, ts) "
            "VALUES (?, ?, ?, ?, ?)",
            (sid, body.name, body.text, user.name, time.time()),
        )
        audit.record(db, user.name, "attach_design", f"session:{sid}", body.name)
        return {"session": sid, "name": body.name, "attached_by": user.name}

    @router.get("/ui/api/sessions/{sid}/morning", tags=["dashboard"])
    def morning(request: Request, sid: str) -> dict[str, Any]:
        """The dreamer's own night: hypnogram, minutes per stage, cues, messages, journal entries."""
        user = _user(request)
        require_member(db, sid, user, ("dreamer",))
        events: list[dict[str, Any]] = []
        after = 0
        while True:
            page = store.events(db, sid, user.name, after, 5000)
            events += page
            if len(page) < 5000:
                break
            after = page[-1]["id"]
        keep = {
            "cue",
            "cue_request",
            "cue_refused",
            "relay_in",
            "relay_ack",
            "relay_sent",
            "relay_delivered",
            "relay_revised",
            "lrlr",
            "message",
            "rem_entry",
            "arousal",
            "wake",
            "note",
            "wake_alarm",
            "design_control",
        }
        relays = [
            dict(r)
            for r in db.all(
                "SELECT id, sender_kind, sender, recipient, text, created, status, delivered, acked, "
                "revises_id FROM relays "
                "WHERE session_id = ? AND (sender = ? OR recipient = ?) ORDER BY id",
                (sid, user.name, user.name),
            )
        ]
        journal = [
            dict(r)
            for r in db.all(
                "SELECT id, text, lucid, created FROM dashboard_journal WHERE session_id = ? AND dreamer = ? "
                "ORDER BY id",
                (sid, user.name),
            )
        ]
        audit.record(db, user.name, "view_morning", f"session:{sid}")
        return {
            "communication": communication_rows(events),
            "dreamer": user.name,
            "session": store.session_info(db, sid),
            "hypnogram": _stage_summary(events),
            "events": [e for e in events if e["trial_type"] in keep][-500:],
            "relays": relays,
            "journal": journal,
        }

    @router.post("/ui/api/sessions/{sid}/journal", tags=["dashboard"], status_code=201)
    def journal(request: Request, sid: str, body: JournalBody) -> dict[str, Any]:
        """Store a dream-journal entry (the dreamer themself)."""
        user = _user(request)
        require_member(db, sid, user, ("dreamer",))
        cur = db.execute(
            "INSERT INTO dashboard_journal (session_id, dreamer, text, lucid, created) "
            "VALUES (?, ?, ?, ?, ?)",
            (sid, user.name, body.text, int(body.lucid), time.time()),
        )
        store.add_server_event(
            db,
            sid,
            user.name,
            "dream_report",
            body.text[:200],
            {"journal_id": int(cur.lastrowid), "lucid": body.lucid},
            source="dreamer.journal",
        )
        audit.record(db, user.name, "journal", f"session:{sid}")
        return {"id": int(cur.lastrowid), "status": "stored"}

    # -- designs -----------------------------------------------------------------------------
    @router.get("/ui/api/designs", tags=["designs"])
    def my_designs(request: Request) -> list[dict[str, Any]]:
        """Your saved designs, newest first."""
        user = _user(request)
        rows = db.all(
            "SELECT name, text, created, updated FROM dashboard_designs WHERE owner = ? "
            "ORDER BY updated DESC",
            (user.name,),
        )
        return [dict(r) for r in rows]

    @router.post("/ui/api/designs", tags=["designs"], status_code=201)
    def save_design(request: Request, body: DesignBody) -> dict[str, Any]:
        """Save a design under your name (replacing your design of the same name); returns its issues."""
        user = _user(request)
        t = time.time()
        db.execute(
            "INSERT INTO dashboard_designs (owner, name, text, created, updated) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (owner, name) DO UPDATE SET text = excluded.text, updated = excluded.updated",
            (user.name, body.name, body.text, t, t),
        )
        audit.record(db, user.name, "save_design", f"design:{body.name}")
        return {"name": body.name, "owner": user.name, "issues": check_design_text(body.text)}

    @router.get("/ui/api/designs/examples", tags=["designs"])
    def examples(request: Request) -> list[dict[str, Any]]:
        """The example library (``examples/designs``)."""
        _user(request)
        folder = _examples_dir()
        if not folder.is_dir():
            return []
        return [
            {"name": p.stem, "file": p.name, "text": p.read_text(encoding="utf-8")}
            for p in sorted(folder.glob("*.yaml"))
        ]

    @router.post("/ui/api/designs/check", tags=["designs"])
    def check(request: Request, body: CheckBody) -> dict[str, Any]:
        """Validate a design text; every issue is located at its line and column."""
        _user(request)
        issues = check_design_text(body.text)
        return {"ok": not any(i["severity"] == "error" for i in issues), "issues": issues}

    @router.get("/ui/api/nights", tags=["designs"])
    def nights(request: Request) -> dict[str, Any]:
        """Recorded nights (folder ``DREAMLINK_NIGHTS``) that a design can be rehearsed on."""
        _user(request)
        return {"recorded": list_nights(), "simulated": True}

    @router.post("/ui/api/designs/rehearse", tags=["designs"])
    def rehearse_design(request: Request, body: RehearseBody) -> dict[str, Any]:
        """Rehearse a design on a simulated or recorded night; returns the timeline and the hypnogram."""
        user = _user(request)
        return rehearse_text(body, user.name)

    return router


def rehearse_text(body: RehearseBody, who: str = "") -> dict[str, Any]:
    """Run :func:`dreamlink.designs.rehearse.rehearse` on a design text and a night, JSON-ready.

    Raises
    ------
    DreamlinkError
        If the design does not validate or the night is unknown.
    """
    from dreamlink.designs import design_from_text
    from dreamlink.designs.rehearse import night_from_recording, night_from_simulation, rehearse

    design = design_from_text(body.text, file="design")
    if body.night == "sim":
        night = night_from_simulation(body.seed, body.hours)
        partner = night_from_simulation(body.seed + 1, body.hours) if design.linked else None
    else:
        if not body.file or body.file not in list_nights():
            raise DreamlinkError(f"unknown recorded night {body.file!r}; pick one from GET /ui/api/nights")
        folder = _nights_dir()
        assert folder is not None
        night = night_from_recording(folder / body.file)
        partner = None
    result = rehearse(design, night, partner)
    out_nights = []
    for i, n in enumerate(result.nights):
        hyp = n.hypnogram
        proba = None
        if hyp.proba is not None:
            with contextlib.suppress(Exception):
                proba = [[round(float(x), 3) for x in row] for row in hyp.proba.to_numpy()]
        out_nights.append(
            {
                "name": n.name,
                "duration": n.duration,
                "epoch_sec": float(hyp.epoch_sec),
                "start": float(getattr(hyp, "start", 0.0)),
                "stages": [str(s) for s in hyp.stages],
                "proba": proba,
                "timeline": [
                    {
                        "t": r.t,
                        "kind": r.kind,
                        "name": r.name,
                        "value": r.value,
                        "state": r.state,
                        "detail": r.detail,
                    }
                    for r in result.timelines[i]
                ],
                "actions": [
                    {"t": e.onset, "trial_type": e.trial_type, "value": e.value, "data": dict(e.data)}
                    for e in result.actions[i]
                ],
                "counts": result.counts[i],
                "final_state": result.final_states[i] if i < len(result.final_states) else "",
            }
        )
    log.info("rehearsal for %s: %s", who, result.summary_lines()[-1] if result.summary_lines() else "")
    return {
        "design": design.name if hasattr(design, "name") else "",
        "nights": out_nights,
        "summary": result.summary_lines(),
    }


def mount_dashboard(app: FastAPI) -> FastAPI:
    """Add the dashboard (pages, static files, routes, login front) to a server app.

    Call it once on the application made by :func:`dreamlink.server.app.create_app`, before it starts;
    calling it again does nothing.

    Parameters
    ----------
    app : FastAPI
        The session server.

    Returns
    -------
    FastAPI
        The same application.
    """
    if getattr(app.state, "dashboard_mounted", False):
        return app
    db = app.state.db
    for sql in _TABLES:
        db.execute(sql)
    app.state.access.update(DASHBOARD_ACCESS)
    # added one by one (not include_router) so the routes appear flat in ``app.routes``, where the
    # server's authorisation tests walk them
    app.router.routes.extend(build_router(app).routes)
    app.mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static")
    app.add_middleware(_LoginFront, db=db)

    app.state.dashboard_mounted = True
    return app
