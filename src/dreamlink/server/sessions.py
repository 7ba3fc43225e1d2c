"""Sessions: who is in them, who granted what, and the data rigs stream into them.

A session holds dreamers (each runs a rig), operators and observers. Rig data arrives as numbered
frames (see :mod:`dreamlink.server.protocol`); :func:`ingest` stores a frame and advances the rig's
``last_seq`` in **one transaction**, so a server killed at any moment either has the frame and the
new high-water mark or neither, and a replay after restart is recognised as a duplicate by
``(session, dreamer, seq)``.

Times: rig events keep the rig's own time base (seconds from its recording start) in ``onset``;
every stored row also has ``wall`` (POSIX seconds at the server). Server-made events (relay hops)
use the session time base, seconds since the session's ``started`` wall time.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from dreamlink.errors import ConfigError
from dreamlink.server import protocol as proto
from dreamlink.server.auth import SESSION_ROLES, User, get_user
from dreamlink.server.db import Database, now


@dataclass(frozen=True)
class IngestResult:
    """Outcome of :func:`ingest`: ``stored`` or ``duplicate``, and the rig's ``last_seq`` after it."""

    status: str
    last_seq: int
    notes: tuple[dict[str, Any], ...] = ()


def create_session(db: Database, name: str, creator: User) -> str:
    """Create a session with ``creator`` as its first operator; returns its id."""
    sid = secrets.token_hex(6)
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO sessions (id, name, created_by, created, started) VALUES (?, ?, ?, ?, ?)",
            (sid, name, creator.id, now(), now()),
        )
        if creator.role in ("operator", "admin"):
            conn.execute(
                "INSERT INTO members (session_id, user_id, role) VALUES (?, ?, 'operator')", (sid, creator.id)
            )
    return sid


def session_info(db: Database, session_id: str) -> dict[str, Any] | None:
    """Id, name, creation time and members of a session, or ``None``."""
    row = db.one("SELECT id, name, created, started, status FROM sessions WHERE id = ?", (session_id,))
    if row is None:
        return None
    members = db.all(
        "SELECT u.name, m.role FROM members m JOIN users u ON u.id = m.user_id WHERE m.session_id = ? "
        "ORDER BY u.name",
        (session_id,),
    )
    return {**dict(row), "members": [dict(m) for m in members]}


def sessions_for(db: Database, user: User) -> list[dict[str, Any]]:
    """Sessions ``user`` belongs to (every session for admins)."""
    if user.is_admin:
        rows = db.all("SELECT id, name, created, status FROM sessions ORDER BY created")
    else:
        rows = db.all(
            "SELECT s.id, s.name, s.created, s.status FROM sessions s JOIN members m ON m.session_id = s.id "
            "WHERE m.user_id = ? ORDER BY s.created",
            (user.id,),
        )
    return [dict(r) for r in rows]


def add_member(db: Database, session_id: str, name: str, role: str) -> None:
    """Add user ``name`` to a session with ``role`` (operator, observer, dreamer).

    Raises
    ------
    ConfigError
        Unknown user, unknown role, or a role the account cannot take (only dreamer accounts join as
        dreamers; dreamer accounts join only as dreamers).
    """
    if role not in SESSION_ROLES:
        raise ConfigError(f"unknown session role {role!r}; choose one of: {', '.join(SESSION_ROLES)}")
    user = get_user(db, name)
    if user is None:
        raise ConfigError(f"no user {name!r}; create it first with `dreamlink user add`")
    if (role == "dreamer") != (user.role == "dreamer"):
        raise ConfigError(f"user {name!r} has role {user.role} and cannot join as {role}")
    db.execute(
        "INSERT INTO members (session_id, user_id, role) VALUES (?, ?, ?) "
        "ON CONFLICT (session_id, user_id) DO UPDATE SET role = excluded.role",
        (session_id, user.id, role),
    )
    if role == "dreamer":
        db.execute(
            "INSERT OR IGNORE INTO rigs (session_id, dreamer, updated) VALUES (?, ?, ?)",
            (session_id, name, now()),
        )


