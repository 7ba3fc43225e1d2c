"""Several server processes as one: a message broker between the hubs of ``dreamlink serve`` processes.

One server process keeps, in memory, who is watching which session (:class:`~dreamlink.server.hub.Hub`
subscribers) and which rigs are connected to it (their WebSocket send functions). Everything else
(users, sessions, grants, every rig's sequence high-water mark, signals, events, relays) is in the
database, which several processes can share. This module connects the in-memory parts of several
processes through a **broker** so that rigs and dashboards attached to different processes see one
session, and the relay between dreamers works across processes.

Parts
-----
:class:`Broker`
    The interface: ``publish(channel, message)``, a subscription to channels and channel patterns
    delivering messages in publish order, a presence table (``claim`` / ``release`` / ``entries``) and
    leases (``try_lock``). Two implementations:

    - :class:`LocalBroker`: in this process (several apps in one process share a :class:`LocalBus`);
      what a single ``dreamlink serve`` uses, and a test double that runs the same code paths.
    - :class:`RedisBroker`: Redis pub/sub for messages, a Redis hash for presence, ``SET NX PX``
      leases (redis-py's asyncio client). Started by the tests from Debian's ``redis-server``.

:class:`DistributedHub`
    A :class:`~dreamlink.server.hub.Hub` whose ``publish``/``publish_any`` also reach subscribers on
    other processes (channel ``dreamlink:s:{session}``; a session's frames are forwarded only while
    another process announces viewers of it, in ``watch`` messages and its heartbeats; queued
    publications go out in one Redis pipeline per batch), whose ``rig_connected`` knows about rigs on
    other processes (presence announcements, hash ``dreamlink:rigs``, and a 1-s heartbeat per process
    so that rigs of a dead process stop counting after :data:`NODE_TIMEOUT_SEC`), whose ``send_to_rig``
    forwards to the process holding the rig and waits for its answer (:data:`RPC_TIMEOUT_SEC`), and
    whose ``refresh`` (grants changed) is re-run by every process.

:class:`DistributedRelayService`
    A :class:`~dreamlink.server.relay.RelayService` that runs each delivery **on the process holding
    the recipient's rig** (so deliveries to one dreamer are serialised on one event loop and never
    race between processes), tells a sender about an acknowledgement on the process holding the
    sender's rig, and lets only the holder of the ``relay-expire`` lease sweep expired messages (so
    each expiry is recorded once). Relay state itself stays in the shared database, as before.

:func:`install_broker`
    Turns an application built by :func:`dreamlink.server.app.create_app` into a scaled-out one, in
    place: its hub and relay become the distributed ones and the broker starts and stops with the
    application's lifespan.

Guarantees and limits
---------------------
Redis pub/sub is at-most-once: a process whose Redis connection drops misses the live frames sent
meanwhile. Nothing authoritative travels only over it: stored data is in the database (dashboards
can re-fetch over REST), and the relay is at-least-once end to end (an unacknowledged cue is
delivered again when the recipient's rig reconnects or signals ready; rigs deduplicate by
``relay_id``). Redis Streams would make live frames replayable too; see ``docs/scale-out.md``.

References
----------
Redis pub/sub semantics: https://redis.io/docs/latest/develop/interact/pubsub/
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import fnmatch
import itertools
import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from dreamlink.errors import ConfigError
from dreamlink.server.hub import Hub
from dreamlink.server.relay import RelayService

log = logging.getLogger("dreamlink.server.scaleout")

#: Prefix of every channel and key.
PREFIX = "dreamlink"
#: Seconds between a process's heartbeats.
HEARTBEAT_SEC = 1.0
#: A process not heard from for this long is taken as dead; its rigs no longer count as connected.
NODE_TIMEOUT_SEC = 5.0
#: Seconds to wait for another process to say whether it delivered a frame to its rig.
RPC_TIMEOUT_SEC = 3.0
#: Lease of the relay expiry sweep (seconds).
EXPIRE_LEASE_SEC = 5.0
#: Most queued publications sent to the broker in one batch (one Redis pipeline).
MAX_BATCH = 500

Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


_SEP = "\x1e"


def _encode(message: dict[str, Any]) -> str:
    """``ORIGIN<RS>JSON``: the origin first, so a process skips its own echoes without parsing them."""
    return f"{message.get('origin', '')}{_SEP}{json.dumps(message, separators=(',', ':'), default=str)}"


def _decode(text: str, own: str) -> dict[str, Any] | None:
    """The message, or ``None`` for this process's own publication (or garbage)."""
    origin, sep, body = text.partition(_SEP)
    if not sep or (own and origin == own):
        return None
    try:
        return json.loads(body)
    except ValueError:
        log.warning("undecodable broker message dropped")
        return None


