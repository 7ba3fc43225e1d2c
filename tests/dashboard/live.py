"""A live world for the browser tests and the rendering benchmark: a real server (the session server
with the dashboard mounted, on uvicorn in a subprocess, temp SQLite file) and real simulated rigs
(``dreamlink rig`` subprocesses on ``sim:`` sources) streaming into it over loopback."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PASSWORD = "correct-horse-9"
#: A short night: REM from 3 min on, so relayed messages are deliverable soon at 20× speed.
SHORT_NIGHT = ["W", "W", "N1", "N2", "N2", "N2"] + ["R"] * 30 + ["N2"] * 4 + ["N3"] * 6 + ["R"] * 40

_SERVER = """
import sys, uvicorn
from dreamlink.server.app import create_app
from dreamlink.server.dashboard import mount_dashboard
app = mount_dashboard(create_app(sys.argv[1]))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", ws="websockets-sansio")
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveWorld:
    base: str
    db_path: Path
    tmp: Path
    sessions: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    procs: list[subprocess.Popen] = field(default_factory=list)

    def rig(
        self,
        dreamer: str,
        session: str,
        *,
        seed: int = 1,
        speed: float = 20.0,
        decimate: float = 64.0,
        hypnogram: Path | None = None,
        partner: str | None = None,
        block_sec: float = 1.0,
        inject: str | None = None,
    ) -> subprocess.Popen:
        """Start ``dreamlink rig`` for ``dreamer`` on a simulated night."""
        src = f"sim:seed={seed}" + (f",hypnogram={hypnogram}" if hypnogram else ",hours=1")
        if inject:
            src += f",inject={inject}"
        cmd = [
            sys.executable,
            "-m",
            "dreamlink.cli",
            "rig",
            src,
            "--server",
            self.base,
            "--token",
            self.tokens[dreamer],
            "--session",
            self.sessions[session],
            "--dreamer",
            dreamer,
            "--out",
            str(self.tmp / f"rig-{session}-{dreamer}"),
            "--speed",
            str(speed),
            "--decimate",
            str(decimate),
            "--ready-after",
            "0",
            "--receipt",
            "cue",
            "--no-record",
            "--block-sec",
            str(block_sec),
            "--linger",
            "0",
        ]
        if partner:
            cmd += ["--partner", partner]
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _setup_accounts(db_path: Path, dreamers: dict[str, list[str]]) -> tuple[dict[str, str], dict[str, str]]:
    """Accounts, sessions (name -> dreamers, all granted to the whole session) and tokens."""
    from dreamlink.server.auth import create_user, get_user, issue_token
    from dreamlink.server.db import Database
    from dreamlink.server.sessions import add_member, create_session, grant

    db = Database(db_path)
    try:
        names = {"op": "operator", "obs": "observer"}
        for members in dreamers.values():
            names.update({d: "dreamer" for d in members})
        for name, role in names.items():
            create_user(db, name, role, PASSWORD)
        sessions = {}
        for session, members in dreamers.items():
            sid = create_session(db, session, get_user(db, "op"))
            add_member(db, sid, "obs", "observer")
            for d in members:
                add_member(db, sid, d, "dreamer")
                grant(db, sid, get_user(db, d), None)
            sessions[session] = sid
        tokens = {name: issue_token(db, get_user(db, name))[0] for name in names}
    finally:
        db.close()
    return sessions, tokens


@contextlib.contextmanager
def live_world(tmp: Path, dreamers: dict[str, list[str]]) -> Iterator[LiveWorld]:
    """Server subprocess with accounts and sessions; every process started is stopped at the end."""
    db_path = tmp / "server.sqlite"
    sessions, tokens = _setup_accounts(db_path, dreamers)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(db_path), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    world = LiveWorld(f"http://127.0.0.1:{port}", db_path, tmp, sessions, tokens, [])
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"server exited: {server.stderr.read() if server.stderr else ''}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{world.base}/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError("dashboard server did not start")
            time.sleep(0.1)
        yield world
    finally:
        for proc in world.procs:
            world.stop(proc)
        world.stop(server)


def write_short_night(path: Path) -> Path:
    """The :data:`SHORT_NIGHT` hypnogram as a YASA-style text file (one 30-s epoch per line)."""
    path.write_text("\n".join(SHORT_NIGHT) + "\n")
    return path


def demo(speed: float = 10.0) -> None:
    """Two simulated dreamers in a shared session, alice sending "HI" in eye-Morse to bob in REM;
    prints the dashboard address and the logins, runs until Ctrl-C (``python -m tests.dashboard.live``)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="dreamlink-demo-") as folder:
        tmp = Path(folder)
        night = write_short_night(tmp / "short_night.txt")
        with live_world(tmp, {"shared dream": ["alice", "bob"]}) as w:
            w.rig(
                "alice",
                "shared dream",
                seed=3,
                speed=speed,
                hypnogram=night,
                partner="bob",
                inject="morse:HI@rem1+20",
            )
            w.rig("bob", "shared dream", seed=4, speed=speed, hypnogram=night, partner="alice")
            sid = w.sessions["shared dream"]
            print(f"dreamlink dashboard: {w.base}/ui/session/{sid}")
            print(
                f"  operator: op / {PASSWORD}    observer: obs / {PASSWORD}    "
                f"dreamers: alice, bob / {PASSWORD}"
            )
            print(
                f"  design studio: {w.base}/ui/studio    morning view (as alice): {w.base}/ui/morning/{sid}"
            )
            print("  alice sends 'HI' in eye-Morse during her first REM period; bob receives it as a cue.")
            print("Ctrl-C to stop.")
            import signal

            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            try:
                while True:
                    time.sleep(1)
            except KeyboardInterrupt:
                pass


if __name__ == "__main__":
    demo(float(sys.argv[1]) if len(sys.argv) > 1 else 10.0)