def grant(db: Database, session_id: str, dreamer: User, grantee: str | None) -> None:
    """Let the whole session (``grantee=None``) or one member see ``dreamer``'s data."""
    grantee_id = None
    if grantee is not None:
        user = get_user(db, grantee)
        if user is None:
            raise ConfigError(f"no user {grantee!r} to grant access to")
        grantee_id = user.id
    exists = db.one(
        "SELECT 1 FROM grants WHERE dreamer_id = ? AND session_id = ? AND grantee_id IS ?",
        (dreamer.id, session_id, grantee_id),
    )
    if not exists:
        db.execute(
            "INSERT INTO grants (dreamer_id, session_id, grantee_id, created) VALUES (?, ?, ?, ?)",
            (dreamer.id, session_id, grantee_id, now()),
        )


def revoke(db: Database, session_id: str, dreamer: User, grantee: str | None) -> None:
    """Withdraw a grant made by :func:`grant`."""
    grantee_id = None
    if grantee is not None:
        user = get_user(db, grantee)
        grantee_id = user.id if user else -1
    db.execute(
        "DELETE FROM grants WHERE dreamer_id = ? AND session_id = ? AND grantee_id IS ?",
        (dreamer.id, session_id, grantee_id),
    )


def grants_of(db: Database, session_id: str, dreamer: User) -> list[str | None]:
    """Grantees of ``dreamer`` in a session (``None`` = the whole session)."""
    rows = db.all(
        "SELECT u.name FROM grants g LEFT JOIN users u ON u.id = g.grantee_id "
        "WHERE g.session_id = ? AND g.dreamer_id = ?",
        (session_id, dreamer.id),
    )
    return [r["name"] for r in rows]


def session_clock(db: Database, session_id: str) -> float:
    """Seconds since the session started (the session time base)."""
    row = db.one("SELECT started FROM sessions WHERE id = ?", (session_id,))
    return now() - float(row["started"] if row and row["started"] else now())


# -- rig data ---------------------------------------------------------------------------------
def rig_state(db: Database, session_id: str, dreamer: str) -> dict[str, Any]:
    """The rig's stored high-water marks and readiness (created on first use)."""
    db.execute(
        "INSERT OR IGNORE INTO rigs (session_id, dreamer, updated) VALUES (?, ?, ?)",
        (session_id, dreamer, now()),
    )
    row = db.one("SELECT * FROM rigs WHERE session_id = ? AND dreamer = ?", (session_id, dreamer))
    return dict(row)


def ingest(db: Database, session_id: str, dreamer: str, frame: Any) -> IngestResult:
    """Store one numbered rig frame exactly once.

    Raises
    ------
    ProtocolError
        ``seq_gap`` when ``frame.seq`` skips numbers (the rig must resend from ``last_seq + 1``).
    """
    wall = now()
    notes: list[dict[str, Any]] = []
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT last_seq, src_end FROM rigs WHERE session_id = ? AND dreamer = ?", (session_id, dreamer)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO rigs (session_id, dreamer, updated) VALUES (?, ?, ?)",
                (session_id, dreamer, wall),
            )
            last_seq, src_end = 0, 0
        else:
            last_seq, src_end = int(row["last_seq"]), int(row["src_end"])
        if frame.seq <= last_seq:
            return IngestResult("duplicate", last_seq)
        if frame.seq != last_seq + 1:
            raise proto.ProtocolError(
                "seq_gap",
                f"expected seq {last_seq + 1}, got {frame.seq}: resend from {last_seq + 1}",
                frame.seq,
            )
        if isinstance(frame, proto.SignalFrame):
            if frame.src_first != src_end:
                kind = "signal_gap" if frame.src_first > src_end else "signal_overlap"
                notes.append({"trial_type": kind, "expected": src_end, "got": frame.src_first})
            conn.execute(
                "INSERT INTO signal_blocks (session_id, dreamer, seq, src_first, src_n, first, n, sfreq, "
                "ch_names, data, received) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    session_id,
                    dreamer,
                    frame.seq,
                    frame.src_first,
                    frame.src_n,
                    frame.first,
                    frame.n,
                    frame.sfreq,
                    json.dumps(frame.ch_names),
                    frame.data,
                    wall,
                ),
            )
            src_end = max(src_end, frame.src_first + frame.src_n)
        elif isinstance(frame, proto.EventFrame):
            _insert_event(conn, session_id, dreamer, frame.seq, frame.event.model_dump(), wall)
        elif isinstance(frame, proto.StateFrame):
            conn.execute(
                "UPDATE rigs SET ready = ?, stage = ? WHERE session_id = ? AND dreamer = ?",
                (int(frame.ready), frame.stage, session_id, dreamer),
            )
        # relay and receipt frames are stored by the relay service (same transaction is not needed:
        # the relay table has its own dedup on (session, sender, origin_seq)).
        for note in notes:
            _insert_event(
                conn,
                session_id,
                dreamer,
                None,
                {
                    "onset": 0.0,
                    "trial_type": note["trial_type"],
                    "value": note["got"],
                    "source": "server",
                    "data": note,
                },
                wall,
            )
        conn.execute(
            "UPDATE rigs SET last_seq = ?, src_end = ?, updated = ? WHERE session_id = ? AND dreamer = ?",
            (frame.seq, src_end, wall, session_id, dreamer),
        )
    return IngestResult("stored", frame.seq, tuple(notes))


