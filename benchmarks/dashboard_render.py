"""Rendering benchmark of the operator dashboard: frame times while N dreamers stream at 256 Hz.

Starts the session server with the dashboard (uvicorn subprocess, temp SQLite), N real ``dreamlink rig``
processes on simulated nights at real-time pace streaming 6 channels at 256 Hz (no decimation), and
headless Debian chromium (Playwright, ``--disable-gpu``: software raster) showing all N side by side
with a 30-s window at 1440x900. Prints, per N, the p50/p95/max of the interval between animation
frames (requestAnimationFrame to requestAnimationFrame; 16.7 ms = every 60-Hz refresh made) and of the
page's own drawing work per frame (JavaScript + canvas calls), and the samples per second received.
Target: frame interval p95 <= 16 ms-ish (no dropped refreshes) with 4 dreamers.

Run: ``.venv/bin/python benchmarks/dashboard_render.py [--dreamers 1 2 4 8] [--seconds 10]``
(the browser test ``tests/dashboard/test_browser.py`` measures N = 4 in every test run).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.dashboard.live import PASSWORD, live_world  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def measure(browser, world, session: str, names: list[str], seconds: float) -> dict:
    rigs = [world.rig(d, session, seed=10 + k, speed=1.0, decimate=256.0) for k, d in enumerate(names)]
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(f"{world.base}/ui/session/{world.sessions[session]}")
        page.fill("#name", "op")
        page.fill("#password", PASSWORD)
        page.click("#login-button")
        page.wait_for_selector("body[data-ready='1']")
        page.wait_for_function(
            "() => [...window.dlView.panels.values()]"
            ".every(p => p.ring.sfreq === 256 && p.ring.end > 256 * 3)"
        )
        ends0 = page.evaluate("() => [...window.dlView.panels.values()].map(p => p.ring.end)")
        page.evaluate("() => { window.dlPerf.frames.length = 0; window.dlPerf.work.length = 0; }")
        page.wait_for_timeout(seconds * 1000)
        perf = page.evaluate("() => ({f: window.dlPerf.frames.slice(1), w: window.dlPerf.work.slice(1)})")
        ends1 = page.evaluate("() => [...window.dlView.panels.values()].map(p => p.ring.end)")
    finally:
        context.close()
        for r in rigs:
            world.stop(r)
    rates = [(b - a) / seconds for a, b in zip(ends0, ends1, strict=True)]
    return {"frames": np.array(perf["f"]), "work": np.array(perf["w"]), "rate": float(np.mean(rates))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dreamers", type=int, nargs="+", default=[1, 2, 4, 8])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    if not Path(CHROMIUM).is_file():
        sys.exit(f"error: chromium not found at {CHROMIUM}: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    sessions = {f"n{n}": [f"n{n}d{k}" for k in range(1, n + 1)] for n in args.dreamers}
    with (
        tempfile.TemporaryDirectory(prefix="dashboard-bench-") as folder,
        live_world(Path(folder), sessions) as w,
        sync_playwright() as p,
    ):
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-gpu"],
        )
        rows = []
        for n in args.dreamers:
            r = measure(browser, w, f"n{n}", sessions[f"n{n}"], args.seconds)
            rows.append((n, r))
            print(f"  measured N={n} (load average {os.getloadavg()[0]:.2f})", file=sys.stderr)
        browser.close()
    print("dashboard rendering: N dreamers x 6 ch at 256 Hz, 30-s window, 1440x900, "
          "headless chromium (software)")
    print(f"{'N':>3} {'frame p50':>10} {'frame p95':>10} {'frame max':>10} {'work p50':>9} {'work p95':>9} "
          f"{'fps':>6} {'samples/s/dreamer':>18}")
    for n, r in rows:
        f, wk = r["frames"], r["work"]
        print(f"{n:>3} {np.percentile(f, 50):>10.2f} {np.percentile(f, 95):>10.2f} {f.max():>10.2f} "
              f"{np.percentile(wk, 50):>9.2f} {np.percentile(wk, 95):>9.2f} {f.size / args.seconds:>6.1f} "
              f"{r['rate']:>18.0f}")
    print("(ms; frame = interval between animation frames, work = the page's drawing time per frame; "
          f"load average now {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
