"""Operator controls for a dreamer's rig, delivered at least once and obeyed exactly once.

An operator's ``start``, ``pause``, ``abort``, ``wake_alarm`` or cue request becomes a ``control``
frame for the dreamer's rig. A frame written to a socket can still be lost when the connection drops
before the rig reads it, and an ``abort`` that silently never arrives is a safety problem. So each
control is stored with an id until the rig answers with a ``control_ack`` frame; a rig that
(re)connects is sent its pending controls again, in order. The rig records the ids it has obeyed
(in its crash-safe outbox, together with the control's effects), so a repeated frame is acknowledged
but not obeyed twice.

Controls expire: the state changes (``start``, ``pause``, ``abort``) keep for
:data:`STATE_CONTROL_TTL` (a whole night: an abort must reach a rig that comes back an hour later);
momentary ones (``cue``, ``wake_alarm``) for :data:`MOMENTARY_CONTROL_TTL`, because a cue or an alarm
played minutes after the operator asked would surprise the sleeper rather than help. An expired
control is recorded as a ``control_expired`` event on the dreamer's timeline and shown to the
operators.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from dreamlink.server import sessions as store
from dreamlink.server.db import Database, now
from dreamlink.server.hub import Hub

log = logging.getLogger("dreamlink.server.controls")

#: Seconds a start/pause/abort control waits for the rig (12 h).
STATE_CONTROL_TTL = 12 * 3600.0
#: Seconds a cue or wake-alarm control waits for the rig.
MOMENTARY_CONTROL_TTL = 60.0
#: Actions that change the rig's state (kept for :data:`STATE_CONTROL_TTL`).
STATE_ACTIONS = ("start", "pause", "abort")


def control_ttl(action: str) -> float:
    """Seconds a control of ``action`` stays deliverable."""
    return STATE_CONTROL_TTL if action in STATE_ACTIONS else MOMENTARY_CONTROL_TTL


class ControlService:
    """Store, send, resend, acknowledge and expire operator controls.

    Parameters
    ----------
    db : Database
        Where pending controls are kept.
    hub : Hub
        Connected rigs and live subscribers.
    """

    def __init__(self, db: Database, hub: Hub) -> None:
        self.db = db
        self.hub = hub

    def _row(self, control_id: int) -> dict[str, Any] | None:
        row = self.db.one("SELECT * FROM controls WHERE id = ?", (control_id,))
        return dict(row) if row else None

    async def submit(
        self, session_id: str, dreamer: str, frame: dict[str, Any], operator: str | None = None
    ) -> tuple[int, bool]:
        """Keep a ``control`` frame for the dreamer's rig and send it now if the rig is connected.

        Returns
        -------
        control_id : int
            The id the frame carries (``control_id``) and the rig acknowledges.
        sent : bool
            Whether it was written to a connected rig (it is resent on reconnect until acknowledged).
        """
        action = str(frame.get("action", ""))
        t = now()
        cur = self.db.execute(
            "INSERT INTO controls (session_id, dreamer, action, frame, operator, created, expires, status) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
            (session_id, dreamer, action, json.dumps(frame), operator, t, t + control_ttl(action)),
        )
        control_id = int(cur.lastrowid)
        return control_id, await self._send(session_id, dreamer, control_id, frame)

    async def _send(self, session_id: str, dreamer: str, control_id: int, frame: dict[str, Any]) -> bool:
        ok = await self.hub.send_to_rig(session_id, dreamer, {**frame, "control_id": control_id})
        if ok:
            self.db.execute("UPDATE controls SET sent = sent + 1 WHERE id = ?", (control_id,))
        return ok

    async def rig_connected(self, session_id: str, dreamer: str) -> int:
        """A rig (re)connected: send its pending, unexpired controls again in order; returns how many."""
        rows = self.db.all(
            "SELECT * FROM controls WHERE session_id = ? AND dreamer = ? AND status = 'pending' "
            "AND expires > ? ORDER BY id",
            (session_id, dreamer, now()),
        )
        sent = 0
        for row in rows:
            if not await self._send(session_id, dreamer, int(row["id"]), json.loads(row["frame"])):
                break
            sent += 1
        return sent

    def ack(self, session_id: str, dreamer: str, control_id: int) -> bool:
        """The rig obeyed control ``control_id``; ``False`` if it is not one of this rig's (ignored)."""
        row = self._row(control_id)
        if row is None or row["session_id"] != session_id or row["dreamer"] != dreamer:
            log.warning("control_ack for unknown control %s from %s/%s", control_id, session_id, dreamer)
            return False
        if row["status"] == "pending":
            self.db.execute(
                "UPDATE controls SET status = 'acked', acked = ? WHERE id = ?", (now(), control_id)
            )
        return True

    def expire(self) -> int:
        """Expire pending controls past their time: a ``control_expired`` event each; returns how many."""
        rows = self.db.all("SELECT * FROM controls WHERE status = 'pending' AND expires <= ?", (now(),))
        expired = 0
        for row in rows:
            cur = self.db.execute(
                "UPDATE controls SET status = 'expired' WHERE id = ? AND status = 'pending'", (row["id"],)
            )
            if cur.rowcount == 0:  # acknowledged meanwhile, or expired by another server process
                continue
            expired += 1
            data = {"control_id": row["id"], "operator": row["operator"], "sent": row["sent"]}
            ev = store.add_server_event(
                self.db, row["session_id"], row["dreamer"], "control_expired", row["action"], data,
                source="server.controls",
            )
            self.hub.publish(row["session_id"], row["dreamer"], {"type": "event", "event": ev})
        return expired

    def pending(self, session_id: str, dreamer: str) -> list[dict[str, Any]]:
        """The dreamer's controls still waiting for the rig, oldest first."""
        rows = self.db.all(
            "SELECT id, action, operator, created, expires, sent FROM controls "
            "WHERE session_id = ? AND dreamer = ? AND status = 'pending' ORDER BY id",
            (session_id, dreamer),
        )
        return [dict(r) for r in rows]
