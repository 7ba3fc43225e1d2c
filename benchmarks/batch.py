"""Scale-out benchmark: dataset throughput on Dask, and rigs per server process through Redis.

Part 1 — ``dreamlink batch stage`` on simulated 8-h nights (256 Hz, F4/C4/O2, E1/E2, EMG), staged
with EEG+EOG+EMG by the dreamlink engine: nights per minute on a LocalCluster of 1 and of 2 worker
processes (workers started and warmed before timing; cluster start-up reported apart), and the
scaling efficiency ``(rate_2 / rate_1) / 2``.

Part 2 — session server: N simulated rigs (one dreamer account each) stream to 1 or 2 server
processes that share one SQLite file and one Redis (rigs split evenly); each rig sends, every second,
one decimated signal block (6 channels × 64 samples, float32) and one event; an operator's dashboard
feed on process 1 receives every rig's events (for 2 processes, half of them through Redis). Latency
is the dashboard's receive time minus the rig's send time (same clock). The largest N whose p99 stays
≤ 250 ms is reported, per process.

This machine has 2 cores shared with other work, and the load generator (all rigs, one asyncio loop)
runs on the same cores as the servers, so part 2 measures the whole system on one box, not a server
alone; run it with few nights / short steps here and read the numbers as a lower bound.

Usage::

    .venv/bin/python benchmarks/batch.py [--nights 3] [--hours 8] [--rigs 20,50,100,200] [--step-sec 10]
        [--skip-batch] [--skip-server]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


# -- part 1: batch -------------------------------------------------------------------------------
def make_nights(folder: Path, n: int, hours: float) -> list[Path]:
    from dreamlink.commands.simulate import write_simulated_night
    from dreamlink.sim.night import simulate_night

    paths = []
    for i in range(n):
        out = folder / f"night{i + 1}.edf"
        write_simulated_night(simulate_night(hours=hours, seed=100 + i), out)
        paths.append(out)
    return paths


def bench_batch(n_nights: int, hours: float) -> list[dict]:
    import distributed

    from dreamlink.batch import NightOptions, run_batch

    rows = []
    with tempfile.TemporaryDirectory(prefix="dreamlink-bench-batch-") as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        make_nights(tmp / "nights", n_nights, hours)
        print(
            f"simulated {n_nights} × {hours:g} h nights in {time.perf_counter() - t0:.0f} s", file=sys.stderr
        )
        opts = NightOptions(eeg=("C4-M1",), eog=("E1-M2",), emg=("EMG",))
        results = {}
        for workers in (1, 2):
            t0 = time.perf_counter()
            with (
                distributed.LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=logging.ERROR,
                ) as cluster,
                distributed.Client(cluster) as client,
            ):
                client.wait_for_workers(workers)
                client.run(importlib.import_module, "dreamlink.staging")  # imports out of the timing
                client.run(importlib.import_module, "dreamlink.batch.tasks")
                startup = time.perf_counter() - t0
                t0 = time.perf_counter()
                res = run_batch(
                    tmp / "nights",
                    "stage",
                    tmp / f"out{workers}",
                    opts,
                    client=client,
                    progress=False,
                    resume=False,
                )
                wall = time.perf_counter() - t0
            assert res.n_failed == 0, res.summary[["name", "error"]]
            results[workers] = res.summary
            rows.append(
                {
                    "workers": workers,
                    "nights": n_nights,
                    "hours_each": hours,
                    "startup_s": startup,
                    "wall_s": wall,
                    "nights_per_min": n_nights / wall * 60.0,
                    "per_night_s": float(res.summary["elapsed_sec"].median()),
                    "cpu_per_night_s": float(res.summary["cpu_sec"].median()),
                    "parallelism": float(res.summary["cpu_sec"].sum()) / wall,
                }
            )
        same = (
            results[1].sort_values("name")["TST"].to_numpy()
            == results[2].sort_values("name")["TST"].to_numpy()
        )
        rows[-1]["same_results"] = bool(same.all())
    rate1 = rows[0]["nights_per_min"]
    for r in rows:
        r["speedup"] = r["nights_per_min"] / rate1
        r["efficiency"] = r["speedup"] / r["workers"]
    return rows


# -- part 2: server ------------------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def redis_server(folder: Path):
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not installed (apt-get install redis-server)")
    port = _free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.3)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(5)


@contextlib.contextmanager
def server_procs(db: Path, broker: str | None, n: int):
    import httpx

    procs, bases = [], []
    try:
        for _ in range(n):
            port = _free_port()
            if broker:
                cmd = [
                    sys.executable,
                    "-m",
                    "dreamlink.server.scaleout",
                    "--db",
                    str(db),
                    "--port",
                    str(port),
                    "--broker",
                    broker,
                ]
            else:
                cmd = [sys.executable, "-m", "dreamlink.cli", "serve", "--db", str(db), "--port", str(port)]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            bases.append(f"http://127.0.0.1:{port}")
        for base in bases:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                        break
                time.sleep(0.1)
        yield bases, procs
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(10)


def setup_db(db: Path, n_rigs: int) -> tuple[str, dict[str, str]]:
    from dreamlink.server.auth import create_user, get_user, issue_token
    from dreamlink.server.db import Database
    from dreamlink.server.sessions import add_member, create_session, grant

    d = Database(db)
    create_user(d, "op", "operator", "benchmark-pass-1")
    op = get_user(d, "op")
    sid = create_session(d, "bench", op)
    tokens = {"op": issue_token(d, op, 24 * 3600)[0]}
    for i in range(n_rigs):
        name = f"d{i:03d}"
        create_user(d, name, "dreamer", "benchmark-pass-1")
        add_member(d, sid, name, "dreamer")
        user = get_user(d, name)
        grant(d, sid, user, None)
        tokens[name] = issue_token(d, user, 24 * 3600)[0]
    d.close()
    return sid, tokens


async def _run_step(bases: list[str], sid: str, tokens: dict[str, str], n: int, step_sec: float) -> dict:
    """N rigs for ``step_sec`` (after 2 s to connect): latency of events sent in the window, and loss
    (every event sent during the whole step must reach the dashboard, waited for up to 5 s)."""
    from websockets.asyncio.client import connect

    from dreamlink.server.protocol import encode_block

    received: dict[tuple[str, int], float] = {}  # (dreamer, k) -> latency (s)
    sent: dict[tuple[str, int], float] = {}  # (dreamer, k) -> send time
    stop = asyncio.Event()
    dash_stop = asyncio.Event()
    block = encode_block(np.zeros((6, 64), dtype=np.float32))

    def ws(base: str, path: str, token: str):
        return connect(
            base.replace("http", "ws") + path,
            additional_headers={"Authorization": f"Bearer {token}"},
            max_size=2**22,
            open_timeout=30,
        )

    async def dashboard() -> None:
        async with ws(bases[0], f"/ws/sessions/{sid}", tokens["op"]) as sock:
            while not dash_stop.is_set():
                try:
                    text = await asyncio.wait_for(sock.recv(), 0.5)
                except TimeoutError:
                    continue
                now = time.time()
                frame = json.loads(text)
                if frame.get("type") == "event" and frame.get("event", {}).get("trial_type") == "bench":
                    data = frame["event"]["data"]
                    received[(frame["dreamer"], int(data["k"]))] = now - float(data["t"])

    async def rig(i: int) -> None:
        name = f"d{i:03d}"
        async with ws(bases[i % len(bases)], f"/ws/rig/{sid}", tokens[name]) as sock:
            await sock.send(json.dumps({"type": "hello", "protocol": 1}))
            welcome = json.loads(await sock.recv())
            seq = welcome["last_seq"]
            first, k = 0, 0

            async def drain() -> None:
                with contextlib.suppress(Exception):
                    async for _ in sock:
                        pass

            reader = asyncio.create_task(drain())
            await asyncio.sleep((i % 20) / 20.0)  # spread the rigs over the second
            while not stop.is_set():
                t = time.time()
                seq += 1
                signal = {"type": "signal", "seq": seq, "src_first": first * 4, "src_n": 256, "first": first,
                          "n": 64, "sfreq": 64.0, "ch_names": ["F4", "C4", "O2", "E1", "E2", "EMG"],
                          "data": block}  # fmt: skip
                await sock.send(json.dumps(signal))
                first += 64
                seq += 1
                k += 1
                event = {
                    "onset": first / 64.0,
                    "trial_type": "bench",
                    "source": "bench",
                    "data": {"t": t, "k": k},
                }
                await sock.send(json.dumps({"type": "event", "seq": seq, "event": event}))
                sent[(name, k)] = t
                await asyncio.sleep(max(0.0, 1.0 - (time.time() - t)))
            await asyncio.sleep(0.5)  # let the server read what was sent before closing
            reader.cancel()

    dash = asyncio.create_task(dashboard())
    await asyncio.sleep(0.5)
    rigs = [asyncio.create_task(rig(i)) for i in range(n)]
    await asyncio.sleep(2.0)  # connect and settle
    t_start = time.time()
    await asyncio.sleep(step_sec)
    t_end = time.time()
    stop.set()
    await asyncio.gather(*rigs, return_exceptions=True)
    deadline = time.monotonic() + 5.0
    while len(received) < len(sent) and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    dash_stop.set()
    await asyncio.gather(dash, return_exceptions=True)
    window = [received[key] for key, t in sent.items() if t_start <= t < t_end and key in received]
    lat = np.array(window) * 1000.0
    return {
        "rigs": n,
        "events": len(window),
        "sent": len(sent),
        "lost": len(set(sent) - set(received)),
        "p50_ms": float(np.percentile(lat, 50)) if lat.size else float("nan"),
        "p99_ms": float(np.percentile(lat, 99)) if lat.size else float("nan"),
    }


def bench_server(rig_steps: list[int], step_sec: float) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="dreamlink-bench-server-") as tmp:
        tmp = Path(tmp)
        sid, tokens = setup_db(tmp / "server.sqlite", max(rig_steps))
        with redis_server(tmp) as url:
            for n_proc in (1, 2):
                with server_procs(tmp / "server.sqlite", url if n_proc == 2 else None, n_proc) as (bases, _):
                    for n in rig_steps:
                        r = asyncio.run(_run_step(bases, sid, tokens, n, step_sec))
                        r["processes"] = n_proc
                        rows.append(r)
                        print(
                            f"  {n_proc} proc, {n} rigs: p50 {r['p50_ms']:.0f} ms p99 {r['p99_ms']:.0f} ms "
                            f"({r['lost']} of {r['sent']} events lost)",
                            file=sys.stderr,
                        )
                        if not (r["p99_ms"] <= 250.0 and r["lost"] == 0):
                            break
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nights", type=int, default=3)
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--rigs", default="20,50,100,200")
    ap.add_argument("--step-sec", type=float, default=10.0)
    ap.add_argument("--skip-batch", action="store_true")
    ap.add_argument("--skip-server", action="store_true")
    args = ap.parse_args()
    logging.getLogger("distributed").setLevel(logging.ERROR)
    print(f"machine: {os.cpu_count()} CPU cores (shared); python {sys.version.split()[0]}")
    if not args.skip_batch:
        rows = bench_batch(args.nights, args.hours)
        print(f"\n## dreamlink batch stage: {args.nights} simulated {args.hours:g}-h nights (EEG+EOG+EMG)\n")
        print(
            "| workers | nights | cluster start (s) | wall (s) | nights/min | median wall s/night "
            "| median CPU s/night | CPUs busy (ΣCPU/wall) | speedup | efficiency |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            print(
                f"| {r['workers']} | {r['nights']} | {r['startup_s']:.1f} | {r['wall_s']:.1f} | "
                f"{r['nights_per_min']:.2f} | {r['per_night_s']:.1f} | {r['cpu_per_night_s']:.1f} | "
                f"{r['parallelism']:.2f} | {r['speedup']:.2f} | "
                f"{r['efficiency']:.0%} |"
            )
        print(f"\nsame per-night results on 1 and 2 workers: {rows[-1].get('same_results')}")
        print(f"machine load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if not args.skip_server:
        steps = [int(x) for x in args.rigs.split(",")]
        rows = bench_server(steps, args.step_sec)
        print(
            "\n## session server: rigs streaming (1 signal block + 1 event per s each), "
            f"{args.step_sec:g} s per step\n"
        )
        print(
            "| processes | rigs | rigs/process | events timed | events sent | lost | p50 (ms) | p99 (ms) "
            "| p99 ≤ 250 ms |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            ok = r["p99_ms"] <= 250.0 and r["lost"] == 0
            print(
                f"| {r['processes']} | {r['rigs']} | {r['rigs'] / r['processes']:.0f} | {r['events']} | "
                f"{r['sent']} | {r['lost']} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} | "
                f"{'yes' if ok else 'NO'} |"
            )
        for n_proc in (1, 2):
            good = [
                r["rigs"] for r in rows if r["processes"] == n_proc and r["p99_ms"] <= 250.0 and not r["lost"]
            ]
            best = max(good) if good else 0
            print(
                f"{n_proc} process(es): up to {best} rigs at p99 ≤ 250 ms ({best / n_proc:.0f} per process; "
                "largest step tried that passed)"
            )


if __name__ == "__main__":
    main()
