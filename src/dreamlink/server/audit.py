"""The append-only audit log: who saw or did what, and when.

Every authenticated action that reads a dreamer's data or changes state writes one row: the actor
(user name or ``anonymous``), an ``action`` verb (``login``, ``login_failed``, ``view_events``,
``send_message``, ``grant``...), a ``target`` (session, dreamer, user) and a short ``detail``. SQLite
triggers (created by migration 1 in :mod:`dreamlink.server.db`) abort any ``UPDATE`` or ``DELETE`` on the
table, so the log cannot be rewritten through the database connection either.
"""

from __future__ import annotations

import json
from typing import Any

from dreamlink.server.db import Database, now


def record(db: Database, actor: str, action: str, target: str = "", detail: Any = "") -> None:
    """Append one audit row.

    Parameters
    ----------
    db : Database
        The server database.
    actor : str
        User name performing the action (``"anonymous"`` before login).
    action : str
        Short verb, snake_case.
    target : str
        What was acted on (``"session:abc"``, ``"dreamer:alice"``...).
    detail : str or mapping
        Extra context; mappings are stored as JSON.
    """
    if not isinstance(detail, str):
        detail = json.dumps(detail, sort_keys=True, default=str)
    db.execute(
        "INSERT INTO audit (ts, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)",
        (now(), actor, action, target, detail),
    )


def entries(db: Database, limit: int = 200, after_id: int = 0) -> list[dict[str, Any]]:
    """Audit rows with ``id > after_id``, oldest first, at most ``limit``."""
    rows = db.all(
        "SELECT id, ts, actor, action, target, detail FROM audit WHERE id > ? ORDER BY id LIMIT ?",
        (after_id, limit),
    )
    return [dict(r) for r in rows]
