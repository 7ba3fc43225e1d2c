"""`dreamlink user add`: password from stdin or a prompt, Argon2-hashed, bad input → one line."""

from __future__ import annotations

import subprocess
from pathlib import Path

from dreamlink.server.auth import authenticate
from dreamlink.server.db import Database
from tests.server.helpers import DREAMLINK


def _add(db: Path, *args: str, password: str = "good-password-1") -> subprocess.CompletedProcess:
    return subprocess.run(
        [*DREAMLINK, "user", "add", *args, "--db", str(db)],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_user_add_reads_the_password_from_stdin_and_hashes_it(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    r = _add(db, "alice", "--role", "dreamer")
    assert r.returncode == 0, r.stderr
    assert "created dreamer alice" in r.stdout
    database = Database(db)
    try:
        row = database.one("SELECT pw_hash FROM users WHERE name = 'alice'")
        assert row["pw_hash"].startswith("$argon2id$") and "good-password-1" not in row["pw_hash"]
        assert authenticate(database, "alice", "good-password-1").role == "dreamer"
        assert database.one("SELECT action FROM audit")["action"] == "create_user"
    finally:
        database.close()


def test_user_add_bad_input(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    r = _add(db, "bob", "--role", "pilot")
    assert r.returncode == 2 and "pilot" in r.stderr
    r = _add(db, "bob", "--role", "operator", password="short")
    assert r.returncode == 2 and r.stderr.strip() == "error: password too short: use at least 8 characters"
    r = _add(db, "bad name!", "--role", "operator")
    assert r.returncode == 2 and "invalid user name" in r.stderr
    assert _add(db, "bob", "--role", "operator").returncode == 0
    r = _add(db, "bob", "--role", "operator")
    assert r.returncode == 2 and "already exists" in r.stderr and "Traceback" not in r.stderr
