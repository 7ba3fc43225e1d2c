"""``dreamlink simulate``: write a simulated night (EDF+) with its true hypnogram and injections.

Side files next to ``--out night.edf``: ``night.hypnogram.csv`` (the true 30-s stages) and
``night.events.tsv`` (injected events and natural rapid eye movements / arousals, BIDS-style).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np

from dreamlink.errors import DreamlinkError
from dreamlink.hypnogram import STAGES
from dreamlink.sim.night import SimulatedNight, load_hypnogram, simulate_night


@dataclass(frozen=True)
class SimulateOutputs:
    """Paths written by :func:`write_simulated_night`."""

    edf: Path
    hypnogram_csv: Path
    events_tsv: Path


def side_paths(out: Path) -> tuple[Path, Path]:
    """``night.hypnogram.csv`` and ``night.events.tsv`` next to ``night.edf``."""
    stem = out.with_suffix("")
    return stem.with_name(stem.name + ".hypnogram.csv"), stem.with_name(stem.name + ".events.tsv")


def write_simulated_night(
    night: SimulatedNight, out: str | Path, progress: bool = False, chunk_sec: float = 600.0
) -> SimulateOutputs:
    """Generate ``night`` and write the EDF+ file (stages and events as annotations) and side files.

    Parameters
    ----------
    night : SimulatedNight
        The night to write.
    out : str or Path
        Destination ``.edf``.
    progress : bool
        Show a tqdm progress bar on stderr while generating.
    chunk_sec : float
        Generation chunk in seconds (progress granularity).
    """
    from tqdm import tqdm

    from dreamlink.events import write_events_tsv
    from dreamlink.io.edf import write_edf
    from dreamlink.io.hypnogram_formats import write_hypnogram_csv

    out = Path(out)
    if out.suffix.lower() != ".edf":
        raise DreamlinkError(f"--out must end in .edf, got {out.name} (e.g. --out night.edf)")
    n = night.n_times
    step = max(1, int(chunk_sec * night.sfreq))
    data = np.empty((night.info.n_channels, n))
    with tqdm(total=n / night.sfreq / 60.0, unit="min", desc="simulating", disable=not progress,
              file=sys.stderr, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f} min") as bar:
        for a in range(0, n, step):
            b = min(n, a + step)
            data[:, a:b] = night.generate(a, b - a)
            bar.update((b - a) / night.sfreq / 60.0)
    events = night.stage_events() + night.events
    edf = write_edf(out, data, night.sfreq, night.info.ch_names, night.info.ch_types, events=events)
    hyp_path, ev_path = side_paths(out)
    write_hypnogram_csv(night.hypnogram, hyp_path)
    write_events_tsv(night.events, ev_path)
    return SimulateOutputs(edf, hyp_path, ev_path)


def summary(night: SimulatedNight) -> str:
    """A short human-readable summary: duration, minutes per stage, injections."""
    h = night.hypnogram
    minutes = {s: float(np.sum(h.stages == s)) * h.epoch_sec / 60.0 for s in STAGES}
    lines = [
        f"simulated night: {night.duration / 3600.0:.2f} h at {night.sfreq:g} Hz, "
        f"channels {', '.join(night.info.ch_names)} (seed {night.info.extra.get('seed')})",
        "stages (min): " + "  ".join(f"{s} {minutes[s]:.1f}" for s in STAGES),
    ]
    natural_rem = sum(1 for e in night.events if e.trial_type == "rem")
    lines.append(f"natural rapid eye movements: {natural_rem}")
    if night.injections:
        lines.append("injections:")
        top = [e for e in night.injected_events
               if e.trial_type in ("count", "message", "emg_code", "arousal")
               or (e.trial_type == "lrlr" and e.data.get("spec", "").startswith("lrlr"))]
        for e in top:
            stage = h.stage_at(e.onset)
            value = "" if e.value is None else f" {e.value}"
            lines.append(f"  {e.onset:8.1f} s  {e.trial_type}{value}  ({e.duration:.1f} s, in {stage})"
                         f"  [{e.data.get('spec', '')}]")
    else:
        lines.append("injections: none")
    return "\n".join(lines)


@click.command(name="simulate")
@click.option("--hours", type=float, default=None, show_default="8, or the whole --hypnogram",
              help="Length of the night in hours.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed: the same seed gives the same night.")
@click.option("--inject", "injects", multiple=True, metavar="SPEC",
              help="Scripted injection KIND[:ARG]@TIME (repeatable, or ';'-separated): lrlr, count:N, "
                   "morse:TEXT, emg:yes|no, emg-morse:TEXT, arousal[:SECONDS]; TIME in seconds or "
                   "remN[+SECONDS].")
@click.option("--hypnogram", "hypnogram_path", type=click.Path(dir_okay=False), default=None,
              help="Drive the night from a real hypnogram (DREAMS, YASA, Sleep-EDF, DYNAM-O or "
                   "dreamlink CSV).")
@click.option("--trim-wake", type=float, default=None, metavar="MINUTES",
              help="With --hypnogram: keep only MINUTES of wake before sleep onset and after the final "
                   "awakening (Sleep-EDF hypnograms span ~24 h).")
@click.option("--sfreq", type=float, default=256.0, show_default=True, help="Sampling rate in Hz.")
@click.option("--mains", type=click.Choice(["50", "60", "none"]), default="none", show_default=True,
              help="Add mains interference at 50 or 60 Hz.")
@click.option("--eye-amplitude", type=float, default=150.0, show_default=True,
              help="Deliberate eye signals: µV per EOG electrode at full lateral gaze.")
@click.option("--no-artefacts", is_flag=True, help="No movement artefacts or spontaneous arousals.")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="Output EDF+ file.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(
    hours: float | None,
    seed: int,
    injects: tuple[str, ...],
    hypnogram_path: str | None,
    trim_wake: float | None,
    sfreq: float,
    mains: str,
    eye_amplitude: float,
    no_artefacts: bool,
    out: str,
    quiet: bool,
) -> None:
    """Write a simulated night to an EDF+ file, with its true hypnogram and injected events.

    The EDF+ holds F4-M1, C4-M1, O2-M1, E1-M2, E2-M2 and chin EMG; its annotations hold one
    `stage:N2`-style note per 30-s epoch and the injected events. Side files: OUT.hypnogram.csv
    and OUT.events.tsv.

    \b
    Examples:
      dreamlink simulate --hours 8 --seed 1 --out night.edf
      dreamlink simulate --hours 2 --inject lrlr@1800 --inject "count:4@rem1+60;emg:yes@rem1+200" --out n.edf
      dreamlink simulate --hypnogram ../shared/data/dynamo/night_stages.csv --hours 3 --out dyn.edf
      dreamlink simulate --hypnogram SC4001EC-Hypnogram.edf --trim-wake 15 --out sc4001.edf
    """
    if not out.lower().endswith(".edf"):
        raise DreamlinkError(f"--out must end in .edf, got {Path(out).name} (e.g. --out night.edf)")
    if hypnogram_path is None and hours is None:
        hours = 8.0
    hypnogram = None
    if hypnogram_path is not None:
        hypnogram = load_hypnogram(hypnogram_path, trim_wake_min=trim_wake)
    elif trim_wake is not None:
        raise DreamlinkError("--trim-wake only applies to --hypnogram FILE; drop it or give a hypnogram")
    night = simulate_night(
        hours=hours,
        seed=seed,
        sfreq=sfreq,
        hypnogram=hypnogram,
        injections=list(injects),
        mains=None if mains == "none" else float(mains),
        artefacts=not no_artefacts,
        eye_amplitude_v=eye_amplitude * 1e-6,
    )
    outputs = write_simulated_night(night, out, progress=not quiet and night.duration > 1800)
    click.echo(summary(night))
    click.echo(f"wrote {outputs.edf}, {outputs.hypnogram_csv.name}, {outputs.events_tsv.name}")
