"""A populated server for the tests: accounts of every role, one session with grants, tokens."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from dreamlink.server.app import create_app
from dreamlink.server.db import Database
from tests.server.helpers import PASSWORD, WORLD_USERS, World, populate_world

__all__ = ["PASSWORD", "WORLD_USERS", "World", "build_world", "make_app"]


def _template(folder: Path) -> tuple[Path, str, dict[str, str]]:
    """Build the populated database once (Argon2 hashing is deliberately slow)."""
    db_path = folder / "template.sqlite"
    db = Database(db_path)
    sid, tokens = populate_world(db, alice_visible_to="op")  # alice: visible to op only
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return db_path, sid, tokens


@pytest.fixture(scope="session")
def world_template(tmp_path_factory) -> tuple[Path, str, dict[str, str]]:
    return _template(tmp_path_factory.mktemp("world"))


def make_app(db_path, **app_options):
    """The server as `dreamlink serve` builds it: with the dashboard when it is installed."""
    app = create_app(db_path, **app_options)
    try:
        from dreamlink.server.dashboard import mount_dashboard
    except ImportError:
        return app
    return mount_dashboard(app)


def build_world(template: tuple[Path, str, dict[str, str]], tmp: Path, **app_options) -> World:
    """A fresh copy of the populated database and an app on it."""
    src, sid, tokens = template
    db_path = tmp / "server.sqlite"
    shutil.copyfile(src, db_path)
    app = make_app(db_path, **app_options)
    return World(TestClient(app), app, sid, dict(tokens), db_path)


@pytest.fixture
def world(world_template, tmp_path: Path):
    w = build_world(world_template, tmp_path)
    with w.client:
        yield w
