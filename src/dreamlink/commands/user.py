"""``dreamlink user add NAME --role ROLE``: create an account of the session server."""

from __future__ import annotations

import os
import sys

import click

from dreamlink.errors import ConfigError


@click.group("user")
def command() -> None:
    """Manage user accounts of the session server (stored in its database).

    \b
    Example:
      dreamlink user add alice --role dreamer --db night.sqlite      # asks for the password
      echo 's3cret-pass' | dreamlink user add bob --role operator --db night.sqlite
    """


@command.command("add")
@click.argument("name")
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "operator", "observer", "dreamer"]),
    help="admin: accounts, sessions, audit; operator: runs sessions and sends messages; "
    "observer: watches; dreamer: runs a rig.",
)
@click.option(
    "--db",
    default=None,
    metavar="PATH",
    help="Server database (env DREAMLINK_DB; default ./dreamlink.sqlite).",
)
def add(name: str, role: str, db: str | None) -> None:
    """Create user NAME; the password is asked for (or read from stdin when piped)."""
    from dreamlink.server.auth import create_user
    from dreamlink.server.db import Database

    db = db or os.environ.get("DREAMLINK_DB") or "dreamlink.sqlite"
    if sys.stdin is not None and not sys.stdin.isatty():
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise ConfigError("no password on stdin: pipe one line, or run in a terminal to be asked")
    else:
        password = click.prompt("password", hide_input=True, confirmation_prompt=True)
    database = Database(db)
    try:
        user = create_user(database, name, role, password)
        from dreamlink.server import audit

        audit.record(database, "cli", "create_user", f"user:{user.name}", {"role": role})
    finally:
        database.close()
    click.echo(f"created {role} {user.name} in {db}")
