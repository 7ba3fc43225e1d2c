"""Relay of messages between dreamers (and from operators to dreamers), hop by hop.

A message from dreamer A (decoded from eye or EMG codes by A's rig) or from an operator is
**queued** for dreamer B with an expiry. It is **delivered** as a ``cue`` frame to B's rig only when B's
rig says B is ready (its design decides, e.g. stable REM and an LRLR "ready" signal; sent in ``state``
frames). When B signals receipt (a ``receipt`` frame from B's rig) the message is **acknowledged**
back to A (a ``relay_ack`` frame, which A's rig turns into a cue) or to the operators. A message not
acknowledged before its expiry **expires** and the sender is told.

Every hop is persisted as an :class:`~dreamlink.events.Event`-shaped row (``relay_sent``,
``relay_queued``, ``relay_delivered``, ``relay_ack``, ``relay_expired``) with the session-time onset and
the wall time, so the morning report can show the exchange; and each hop is published to live
subscribers. Delivery is at-least-once (a rig that reconnects gets unacknowledged cues again);
rigs deduplicate by ``relay_id``, and a repeated receipt is ignored, so the effect is exactly once.

Hop events are stored under the dreamer at whose end the hop happens: ``relay_sent`` and
``relay_ack`` under the sending dreamer (or the recipient when an operator sent), the others under
the recipient.
"""

from __future__ import annotations

import logging
from typing import Any

from dreamlink.server import sessions as store
from dreamlink.server.db import Database, now
from dreamlink.server.hub import Hub

log = logging.getLogger("dreamlink.server.relay")


class RelayError(Exception):
    """A relay request is invalid (unknown recipient, not in the session)."""


