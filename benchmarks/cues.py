"""Cue timing and text-to-speech speed.

Prints two tables:

1. dispatch jitter (actual − requested start, ms) of N cues scheduled on the session clock and delivered
   to the WAV file sink (p50 / p99 / max; targets p99 ≤ 5 ms), plus a check that the written WAV holds each
   cue at its recorded actual time;
2. text-to-speech render time with espeak-ng, per word and per short sentence (target ≤ 100 ms per short
   sentence), both for the engine alone and for the full cue rendering (resampling and level scaling).

The jitter run is done twice: dispatcher at normal priority (the default) and at real-time priority
(``CueScheduler(realtime=True)``, Linux SCHED_FIFO; falls back to normal when not permitted).

Run: ``.venv/bin/python benchmarks/cues.py [--n 1000] [--spacing-ms 10] [--repeats 10]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from dreamlink.cues import audio
from dreamlink.cues.base import Cue, SessionClock
from dreamlink.cues.encoding import render_cue
from dreamlink.cues.scheduler import CueScheduler
from dreamlink.cues.sinks import WavSink
from dreamlink.cues.speech import synthesize
from dreamlink.events import EventBus

WORDS = ["dream", "lucid", "hello"]
SENTENCES = ["You are dreaming.", "Are you lucid now?", "Signal with your eyes."]


def bench_jitter(n: int, spacing_ms: float, out_dir: Path, realtime: bool) -> dict[str, float]:
    bus = EventBus()
    n_events = [0]
    bus.subscribe(lambda e: n_events.__setitem__(0, n_events[0] + 1), kinds=["cue"])
    clock = SessionClock()
    sink = WavSink(out_dir / "jitter.wav")
    scheduler = CueScheduler([sink], bus=bus, clock=clock, realtime=realtime)
    cue_kinds = [Cue("tones", "1000:20"), Cue("morse-audio", "E", unit_ms=20), Cue("tones", "2", unit_ms=20)]
    t_render = time.perf_counter()
    renderings = [scheduler.prepare(cue_kinds[k % 3]) for k in range(n)]
    t_render = time.perf_counter() - t_render
    del renderings  # the scheduler renders again at schedule(); this only measured render cost
    scheduler.start()
    base = clock() + 0.5
    # schedule in batches ahead of time, as a design runtime would (never more than ~1 s ahead)
    records = []
    for k in range(n):
        at = base + k * spacing_ms / 1000.0
        while at - clock() > 1.0:
            time.sleep(0.05)
        records.append(scheduler.schedule(cue_kinds[k % 3], at=at))
    scheduler.wait_idle(timeout=60)
    scheduler.close()  # writes the WAV
    lag_ms = np.array([r.lag * 1000 for r in records if r.actual is not None])
    # the file holds each cue where its record says it started
    sig = audio.read_wav(sink.path)
    env = np.abs(sig.samples) > 1e-4
    starts = np.array([r.actual for r in records])
    idx = np.round(starts * sig.sfreq).astype(int)
    present = float(np.mean([env[i : i + int(0.005 * sig.sfreq)].any() for i in idx]))
    return {
        "realtime": scheduler.realtime_active,
        "n": len(lag_ms),
        "delivered": sum(r.status == "delivered" for r in records),
        "events": n_events[0],
        "p50": float(np.percentile(lag_ms, 50)),
        "p99": float(np.percentile(lag_ms, 99)),
        "max": float(lag_ms.max()),
        "mean": float(lag_ms.mean()),
        "render_ms": 1000 * t_render / n,
        "in_file": present,
    }


def bench_tts(repeats: int) -> list[tuple[str, int, float, float, float]]:
    rows = []
    synthesize("warm up")
    for text in WORDS + SENTENCES:
        n_words = len(text.split())
        engine, full = [], []
        for _ in range(repeats):
            t = time.perf_counter()
            synthesize(text)
            engine.append(time.perf_counter() - t)
            t = time.perf_counter()
            render_cue(Cue("speech", text), -40.0)
            full.append(time.perf_counter() - t)
        rows.append(
            (
                text,
                n_words,
                statistics.median(engine) * 1000,
                statistics.median(full) * 1000,
                max(full) * 1000,
            )
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000, help="number of scheduled cues")
    ap.add_argument("--spacing-ms", type=float, default=10.0, help="time between requested starts")
    ap.add_argument("--repeats", type=int, default=10, help="TTS repetitions per text")
    args = ap.parse_args()
    load = os.getloadavg()
    print(f"machine: {os.cpu_count()} CPUs, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    results = []
    for realtime in (False, True):
        with tempfile.TemporaryDirectory() as tmp:
            results.append(bench_jitter(args.n, args.spacing_ms, Path(tmp), realtime))
    print()
    print(
        f"Dispatch jitter (actual - requested start), {args.n} cues every {args.spacing_ms:g} ms, "
        "WAV file sink"
    )
    print(
        "| dispatcher priority | p50 ms | p99 ms (target <= 5) | max ms | mean ms | delivered / events |"
        " in WAV at recorded start | render+check per cue ms |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for j in results:
        prio = "real-time (SCHED_FIFO)" if j["realtime"] else "normal"
        print(
            f"| {prio} | {j['p50']:.3f} | {j['p99']:.3f} | {j['max']:.3f} | {j['mean']:.3f} | "
            f"{j['delivered']} / {j['events']} | {100 * j['in_file']:.1f} % | {j['render_ms']:.3f} |"
        )
    print()
    print(f"Text-to-speech (espeak-ng), median of {args.repeats}")
    print("| text | words | engine ms | full cue render ms | max ms | per word ms | target |")
    print("|---|---|---|---|---|---|---|")
    for text, n_words, engine, full, worst in bench_tts(args.repeats):
        target = "<= 100 ms" if n_words > 1 else ""
        per_word = full / n_words
        cells = [text, n_words, f"{engine:.1f}", f"{full:.1f}", f"{worst:.1f}", f"{per_word:.1f}", target]
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
