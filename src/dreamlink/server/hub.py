"""Fan-out of live session data to every entitled subscriber, and the table of connected rigs.

Each subscriber (a dashboard tab, an operator tool) has a bounded queue and the set of dreamers it
may see (from :func:`dreamlink.server.auth.visible_dreamers`, refreshed when grants change). A frame is
serialised once and offered to every subscriber that may see its dreamer. When a subscriber falls
behind, ``signal`` frames are dropped for it (counted in ``dropped``; the stored copy stays complete
and can be fetched over REST) but events, states and relay frames are never dropped: they evict the
oldest queued signal frame instead.

Everything here runs on the server's one asyncio event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from dreamlink.server.auth import User
from dreamlink.server.protocol import dumps

log = logging.getLogger("dreamlink.server.hub")

#: Frames queued per subscriber before signal frames are dropped.
QUEUE_LIMIT = 2000


@dataclass(eq=False)
class Subscriber:
    """One live viewer of a session."""

    user: User
    session_id: str
    visible: set[str]
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue())
    dropped: int = 0
    _signals: int = 0

    def offer(self, text: str, droppable: bool) -> None:
        """Queue one serialised frame, dropping signal frames when the subscriber is behind."""
        if self.queue.qsize() >= QUEUE_LIMIT:
            if droppable:
                self.dropped += 1
                return
            # make room: drop the oldest queued signal frame if any
            kept: list[tuple[str, bool]] = []
            removed = False
            while not self.queue.empty():
                item = self.queue.get_nowait()
                if not removed and item[1]:
                    removed = True
                    self.dropped += 1
                    continue
                kept.append(item)
            for item in kept:
                self.queue.put_nowait(item)
        self.queue.put_nowait((text, droppable))


RigSender = Callable[[dict[str, Any]], Awaitable[None]]


class Hub:
    """Subscribers per session and the send functions of connected rigs."""

    def __init__(self) -> None:
        self._subs: dict[str, set[Subscriber]] = {}
        self._rigs: dict[tuple[str, str], RigSender] = {}

    # -- subscribers ------------------------------------------------------------------------
    def subscribe(self, sub: Subscriber) -> None:
        """Start delivering frames to ``sub``."""
        self._subs.setdefault(sub.session_id, set()).add(sub)

    def unsubscribe(self, sub: Subscriber) -> None:
        """Stop delivering frames to ``sub``."""
        self._subs.get(sub.session_id, set()).discard(sub)

    def subscribers(self, session_id: str) -> list[Subscriber]:
        """Current subscribers of a session."""
        return list(self._subs.get(session_id, ()))

    def refresh(self, session_id: str, visible_for: Callable[[User], set[str]]) -> None:
        """Recompute what each subscriber of a session may see (after a grant changed)."""
        for sub in self._subs.get(session_id, ()):
            sub.visible = visible_for(sub.user)

    def publish(self, session_id: str, dreamer: str, frame: dict[str, Any]) -> int:
        """Offer ``frame`` (about ``dreamer``) to every subscriber allowed to see it; returns how many."""
        subs = [s for s in self._subs.get(session_id, ()) if dreamer in s.visible]
        if not subs:
            return 0
        text = dumps({**frame, "dreamer": dreamer})
        droppable = frame.get("type") == "signal"
        for sub in subs:
            sub.offer(text, droppable)
        return len(subs)

    def publish_any(self, session_id: str, dreamers: set[str], frame: dict[str, Any]) -> int:
        """Offer ``frame`` once to every subscriber allowed to see any of ``dreamers``."""
        subs = [s for s in self._subs.get(session_id, ()) if s.visible & dreamers]
        if subs:
            text = dumps(frame)
            for sub in subs:
                sub.offer(text, False)
        return len(subs)

    # -- rigs -------------------------------------------------------------------------------
    def attach_rig(self, session_id: str, dreamer: str, send: RigSender) -> RigSender | None:
        """Register a connected rig; returns the previous connection's sender, if any."""
        old = self._rigs.get((session_id, dreamer))
        self._rigs[(session_id, dreamer)] = send
        return old

    def detach_rig(self, session_id: str, dreamer: str, send: RigSender) -> None:
        """Forget a rig connection (only if it is still the current one)."""
        if self._rigs.get((session_id, dreamer)) is send:
            del self._rigs[(session_id, dreamer)]

    def rig_connected(self, session_id: str, dreamer: str) -> bool:
        """Whether the dreamer's rig is connected now."""
        return (session_id, dreamer) in self._rigs

    async def send_to_rig(self, session_id: str, dreamer: str, frame: dict[str, Any]) -> bool:
        """Send a frame to a connected rig; ``False`` when it is not connected or the send failed."""
        send = self._rigs.get((session_id, dreamer))
        if send is None:
            return False
        try:
            await send(frame)
        except Exception as err:  # noqa: BLE001 - a dead socket only means "not delivered"
            log.info("send to rig %s/%s failed: %s", session_id, dreamer, err)
            return False
        return True
