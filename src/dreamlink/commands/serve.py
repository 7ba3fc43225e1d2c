"""``dreamlink serve``: run the session server (REST + WebSocket) on uvicorn."""

from __future__ import annotations

import os
from pathlib import Path

import click

from dreamlink.errors import ConfigError

DEFAULT_DB = "dreamlink.sqlite"


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. The default keeps everything on this machine; 0.0.0.0 opens it to the "
    "network (use TLS then).",
)
@click.option("--port", default=8700, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option(
    "--db",
    "db",
    default=None,
    metavar="PATH",
    help=f"SQLite database file (env DREAMLINK_DB; default ./{DEFAULT_DB}). "
    "postgresql:// URLs are reserved for later.",
)
@click.option("--tls-cert", type=click.Path(dir_okay=False), default=None, help="TLS certificate (PEM).")
@click.option("--tls-key", type=click.Path(dir_okay=False), default=None, help="TLS private key (PEM).")
@click.option(
    "--token-hours",
    default=12.0,
    show_default=True,
    type=click.FloatRange(min=0.01),
    help="Lifetime of login tokens in hours.",
)
@click.option(
    "--broker",
    default=None,
    metavar="redis://HOST:PORT/DB",
    envvar="DREAMLINK_BROKER",
    help="Share live sessions with other `dreamlink serve` processes through this Redis (all must use the "
    "same --db); see docs/scale-out.md.",
)
@click.option(
    "--no-dashboard",
    is_flag=True,
    help="Serve the API only, without the browser dashboard under /ui/.",
)
@click.option(
    "--log-level",
    default="warning",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    help="uvicorn log level.",
)
def command(
    host: str,
    port: int,
    db: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    token_hours: float,
    broker: str | None,
    no_dashboard: bool,
    log_level: str,
) -> None:
    """Run the session server: sessions of dreamers, operators and observers, relay between dreamers.

    Every route needs a login token except GET /health and POST /auth/login; the OpenAPI schema is at
    /openapi.json for logged-in users. Create accounts first with `dreamlink user add`.

    \b
    Example:
      dreamlink user add admin --role admin --db night.sqlite
      dreamlink serve --db night.sqlite                 # http://127.0.0.1:8700
      dreamlink serve --host 0.0.0.0 --tls-cert cert.pem --tls-key key.pem
    """
    import uvicorn

    from dreamlink.server.app import create_app
    from dreamlink.server.protocol import MAX_FRAME_BYTES

    db = db or os.environ.get("DREAMLINK_DB") or DEFAULT_DB
    if bool(tls_cert) != bool(tls_key):
        raise ConfigError("TLS needs both --tls-cert FILE and --tls-key FILE")
    for path in (tls_cert, tls_key):
        if path and not Path(path).is_file():
            raise ConfigError(f"TLS file not found: {path} (check --tls-cert/--tls-key)")
    app = create_app(db, token_ttl=token_hours * 3600.0, secure_cookies=bool(tls_cert))
    if not no_dashboard:
        from dreamlink.server.dashboard import mount_dashboard

        mount_dashboard(app)
    if broker:
        from dreamlink.server.scaleout import install_broker

        install_broker(app, broker)
    scheme = "https" if tls_cert else "http"
    where = f"{scheme}://{host}:{port}"
    click.echo(f"dreamlink server on {where}  (database: {db})", err=True)
    if not no_dashboard:
        click.echo(f"dashboard: {where}/ui/", err=True)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        ws_max_size=4 * MAX_FRAME_BYTES,
        ws="websockets-sansio",
        access_log=log_level in ("info", "debug"),
    )
