"""Benchmark of the night simulator: generation speed, architecture and spectra against real data.

Run: ``.venv/bin/python benchmarks/simulator.py [--hours 8]``. Prints three tables:

1. generation speed of an 8-h night (6 channels at 256 Hz): one pass in 10-min blocks, and through
   the source in 0.25-s reads (``speed=max``); target ≥ 1,000× real time on one core;
2. night architecture of generated hypnograms (20 seeds) next to the real hypnograms in shared/data;
3. median relative band powers per stage (C4-M1) of a simulated night next to the real recordings'
   range (DREAMS Spindles excerpts 1, 2, 4, 5, 6 and the DYNAM-O segment: 2.5 h of scored EEG, of which
   13 min REM from a single recording);
4. REM density: expert-scored DREAMS REMs excerpts vs the simulator, and yasa.rem_detect's
   precision/recall against the simulator's own ground truth (a check of the simulation, not of yasa).

The simulator's own numbers are not accuracy on real sleep.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def speed_table(hours: float) -> pd.DataFrame:
    from dreamlink.sim.night import simulate_night
    from dreamlink.sources.simulator import SimulatorSource

    rows = []
    specs = ["lrlr@1800", "count:4@rem1+60", "morse:SOS@rem2+30", "emg:yes@rem2+200", "arousal@3000"]
    t = time.perf_counter()
    night = simulate_night(hours, seed=1, injections=specs)
    setup = time.perf_counter() - t
    t = time.perf_counter()
    step = int(600 * night.sfreq)
    for a in range(0, night.n_times, step):
        night.generate(a, step)
    wall = time.perf_counter() - t
    rows.append({"path": "simulate_night().generate, 10-min blocks", "signal_h": hours,
                 "wall_s": round(setup + wall, 2), "x_realtime": round(night.duration / (setup + wall))})
    src = SimulatorSource(hours=hours, seed=1, injections=specs, speed=None)
    t = time.perf_counter()
    n = 0
    with src:
        for chunk in src.chunks(chunk_sec=0.25):
            n += chunk.n_times
    wall = time.perf_counter() - t
    rows.append({"path": "SimulatorSource speed=max, 0.25-s reads", "signal_h": n / 256 / 3600,
                 "wall_s": round(wall, 2), "x_realtime": round(n / 256 / wall)})
    t = time.perf_counter()
    ev = night.events
    rows.append({"path": f"ground-truth events ({len(ev)})", "signal_h": hours,
                 "wall_s": round(time.perf_counter() - t, 2), "x_realtime": ""})
    return pd.DataFrame(rows)


def architecture_table() -> pd.DataFrame:
    from dreamlink.io.hypnogram_formats import read_hypnogram
    from dreamlink.sim.hypnogram_model import generate_hypnogram, night_statistics

    def row(name, s):
        return {"night": name, "SOL_min": s.sol_min, "REM_lat_min": s.rem_latency_min,
                "%N1": s.percent["N1"], "%N2": s.percent["N2"], "%N3": s.percent["N3"],
                "%R": s.percent["R"], "N3_first_third": s.n3_first_third,
                "REM_first_min": s.rem_periods_min[0] if s.rem_periods_min else np.nan,
                "REM_last_min": s.rem_periods_min[-1] if s.rem_periods_min else np.nan,
                "awakenings": s.n_awakenings}

    rows = []
    real = {"dynamo night": "dynamo/night_stages.csv",
            "yasa 6 h": "yasa/data_full_6hrs_100Hz_hypno_30s.txt",
            "sleep-edf SC4001": "sleep-edf/SC4001EC-Hypnogram.edf"}
    for name, rel in real.items():
        path = DATA / rel
        if not path.exists():
            continue
        h = read_hypnogram(path)
        if name.startswith("sleep-edf"):
            asleep = np.flatnonzero(np.isin(h.stages, ["N1", "N2", "N3", "R"]))
            h = h.crop(h.onsets[asleep[0]] - 1200, h.onsets[asleep[-1]] + 330)
        rows.append(row(f"real: {name}", night_statistics(h)))
    sims = pd.DataFrame([row("sim", night_statistics(generate_hypnogram(8.0, s))) for s in range(20)])
    for stat, fn in (("mean", "mean"), ("min", "min"), ("max", "max")):
        r = sims.drop(columns="night").agg(fn).to_dict()
        r["night"] = f"sim 8 h x20 seeds: {stat}"
        rows.append(r)
    return pd.DataFrame(rows).round(2)


def spectra_table() -> pd.DataFrame:
    from dreamlink.hypnogram import Hypnogram
    from dreamlink.sim.night import simulate_night
    from dreamlink.sim.realism import BANDS, read_dreams_excerpt, read_dynamo_segment, stage_band_powers

    tables = []
    recordings = [
        read_dreams_excerpt(DATA / f"dreams-spindles/excerpt{i}.txt",
                            DATA / f"dreams-spindles/Hypnogram_excerpt{i}.txt")
        for i in (1, 2, 4, 5, 6)
    ]
    recordings.append(
        read_dynamo_segment(DATA / "dynamo/segment_data.csv", DATA / "dynamo/segment_stages.csv")
    )
    for x, sf, labels in recordings:
        bp = stage_band_powers(x, sf, labels)
        tables.append(bp[bp["n_epochs"] >= 3])
    allp = pd.concat(tables)
    lo, hi = allp.groupby(level=0).min(), allp.groupby(level=0).max()
    n_real = allp.groupby(level=0)["n_epochs"].sum()
    stages = np.repeat(["W", "N1", "N2", "N3", "R"], 40)
    night = simulate_night(None, seed=1, hypnogram=Hypnogram(stages))
    sim = stage_band_powers(night.get_data()[1] * 1e6, night.sfreq, stages)
    rows = []
    for stage in ("W", "N1", "N2", "N3", "R"):
        r = {"stage": stage, "real_epochs": int(n_real.get(stage, 0))}
        for band in BANDS:
            v = sim.loc[stage, band]
            inside = lo.loc[stage, band] <= v <= hi.loc[stage, band]
            r[band] = f"{v:.3f} [{lo.loc[stage, band]:.3f}-{hi.loc[stage, band]:.3f}]{'' if inside else ' *'}"
        rows.append(r)
    return pd.DataFrame(rows)


def rem_table() -> pd.DataFrame:
    """REM density (natural rapid eye movements per REM minute) and what yasa.rem_detect finds."""
    import yasa

    from dreamlink.hypnogram import Hypnogram
    from dreamlink.io.hypnogram_formats import read_hypnogram
    from dreamlink.sim.night import simulate_night

    rows = []
    for i in range(1, 10):
        h = read_hypnogram(DATA / f"dreams-rems/Hypnogram_excerpt{i}.txt")
        rem_min = float(np.sum(h.stages == "R") * h.epoch_sec / 60)
        if rem_min < 5:
            continue
        onsets = np.loadtxt(DATA / f"dreams-rems/Visual_scoring1_excerpt{i}.txt", skiprows=1, ndmin=2)[:, 0]
        n = sum(h.stage_at(t) == "R" for t in onsets)
        rows.append({"data": f"real DREAMS REMs excerpt {i} (expert)", "rem_min": rem_min,
                     "REMs_per_min": n / rem_min, "yasa_per_min": np.nan, "yasa_precision": np.nan,
                     "yasa_recall": np.nan})
    npz = DATA / "yasa/eog_rem_256Hz_first600s.npz"
    if npz.exists():
        d = np.load(npz)
        det = yasa.rem_detect(d["data"][0], d["data"][1], float(d["sf"])).summary()
        rows.append({"data": "real YASA LOC/ROC REM (yasa only)", "rem_min": 10.0, "REMs_per_min": np.nan,
                     "yasa_per_min": len(det) / 10.0, "yasa_precision": np.nan, "yasa_recall": np.nan})
    for seed in range(3):
        night = simulate_night(None, seed=seed, hypnogram=Hypnogram(np.repeat(["R"], 40)))
        x = night.get_data() * 1e6
        truth = np.array([e.onset for e in night.natural_events(["rem"])])
        det = yasa.rem_detect(x[3], x[4], night.sfreq).summary()
        peaks = det["Peak"].to_numpy()
        # One-to-one: each detected peak claims the nearest true eye movement within 0.5 s.
        hits = {int(np.argmin(np.abs(truth - p))) for p in peaks if np.min(np.abs(truth - p)) <= 0.5}
        prec = np.mean([np.min(np.abs(truth - p)) <= 0.5 for p in peaks]) if len(peaks) else np.nan
        rec = len(hits) / len(truth)
        rows.append({"data": f"sim REM seed {seed}", "rem_min": 20.0, "REMs_per_min": len(truth) / 20.0,
                     "yasa_per_min": len(peaks) / 20.0, "yasa_precision": prec, "yasa_recall": rec})
    return pd.DataFrame(rows).round(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    args = parser.parse_args()
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print("## generation speed (6 channels, 256 Hz, one process)")
    print(speed_table(args.hours).to_string(index=False))
    print("\n## night architecture: real hypnograms vs generated (minutes, % of TST)")
    print(architecture_table().to_string(index=False))
    if (DATA / "dreams-spindles").exists():
        print("\n## relative band power per stage, C4-M1: sim [real min-max over recordings]; * = outside")
        print(spectra_table().to_string(index=False))
    if (DATA / "dreams-rems").exists():
        print("\n## rapid eye movements: density per REM minute; yasa.rem_detect on the simulated EOG")
        print(rem_table().to_string(index=False))


if __name__ == "__main__":
    main()
