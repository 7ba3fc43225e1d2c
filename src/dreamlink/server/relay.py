"""Relay of messages between dreamers (and from operators to dreamers), hop by hop.

A message from dreamer A (decoded from eye or EMG codes by A's rig) or from an operator is
**queued** for dreamer B with an expiry. It is **delivered** as a ``cue`` frame to B's rig only when B's
rig says B is ready (its design decides, e.g. stable REM and an LRLR "ready" signal; sent in ``state``
frames). When B signals receipt (a ``receipt`` frame from B's rig) the message is **acknowledged**
back to A (a ``relay_ack`` frame, which A's rig turns into a cue) or to the operators. A message not
acknowledged before its expiry **expires** and the sender is told.

A dreamer's rig may send a **revision**: the detector read a message again, whole, after a first
reading that ended early ("F", then "FLY"), and the rig relays the new text with ``revises`` naming the
text it had relayed before. The revised relay is the sender's most recent one to the same recipient in
the session with that text. The revision is always a new relay (``revises_id`` points to the revised
one). If the revised relay is still queued, nobody heard it: it is **superseded** (never delivered,
redelivered, expired or acknowledged afterwards; a ``relay_revised`` hop records it) and the revision
goes out as a plain message. If it was already delivered, the revision's ``cue`` frame carries
``revises`` (the earlier text), so the recipient's rig presents it as a correction. If no such relay
exists, the revision is a plain message.

Every hop is persisted as an :class:`~dreamlink.events.Event`-shaped row (``relay_sent``,
``relay_queued``, ``relay_delivered``, ``relay_ack``, ``relay_expired``, ``relay_revised``) with the
session-time onset and the wall time, so the morning report can show the exchange; and each hop is
published to live subscribers. Delivery is at-least-once (a rig that reconnects gets unacknowledged
cues again); rigs deduplicate by ``relay_id``, and a repeated receipt is ignored, so the effect is
exactly once.

Statuses of a relay: ``queued`` → ``delivered`` → ``acked``; ``queued`` or ``delivered`` →
``expired``; ``queued`` → ``superseded`` (final, replaced by a revision before delivery).

Hop events are stored under the dreamer at whose end the hop happens: ``relay_sent``,
``relay_revised`` and ``relay_ack`` under the sending dreamer (or the recipient when an operator
sent), the others under the recipient.
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
    def _hop(
        self,
        session_id: str,
        dreamer: str,
        kind: str,
        relay: dict[str, Any],
        extra: dict[str, Any] | None = None,
    ) -> None:
        data = {
            "relay_id": relay["id"],
            "sender": relay["sender"],
            "sender_kind": relay["sender_kind"],
            "recipient": relay["recipient"],
            "wall": now(),
            **(extra or {}),
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
        revises: str | None = None,
    ) -> dict[str, Any]:
        """Queue a message for ``recipient`` and try to deliver it; returns the relay row.

        A repeated submission with the same ``(sender, origin_seq)`` returns the first one.

        Parameters
        ----------
        session_id, sender_kind, sender, recipient, text
            The session, who sends (``dreamer`` or ``operator`` and their name), to which dreamer, what.
        ttl : float
            Seconds before an unacknowledged message expires.
        origin_seq : int | None
            The sending rig's frame number (deduplicates replayed frames).
        revises : str | None
            The text of an earlier message from ``sender`` to ``recipient`` that this one replaces: a
            still queued one is superseded (never delivered), a delivered one is corrected (the cue
            carries ``revises``). See the module docstring.

        Raises
        ------
        RelayError
            When ``recipient`` is not a dreamer of the session.
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
        earlier = None
        if revises is not None:
            found = self.db.one(
                "SELECT * FROM relays WHERE session_id = ? AND sender_kind = ? AND sender = ? "
                "AND recipient = ? AND text = ? ORDER BY id DESC LIMIT 1",
                (session_id, sender_kind, sender, recipient, revises),
            )
            earlier = dict(found) if found is not None else None
        t = now()
        cur = self.db.execute(
            "INSERT INTO relays (session_id, sender_kind, sender, recipient, text, created, expires, status, "
            "origin_seq, revises_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
            (
                session_id,
                sender_kind,
                sender,
                recipient,
                text,
                t,
                t + ttl,
                origin_seq,
                earlier["id"] if earlier else None,
            ),
        )
        relay = self._row(int(cur.lastrowid))
        assert relay is not None
        about = {"revises": earlier["text"], "revises_id": earlier["id"]} if earlier else None
        self._hop(session_id, self._sender_timeline(relay), "relay_sent", relay, about)
        if earlier is not None:
            # only a relay nobody has heard yet is withdrawn (conditional: a delivery may have won)
            withdrawn = self.db.execute(
                "UPDATE relays SET status = 'superseded' WHERE id = ? AND status = 'queued'",
                (earlier["id"],),
            )
            if withdrawn.rowcount:
                earlier = self._row(earlier["id"]) or earlier
                self._hop(
                    session_id,
                    self._sender_timeline(earlier),
                    "relay_revised",
                    earlier,
                    {"revised_by": relay["id"], "revision": text},
                )
        self._hop(session_id, recipient, "relay_queued", relay, about)
        await self.try_deliver(session_id, recipient)
        return self._row(relay["id"]) or relay

    def _corrects(self, relay: dict[str, Any]) -> str | None:
        """The text a relay corrects: that of the relay it revises, if that one was delivered."""
        if relay.get("revises_id") is None:
            return None
        earlier = self._row(int(relay["revises_id"]))
        if earlier is None or earlier["delivered"] is None:  # superseded (or expired) before delivery
            return None
        return str(earlier["text"])

    async def try_deliver(self, session_id: str, recipient: str, redeliver: bool = False) -> int:
        """Deliver queued (and, with ``redeliver``, delivered-but-unacknowledged) messages to a ready,
        connected rig; returns how many cue frames were sent. Superseded messages are never sent; a
        revision of a delivered message carries ``revises`` (the earlier text)."""
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
            corrects = self._corrects(relay)
            if corrects is not None:
                frame["revises"] = corrects
            if not await self.hub.send_to_rig(session_id, recipient, frame):
                break
            sent += 1
            if relay["status"] == "queued":
                # unconditional: the cue went out, even if a revision superseded it meanwhile (a
                # revision delivered after this is then a correction, see _corrects)
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
        if relay["status"] in ("acked", "expired", "superseded"):
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
