"""A server with the dashboard mounted: accounts of every role, one session with grants, tokens."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from dreamlink.server.app import create_app
from dreamlink.server.auth import create_user, get_user, issue_token
from dreamlink.server.dashboard import mount_dashboard
from dreamlink.server.sessions import add_member, create_session, grant

PASSWORD = "correct-horse-9"

#: name -> global role
USERS = {
    "root": "admin",
    "op": "operator",
    "obs": "observer",
    "alice": "dreamer",
    "bob": "dreamer",
    "mallory": "operator",  # not a member of the session
    "eve": "dreamer",  # not a member of the session
}


@dataclass
class World:
    client: TestClient
    app: object
    sid: str
    tokens: dict[str, str]

    def h(self, name: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[name]}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """One world per test module (argon2 hashing of the accounts is deliberately slow); tests only
    add their own data to it."""
    tmp_path: Path = tmp_path_factory.mktemp("dashboard")
    app = mount_dashboard(create_app(tmp_path / "server.sqlite"))
    db = app.state.db
    for name, role in USERS.items():
        create_user(db, name, role, PASSWORD)
    sid = create_session(db, "night", get_user(db, "op"))
    add_member(db, sid, "obs", "observer")
    add_member(db, sid, "alice", "dreamer")
    add_member(db, sid, "bob", "dreamer")
    grant(db, sid, get_user(db, "alice"), None)  # alice: visible to the whole session
    tokens = {name: issue_token(db, get_user(db, name))[0] for name in USERS}
    client = TestClient(app)
    with client:
        yield World(client, app, sid, tokens)