def _insert_event(
    conn: Any, session_id: str, dreamer: str, seq: int | None, ev: dict[str, Any], wall: float
) -> None:
    value = ev.get("value")
    conn.execute(
        "INSERT INTO events (session_id, dreamer, seq, onset, duration, trial_type, value, confidence, "
        "source, data, wall) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            session_id,
            dreamer,
            seq,
            float(ev.get("onset", 0.0)),
            float(ev.get("duration") or 0.0),
            ev["trial_type"],
            None if value is None else json.dumps(value),
            ev.get("confidence"),
            ev.get("source", ""),
            json.dumps(ev.get("data") or {}, default=str),
            wall,
        ),
    )


def add_server_event(
    db: Database,
    session_id: str,
    dreamer: str,
    trial_type: str,
    value: Any = None,
    data: dict[str, Any] | None = None,
    source: str = "server",
) -> dict[str, Any]:
    """Persist an event made by the server (relay hops...) in the session time base; returns it."""
    ev = {
        "onset": round(session_clock(db, session_id), 3),
        "duration": 0.0,
        "trial_type": trial_type,
        "value": value,
        "confidence": None,
        "source": source,
        "data": data or {},
    }
    with db.transaction() as conn:
        _insert_event(conn, session_id, dreamer, None, ev, now())
    return ev


def events(
    db: Database,
    session_id: str,
    dreamer: str,
    after_id: int = 0,
    limit: int = 1000,
    trial_type: str | None = None,
) -> list[dict[str, Any]]:
    """Stored events of one dreamer (``id > after_id``), oldest first."""
    sql = (
        "SELECT id, seq, onset, duration, trial_type, value, confidence, source, data, wall FROM events "
        "WHERE session_id = ? AND dreamer = ? AND id > ?"
    )
    params: list[Any] = [session_id, dreamer, after_id]
    if trial_type:
        sql += " AND trial_type = ?"
        params.append(trial_type)
    sql += " ORDER BY id LIMIT ?"
    params.append(limit)
    out = []
    for r in db.all(sql, params):
        d = dict(r)
        d["value"] = json.loads(d["value"]) if d["value"] is not None else None
        d["data"] = json.loads(d["data"]) if d["data"] else {}
        out.append(d)
    return out


def signal_blocks(
    db: Database, session_id: str, dreamer: str, after_seq: int = 0, limit: int = 200
) -> list[dict[str, Any]]:
    """Stored decimated blocks of one dreamer (``seq > after_seq``), oldest first."""
    rows = db.all(
        "SELECT seq, src_first, src_n, first, n, sfreq, ch_names, data, received FROM signal_blocks "
        "WHERE session_id = ? AND dreamer = ? AND seq > ? ORDER BY seq LIMIT ?",
        (session_id, dreamer, after_seq, limit),
    )
    return [{**dict(r), "ch_names": json.loads(r["ch_names"])} for r in rows]


def sample_coverage(db: Database, session_id: str, dreamer: str) -> dict[str, int]:
    """Source samples received: ``total`` (sum of block lengths), ``end`` (highest), and ``gaps``/``overlaps``
    found by walking the blocks in order: the proof that no sample was lost or duplicated."""
    rows = db.all(
        "SELECT src_first, src_n FROM signal_blocks WHERE session_id = ? AND dreamer = ? ORDER BY seq",
        (session_id, dreamer),
    )
    end = total = gaps = overlaps = 0
    for r in rows:
        if r["src_first"] > end:
            gaps += r["src_first"] - end
        elif r["src_first"] < end:
            overlaps += end - r["src_first"]
        total += r["src_n"]
        end = max(end, r["src_first"] + r["src_n"])
    return {"total": total, "end": end, "gaps": gaps, "overlaps": overlaps, "blocks": len(rows)}