# -- brokers ---------------------------------------------------------------------------------------
class Broker(abc.ABC):
    """Messages, presence and leases shared by the server processes.

    Parameters
    ----------
    node_id : str | None
        This process's identifier (default: host, pid and a random suffix).
    """

    def __init__(self, node_id: str | None = None) -> None:
        self.node_id = node_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"

    @abc.abstractmethod
    async def start(self, handler: Handler, channels: list[str], patterns: list[str]) -> None:
        """Connect and subscribe; ``handler(channel, message)`` is awaited for each message, in order.
        Messages published after ``start`` returns are delivered, except this process's own (a message
        whose ``origin`` is :attr:`node_id` is skipped without being parsed)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Unsubscribe and disconnect."""

    @abc.abstractmethod
    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        """Send ``message`` (JSON-serialisable) to every process subscribed to ``channel``."""

    async def publish_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        """Publish several ``(channel, message)`` in order (one round trip where the broker allows)."""
        for channel, message in items:
            await self.publish(channel, message)

    @abc.abstractmethod
    async def claim(self, table: str, key: str, value: str) -> None:
        """Set ``table[key] = value`` (presence)."""

    @abc.abstractmethod
    async def release(self, table: str, key: str, value: str) -> bool:
        """Delete ``table[key]`` only if it still equals ``value`` (atomic compare-and-delete)."""

    @abc.abstractmethod
    async def entries(self, table: str) -> dict[str, str]:
        """The whole presence table."""

    @abc.abstractmethod
    async def try_lock(self, name: str, ttl_sec: float) -> bool:
        """Take or extend the lease ``name`` for this process; ``False`` if another process holds it."""


class LocalBus:
    """The shared state of :class:`LocalBroker` instances in one process (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.members: list[LocalBroker] = []
        self.tables: dict[str, dict[str, str]] = {}
        self.leases: dict[str, tuple[str, float]] = {}


_DEFAULT_BUS = LocalBus()


class LocalBroker(Broker):
    """A broker inside one process: hubs of several apps in one process see each other through ``bus``.

    Each broker delivers on its own event loop (apps under a test client each run their own loop in
    a thread), through an inbox queue, in publish order.
    """

    def __init__(self, bus: LocalBus | None = None, node_id: str | None = None) -> None:
        super().__init__(node_id)
        self.bus = bus or _DEFAULT_BUS
        self._channels: set[str] = set()
        self._patterns: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._inbox: asyncio.Queue | None = None
        self._reader: asyncio.Task | None = None

    def _wants(self, channel: str) -> bool:
        return channel in self._channels or any(fnmatch.fnmatchcase(channel, p) for p in self._patterns)

    async def start(self, handler: Handler, channels: list[str], patterns: list[str]) -> None:
        self._loop = asyncio.get_running_loop()
        self._inbox = asyncio.Queue()
        self._channels, self._patterns = set(channels), list(patterns)

        async def reader() -> None:
            assert self._inbox is not None
            while True:
                channel, text = await self._inbox.get()
                message = _decode(text, self.node_id)
                if message is None:
                    continue
                try:
                    await handler(channel, message)
                except Exception:  # noqa: BLE001 - one bad message must not stop delivery
                    log.exception("broker message on %s failed", channel)

        self._reader = asyncio.create_task(reader())
        with self.bus.lock:
            self.bus.members.append(self)

    async def close(self) -> None:
        with self.bus.lock:
            if self in self.bus.members:
                self.bus.members.remove(self)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        text = _encode(message)
        with self.bus.lock:
            targets = [m for m in self.bus.members if m._wants(channel)]
        for member in targets:
            if member._loop is not None and member._inbox is not None and not member._loop.is_closed():
                member._loop.call_soon_threadsafe(member._inbox.put_nowait, (channel, text))

    async def claim(self, table: str, key: str, value: str) -> None:
        with self.bus.lock:
            self.bus.tables.setdefault(table, {})[key] = value

    async def release(self, table: str, key: str, value: str) -> bool:
        with self.bus.lock:
            t = self.bus.tables.get(table, {})
            if t.get(key) == value:
                del t[key]
                return True
        return False

    async def entries(self, table: str) -> dict[str, str]:
        with self.bus.lock:
            return dict(self.bus.tables.get(table, {}))

    async def try_lock(self, name: str, ttl_sec: float) -> bool:
        now = time.monotonic()
        with self.bus.lock:
            holder = self.bus.leases.get(name)
            if holder is None or holder[0] == self.node_id or holder[1] <= now:
                self.bus.leases[name] = (self.node_id, now + ttl_sec)
                return True
        return False


_RELEASE_LUA = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('HDEL', KEYS[1], ARGV[1]) end
return 0
"""
_LEASE_LUA = """
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
return 0
"""


