"""The session server: a FastAPI (Starlette) ASGI application with REST and WebSocket routes.

:func:`create_app` builds the application around one SQLite database file. Every request and
WebSocket handshake passes :class:`_AuthGate`, an ASGI middleware that refuses anonymous callers
with 401 (HTTP) or close code 4401 (WebSocket) **before** routing, except ``GET /health`` and
``POST /auth/login``; so a route added later cannot be left open by mistake. Each route then checks
what the user may do (role, session membership, the dreamer's grants) and declares its access rule
in :data:`ACCESS`, which the authorisation tests walk to try every route with wrong users.

Routes (``{sid}`` a session id, ``{dreamer}`` a dreamer's user name)::

    GET  /health                                   public: liveness
    POST /auth/login   POST /auth/logout   GET /me
    GET  /openapi.json                             the schema, authenticated users only
    GET|POST /users    GET /audit                  admin
    GET|POST /sessions GET /sessions/{sid}         members (POST: operators and admins)
    POST /sessions/{sid}/members                   session operators
    POST|DELETE /sessions/{sid}/grants             the dreamer themself
    GET  /sessions/{sid}/dreamers                  members (state only for granted dreamers)
    GET  /sessions/{sid}/dreamers/{dreamer}/events|signals|coverage   granted users
    GET  /sessions/{sid}/relays                    members (only relays of granted dreamers)
    POST /sessions/{sid}/messages                  session operators: send a message to a dreamer
    WS   /ws/rig/{sid}                             the dreamer's rig (see dreamlink.server.protocol)
    WS   /ws/sessions/{sid}                        live feed for members; operators may send messages
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from dreamlink import __version__
from dreamlink.errors import DreamlinkError
from dreamlink.server import audit
from dreamlink.server import protocol as proto
from dreamlink.server import sessions as store
from dreamlink.server.auth import (
    COOKIE_NAME,
    ROLES,
    SESSION_ROLES,
    TOKEN_TTL_SEC,
    AuthError,
    User,
    authenticate,
    can_see_dreamer,
    create_user,
    issue_token,
    require_member,
    revoke_token,
    user_for_token,
    visible_dreamers,
)
from dreamlink.server.controls import ControlService
from dreamlink.server.db import Database
from dreamlink.server.hub import Hub, Subscriber
from dreamlink.server.relay import RelayError, RelayService

log = logging.getLogger("dreamlink.server")

#: (method, path) that answer without authentication.
PUBLIC: frozenset[tuple[str, str]] = frozenset(
    {("GET", "/health"), ("HEAD", "/health"), ("POST", "/auth/login")}
)

#: Access rule of every route, keyed by (method or "WS", path template). Rules:
#: ``public``; ``authenticated`` (any user); ``admin``; ``staff`` (global role operator or admin);
#: ``member`` (member of the session); ``operator`` (operator of the session); ``dreamer`` (dreamer of
#: the session, acting on their own data); ``grant`` (allowed to see the path's dreamer).
ACCESS: dict[tuple[str, str], str] = {
    ("GET", "/health"): "public",
    ("POST", "/auth/login"): "public",
    ("POST", "/auth/logout"): "authenticated",
    ("GET", "/me"): "authenticated",
    ("GET", "/openapi.json"): "authenticated",
    ("GET", "/users"): "admin",
    ("POST", "/users"): "admin",
    ("GET", "/audit"): "admin",
    ("GET", "/sessions"): "authenticated",
    ("POST", "/sessions"): "staff",
    ("GET", "/sessions/{sid}"): "member",
    ("POST", "/sessions/{sid}/members"): "operator",
    ("POST", "/sessions/{sid}/grants"): "dreamer",
    ("DELETE", "/sessions/{sid}/grants"): "dreamer",
    ("GET", "/sessions/{sid}/dreamers"): "member",
    ("GET", "/sessions/{sid}/dreamers/{dreamer}/events"): "grant",
    ("GET", "/sessions/{sid}/dreamers/{dreamer}/signals"): "grant",
    ("GET", "/sessions/{sid}/dreamers/{dreamer}/coverage"): "grant",
    ("GET", "/sessions/{sid}/relays"): "member",
    ("POST", "/sessions/{sid}/messages"): "operator",
    ("WS", "/ws/rig/{sid}"): "dreamer",
    ("WS", "/ws/sessions/{sid}"): "member",
}

#: Seconds a rig has to send ``hello`` after connecting.
HELLO_TIMEOUT_SEC = 10.0
#: Protocol errors tolerated on one connection before it is closed (1008, policy violation).
MAX_ERRORS = 20


def _token_from_scope(scope: dict[str, Any]) -> str | None:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    cookie = headers.get("cookie")
    if cookie:
        jar = SimpleCookie()
        with contextlib.suppress(Exception):
            jar.load(cookie)
        if COOKIE_NAME in jar:
            return jar[COOKIE_NAME].value
    return None


class _AuthGate:
    """ASGI middleware: authenticate every request except :data:`PUBLIC` ones, before routing."""

    def __init__(self, app: Any, db: Database) -> None:
        self.app = app
        self.db = db

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "WS") if scope["type"] == "http" else "WS"
        if (method, scope["path"]) in PUBLIC:
            await self.app(scope, receive, send)
            return
        try:
            user = user_for_token(self.db, _token_from_scope(scope))
        except AuthError as err:
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 4401, "reason": err.message[:120]})
                return
            response = JSONResponse(
                {"detail": err.message}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


def current_user(request: Request) -> User:
    """The authenticated user (set by :class:`_AuthGate`)."""
    user = request.scope.get("state", {}).get("user")
    if user is None:  # only reachable for public routes
        raise AuthError(401, "authentication required")
    return user


CurrentUser = Annotated[User, Depends(current_user)]


# -- request bodies -----------------------------------------------------------------------------
class LoginBody(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: str = Field(pattern="^(" + "|".join(ROLES) + ")$")
    password: str = Field(min_length=8, max_length=1024)


class NewSession(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class NewMember(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: str = Field(pattern="^(" + "|".join(SESSION_ROLES) + ")$")


class GrantBody(BaseModel):
    grantee: str | None = Field(
        None, min_length=1, max_length=64, description="a member's user name; empty = the whole session"
    )


class MessageBody(BaseModel):
    to: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=proto.MAX_TEXT)
    ttl: float = Field(
        1800.0, gt=0, le=24 * 3600, description="seconds before an undelivered message expires"
    )


def create_app(
    db_path: str | Path,
    *,
    token_ttl: float = TOKEN_TTL_SEC,
    expire_interval: float = 1.0,
    secure_cookies: bool = False,
) -> FastAPI:
    """Build the session server.

    Parameters
    ----------
    db_path : str or Path
        SQLite database file (created and migrated if needed), ``sqlite:///PATH`` or ``:memory:``.
    token_ttl : float
        Lifetime of login tokens in seconds.
    expire_interval : float
        Seconds between sweeps that expire undelivered relayed messages and operator controls.
    secure_cookies : bool
        Mark the login cookie ``Secure`` (set when serving over TLS).

    Returns
    -------
    FastAPI
        The ASGI application; ``app.state.db``, ``.hub``, ``.relay`` and ``.controls`` hold its parts.
    """
    db = Database(db_path)
    hub = Hub()
    relay = RelayService(db, hub)
    controls = ControlService(db, hub)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def sweeper() -> None:
            while True:
                await asyncio.sleep(expire_interval)
                try:
                    await relay.expire()
                    controls.expire()
                except Exception:  # noqa: BLE001 - the sweeper must survive one bad pass
                    log.exception("relay/control expiry sweep failed")

        task = asyncio.create_task(sweeper())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = FastAPI(
        title="dreamlink session server",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        description="Sessions of dreamers, operators and observers; relay between dreamers. "
        "Authenticate with POST /auth/login, then send 'Authorization: Bearer TOKEN'.",
    )
    app.state.db = db
    app.state.hub = hub
    app.state.relay = relay
    app.state.controls = controls
    app.state.access = dict(ACCESS)  # per app: mounted extras (the dashboard) add their rules here
    app.add_middleware(_AuthGate, db=db)

    @app.exception_handler(AuthError)
    async def _auth_error(request: Request, err: AuthError) -> JSONResponse:
        headers = {"Retry-After": str(int(err.retry_after))} if err.retry_after else None
        return JSONResponse({"detail": err.message}, status_code=err.status, headers=headers)

    @app.exception_handler(DreamlinkError)
    async def _user_error(request: Request, err: DreamlinkError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=400)

    @app.exception_handler(RelayError)
    async def _relay_error(request: Request, err: RelayError) -> JSONResponse:
        return JSONResponse({"detail": str(err)}, status_code=404)

    def _see(sid: str, dreamer: str, user: User) -> None:
        require_member(db, sid, user)
        if not can_see_dreamer(db, sid, dreamer, user):
            raise AuthError(403, f"{dreamer!r} has not granted you access in session {sid}")

    # -- public ---------------------------------------------------------------------------
    @app.get("/health", tags=["meta"])
    def health() -> dict[str, Any]:
        """Liveness probe (no authentication)."""
        return {"status": "ok", "version": __version__}

    @app.post("/auth/login", tags=["auth"], responses={401: {}, 429: {}})
    def login(body: LoginBody, request: Request) -> JSONResponse:
        """Exchange a name and password for a token (also set as an HttpOnly cookie)."""
        ip = request.client.host if request.client else "?"
        try:
            user = authenticate(db, body.name, body.password, ip)
        except AuthError as err:
            audit.record(db, body.name, "login_failed", f"ip:{ip}", err.message)
            raise
        token, expires = issue_token(db, user, token_ttl)
        audit.record(db, user.name, "login", f"ip:{ip}")
        response = JSONResponse({"token": token, "expires": expires, "name": user.name, "role": user.role})
        response.set_cookie(
            COOKIE_NAME,
            token,
            max_age=max(1, int(token_ttl)),
            httponly=True,
            samesite="strict",
            secure=secure_cookies,
        )
        return response

    # -- authenticated ----------------------------------------------------------------------
    @app.post("/auth/logout", tags=["auth"])
    def logout(user: CurrentUser, request: Request) -> JSONResponse:
        """Revoke the token used for this request."""
        token = _token_from_scope(request.scope)
        if token:
            revoke_token(db, token)
        audit.record(db, user.name, "logout")
        response = JSONResponse({"status": "logged out"})
        response.delete_cookie(COOKIE_NAME)
        return response

    @app.get("/me", tags=["auth"])
    def me(user: CurrentUser) -> dict[str, Any]:
        """The logged-in user."""
        return {"name": user.name, "role": user.role}

    @app.get("/users", tags=["admin"])
    def list_users(user: CurrentUser) -> list[dict[str, Any]]:
        """All accounts (admin)."""
        _admin(user)
        audit.record(db, user.name, "view_users")
        return [dict(r) for r in db.all("SELECT name, role, created FROM users ORDER BY name")]

    @app.post("/users", tags=["admin"], status_code=201)
    def add_user(user: CurrentUser, body: NewUser) -> dict[str, Any]:
        """Create an account (admin)."""
        _admin(user)
        new = create_user(db, body.name, body.role, body.password)
        audit.record(db, user.name, "create_user", f"user:{new.name}", {"role": new.role})
        return {"name": new.name, "role": new.role}

    @app.get("/audit", tags=["admin"])
    def read_audit(
        user: CurrentUser, after_id: int = Query(0, ge=0, le=2**62), limit: int = Query(200, ge=1, le=5000)
    ) -> list[dict[str, Any]]:
        """The audit log, oldest first (admin)."""
        _admin(user)
        audit.record(db, user.name, "view_audit")
        return audit.entries(db, limit, after_id)

    @app.get("/sessions", tags=["sessions"])
    def list_sessions(user: CurrentUser) -> list[dict[str, Any]]:
        """Sessions the user belongs to (all, for admins)."""
        return store.sessions_for(db, user)

    @app.post("/sessions", tags=["sessions"], status_code=201)
    def new_session(user: CurrentUser, body: NewSession) -> dict[str, Any]:
        """Create a session (operators and admins); the creator becomes its operator."""
        if user.role not in ("operator", "admin"):
            raise AuthError(403, "only operators and admins create sessions")
        sid = store.create_session(db, body.name, user)
        audit.record(db, user.name, "create_session", f"session:{sid}", body.name)
        return store.session_info(db, sid) or {}

    @app.get("/sessions/{sid}", tags=["sessions"])
    def get_session(user: CurrentUser, sid: str) -> dict[str, Any]:
        """A session and its members."""
        require_member(db, sid, user)
        return store.session_info(db, sid) or {}

    @app.post("/sessions/{sid}/members", tags=["sessions"], status_code=201)
    def add_member(user: CurrentUser, sid: str, body: NewMember) -> dict[str, Any]:
        """Add a user to the session (session operators)."""
        require_member(db, sid, user, ("operator",))
        store.add_member(db, sid, body.name, body.role)
        audit.record(db, user.name, "add_member", f"session:{sid}", {"name": body.name, "role": body.role})
        hub.refresh(sid, lambda u: visible_dreamers(db, sid, u))
        return store.session_info(db, sid) or {}

    @app.post("/sessions/{sid}/grants", tags=["privacy"], status_code=201)
    def add_grant(user: CurrentUser, sid: str, body: GrantBody) -> dict[str, Any]:
        """Let the whole session (no grantee) or one member see your data (dreamers)."""
        require_member(db, sid, user, ("dreamer",))
        store.grant(db, sid, user, body.grantee)
        audit.record(db, user.name, "grant", f"session:{sid}", {"grantee": body.grantee})
        hub.refresh(sid, lambda u: visible_dreamers(db, sid, u))
        return {"dreamer": user.name, "grants": store.grants_of(db, sid, user)}

    @app.delete("/sessions/{sid}/grants", tags=["privacy"])
    def remove_grant(
        user: CurrentUser, sid: str, grantee: str | None = Query(None, max_length=64)
    ) -> dict[str, Any]:
        """Withdraw a grant (dreamers)."""
        require_member(db, sid, user, ("dreamer",))
        store.revoke(db, sid, user, grantee)
        audit.record(db, user.name, "revoke", f"session:{sid}", {"grantee": grantee})
        hub.refresh(sid, lambda u: visible_dreamers(db, sid, u))
        return {"dreamer": user.name, "grants": store.grants_of(db, sid, user)}

    @app.get("/sessions/{sid}/dreamers", tags=["sessions"])
    def list_dreamers(user: CurrentUser, sid: str) -> list[dict[str, Any]]:
        """The session's dreamers; stage, readiness and connection only for those you may see."""
        require_member(db, sid, user)
        visible = visible_dreamers(db, sid, user)
        out = []
        for r in db.all(
            "SELECT u.name FROM members m JOIN users u ON u.id = m.user_id "
            "WHERE m.session_id = ? AND m.role = 'dreamer' ORDER BY u.name",
            (sid,),
        ):
            item: dict[str, Any] = {"name": r["name"], "visible": r["name"] in visible}
            if r["name"] in visible:
                st = store.rig_state(db, sid, r["name"])
                item.update(
                    stage=st["stage"],
                    ready=bool(st["ready"]),
                    last_seq=st["last_seq"],
                    connected=hub.rig_connected(sid, r["name"]),
                )
            out.append(item)
        return out

    @app.get("/sessions/{sid}/dreamers/{dreamer}/events", tags=["data"])
    def get_events(
        user: CurrentUser,
        sid: str,
        dreamer: str,
        after_id: int = Query(0, ge=0, le=2**62),
        limit: int = Query(1000, ge=1, le=10000),
        trial_type: str | None = Query(None, max_length=64),
    ) -> list[dict[str, Any]]:
        """A dreamer's stored events (stages, detections, cues, relay hops), oldest first."""
        _see(sid, dreamer, user)
        audit.record(db, user.name, "view_events", f"session:{sid}/dreamer:{dreamer}")
        return store.events(db, sid, dreamer, after_id, limit, trial_type)

    @app.get("/sessions/{sid}/dreamers/{dreamer}/signals", tags=["data"])
    def get_signals(
        user: CurrentUser,
        sid: str,
        dreamer: str,
        after_seq: int = Query(0, ge=0, le=2**62),
        limit: int = Query(200, ge=1, le=2000),
    ) -> list[dict[str, Any]]:
        """A dreamer's stored decimated signal blocks (base64 float32, channel-major, volts)."""
        _see(sid, dreamer, user)
        audit.record(db, user.name, "view_signals", f"session:{sid}/dreamer:{dreamer}")
        return store.signal_blocks(db, sid, dreamer, after_seq, limit)

    @app.get("/sessions/{sid}/dreamers/{dreamer}/coverage", tags=["data"])
    def get_coverage(user: CurrentUser, sid: str, dreamer: str) -> dict[str, Any]:
        """Samples received from a dreamer's rig, with gaps and overlaps (should both be 0)."""
        _see(sid, dreamer, user)
        audit.record(db, user.name, "view_coverage", f"session:{sid}/dreamer:{dreamer}")
        return {**store.sample_coverage(db, sid, dreamer), **store.rig_state(db, sid, dreamer)}

    @app.get("/sessions/{sid}/relays", tags=["relay"])
    def get_relays(user: CurrentUser, sid: str) -> list[dict[str, Any]]:
        """Relayed messages of the session involving dreamers you may see."""
        require_member(db, sid, user)
        audit.record(db, user.name, "view_relays", f"session:{sid}")
        return relay.list(sid, visible_dreamers(db, sid, user))

    @app.post("/sessions/{sid}/messages", tags=["relay"], status_code=201)
    async def send_message(user: CurrentUser, sid: str, body: MessageBody) -> dict[str, Any]:
        """Send a message to a dreamer of the session (session operators); it is delivered as a cue
        when the dreamer's design allows, and acknowledged when they signal receipt."""
        require_member(db, sid, user, ("operator",))
        row = await relay.submit(sid, "operator", user.name, body.to, body.text, body.ttl)
        audit.record(
            db, user.name, "send_message", f"session:{sid}/dreamer:{body.to}", {"relay_id": row["id"]}
        )
        return row

    # -- WebSockets -------------------------------------------------------------------------
    def _ws_user(ws: WebSocket) -> User:
        return ws.scope["state"]["user"]

    async def _ws_refuse(ws: WebSocket, err: AuthError) -> None:
        await ws.close(code=4403 if err.status == 403 else 4404, reason=err.message[:120])

    @app.websocket("/ws/rig/{sid}")
    async def ws_rig(ws: WebSocket, sid: str) -> None:
        """A dreamer's rig streams numbered frames and receives cues and acknowledgements."""
        user = _ws_user(ws)
        try:
            require_member(db, sid, user, ("dreamer",))
            if user.role != "dreamer":
                raise AuthError(403, "only dreamer accounts run rigs")
        except AuthError as err:
            await _ws_refuse(ws, err)
            return
        await ws.accept()
        dreamer = user.name
        lock = asyncio.Lock()

        async def send(frame: dict[str, Any]) -> None:
            async with lock:
                await ws.send_text(proto.dumps(frame))

        try:
            hello = await asyncio.wait_for(ws.receive(), HELLO_TIMEOUT_SEC)
        except TimeoutError:
            await send({"type": "error", "code": "no_hello", "message": "send a hello frame first"})
            await ws.close(1008)
            return
        if hello["type"] == "websocket.disconnect":
            return
        try:
            first = proto.parse_rig_frame(hello.get("text", hello.get("bytes")))
            if not isinstance(first, proto.Hello):
                raise proto.ProtocolError("no_hello", "the first frame must be {'type': 'hello'}")
            if first.protocol != proto.PROTOCOL_VERSION:
                raise proto.ProtocolError(
                    "bad_protocol",
                    f"protocol {first.protocol} unsupported; "
                    f"this server speaks {proto.PROTOCOL_VERSION}: upgrade the rig",
                )
            if first.dreamer not in (None, dreamer):
                raise proto.ProtocolError(
                    "wrong_dreamer", f"this token belongs to {dreamer!r}, not {first.dreamer!r}"
                )
        except proto.ProtocolError as err:
            await send(err.frame())
            await ws.close(1008)
            return
        state = store.rig_state(db, sid, dreamer)
        hub.attach_rig(sid, dreamer, send)
        audit.record(db, dreamer, "rig_connect", f"session:{sid}", {"last_seq": state["last_seq"]})
        await send(
            {
                "type": "welcome",
                "session": sid,
                "dreamer": dreamer,
                "last_seq": state["last_seq"],
                "src_end": state["src_end"],
                "protocol": proto.PROTOCOL_VERSION,
            }
        )
        hub.publish(sid, dreamer, {"type": "rig", "connected": True})
        await relay.rig_connected(sid, dreamer)
        await controls.rig_connected(sid, dreamer)
        errors = 0
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                try:
                    frame = proto.parse_rig_frame(message.get("text", message.get("bytes")))
                    if isinstance(frame, proto.Hello):
                        raise proto.ProtocolError("hello_again", "hello is only accepted as the first frame")
                    result = store.ingest(db, sid, dreamer, frame)
                    await _after_ingest(sid, dreamer, frame, result)
                except proto.ProtocolError as err:
                    errors += 1
                    await send(err.frame())
                    if err.code == "frame_too_large":
                        await ws.close(1009)
                        break
                    if errors > MAX_ERRORS:
                        await ws.close(1008, "too many protocol errors")
                        break
                    continue
                await send({"type": "ack", "seq": result.last_seq})
        except WebSocketDisconnect:
            pass
        finally:
            hub.detach_rig(sid, dreamer, send)
            hub.publish(sid, dreamer, {"type": "rig", "connected": False})
            audit.record(db, dreamer, "rig_disconnect", f"session:{sid}")

    async def _after_ingest(sid: str, dreamer: str, frame: Any, result: store.IngestResult) -> None:
        stored = result.status == "stored"
        if isinstance(frame, proto.RelayFrame):  # idempotent: also re-run for replays
            try:
                await relay.submit(
                    sid,
                    "dreamer",
                    dreamer,
                    frame.to,
                    frame.text,
                    frame.ttl,
                    origin_seq=frame.seq,
                    revises=frame.revises,
                )
            except RelayError as err:
                raise proto.ProtocolError("relay_refused", str(err), frame.seq) from None
        elif isinstance(frame, proto.ReceiptFrame):
            try:
                await relay.receipt(sid, dreamer, frame.relay_id)
            except RelayError as err:
                raise proto.ProtocolError("relay_refused", str(err), frame.seq) from None
        elif isinstance(frame, proto.ControlAckFrame):
            controls.ack(sid, dreamer, frame.control_id)
        if not stored:
            return
        if isinstance(frame, proto.SignalFrame):
            hub.publish(
                sid,
                dreamer,
                {
                    "type": "signal",
                    "src_first": frame.src_first,
                    "src_n": frame.src_n,
                    "first": frame.first,
                    "n": frame.n,
                    "sfreq": frame.sfreq,
                    "ch_names": frame.ch_names,
                    "data": frame.data,
                    "wall": frame.wall,
                },
            )
        elif isinstance(frame, proto.EventFrame):
            hub.publish(
                sid,
                dreamer,
                {"type": "event", "event": frame.event.model_dump(), "wall": frame.wall, "seq": frame.seq},
            )
        elif isinstance(frame, proto.StateFrame):
            hub.publish(
                sid,
                dreamer,
                {"type": "state", "ready": frame.ready, "stage": frame.stage, "wall": frame.wall},
            )
            if frame.ready:
                await relay.try_deliver(sid, dreamer)
        for note in result.notes:
            hub.publish(
                sid, dreamer, {"type": "event", "event": {"trial_type": note["trial_type"], "data": note}}
            )

    @app.websocket("/ws/sessions/{sid}")
    async def ws_session(ws: WebSocket, sid: str) -> None:
        """Live feed of a session for its members; operators may send ``send_message`` frames."""
        user = _ws_user(ws)
        try:
            role = require_member(db, sid, user)
        except AuthError as err:
            await _ws_refuse(ws, err)
            return
        await ws.accept()
        sub = Subscriber(user, sid, visible_dreamers(db, sid, user))
        hub.subscribe(sub)
        audit.record(db, user.name, "subscribe", f"session:{sid}", {"visible": sorted(sub.visible)})
        await ws.send_text(
            proto.dumps({"type": "welcome", "session": sid, "role": role, "visible": sorted(sub.visible)})
        )

        async def pump() -> None:
            while True:
                text, _ = await sub.queue.get()
                await ws.send_text(text)

        pump_task = asyncio.create_task(pump())
        errors = 0
        try:
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                try:
                    frame = proto.parse_subscriber_frame(message.get("text", message.get("bytes")))
                    if isinstance(frame, proto.Ping):
                        sub.queue.put_nowait((proto.dumps({"type": "pong", "time": time.time()}), False))
                    elif isinstance(frame, proto.SendMessage):
                        if role != "operator":
                            raise proto.ProtocolError("forbidden", "only session operators send messages")
                        try:
                            row = await relay.submit(
                                sid, "operator", user.name, frame.to, frame.text, frame.ttl
                            )
                        except RelayError as err:
                            raise proto.ProtocolError("relay_refused", str(err)) from None
                        audit.record(
                            db,
                            user.name,
                            "send_message",
                            f"session:{sid}/dreamer:{frame.to}",
                            {"relay_id": row["id"]},
                        )
                        sub.queue.put_nowait((proto.dumps({"type": "message_queued", "relay": row}), False))
                except proto.ProtocolError as err:
                    errors += 1
                    sub.queue.put_nowait((proto.dumps(err.frame()), False))
                    if err.code == "frame_too_large" or errors > MAX_ERRORS:
                        await asyncio.sleep(0.05)
                        await ws.close(1009 if err.code == "frame_too_large" else 1008)
                        break
        except WebSocketDisconnect:
            pass
        finally:
            pump_task.cancel()
            hub.unsubscribe(sub)

    return app


def _admin(user: User) -> None:
    if not user.is_admin:
        raise AuthError(403, "admin role required")
