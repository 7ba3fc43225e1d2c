"""The server database's migrations on a database made by an earlier version."""

from __future__ import annotations

import sqlite3
import warnings

import pytest

from dreamlink.server import db as db_module
from dreamlink.server.db import MIGRATIONS, Database

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

#: The schema version before revised relays (migration 4).
BEFORE_REVISIONS = 3


@pytest.fixture
def old_database(tmp_path, monkeypatch):
    """Open a database as a server of schema version 3 did (its migrations only); yields an opener."""

    def open_old(name: str = "old.sqlite") -> Database:
        with monkeypatch.context() as m:
            m.setattr(db_module, "MIGRATIONS", MIGRATIONS[:BEFORE_REVISIONS])
            return Database(tmp_path / name)

    return open_old


def test_revised_relays_migration_keeps_the_relays_of_an_existing_database(old_database, tmp_path) -> None:
    old = old_database()
    assert old.version == BEFORE_REVISIONS
    insert = (
        "INSERT INTO relays (session_id, sender_kind, sender, recipient, text, created, expires, status, "
        "delivered, acked, ack_notified, origin_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    for row in (
        ("s1", "dreamer", "alice", "bob", "HI", 1.0, 99.0, "acked", 2.0, 3.0, 1, 7),
        ("s1", "operator", "op", "bob", "WAKE", 4.0, 99.0, "queued", None, None, 0, None),
        ("s1", "dreamer", "alice", "bob", "GONE", 5.0, 6.0, "expired", None, None, 0, 8),
    ):
        old.execute(insert, row)
    old.execute("DELETE FROM relays WHERE text = 'GONE'")  # ids are never reused, even after this
    with pytest.raises(sqlite3.IntegrityError):  # the old schema knows no 'superseded'
        old.execute("UPDATE relays SET status = 'superseded' WHERE text = 'WAKE'")
    old.close()

    db = Database(tmp_path / "old.sqlite")  # what a new server does on start
    try:
        assert db.version == len(MIGRATIONS) > BEFORE_REVISIONS
        rows = [dict(r) for r in db.all("SELECT * FROM relays ORDER BY id")]
        assert [(r["id"], r["text"], r["status"], r["origin_seq"], r["revises_id"]) for r in rows] == [
            (1, "HI", "acked", 7, None),
            (2, "WAKE", "queued", None, None),
        ]
        assert (rows[0]["delivered"], rows[0]["acked"], rows[0]["ack_notified"]) == (2.0, 3.0, 1)
        db.execute("UPDATE relays SET status = 'superseded' WHERE id = 2")
        cur = db.execute(
            "INSERT INTO relays (session_id, sender_kind, sender, recipient, text, created, expires, status, "
            "revises_id) VALUES ('s1', 'operator', 'op', 'bob', 'WAKE UP', 7.0, 99.0, 'queued', 2)"
        )
        assert cur.lastrowid == 4
        with pytest.raises(sqlite3.IntegrityError):  # statuses are still checked ...
            db.execute("UPDATE relays SET status = 'lost' WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError):  # ... and replayed frames still deduplicated
            db.execute(insert, ("s1", "dreamer", "alice", "bob", "HI", 1.0, 99.0, "queued", None, None, 0, 7))
        indexes = {r["name"] for r in db.all("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert "relays_by_recipient" in indexes
        assert db.all("PRAGMA foreign_key_check") == [] and db.one("PRAGMA integrity_check")[0] == "ok"
    finally:
        db.close()
    again = Database(tmp_path / "old.sqlite")  # opening it again applies nothing twice
    try:
        assert again.version == len(MIGRATIONS) and again.one("SELECT COUNT(*) FROM relays")[0] == 3
    finally:
        again.close()


def test_a_server_on_a_migrated_database_supersedes_an_old_queued_message(old_database, tmp_path) -> None:
    from dreamlink.server.app import create_app
    from tests.server.helpers import populate_world

    old = old_database()
    sid, tokens = populate_world(old, alice_visible_to=None)
    old.execute(  # queued by the old server, before bob's rig was ready
        "INSERT INTO relays (session_id, sender_kind, sender, recipient, text, created, expires, status, "
        "origin_seq) VALUES (?, 'dreamer', 'alice', 'bob', 'F', 1.0, 1e12, 'queued', 1)",
        (sid,),
    )
    old.execute("INSERT OR IGNORE INTO rigs (session_id, dreamer, updated) VALUES (?, 'alice', 1.0)", (sid,))
    old.execute("UPDATE rigs SET last_seq = 1 WHERE session_id = ? AND dreamer = 'alice'", (sid,))
    old.close()
    with TestClient(create_app(tmp_path / "old.sqlite")) as c:
        h = {"Authorization": f"Bearer {tokens['alice']}"}
        with c.websocket_connect(f"/ws/rig/{sid}", headers=h) as ws:
            ws.send_json({"type": "hello"})
            assert ws.receive_json()["last_seq"] == 1
            ws.send_json({"type": "relay", "seq": 2, "to": "bob", "text": "FLY", "revises": "F"})
            assert ws.receive_json() == {"type": "ack", "seq": 2}
        relays = c.get(f"/sessions/{sid}/relays", headers=h).json()
    assert [(r["id"], r["text"], r["status"], r["revises_id"]) for r in relays] == [
        (1, "F", "superseded", None),
        (2, "FLY", "queued", 1),
    ]
