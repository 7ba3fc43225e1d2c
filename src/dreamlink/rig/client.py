"""The rig's link to the session server: a persistent outbox and a reconnecting WebSocket client.

Lossless buffering
------------------
Everything the rig must send (signal blocks, events, states, relay requests, receipts) is first
appended to an :class:`Outbox`, a SQLite file in the rig's output folder, with the next sequence
number, **in one transaction per processed chunk** together with the number of source samples that
chunk completed. A rig killed at any moment (even ``SIGKILL``) therefore restarts knowing exactly
which samples it had processed and which frames it had produced; nothing is produced twice and
nothing is forgotten.

:class:`RigLink` sends the outbox in order over a WebSocket (``/ws/rig/{session}``) from its own
thread with an asyncio loop. On every (re)connection the server's ``welcome`` says which sequence
number it already stored (``last_seq``), the rig forgets everything up to there and resends the rest;
the server deduplicates by ``(rig, seq)``. So a server that is away, a connection cut mid-frame or a
rig restart all end with every frame stored exactly once. While the server is unreachable the rig
keeps running and recording; the outbox grows on disk, and :class:`RigLink` retries with capped
exponential back-off.

Frames from the server (``cue``, ``relay_ack``, ``relay_expired``, ``error``) are handed to the
pipeline through a thread-safe queue (:meth:`RigLink.incoming`). ``cue`` frames can arrive more than
once (at-least-once delivery); :meth:`Outbox.first_time` deduplicates them by ``relay_id``, durably.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dreamlink.errors import ConfigError

log = logging.getLogger("dreamlink.rig.client")

#: Frames sent but not yet acknowledged before the sender waits.
WINDOW = 256
#: Reconnect back-off bounds in seconds.
BACKOFF_MIN, BACKOFF_MAX = 0.2, 5.0


class Outbox:
    """Durable, numbered queue of frames for the server, plus the rig's resume state.

    Parameters
    ----------
    path : str or Path
        The SQLite file (created).
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.executescript(
                """
                CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL,
                                                  payload TEXT NOT NULL, created REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS inbox (relay_id INTEGER PRIMARY KEY, kind TEXT NOT NULL,
                                                 received REAL NOT NULL);
                """
            )

    # -- state --------------------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        """A resume value stored with :meth:`commit` (JSON-decoded)."""
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def set(self, key: str, value: Any) -> None:
        """Store one resume value."""
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
            )

    @property
    def last_seq(self) -> int:
        """Highest sequence number produced."""
        with self._lock:
            row = self._conn.execute("SELECT MAX(seq) FROM outbox").fetchone()
        return int(row[0] or 0)

    @property
    def acked_seq(self) -> int:
        """Highest sequence number the server confirmed."""
        return int(self.get("acked_seq", 0))

    # -- writing ------------------------------------------------------------------------------
    def commit(
        self,
        frames: Iterable[dict[str, Any]],
        state: dict[str, Any] | None = None,
        handled: Iterable[tuple[int, str]] = (),
    ) -> list[int]:
        """Append frames (each gets the next ``seq``), update resume ``state`` and mark server frames
        ``handled`` (``(relay_id, kind)``), all in one transaction.

        Returns
        -------
        list of int
            The sequence numbers given.
        """
        seqs: list[int] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                nxt = int(self._conn.execute("SELECT COALESCE(MAX(seq), 0) FROM outbox").fetchone()[0]) + 1
                now = time.time()
                for frame in frames:
                    body = {**frame, "seq": nxt}
                    self._conn.execute(
                        "INSERT INTO outbox (seq, kind, payload, created) VALUES (?, ?, ?, ?)",
                        (nxt, frame["type"], json.dumps(body, separators=(",", ":")), now),
                    )
                    seqs.append(nxt)
                    nxt += 1
                for relay_id, kind in handled:
                    self._conn.execute(
                        "INSERT OR IGNORE INTO inbox (relay_id, kind, received) VALUES (?, ?, ?)",
                        (_inbox_key(relay_id, kind), kind, now),
                    )
                for key, value in (state or {}).items():
                    self._conn.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value))
                    )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return seqs

    def pending(self, after: int, limit: int = WINDOW) -> list[tuple[int, str]]:
        """Frames with ``seq > after`` as ``(seq, json_text)``, oldest first."""
        with self._lock:
            return self._conn.execute(
                "SELECT seq, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()

    def mark_acked(self, seq: int) -> None:
        """Record the server's cumulative acknowledgement."""
        if seq > self.acked_seq:
            self.set("acked_seq", int(seq))

    def seen(self, relay_id: int, kind: str) -> bool:
        """Whether a server frame ``(kind, relay_id)`` was already handled (see :meth:`commit`)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT 1 FROM inbox WHERE relay_id = ?", (_inbox_key(relay_id, kind),)
            ).fetchone()
        return row is not None

    def count(self, kind: str | None = None) -> int:
        """Frames produced (of ``kind``)."""
        with self._lock:
            if kind:
                return int(
                    self._conn.execute("SELECT COUNT(*) FROM outbox WHERE kind = ?", (kind,)).fetchone()[0]
                )
            return int(self._conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def close(self) -> None:
        """Close the file."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()


def _inbox_key(relay_id: int, kind: str) -> int:
    return {"cue": 1, "relay_ack": 2, "relay_expired": 3, "control": 4}.get(kind, 0) * 2**40 + int(relay_id)


def ws_url(server: str, session: str) -> str:
    """The rig WebSocket URL for ``server`` (``http(s)://`` or ``ws(s)://``) and a session id."""
    server = server.rstrip("/")
    if server.startswith("http://"):
        server = "ws://" + server[len("http://") :]
    elif server.startswith("https://"):
        server = "wss://" + server[len("https://") :]
    elif not server.startswith(("ws://", "wss://")):
        raise ConfigError(f"bad --server {server!r}: use http://HOST:PORT or https://HOST:PORT")
    return f"{server}/ws/rig/{session}"


class RigLink:
    """Send an :class:`Outbox` to the server and receive its frames, reconnecting forever.

    Parameters
    ----------
    outbox : Outbox
        The frames to send.
    server : str
        ``http://HOST:PORT`` (or ``https://``, ``ws://``, ``wss://``).
    session : str
        Session id.
    token : str
        The dreamer's login token (sent as ``Authorization: Bearer``).
    dreamer : str | None
        Expected dreamer name (checked by the server against the token).
    ssl_context : ssl.SSLContext | None
        For ``wss://`` with a private certificate authority.
    """

    def __init__(
        self,
        outbox: Outbox,
        server: str,
        session: str,
        token: str,
        dreamer: str | None = None,
        ssl_context: Any = None,
    ) -> None:
        self.outbox = outbox
        self.url = ws_url(server, session)
        self.token = token
        self.dreamer = dreamer
        self.ssl_context = ssl_context
        self.incoming: queue.Queue[dict[str, Any]] = queue.Queue()
        self.connected = threading.Event()
        self.fatal: str | None = None
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> RigLink:
        """Start the network thread; returns ``self``."""
        self._thread = threading.Thread(target=self._run, name="rig-link", daemon=True)
        self._thread.start()
        return self

    def notify(self) -> None:
        """Tell the sender that new frames are in the outbox (thread-safe)."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    def drain(self, timeout: float) -> bool:
        """Wait until the server acknowledged everything in the outbox; ``False`` on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.outbox.acked_seq >= self.outbox.last_seq:
                return True
            if self.fatal:
                return False
            self.notify()
            time.sleep(0.05)
        return self.outbox.acked_seq >= self.outbox.last_seq

    def stop(self) -> None:
        """Stop the network thread (the outbox keeps what was not sent)."""
        self._stop.set()
        self.notify()
        if self._thread is not None:
            self._thread.join(timeout=5)

    # -- network thread -----------------------------------------------------------------------
    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        backoff = BACKOFF_MIN
        while not self._stop.is_set():
            try:
                async with connect(
                    self.url,
                    additional_headers={"Authorization": f"Bearer {self.token}"},
                    max_size=2**22,
                    ssl=self.ssl_context,
                    open_timeout=10,
                    ping_interval=20,
                ) as ws:
                    backoff = BACKOFF_MIN
                    await self._session(ws)
            except InvalidStatus as err:
                self.fatal = (
                    f"server refused the rig (HTTP {err.response.status_code}): check --token and --session"
                )
                log.error("%s", self.fatal)
            except (TimeoutError, OSError, ConnectionError) as err:
                log.info("server unreachable (%s); buffering and retrying in %.1f s", err, backoff)
            except Exception as err:  # noqa: BLE001 - any link failure means "reconnect later"
                log.info("link dropped (%s: %s); retrying in %.1f s", type(err).__name__, err, backoff)
            self.connected.clear()
            if self._stop.is_set():
                break
            await asyncio.sleep(backoff)
            backoff = min(BACKOFF_MAX, backoff * 2)

    async def _session(self, ws: Any) -> None:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "dreamer": self.dreamer}))
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if welcome.get("type") != "welcome":
            self.fatal = f"server refused the rig: {welcome.get('message', welcome)}"
            log.error("%s", self.fatal)
            return
        self.fatal = None
        self.connections += 1
        server_seq = int(welcome["last_seq"])
        self.outbox.mark_acked(server_seq)
        if server_seq > self.outbox.last_seq:
            log.warning(
                "server has seq %d but the outbox only %d: was the outbox deleted?",
                server_seq,
                self.outbox.last_seq,
            )
        self.connected.set()
        sent_upto = max(server_seq, 0)
        acked = [server_seq]
        resend = asyncio.Event()

        async def receiver() -> None:
            nonlocal sent_upto
            async for raw in ws:
                frame = json.loads(raw)
                kind = frame.get("type")
                if kind == "ack":
                    acked[0] = max(acked[0], int(frame["seq"]))
                    self.outbox.mark_acked(acked[0])
                    self._wake.set()
                elif kind == "error" and frame.get("code") == "seq_gap":
                    # the server wants an earlier frame: rewind to what it acknowledged
                    sent_upto = acked[0]
                    resend.set()
                    self._wake.set()
                else:
                    if kind == "error":
                        log.warning("server error: %s: %s", frame.get("code"), frame.get("message"))
                    self.incoming.put(frame)

        recv_task = asyncio.create_task(receiver())
        try:
            while not self._stop.is_set():
                if recv_task.done():
                    recv_task.result()
                    return
                window_free = WINDOW - (sent_upto - acked[0])
                batch = self.outbox.pending(sent_upto, max(0, window_free)) if window_free > 0 else []
                for seq, payload in batch:
                    await ws.send(payload)
                    sent_upto = seq
                if not batch:
                    self._wake.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), 0.5)
        finally:
            recv_task.cancel()
            with contextlib.suppress(BaseException):
                await recv_task
