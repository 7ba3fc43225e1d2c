"""Load test of the session server: N simulated rigs streaming to one `dreamlink serve` process.

Each rig streams a simulated night at real time (256 Hz × 6 channels), decimated causally to 64 Hz
(:class:`dreamlink.rig.pipeline.Decimator`) and sent as one numbered ``signal`` frame per second over
the real WebSocket protocol (hello, sequence numbers, cumulative acknowledgements), plus one ``event``
frame every 2 s stamped with its wall time. One operator per run subscribes to the session's live
feed (all dreamers granted); the **end-to-end event latency** is the time from the rig stamping the
event to the operator receiving it (rig → server → SQLite commit → hub → subscriber), same clock.

Reported per N: frames/s received by the server over the whole window (streaming plus the drain of
late frames), latency p50/p99 (ms), server CPU (% of one core over the window, from /proc) and the
server's CPU milliseconds per frame (the load-independent cost), the window length, and
**lost samples** = samples the rigs produced minus the
samples the server stored (via the coverage route, which also checks for gaps and overlaps).

The rigs are lightweight asyncio clients (not `dreamlink rig` subprocesses) spread over ``--workers``
load-generator processes (one asyncio loop for 200 rigs could not keep up on this machine), so the
client side shares the 2 cores with the server: the numbers are a lower bound for a server that has
the machine to itself. Other helpers' jobs may be loading the machine too: the load average is
printed with the table.

Usage::

    python benchmarks/server_load.py                 # N = 10, 50, 100, 200; 20 s each
    python benchmarks/server_load.py --n 10 --seconds 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import httpx
import numpy as np
from websockets.asyncio.client import connect

from dreamlink.rig.pipeline import Decimator
from dreamlink.server.auth import create_user, get_user, issue_token
from dreamlink.server.db import Database
from dreamlink.server.protocol import encode_block
from dreamlink.server.sessions import add_member, create_session, grant
from dreamlink.sources import open_source

SFREQ = 256
BLOCK_SEC = 1.0
EVENT_EVERY = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Rig:
    """One lightweight rig: real protocol, in-memory outbox."""

    def __init__(self, name: str, token: str, night, offset: int) -> None:
        self.name, self.token, self.night, self.offset = name, token, night, offset
        self.dec = Decimator(SFREQ, 64, 6)
        self.seq = 0
        self.acked = 0
        self.samples = 0
        self.errors = 0

    async def run(self, url: str, seconds: float, start_at: float) -> None:
        async with connect(
            url,
            additional_headers={"Authorization": f"Bearer {self.token}"},
            max_size=2**22,
            ping_interval=None,
            open_timeout=60,
        ) as ws:
            await ws.send(json.dumps({"type": "hello"}))
            json.loads(await ws.recv())

            async def acks() -> None:
                async for raw in ws:
                    frame = json.loads(raw)
                    if frame["type"] == "ack":
                        self.acked = max(self.acked, frame["seq"])
                    elif frame["type"] == "error":
                        self.errors += 1

            reader = asyncio.create_task(acks())
            n_blocks = int(seconds / BLOCK_SEC)
            next_event = EVENT_EVERY
            for k in range(n_blocks):
                await asyncio.sleep(max(0.0, start_at + (k + 1) * BLOCK_SEC - time.time()))
                first = k * SFREQ
                data = self.night.generate(self.offset + first, SFREQ)
                dec, dfirst = self.dec.process(data, first)
                self.seq += 1
                self.samples += data.shape[1]
                await ws.send(
                    json.dumps(
                        {
                            "type": "signal",
                            "seq": self.seq,
                            "src_first": first,
                            "src_n": data.shape[1],
                            "first": dfirst,
                            "n": dec.shape[1],
                            "sfreq": 64.0,
                            "ch_names": list(self.night.info.ch_names),
                            "data": encode_block(dec),
                            "wall": time.time(),
                        }
                    )
                )
                if (k + 1) * BLOCK_SEC >= next_event:
                    next_event += EVENT_EVERY
                    self.seq += 1
                    await ws.send(
                        json.dumps(
                            {
                                "type": "event",
                                "seq": self.seq,
                                "wall": time.time(),
                                "event": {
                                    "onset": (k + 1) * BLOCK_SEC,
                                    "trial_type": "bench",
                                    "data": {"sent": time.time()},
                                },
                            }
                        )
                    )
            deadline = time.time() + 15
            while self.acked < self.seq and time.time() < deadline:
                await asyncio.sleep(0.05)
            reader.cancel()


async def _observer(url: str, token: str, latencies: list[float], stop: asyncio.Event) -> str:
    """Collect event latencies from the live feed; returns '' or why the feed was lost."""
    try:
        async with connect(
            url, additional_headers={"Authorization": f"Bearer {token}"}, max_size=2**24, ping_interval=None
        ) as ws:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                frame = json.loads(raw)
                if frame.get("type") == "event" and frame["event"].get("trial_type") == "bench":
                    latencies.append(time.time() - frame["event"]["data"]["sent"])
    except Exception as err:  # noqa: BLE001 - report, do not crash the benchmark
        return f"{type(err).__name__}: {err}"
    return ""


def _worker(specs: list[tuple[str, str, int]], url: str, seconds: float, start_at: float) -> list[dict]:
    """Run some rigs in this process (one of several load-generator processes)."""
    night = open_source("sim:seed=1,hours=1", speed=None).night
    rigs = [Rig(name, token, night, offset) for name, token, offset in specs]

    async def go() -> list:
        return await asyncio.gather(
            *(r.run(url, seconds, start_at + (i % 100) / 100) for i, r in enumerate(rigs)),
            return_exceptions=True,
        )

    results = asyncio.run(go())
    return [
        {
            "name": r.name,
            "seq": r.seq,
            "acked": r.acked,
            "samples": r.samples,
            "errors": r.errors,
            "failed": repr(res)[:160] if isinstance(res, BaseException) else "",
        }
        for r, res in zip(rigs, results, strict=True)
    ]


async def _run_n(
    base: str,
    db: Database,
    n: int,
    seconds: float,
    tokens: dict[str, str],
    op_token: str,
    night,
    pid: int,
    pool: ProcessPoolExecutor,
    workers: int,
) -> dict:
    op = get_user(db, "op")
    sid = create_session(db, f"load {n}", op)
    for i in range(n):
        name = f"d{i:03d}"
        add_member(db, sid, name, "dreamer")
        grant(db, sid, get_user(db, name), None)
    ws_base = base.replace("http://", "ws://")
    specs = [(f"d{i:03d}", tokens[f"d{i:03d}"], (i * 7919) % (night.n_times - SFREQ * 600)) for i in range(n)]
    latencies: list[float] = []
    stop = asyncio.Event()
    obs = asyncio.create_task(_observer(f"{ws_base}/ws/sessions/{sid}", op_token, latencies, stop))
    await asyncio.sleep(0.5)
    start_at = time.time() + 10.0  # time for the worker processes to start
    loop = asyncio.get_running_loop()
    parts = [specs[w::workers] for w in range(workers) if specs[w::workers]]
    futures = [
        loop.run_in_executor(pool, _worker, part, f"{ws_base}/ws/rig/{sid}", seconds, start_at)
        for part in parts
    ]
    await asyncio.sleep(max(0.0, start_at - time.time()))
    cpu0, t0 = _cpu_seconds(pid), time.time()
    rigs = [r for part in await asyncio.gather(*futures) for r in part]
    cpu1, t1 = _cpu_seconds(pid), time.time()
    await asyncio.sleep(0.5)
    stop.set()
    feed_error = await obs
    failed = [r["failed"] for r in rigs if r["failed"]]
    stored = lost = gaps = 0
    async with httpx.AsyncClient(
        base_url=base, headers={"Authorization": f"Bearer {op_token}"}, timeout=60
    ) as client:
        for rig in rigs:
            cov = (await client.get(f"/sessions/{sid}/dreamers/{rig['name']}/coverage")).json()
            stored += cov["total"]
            gaps += cov["gaps"] + cov["overlaps"]
            lost += rig["samples"] - cov["total"]
    frames = sum(r["seq"] for r in rigs)
    lat = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return {
        "n": n,
        "frames_s": frames / (t1 - t0),
        "p50": float(np.percentile(lat, 50)),
        "p99": float(np.percentile(lat, 99)),
        "events": len(latencies),
        "expected_events": sum(int(seconds / EVENT_EVERY) for _ in rigs),
        "cpu": 100 * (cpu1 - cpu0) / (t1 - t0),
        "cpu_ms_frame": 1000 * (cpu1 - cpu0) / max(1, frames),
        "window": t1 - t0,
        "lost": lost,
        "gaps": gaps,
        "unacked": sum(r["seq"] - r["acked"] for r in rigs),
        "failed": len(failed),
        "errors": sum(r["errors"] for r in rigs),
        "feed_error": feed_error,
        "first_failure": failed[0] if failed else "",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[10, 50, 100, 200], help="numbers of rigs")
    parser.add_argument("--seconds", type=float, default=20.0, help="streaming time per N (s)")
    parser.add_argument("--workers", type=int, default=4, help="load-generator processes for the rigs")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="dreamlink-load-"))
    db_path = folder / "server.sqlite"
    db = Database(db_path)
    print(f"creating {max(args.n)} dreamer accounts ...", file=sys.stderr)
    op = create_user(db, "op", "operator", "load-test-password")
    # one Argon2 hash (the same password) shared by the dreamer accounts, so setup takes seconds
    pw_hash = db.one("SELECT pw_hash FROM users WHERE id = ?", (op.id,))["pw_hash"]
    tokens = {}
    for i in range(max(args.n)):
        name = f"d{i:03d}"
        db.execute(
            "INSERT INTO users (name, role, pw_hash, created) VALUES (?, 'dreamer', ?, ?)",
            (name, pw_hash, time.time()),
        )
        tokens[name] = issue_token(db, get_user(db, name))[0]
    op_token = issue_token(db, get_user(db, "op"))[0]
    night = open_source("sim:seed=1,hours=1", speed=None).night
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dreamlink.cli", "serve", "--db", str(db_path), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    header = (
        f"{'N':>4} {'frames/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'events':>11} {'server CPU %':>13} "
        f"{'ms CPU/frame':>12} {'window s':>8} {'lost samples':>13} {'gaps':>5} {'unacked':>8} {'failed':>7}"
    )
    print(
        f"server_load: {args.seconds:g} s per N, 256 Hz x 6 ch per rig decimated to 64 Hz, 1 frame/s + "
        f"1 event/2 s; load average at start: {os.getloadavg()[0]:.2f}; {os.cpu_count()} cores"
    )
    print(header)
    print("-" * len(header), flush=True)
    notes = []
    pool = ProcessPoolExecutor(args.workers)
    try:
        for _ in range(200):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        for n in args.n:
            print(f"N = {n} ...", file=sys.stderr)
            r = asyncio.run(
                _run_n(base, db, n, args.seconds, tokens, op_token, night, proc.pid, pool, args.workers)
            )
            print(
                f"{r['n']:>4} {r['frames_s']:>9.1f} {r['p50']:>8.1f} {r['p99']:>8.1f} "
                f"{r['events']:>5}/{r['expected_events']:<5} {r['cpu']:>13.1f} {r['cpu_ms_frame']:>12.2f} "
                f"{r['window']:>8.1f} {r['lost']:>13} "
                f"{r['gaps']:>5} {r['unacked']:>8} {r['failed']:>7}",
                flush=True,
            )
            if r["feed_error"] or r["first_failure"]:
                notes.append(
                    f"N={n}: live feed: {r['feed_error'] or 'ok'}; first rig failure: "
                    f"{r['first_failure'] or 'none'}"
                )
    finally:
        pool.shutdown()
        proc.terminate()
        proc.wait(10)
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
