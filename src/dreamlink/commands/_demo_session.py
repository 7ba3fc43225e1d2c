"""The shared-session part of ``dreamlink demo``: a real session server and two real rigs.

Starts ``dreamlink serve`` (with its dashboard) on loopback with a fresh SQLite file, creates an
operator, an observer and two dreamers (alice, bob) in one session, and starts one ``dreamlink rig``
per dreamer on a simulated night with REM early on. Alice sends "HI" in eye-Morse during her REM;
the server relays it to bob, whose rig presents it as a cue once he is in REM and signals receipt;
alice gets the acknowledgement. The tour waits for that exchange, prints it, and prints the
dashboard's address and the demo logins. Everything runs on this machine; nothing leaves it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import click

from dreamlink.errors import DreamlinkError

#: Dreamers' night: a few minutes of wake/NREM, then REM (so the relay happens within a minute).
SHORT_NIGHT = ["W", "W", "N1", "N2", "N2", "N2"] + ["R"] * 30 + ["N2"] * 4 + ["N3"] * 6 + ["R"] * 40


def _free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise DreamlinkError("no free TCP port on 127.0.0.1 for the demo server")


def _setup(db_path: Path, password: str) -> tuple[str, dict[str, str]]:
    """Accounts and one session with alice and bob (each granting the session); returns (sid, tokens)."""
    from dreamlink.server.auth import create_user, get_user, issue_token
    from dreamlink.server.db import Database
    from dreamlink.server.sessions import add_member, create_session, grant

    db = Database(db_path)
    try:
        roles = {"op": "operator", "obs": "observer", "alice": "dreamer", "bob": "dreamer"}
        for name, role in roles.items():
            create_user(db, name, role, password)
        sid = create_session(db, "shared dream", get_user(db, "op"))
        add_member(db, sid, "obs", "observer")
        for dreamer in ("alice", "bob"):
            add_member(db, sid, dreamer, "dreamer")
            grant(db, sid, get_user(db, dreamer), None)
        tokens = {name: issue_token(db, get_user(db, name))[0] for name in roles}
    finally:
        db.close()
    return sid, tokens


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_health(base: str, server: subprocess.Popen, timeout: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise DreamlinkError(f"the demo server exited (code {server.returncode})")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise DreamlinkError("the demo server did not answer /health within 30 s")


def _rig(
    base: str,
    sid: str,
    token: str,
    dreamer: str,
    partner: str,
    night: Path,
    folder: Path,
    seed: int,
    inject: str | None,
) -> subprocess.Popen:
    source = f"sim:seed={seed},hypnogram={night}" + (f",inject={inject}" if inject else "")
    cmd = [
        sys.executable,
        "-m",
        "dreamlink.cli",
        "rig",
        source,
        "--server",
        base,
        "--token",
        token,
        "--session",
        sid,
        "--dreamer",
        dreamer,
        "--partner",
        partner,
        "--out",
        str(folder / dreamer),
        "--speed",
        "10",
        "--decimate",
        "64",
        "--ready-after",
        "0",
        "--receipt",
        "cue",
        "--block-sec",
        "1",
        "--linger",
        "0",
    ]
    log = (folder / f"{dreamer}.log").open("w")
    return subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )


def _wait_relay(base: str, sid: str, token: str, timeout: float) -> list[dict]:
    import httpx

    deadline = time.monotonic() + timeout
    relays: list[dict] = []
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(
                f"{base}/sessions/{sid}/relays", timeout=2, headers={"Authorization": f"Bearer {token}"}
            )
            if answer.status_code == 200:
                relays = answer.json()
                if any(r.get("status") == "acked" for r in relays):
                    return relays
        time.sleep(0.5)
    return relays


def clear_earlier_session(folder: Path) -> None:
    """Remove what an earlier demo session left in ``folder``: the server database and the two
    rigs' recordings and outboxes (``alice/``, ``bob/``).

    Each demo starts a new session. A rig that found its earlier recording would resume that night
    where it stopped, after alice's message had gone, and nothing would be relayed this time. Only
    the demo's own output folder is touched.
    """
    for stale in folder.glob("server.sqlite*"):
        stale.unlink()
    for dreamer in ("alice", "bob"):
        shutil.rmtree(folder / dreamer, ignore_errors=True)


def run(folder: Path, port: int = 8700, seed: int = 7, keep_serving: float | None = None) -> None:
    """Run the shared session; see the module docstring.

    Parameters
    ----------
    folder : Path
        Where the server database, rig outboxes/recordings and logs go.
    port : int
        Preferred port (another free one is used if it is taken).
    seed : int
        Simulator seed of alice (bob gets ``seed + 1``).
    keep_serving : float | None
        Seconds the session stays up after the exchange; ``None``: until Ctrl-C when run in a
        terminal, else stop at once.
    """
    folder.mkdir(parents=True, exist_ok=True)
    db_path = folder / "server.sqlite"
    clear_earlier_session(folder)
    password = "dream-" + secrets.token_hex(3)
    sid, tokens = _setup(db_path, password)
    night = folder / "short_night.txt"
    night.write_text("\n".join(SHORT_NIGHT) + "\n", encoding="utf-8")
    port = _free_port(port)
    base = f"http://127.0.0.1:{port}"
    click.secho(f"$ dreamlink serve --db {db_path} --port {port}", fg="cyan")
    server = subprocess.Popen(
        [sys.executable, "-m", "dreamlink.cli", "serve", "--db", str(db_path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "server.log").open("w"),
    )
    procs = [server]
    try:
        _wait_health(base, server)
        click.secho(
            "$ dreamlink rig sim:...,inject=morse:HI@rem1+20 --dreamer alice --partner bob ...", fg="cyan"
        )
        procs.append(
            _rig(base, sid, tokens["alice"], "alice", "bob", night, folder, seed, "morse:HI@rem1+20")
        )
        click.secho("$ dreamlink rig sim:... --dreamer bob --partner alice ...", fg="cyan")
        procs.append(_rig(base, sid, tokens["bob"], "bob", "alice", night, folder, seed + 1, None))
        click.echo(
            "two simulated dreamers are streaming (their rigs replay the simulator's decoded events; "
            "`dreamlink rig --events detect` runs the live stager and detectors instead);\n"
            "waiting for alice's message to reach bob ..."
        )
        relays = _wait_relay(base, sid, tokens["op"], timeout=180)
        for relay in relays:
            click.echo(
                f"  relay {relay.get('sender')} -> {relay.get('recipient')}: "
                f"{relay.get('text')!r}  status {relay.get('status')}"
            )
        if not any(r.get("status") == "acked" for r in relays):
            click.echo(f"  (no acknowledged relay yet; see the logs in {folder})")
        click.echo()
        click.secho(f"dashboard: {base}/ui/session/{sid}", bold=True)
        click.echo(f"  logins (password {password}): operator 'op', observer 'obs', dreamers 'alice', 'bob'")
        click.echo(f"  design studio: {base}/ui/studio    alice's morning view: {base}/ui/morning/{sid}")
        if keep_serving is None:
            keep_serving = float("inf") if sys.stdin.isatty() else 0.0
        if keep_serving > 0:
            click.echo(
                "the session keeps running; Ctrl-C to stop."
                if keep_serving == float("inf")
                else f"the session keeps running for {keep_serving:g} s."
            )
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            with contextlib.suppress(KeyboardInterrupt):
                end = time.monotonic() + keep_serving
                while time.monotonic() < end:
                    time.sleep(0.5)
    finally:
        for proc in reversed(procs):
            _stop(proc)