class RedisBroker(Broker):
    """Redis pub/sub (messages), a hash per presence table, ``SET ... PX`` leases.

    Parameters
    ----------
    url : str
        ``redis://host:port/db`` (or ``rediss://`` for TLS, ``unix://`` for a socket).
    node_id : str | None
        This process's identifier.
    """

    def __init__(self, url: str, node_id: str | None = None) -> None:
        super().__init__(node_id)
        self.url = url
        self._redis: Any = None
        self._pubsub: Any = None
        self._reader: asyncio.Task | None = None

    async def start(self, handler: Handler, channels: list[str], patterns: list[str]) -> None:
        try:
            import redis.asyncio as aioredis
        except ImportError as err:  # pragma: no cover - redis is a dependency
            raise ConfigError("the Redis broker needs the 'redis' package: pip install redis") from err
        self._redis = aioredis.from_url(self.url, decode_responses=True, health_check_interval=10)
        try:
            await self._redis.ping()
        except (OSError, aioredis.RedisError) as err:
            await self._redis.aclose()
            raise ConfigError(
                f"cannot reach the Redis broker at {self.url} ({err}); start redis-server or fix --broker"
            ) from err
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=False)
        if channels:
            await self._pubsub.subscribe(*channels)
        if patterns:
            await self._pubsub.psubscribe(*patterns)
        # wait for every subscription to be confirmed: later publications are then delivered
        pending = len(channels) + len(patterns)
        deadline = time.monotonic() + 10.0
        while pending and time.monotonic() < deadline:
            msg = await self._pubsub.get_message(timeout=1.0)
            if msg and msg["type"] in ("subscribe", "psubscribe"):
                pending -= 1
        if pending:
            raise ConfigError(f"Redis at {self.url} did not confirm the subscriptions")

        async def reader() -> None:
            while True:
                try:
                    msg = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                except asyncio.CancelledError:
                    raise
                except Exception as err:  # noqa: BLE001 - connection trouble: log, back off, retry
                    log.warning("Redis broker read failed: %s", err)
                    await asyncio.sleep(0.5)
                    continue
                if msg is None or msg["type"] not in ("message", "pmessage"):
                    continue
                message = _decode(msg["data"], self.node_id)
                if message is None:
                    continue
                try:
                    await handler(msg["channel"], message)
                except Exception:  # noqa: BLE001 - one bad message must not stop delivery
                    log.exception("broker message on %s failed", msg.get("channel"))

        self._reader = asyncio.create_task(reader())

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._redis is not None:
            with contextlib.suppress(Exception):
                await self._redis.aclose()

    async def publish(self, channel: str, message: dict[str, Any]) -> None:
        await self._redis.publish(channel, _encode(message))

    async def publish_many(self, items: list[tuple[str, dict[str, Any]]]) -> None:
        async with self._redis.pipeline(transaction=False) as pipe:
            for channel, message in items:
                pipe.publish(channel, _encode(message))
            await pipe.execute()

    async def claim(self, table: str, key: str, value: str) -> None:
        await self._redis.hset(f"{PREFIX}:{table}", key, value)

    async def release(self, table: str, key: str, value: str) -> bool:
        return bool(await self._redis.eval(_RELEASE_LUA, 1, f"{PREFIX}:{table}", key, value))

    async def entries(self, table: str) -> dict[str, str]:
        return dict(await self._redis.hgetall(f"{PREFIX}:{table}"))

    async def try_lock(self, name: str, ttl_sec: float) -> bool:
        ms = max(1, int(ttl_sec * 1000))
        return bool(await self._redis.eval(_LEASE_LUA, 1, f"{PREFIX}:lease:{name}", self.node_id, ms))


