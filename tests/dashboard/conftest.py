"""A server with the dashboard mounted: accounts of every role, one session with grants, tokens."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from dreamlink.server.app import create_app
from dreamlink.server.dashboard import mount_dashboard
from tests.server.helpers import PASSWORD, World, populate_world

__all__ = ["PASSWORD", "World", "world"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    """One world per test module (argon2 hashing of the accounts is deliberately slow); tests only
    add their own data to it."""
    tmp_path: Path = tmp_path_factory.mktemp("dashboard")
    app = mount_dashboard(create_app(tmp_path / "server.sqlite"))
    sid, tokens = populate_world(app.state.db, alice_visible_to=None)  # alice: visible to the whole session
    client = TestClient(app)
    with client:
        yield World(client, app, sid, tokens)
