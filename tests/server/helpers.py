"""Shared helpers for server and rig tests: a real server on a free loopback port, accounts, tokens."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]
DREAMLINK = [sys.executable, "-m", "dreamlink.cli"]
PASSWORD = "correct-horse-9"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_users(db_path: Path, users: dict[str, str]) -> None:
    """Create accounts directly in the database file (as `dreamlink user add` does)."""
    from dreamlink.server.auth import create_user
    from dreamlink.server.db import Database

    db = Database(db_path)
    try:
        for name, role in users.items():
            create_user(db, name, role, PASSWORD)
    finally:
        db.close()


@dataclass
class World:
    """An in-process server for a test: its client, app, the session id, tokens, database file."""

    client: object
    app: object
    sid: str
    tokens: dict[str, str]
    db_path: Path | None = None

    def h(self, name: str) -> dict[str, str]:
        """Authorization header of user ``name``."""
        return {"Authorization": f"Bearer {self.tokens[name]}"}


#: The accounts of the in-process test worlds: name -> global role.
WORLD_USERS = {
    "root": "admin",
    "op": "operator",
    "obs": "observer",
    "alice": "dreamer",
    "bob": "dreamer",
    "mallory": "operator",  # not a member of the session
    "eve": "dreamer",  # not a member of the session
    "oscar": "observer",  # not a member
}


def populate_world(db, alice_visible_to: str | None) -> tuple[str, dict[str, str]]:
    """Accounts of every role, one session "night" run by op with obs, alice and bob as members,
    alice's data granted to ``alice_visible_to`` (a user name, or ``None`` = the whole session).
    Returns the session id and a bearer token per user."""
    from dreamlink.server.auth import create_user, get_user, issue_token
    from dreamlink.server.sessions import add_member, create_session, grant

    for name, role in WORLD_USERS.items():
        create_user(db, name, role, PASSWORD)
    sid = create_session(db, "night", get_user(db, "op"))
    add_member(db, sid, "obs", "observer")
    add_member(db, sid, "alice", "dreamer")
    add_member(db, sid, "bob", "dreamer")
    grant(db, sid, get_user(db, "alice"), alice_visible_to)
    return sid, {name: issue_token(db, get_user(db, name))[0] for name in WORLD_USERS}


def wait_health(base: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode}: {proc.stderr.read() if proc.stderr else ''}"
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise TimeoutError(f"server at {base} did not answer /health within {timeout} s")


@contextlib.contextmanager
def server_process(db_path: Path, port: int | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`dreamlink serve` in a subprocess on a free loopback port; yields (base URL, process)."""
    port = port or free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [*DREAMLINK, "serve", "--db", str(db_path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_health(base, proc=proc)
        yield base, proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def server_thread(app) -> Iterator[str]:
    """Run an ASGI app on uvicorn in a thread on a free loopback port; yields the base URL."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", ws="websockets-sansio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        wait_health(base)
        yield base
    finally:
        server.should_exit = True
        thread.join(10)


def login(base: str, name: str) -> str:
    r = httpx.post(f"{base}/auth/login", json={"name": name, "password": PASSWORD}, timeout=10)
    r.raise_for_status()
    return r.json()["token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_session(
    base: str, operator_token: str, members: dict[str, str], dreamer_tokens: dict[str, str]
) -> str:
    """Create a session, add members, and let each dreamer grant the whole session."""
    r = httpx.post(
        f"{base}/sessions", json={"name": "test night"}, headers=bearer(operator_token), timeout=10
    )
    r.raise_for_status()
    sid = r.json()["id"]
    for name, role in members.items():
        r = httpx.post(
            f"{base}/sessions/{sid}/members",
            json={"name": name, "role": role},
            headers=bearer(operator_token),
            timeout=10,
        )
        r.raise_for_status()
    for token in dreamer_tokens.values():
        httpx.post(
            f"{base}/sessions/{sid}/grants", json={}, headers=bearer(token), timeout=10
        ).raise_for_status()
    return sid


def start_dreamlink(*args: str) -> subprocess.Popen:
    """``dreamlink ARGS`` in a subprocess, output captured as text, unbuffered."""
    return subprocess.Popen(
        [*DREAMLINK, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> str:
    """Wait for ``proc``; assert it exited 0 (showing its stderr's end if not); return its stdout."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{proc.args[3:5]} failed ({proc.returncode}): {err[-3000:]}"
    return out


def get_json(base: str, token: str, path: str) -> list | dict:
    """GET ``base + path`` with the bearer ``token``; the JSON body (raises on an HTTP error)."""
    r = httpx.get(f"{base}{path}", headers=bearer(token), timeout=30)
    r.raise_for_status()
    return r.json()