def broker_from_url(url: str | None, node_id: str | None = None) -> Broker:
    """``redis://...`` → :class:`RedisBroker`; ``memory://`` or ``None`` → :class:`LocalBroker`."""
    if url is None or url in ("memory://", "memory", "local"):
        return LocalBroker(node_id=node_id)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBroker(url, node_id=node_id)
    raise ConfigError(f"unknown broker URL {url!r}; use redis://HOST:PORT/DB (or memory:// for one process)")


# -- the distributed hub ---------------------------------------------------------------------------
LOCAL = "local"
_RIGS_TABLE = "rigs"


def _rig_key(session_id: str, dreamer: str) -> str:
    return f"{session_id}\x1f{dreamer}"


class DistributedHub(Hub):
    """A :class:`Hub` that shares subscribers' frames, rig presence and rig sends through a broker.

    Parameters
    ----------
    broker : Broker
        The broker (not started yet: :meth:`start` starts it).
    db : Database | None
        The shared database, used to recompute what each local subscriber may see when another
        process announces a grant change.
    """

    def __init__(self, broker: Broker, db: Any = None) -> None:
        super().__init__()
        self._scale_init(broker, db)

    @classmethod
    def adopt(cls, hub: Hub, broker: Broker, db: Any = None) -> DistributedHub:
        """Turn an existing :class:`Hub` (e.g. the one routes of an app already hold) into this class."""
        hub.__class__ = cls
        hub._scale_init(broker, db)  # type: ignore[attr-defined]
        return hub  # type: ignore[return-value]

    def _scale_init(self, broker: Broker, db: Any) -> None:
        self.broker = broker
        self.db = db
        self.node = broker.node_id
        self.relay: DistributedRelayService | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._outbox: asyncio.Queue | None = None
        self._tasks: list[asyncio.Task] = []
        self._remote: dict[tuple[str, str], tuple[str, str]] = {}  # (sid, dreamer) -> (node, conn)
        self._local_conn: dict[tuple[str, str], str] = {}
        self._attached_at: dict[tuple[str, str], float] = {}
        self._nodes: dict[str, float] = {}
        self._watchers: dict[str, dict[str, float]] = {}  # session -> {node: last heard}
        self._replies: dict[str, asyncio.Future] = {}
        self._counter = itertools.count(1)
        self.stats = {"sent": 0, "received": 0, "send_errors": 0}

    # channels
    def _ch_session(self, sid: str) -> str:
        return f"{PREFIX}:s:{sid}"

    def _ch_node(self, node: str) -> str:
        return f"{PREFIX}:node:{node}"

    @property
    def _ch_all(self) -> str:
        return f"{PREFIX}:all"

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the broker, load the presence table and begin publishing and heartbeats."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._outbox = asyncio.Queue()
        await self.broker.start(self._on_message, [self._ch_all, self._ch_node(self.node)], [f"{PREFIX}:s:*"])
        now = time.monotonic()
        for key, value in (await self.broker.entries(_RIGS_TABLE)).items():
            sid, _, dreamer = key.partition("\x1f")
            node, _, _ = value.partition("|")
            if node != self.node:
                self._remote[(sid, dreamer)] = (node, value)
                self._nodes.setdefault(node, now)  # grace until its heartbeat is heard (or not)
        self._tasks = [asyncio.create_task(self._publisher()), asyncio.create_task(self._heartbeat())]
        log.info("scale-out node %s started", self.node)

    async def close(self) -> None:
        """Withdraw this process's rigs, stop publishing and close the broker."""
        for key, conn in list(self._local_conn.items()):
            with contextlib.suppress(Exception):
                await self.broker.release(_RIGS_TABLE, _rig_key(*key), conn)
                await self.broker.publish(
                    self._ch_all,
                    {"op": "detach", "origin": self.node, "sid": key[0], "dreamer": key[1], "conn": conn},
                )
        if self._outbox is not None:  # flush what is queued (bounded wait)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._outbox.join(), 2.0)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.broker.close()

    def _enqueue(self, job: Callable[[], Awaitable[Any]] | tuple[str, dict[str, Any]]) -> None:
        """Queue a broker operation (a coroutine factory, or a ``(channel, message)`` publication);
        safe from the loop thread and from route threads."""
        if self._loop is None or self._outbox is None or self._loop.is_closed():
            return  # not started: behaves as a single-process hub
        if threading.get_ident() == self._loop_thread:
            self._outbox.put_nowait(job)
        else:
            self._loop.call_soon_threadsafe(self._outbox.put_nowait, job)

    def _send(self, channel: str, message: dict[str, Any]) -> None:
        message = {**message, "origin": self.node}
        self._enqueue((channel, message))

    async def _publisher(self) -> None:
        """Run queued broker operations in order; consecutive publications go out in one batch
        (one round trip to Redis instead of one per frame)."""
        assert self._outbox is not None
        while True:
            items = [await self._outbox.get()]
            while len(items) < MAX_BATCH and not self._outbox.empty():
                items.append(self._outbox.get_nowait())
            i = 0
            while i < len(items):
                j = i
                while j < len(items) and isinstance(items[j], tuple):
                    j += 1
                try:
                    if j > i:
                        await self.broker.publish_many(items[i:j])
                    else:
                        await items[i]()
                        j = i + 1
                    self.stats["sent"] += j - i
                except Exception as err:  # noqa: BLE001 - broker trouble: count, log, go on
                    j = max(j, i + 1)
                    self.stats["send_errors"] += j - i
                    log.warning("broker publish failed: %s", err)
                i = j
            for _ in items:
                self._outbox.task_done()

    async def _heartbeat(self) -> None:
        while True:
            watching = sorted(sid for sid, subs in self._subs.items() if subs)
            self._send(self._ch_all, {"op": "alive", "watching": watching})
            await asyncio.sleep(HEARTBEAT_SEC)

    # -- incoming -----------------------------------------------------------------------------
    async def _on_message(self, channel: str, msg: dict[str, Any]) -> None:
        origin = msg.get("origin")
        if origin == self.node:
            return
        self.stats["received"] += 1
        if origin:
            self._nodes[origin] = time.monotonic()
        op = msg.get("op")
        if op == "publish":
            Hub.publish(self, msg["sid"], msg["dreamer"], msg["frame"])
        elif op == "publish_any":
            Hub.publish_any(self, msg["sid"], set(msg["dreamers"]), msg["frame"])
        elif op == "attach":
            key = (msg["sid"], msg["dreamer"])
            mine = self._local_conn.get(key)
            if mine is not None and (self._attached_at.get(key, 0.0), self.node) > (
                msg.get("t", 0.0),
                origin,
            ):
                return  # our connection is the newer one: it stays; theirs is stale
            if mine is not None:  # the rig reconnected elsewhere: our old socket is stale, newest wins
                self._rigs.pop(key, None)
                self._local_conn.pop(key, None)
            self._remote[key] = (origin, msg["conn"])
        elif op == "detach":
            key = (msg["sid"], msg["dreamer"])
            if self._remote.get(key, (None, None))[1] == msg["conn"]:
                del self._remote[key]
        elif op == "refresh":
            self._refresh_local(msg["sid"])
        elif op == "send":
            asyncio.create_task(self._serve_send(msg))
        elif op == "reply":
            fut = self._replies.pop(msg["req"], None)
            if fut is not None and not fut.done():
                fut.set_result(bool(msg["ok"]))
        elif op == "relay":
            if self.relay is not None:
                asyncio.create_task(self.relay._serve_call(msg))
        elif op == "watch":
            self._watchers.setdefault(msg["sid"], {})[origin] = time.monotonic()
        elif op == "unwatch":
            self._watchers.get(msg["sid"], {}).pop(origin, None)
        elif op == "alive":
            now = time.monotonic()
            watching = set(msg.get("watching", ()))
            for sid in watching:
                self._watchers.setdefault(sid, {})[origin] = now
            for sid, nodes in self._watchers.items():
                if sid not in watching:
                    nodes.pop(origin, None)
        else:
            log.debug("unknown broker message %r", op)

    async def _serve_send(self, msg: dict[str, Any]) -> None:
        ok = await Hub.send_to_rig(self, msg["sid"], msg["dreamer"], msg["frame"])
        self._send(self._ch_node(msg["origin"]), {"op": "reply", "req": msg["req"], "ok": ok})

    # -- subscribers ------------------------------------------------------------------------------
    def remote_watchers(self, session_id: str) -> set[str]:
        """Live processes that have subscribers of ``session_id`` (frames are forwarded only to those)."""
        return {n for n in self._watchers.get(session_id, {}) if self._alive(n)}

    def subscribe(self, sub) -> None:  # noqa: ANN001 - Hub's signature
        """Start delivering frames to ``sub``; the first viewer of a session is announced."""
        first = not self._subs.get(sub.session_id)
        super().subscribe(sub)
        if first:
            self._send(self._ch_all, {"op": "watch", "sid": sub.session_id})

    def unsubscribe(self, sub) -> None:  # noqa: ANN001
        """Stop delivering frames to ``sub``; the last viewer leaving is announced."""
        had = bool(self._subs.get(sub.session_id))
        super().unsubscribe(sub)
        if had and not self._subs.get(sub.session_id):
            self._send(self._ch_all, {"op": "unwatch", "sid": sub.session_id})

    def publish(self, session_id: str, dreamer: str, frame: dict[str, Any]) -> int:
        """Offer ``frame`` to local subscribers and to those of every other process."""
        n = super().publish(session_id, dreamer, frame)
        if self.remote_watchers(session_id):
            self._send(
                self._ch_session(session_id),
                {"op": "publish", "sid": session_id, "dreamer": dreamer, "frame": frame},
            )
        return n

    def publish_any(self, session_id: str, dreamers: set[str], frame: dict[str, Any]) -> int:
        """Offer ``frame`` to every subscriber, here and elsewhere, who may see any of ``dreamers``."""
        n = super().publish_any(session_id, dreamers, frame)
        if self.remote_watchers(session_id):
            self._send(
                self._ch_session(session_id),
                {"op": "publish_any", "sid": session_id, "dreamers": sorted(dreamers), "frame": frame},
            )
        return n

    def _refresh_local(self, session_id: str) -> None:
        if self.db is None:
            return
        from dreamlink.server.auth import visible_dreamers

        Hub.refresh(self, session_id, lambda u: visible_dreamers(self.db, session_id, u))

    def refresh(self, session_id: str, visible_for: Callable[[Any], set[str]]) -> None:
        """Recompute what subscribers may see, here and on every other process."""
        super().refresh(session_id, visible_for)
        self._send(self._ch_all, {"op": "refresh", "sid": session_id})

    # -- rigs -------------------------------------------------------------------------------------
    def _alive(self, node: str) -> bool:
        seen = self._nodes.get(node)
        return seen is not None and time.monotonic() - seen < NODE_TIMEOUT_SEC

    def rig_owner(self, session_id: str, dreamer: str) -> str | None:
        """:data:`LOCAL`, the node id of the live process holding the rig, or ``None``."""
        if Hub.rig_connected(self, session_id, dreamer):
            return LOCAL
        entry = self._remote.get((session_id, dreamer))
        if entry is not None and self._alive(entry[0]):
            return entry[0]
        return None

    def attach_rig(self, session_id: str, dreamer: str, send):  # noqa: ANN001 - Hub's signature
        """Register a local rig and announce it to the other processes.

        The newest connection of a rig wins everywhere (as within one process): a process that still
        holds an older socket of the same rig forgets it when the announcement arrives.
        """
        old = super().attach_rig(session_id, dreamer, send)
        conn = f"{self.node}|{next(self._counter)}"
        key = (session_id, dreamer)
        self._local_conn[key] = conn
        self._attached_at[key] = time.time()
        self._remote.pop(key, None)
        self._enqueue(lambda: self.broker.claim(_RIGS_TABLE, _rig_key(*key), conn))
        self._send(
            self._ch_all,
            {
                "op": "attach",
                "sid": session_id,
                "dreamer": dreamer,
                "conn": conn,
                "t": self._attached_at[key],
            },
        )
        return old

    def detach_rig(self, session_id: str, dreamer: str, send) -> None:  # noqa: ANN001
        """Forget a local rig (if still current) and withdraw its announcement."""
        key = (session_id, dreamer)
        if self._rigs.get(key) is not send:
            return
        super().detach_rig(session_id, dreamer, send)
        conn = self._local_conn.pop(key, None)
        if conn is not None:
            self._enqueue(lambda: self.broker.release(_RIGS_TABLE, _rig_key(*key), conn))
            self._send(self._ch_all, {"op": "detach", "sid": session_id, "dreamer": dreamer, "conn": conn})

    def rig_connected(self, session_id: str, dreamer: str) -> bool:
        """Whether the dreamer's rig is connected to this or another live process."""
        return self.rig_owner(session_id, dreamer) is not None

    async def send_to_rig(self, session_id: str, dreamer: str, frame: dict[str, Any]) -> bool:
        """Send to the rig wherever it is connected; ``False`` if not connected or not confirmed in time."""
        owner = self.rig_owner(session_id, dreamer)
        if owner is None:
            return False
        if owner == LOCAL:
            return await super().send_to_rig(session_id, dreamer, frame)
        assert self._loop is not None
        req = uuid.uuid4().hex
        fut = self._loop.create_future()
        self._replies[req] = fut
        self._send(
            self._ch_node(owner),
            {"op": "send", "req": req, "sid": session_id, "dreamer": dreamer, "frame": frame},
        )
        try:
            return await asyncio.wait_for(fut, RPC_TIMEOUT_SEC)
        except TimeoutError:
            log.info("process %s did not confirm a send to %s/%s", owner, session_id, dreamer)
            return False
        finally:
            self._replies.pop(req, None)

    def call_owner(self, node: str, method: str, args: dict[str, Any], hops: int = 0) -> None:
        """Ask process ``node`` to run a relay step (fire and forget)."""
        self._send(self._ch_node(node), {"op": "relay", "method": method, "args": args, "hops": hops + 1})


