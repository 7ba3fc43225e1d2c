"""The session server's state: one SQLite database file (WAL mode) with versioned migrations.

Everything the server must not forget across a restart lives here: users, tokens, sessions and
their members, grants, every rig's sequence high-water mark, the decimated signal blocks, events,
relay messages and the append-only audit log. SQLite comes from the standard library; the database
is a real file (``:memory:`` is accepted for throw-away use). A ``postgresql://`` URL is reserved for
a later PostgreSQL backend and refused with a clear message today.

One connection is shared by the server's threads behind a lock (SQLite serialises writers anyway);
WAL mode lets readers proceed while a write is committing, and ``synchronous=NORMAL`` in WAL mode
keeps every committed transaction across a process crash (only an OS crash can lose the last ones).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dreamlink.errors import ConfigError

log = logging.getLogger("dreamlink.server.db")

#: Schema migrations, applied in order; ``PRAGMA user_version`` records how many ran.
MIGRATIONS: tuple[str, ...] = (
    # 1: accounts, sessions, grants, audit
    """
    CREATE TABLE users (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'observer', 'dreamer')),
        pw_hash TEXT NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE tokens (
        token_hash TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        created REAL NOT NULL,
        expires REAL NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE login_failures (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_name TEXT NOT NULL,
        ip TEXT NOT NULL,
        ts REAL NOT NULL
    );
    CREATE INDEX login_failures_user ON login_failures(user_name, ts);
    CREATE INDEX login_failures_ip ON login_failures(ip, ts);
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_by INTEGER NOT NULL REFERENCES users(id),
        created REAL NOT NULL,
        status TEXT NOT NULL DEFAULT 'open'
    );
    CREATE TABLE members (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        user_id INTEGER NOT NULL REFERENCES users(id),
        role TEXT NOT NULL CHECK (role IN ('operator', 'observer', 'dreamer')),
        PRIMARY KEY (session_id, user_id)
    );
    CREATE TABLE grants (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        dreamer_id INTEGER NOT NULL REFERENCES users(id),
        session_id TEXT NOT NULL REFERENCES sessions(id),
        grantee_id INTEGER REFERENCES users(id),
        created REAL NOT NULL,
        UNIQUE (dreamer_id, session_id, grantee_id)
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL DEFAULT '',
        detail TEXT NOT NULL DEFAULT ''
    );
    CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
    """,
    # 2: rigs, data, relay
    """
    CREATE TABLE rigs (
        session_id TEXT NOT NULL REFERENCES sessions(id),
        dreamer TEXT NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0,
        src_end INTEGER NOT NULL DEFAULT 0,
        ready INTEGER NOT NULL DEFAULT 0,
        stage TEXT NOT NULL DEFAULT '?',
        updated REAL NOT NULL DEFAULT 0,
        PRIMARY KEY (session_id, dreamer)
    );
    CREATE TABLE signal_blocks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        dreamer TEXT NOT NULL,
        seq INTEGER NOT NULL,
        src_first INTEGER NOT NULL,
        src_n INTEGER NOT NULL,
        first INTEGER NOT NULL,
        n INTEGER NOT NULL,
        sfreq REAL NOT NULL,
        ch_names TEXT NOT NULL,
        data BLOB NOT NULL,
        received REAL NOT NULL,
        UNIQUE (session_id, dreamer, seq)
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        dreamer TEXT NOT NULL,
        seq INTEGER,
        onset REAL NOT NULL,
        duration REAL NOT NULL DEFAULT 0,
        trial_type TEXT NOT NULL,
        value TEXT,
        confidence REAL,
        source TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL DEFAULT '{}',
        wall REAL NOT NULL,
        UNIQUE (session_id, dreamer, seq)
    );
    CREATE INDEX events_by_dreamer ON events(session_id, dreamer, id);
    CREATE TABLE relays (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        sender_kind TEXT NOT NULL CHECK (sender_kind IN ('dreamer', 'operator')),
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        text TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'acked', 'expired')),
        delivered REAL,
        acked REAL,
        ack_notified INTEGER NOT NULL DEFAULT 0,
        origin_seq INTEGER,
        UNIQUE (session_id, sender, origin_seq)
    );
    CREATE INDEX relays_by_recipient ON relays(session_id, recipient, status);
    ALTER TABLE sessions ADD COLUMN started REAL;
    """,
    # 3: operator controls for rigs, kept until the rig acknowledges them (resent on reconnect)
    """
    CREATE TABLE controls (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        dreamer TEXT NOT NULL,
        action TEXT NOT NULL,
        frame TEXT NOT NULL,
        operator TEXT,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'acked', 'expired')),
        sent INTEGER NOT NULL DEFAULT 0,
        acked REAL
    );
    CREATE INDEX controls_by_rig ON controls(session_id, dreamer, status);
    """,
    # 4: revised relays. A relay may revise an earlier one (``revises_id``); an earlier one withdrawn
    # before delivery is 'superseded'. SQLite cannot change a CHECK constraint in place, so the table is
    # rebuilt with the same rows and ids (nothing references it; the AUTOINCREMENT counter is kept).
    """
    CREATE TABLE relays_v4 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        session_id TEXT NOT NULL,
        sender_kind TEXT NOT NULL CHECK (sender_kind IN ('dreamer', 'operator')),
        sender TEXT NOT NULL,
        recipient TEXT NOT NULL,
        text TEXT NOT NULL,
        created REAL NOT NULL,
        expires REAL NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('queued', 'delivered', 'acked', 'expired', 'superseded')),
        delivered REAL,
        acked REAL,
        ack_notified INTEGER NOT NULL DEFAULT 0,
        origin_seq INTEGER,
        revises_id INTEGER REFERENCES relays_v4(id),
        UNIQUE (session_id, sender, origin_seq)
    );
    INSERT INTO relays_v4 (id, session_id, sender_kind, sender, recipient, text, created, expires, status,
                           delivered, acked, ack_notified, origin_seq)
        SELECT id, session_id, sender_kind, sender, recipient, text, created, expires, status,
               delivered, acked, ack_notified, origin_seq FROM relays;
    UPDATE sqlite_sequence
        SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'relays'), 0))
        WHERE name = 'relays_v4';
    DROP TABLE relays;
    ALTER TABLE relays_v4 RENAME TO relays;
    CREATE INDEX relays_by_recipient ON relays(session_id, recipient, status);
    CREATE INDEX relays_by_sender ON relays(session_id, sender, recipient, id);
    """,
)


def _sqlite_path(url: str | Path) -> str:
    """Turn ``PATH``, ``sqlite:///PATH`` or ``:memory:`` into a sqlite3 path; refuse other schemes."""
    text = str(url)
    if text.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f"PostgreSQL ({text.split('://')[0]}://) is reserved for a later version; "
            "use --db PATH (a SQLite file) or set DREAMLINK_DB to a path"
        )
    if text.startswith("sqlite:///"):
        return text[len("sqlite:///") :]
    if "://" in text:
        raise ConfigError(f"unsupported database URL {text!r}: use a file path or sqlite:///PATH")
    return text


class Database:
    """The server's SQLite database.

    Parameters
    ----------
    url : str or Path
        A file path, ``sqlite:///PATH`` or ``:memory:``. Parent folders are created.
    """

    def __init__(self, url: str | Path) -> None:
        path = _sqlite_path(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        except sqlite3.Error as err:
            raise ConfigError(f"cannot open database {path}: {err}; check --db") from err
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    # -- schema -----------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Number of migrations applied."""
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply pending :data:`MIGRATIONS`, each in its own transaction."""
        with self._lock:
            current = self.version
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                log.info("applying database migration %d", number)
                self._conn.executescript(f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;")

    # -- access -----------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on error)."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        """Run one statement (autocommit)."""
        with self._lock:
            return self._conn.execute(sql, params)

    def one(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
        """First row of a query, or ``None``."""
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def all(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        """All rows of a query."""
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with self._lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()


def now() -> float:
    """Wall-clock time as a POSIX timestamp in seconds (what the database stores)."""
    return time.time()
