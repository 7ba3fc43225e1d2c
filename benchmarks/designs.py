"""Rehearsal speed of dream designs on simulated 8-h nights (target ≥ 3,600x real time).

For every example design and several simulator seeds, the rehearsal is timed in three parts:

1. *ground truth*: simulating the night's hypnogram and scripted injections (no signal is synthesised:
   rehearsal runs on the simulator's ground truth, not on staged or detected signal);
2. *event stream*: turning the hypnogram and events into the time-ordered stream a rig would see;
3. *runtime*: the design's state machine consuming that stream (for linked designs, two dreamers).

It prints one row per design (median over seeds) with hours of night per second and the speed-up over
real time, for the runtime alone and end to end (1 + 2 + 3).

Run: ``.venv/bin/python benchmarks/designs.py [--seeds 5] [--hours 8]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from dreamlink.designs import load_design
from dreamlink.designs.rehearse import night_from_simulation, rehearse, stream_events

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "designs"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args()

    nights = {}
    truth_sec = []
    for seed in range(args.seeds + 1):  # seed+1 is the partner of a linked design
        t0 = time.perf_counter()
        nights[seed] = night_from_simulation(seed=seed, hours=args.hours)
        truth_sec.append(time.perf_counter() - t0)
    stream_sec = []
    for seed in range(args.seeds):
        t0 = time.perf_counter()
        stream_events(nights[seed])
        stream_sec.append(time.perf_counter() - t0)
    truth, stream = statistics.median(truth_sec), statistics.median(stream_sec)
    night_h = args.hours

    header = (f"{'design':<20} {'dreamers':>8} {'events':>7} {'runtime ms':>11} {'h/s runtime':>12} "
              f"{'x real (runtime)':>17} {'x real (end-to-end)':>20}")
    print(f"Rehearsal speed on simulated {night_h:g}-h nights, median of {args.seeds} seeds")
    print(f"ground truth (hypnogram + injections) per night: {truth:.3f} s; event stream: "
          f"{stream * 1000:.1f} ms")
    print(header)
    print("-" * len(header))
    for path in sorted(EXAMPLES.glob("*.yaml")):
        design = load_design(path)
        runtime_sec, n_events = [], []
        for seed in range(args.seeds):
            partner = nights[seed + 1] if design.linked else None
            result = rehearse(design, nights[seed], partner)
            # rehearse() times the event stream and the runtime separately
            runtime_sec.append(result.runtime_sec)
            n_events.append(result.n_events)
        rt = statistics.median(runtime_sec)
        dreamers = 2 if design.linked else 1
        end_to_end = dreamers * (truth + stream) + rt
        print(f"{design.name:<20} {dreamers:>8} {int(statistics.median(n_events)):>7} {rt * 1000:>11.2f} "
              f"{night_h / rt:>12,.0f} {night_h * 3600 / rt:>17,.0f} {night_h * 3600 / end_to_end:>20,.0f}")
    print(f"target: >= 3,600x real time ({night_h:g} h of night in <= {night_h:g} s)")


if __name__ == "__main__":
    main()