# -- the distributed relay ------------------------------------------------------------------------
class DistributedRelayService(RelayService):
    """A :class:`RelayService` that runs each step on the process holding the rig it concerns.

    Parameters
    ----------
    db : Database
        The shared database.
    hub : DistributedHub
        This process's hub.
    """

    #: Forwarding hops allowed for one step (a rig moving between processes meanwhile).
    MAX_HOPS = 2

    def __init__(self, db: Any, hub: DistributedHub) -> None:
        super().__init__(db, hub)
        hub.relay = self

    @classmethod
    def adopt(cls, relay: RelayService, hub: DistributedHub) -> DistributedRelayService:
        """Turn an existing :class:`RelayService` into this class (in place)."""
        relay.__class__ = cls
        relay.hub = hub
        hub.relay = relay  # type: ignore[assignment]
        return relay  # type: ignore[return-value]

    async def try_deliver(
        self, session_id: str, recipient: str, redeliver: bool = False, _hops: int = 0
    ) -> int:
        """Deliver here if the recipient's rig is here, else on the process that holds it."""
        owner = self.hub.rig_owner(session_id, recipient)  # type: ignore[attr-defined]
        if owner is None or owner == LOCAL or _hops >= self.MAX_HOPS:
            return await super().try_deliver(session_id, recipient, redeliver)
        self.hub.call_owner(
            owner,
            "try_deliver",
            {
                "sid": session_id,
                "recipient": recipient,  # type: ignore
                "redeliver": redeliver,
            },
            _hops,
        )
        return 0

    async def notify_sender(self, relay: dict[str, Any], _hops: int = 0) -> bool:
        """Tell the sender on the process holding the sender's rig (kept pending when it is nowhere)."""
        if relay["sender_kind"] == "dreamer" and _hops < self.MAX_HOPS:
            owner = self.hub.rig_owner(relay["session_id"], relay["sender"])  # type: ignore[attr-defined]
            if owner not in (None, LOCAL):
                self.hub.call_owner(owner, "notify_sender", {"relay_id": relay["id"]}, _hops)  # type: ignore
                return False
        return await super().notify_sender(relay)

    async def expire(self) -> int:
        """Sweep expired messages, on the one process holding the expiry lease."""
        if not await self.hub.broker.try_lock("relay-expire", EXPIRE_LEASE_SEC):  # type: ignore[attr-defined]
            return 0
        return await super().expire()

    async def _serve_call(self, msg: dict[str, Any]) -> None:
        args, hops = msg.get("args", {}), int(msg.get("hops", 1))
        try:
            if msg.get("method") == "try_deliver":
                await self.try_deliver(
                    args["sid"], args["recipient"], bool(args.get("redeliver")), _hops=hops
                )
            elif msg.get("method") == "notify_sender":
                row = self._row(int(args["relay_id"]))
                if row is not None and not row.get("ack_notified"):
                    await self.notify_sender(row, _hops=hops)
        except Exception:  # noqa: BLE001 - a failed step stays pending in the database
            log.exception("relay step %s from %s failed", msg.get("method"), msg.get("origin"))