class RelayService:
    """Queue, deliver, acknowledge and expire relayed messages.

    Parameters
    ----------
    db : Database
        Where relays and their hop events are stored.
    hub : Hub
        Connected rigs and live subscribers.
    """

    def __init__(self, db: Database, hub: Hub) -> None:
        self.db = db
        self.hub = hub

    # -- helpers ----------------------------------------------------------------------------
    def _hop(self, session_id: str, dreamer: str, kind: str, relay: dict[str, Any]) -> None:
        data = {
            "relay_id": relay["id"],
            "sender": relay["sender"],
            "sender_kind": relay["sender_kind"],
            "recipient": relay["recipient"],
            "wall": now(),
        }
        ev = store.add_server_event(
            self.db, session_id, dreamer, kind, relay["text"], data, source="server.relay"
        )
        self.hub.publish(session_id, dreamer, {"type": "event", "event": ev})
        parties = {relay["recipient"]}
        if relay["sender_kind"] == "dreamer":
            parties.add(relay["sender"])
        self.hub.publish_any(session_id, parties, {"type": "relay", "hop": kind, "relay": relay})

    def _row(self, relay_id: int) -> dict[str, Any] | None:
        row = self.db.one("SELECT * FROM relays WHERE id = ?", (relay_id,))
        return dict(row) if row else None

    def _sender_timeline(self, relay: dict[str, Any]) -> str:
        return relay["sender"] if relay["sender_kind"] == "dreamer" else relay["recipient"]

    def is_dreamer(self, session_id: str, name: str) -> bool:
        """Whether ``name`` is a dreamer member of the session."""
        return (
            self.db.one(
                "SELECT 1 FROM members m JOIN users u ON u.id = m.user_id "
                "WHERE m.session_id = ? AND u.name = ? AND m.role = 'dreamer'",
                (session_id, name),
            )
            is not None
        )

    # -- hops -------------------------------------------------------------------------------
    async def submit(
        self,
        session_id: str,
        sender_kind: str,
        sender: str,
        recipient: str,
        text: str,
        ttl: float = 1800.0,
        origin_seq: int | None = None,
    ) -> dict[str, Any]:
        """Queue a message for ``recipient`` and try to deliver it; returns the relay row.

        A repeated submission with the same ``(sender, origin_seq)`` returns the first one.
        """
        if not self.is_dreamer(session_id, recipient):
            raise RelayError(f"{recipient!r} is not a dreamer of session {session_id}")
        if origin_seq is not None:
            row = self.db.one(
                "SELECT * FROM relays WHERE session_id = ? AND sender = ? AND origin_seq = ?",
                (session_id, sender, origin_seq),
            )
            if row is not None:
                return dict(row)
        t = now()
        cur = self.db.execute(
            "INSERT INTO relays (session_id, sender_kind, sender, recipient, text, created, expires, status, "
            "origin_seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
            (session_id, sender_kind, sender, recipient, text, t, t + ttl, origin_seq),
        )
        relay = self._row(int(cur.lastrowid))
        assert relay is not None
        self._hop(session_id, self._sender_timeline(relay), "relay_sent", relay)
        self._hop(session_id, recipient, "relay_queued", relay)
        await self.try_deliver(session_id, recipient)
        return self._row(relay["id"]) or relay

    async def try_deliver(self, session_id: str, recipient: str, redeliver: bool = False) -> int:
        """Deliver queued (and, with ``redeliver``, delivered-but-unacknowledged) messages to a ready,
        connected rig; returns how many cue frames were sent."""
        state = store.rig_state(self.db, session_id, recipient)
        if not state["ready"] or not self.hub.rig_connected(session_id, recipient):
            return 0
        statuses = ("queued", "delivered") if redeliver else ("queued",)
        rows = self.db.all(
            f"SELECT * FROM relays WHERE session_id = ? AND recipient = ? AND status IN "
            f"({','.join('?' * len(statuses))}) AND expires > ? ORDER BY id",
            (session_id, recipient, *statuses, now()),
        )
        sent = 0
        for row in rows:
            relay = dict(row)
            frame = {
                "type": "cue",
                "relay_id": relay["id"],
                "from": relay["sender"],
                "sender_kind": relay["sender_kind"],
                "text": relay["text"],
                "kind": "relay",
            }
            if not await self.hub.send_to_rig(session_id, recipient, frame):
                break
            sent += 1
            if relay["status"] == "queued":
                self.db.execute(
                    "UPDATE relays SET status = 'delivered', delivered = ? WHERE id = ?", (now(), relay["id"])
                )
                relay = self._row(relay["id"]) or relay
                self._hop(session_id, recipient, "relay_delivered", relay)
        return sent

    async def receipt(self, session_id: str, recipient: str, relay_id: int) -> dict[str, Any]:
        """The recipient signalled receipt: acknowledge to the sender (idempotent).

        Raises
        ------
        RelayError
            When the relay does not exist or is not addressed to ``recipient``.
        """
        relay = self._row(relay_id)
        if relay is None or relay["session_id"] != session_id or relay["recipient"] != recipient:
            raise RelayError(f"no relayed message {relay_id} for {recipient}")
        if relay["status"] in ("acked", "expired"):
            return relay
        self.db.execute("UPDATE relays SET status = 'acked', acked = ? WHERE id = ?", (now(), relay_id))
        relay = self._row(relay_id) or relay
        self._hop(session_id, self._sender_timeline(relay), "relay_ack", relay)
        await self.notify_sender(relay)
        return relay

    async def notify_sender(self, relay: dict[str, Any]) -> bool:
        """Tell a dreamer sender about an acknowledgement or expiry (kept pending while offline)."""
        if relay["sender_kind"] != "dreamer":
            self.db.execute("UPDATE relays SET ack_notified = 1 WHERE id = ?", (relay["id"],))
            return True
        kind = "relay_ack" if relay["status"] == "acked" else "relay_expired"
        frame = {"type": kind, "relay_id": relay["id"], "to": relay["recipient"], "text": relay["text"]}
        if await self.hub.send_to_rig(relay["session_id"], relay["sender"], frame):
            self.db.execute("UPDATE relays SET ack_notified = 1 WHERE id = ?", (relay["id"],))
            return True
        return False

    async def rig_connected(self, session_id: str, dreamer: str) -> None:
        """A rig (re)connected: send pending acknowledgements and redeliver unacknowledged cues."""
        rows = self.db.all(
            "SELECT * FROM relays WHERE session_id = ? AND sender = ? AND sender_kind = 'dreamer' "
            "AND status IN ('acked', 'expired') AND ack_notified = 0 ORDER BY id",
            (session_id, dreamer),
        )
        for row in rows:
            await self.notify_sender(dict(row))
        await self.try_deliver(session_id, dreamer, redeliver=True)

    async def expire(self) -> int:
        """Expire messages past their expiry that were not acknowledged; returns how many."""
        rows = self.db.all(
            "SELECT * FROM relays WHERE status IN ('queued', 'delivered') AND expires <= ?", (now(),)
        )
        for row in rows:
            self.db.execute(
                "UPDATE relays SET status = 'expired' WHERE id = ? AND status IN ('queued', 'delivered')",
                (row["id"],),
            )
            relay = self._row(row["id"]) or dict(row)
            self._hop(relay["session_id"], relay["recipient"], "relay_expired", relay)
            await self.notify_sender(relay)
        return len(rows)

    def list(self, session_id: str, visible: set[str]) -> list[dict[str, Any]]:
        """Relays of a session whose sender or recipient is in ``visible``."""
        rows = self.db.all("SELECT * FROM relays WHERE session_id = ? ORDER BY id", (session_id,))
        return [dict(r) for r in rows if r["recipient"] in visible or r["sender"] in visible]