# -- wiring ---------------------------------------------------------------------------------------
def install_broker(app: Any, broker: Broker | str) -> DistributedHub:
    """Scale out an app built by :func:`dreamlink.server.app.create_app`, in place.

    Its ``app.state.hub`` and ``app.state.relay`` become a :class:`DistributedHub` and a
    :class:`DistributedRelayService` (the same objects, which the routes already hold), and the broker
    starts before and stops after the app's own lifespan.

    Parameters
    ----------
    app : fastapi.FastAPI
        The application.
    broker : Broker or str
        A broker, or its URL (``redis://HOST:PORT/DB``).

    Returns
    -------
    DistributedHub
    """
    if isinstance(broker, str):
        broker = broker_from_url(broker)
    hub = DistributedHub.adopt(app.state.hub, broker, app.state.db)
    DistributedRelayService.adopt(app.state.relay, hub)
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(a: Any) -> AsyncIterator[Any]:
        await hub.start()
        try:
            async with inner(a) as state:
                yield state
        finally:
            await hub.close()

    app.router.lifespan_context = lifespan
    app.state.broker = broker
    return hub


def main(argv: list[str] | None = None) -> None:
    """``python -m dreamlink.server.scaleout --db PATH --port N --broker redis://...``: one scaled-out
    server process (what ``dreamlink serve --broker URL`` runs once the option is wired)."""
    import argparse

    import uvicorn

    from dreamlink.server.app import create_app
    from dreamlink.server.protocol import MAX_FRAME_BYTES

    parser = argparse.ArgumentParser(prog="python -m dreamlink.server.scaleout", description=main.__doc__)
    parser.add_argument("--db", required=True, help="shared SQLite database file")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--broker", required=True, help="redis://HOST:PORT/DB")
    parser.add_argument("--log-level", default="warning")
    args = parser.parse_args(argv)
    app = create_app(args.db)
    install_broker(app, args.broker)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        ws="websockets-sansio",
        ws_max_size=4 * MAX_FRAME_BYTES,
        access_log=False,
    )


if __name__ == "__main__":  # pragma: no cover
    main()
