"""``dreamlink demo``: a guided tour of the whole product on the embedded simulator.

The tour runs the same public commands a user would type, in order, printing each command line
before its output so a newcomer learns them:

1. ``simulate`` an 8-h night with a deliberate LRLR signal and an eye-Morse message in REM;
2. ``stage`` it (offline) and compare with the simulator's true hypnogram;
3. ``detect`` the dreamer's signals and compare with what was injected;
4. render a ``cue`` (Morse beeps) exactly as it would be played;
5. ``rehearse`` a two-way-dialogue dream design on a simulated night;
6. write the morning ``report`` (HTML + PDF);
7. a shared session: the session server with two simulated dreamers exchanging a message,
   and the address of the dashboard (skipped with ``--no-serve``).

Numbers printed against the simulator's truth are a demonstration, not accuracy on real sleep
(``benchmarks/`` measures that on real recordings).
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable
from pathlib import Path

import click

from dreamlink.errors import DreamlinkError


def demo_injections(hours: float) -> tuple[str, str]:
    """A lucid signal, then a message in eye-Morse: in the 2nd REM period of a full night, else the 1st."""
    period = "rem2" if hours >= 5 else "rem1"
    return (f"lrlr@{period}+30", f"morse:SOS@{period}+120")


def _repo_examples() -> Path | None:
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples" / "designs"
        if candidate.is_dir():
            return candidate
    return None


def _heading(number: int, title: str) -> None:
    click.echo()
    click.secho(f"[{number}] {title}", bold=True)


def _run(args: list[str]) -> None:
    """Run one dreamlink command in-process, echoing it first; a failure stops the tour."""
    from dreamlink.cli import cli

    click.secho("$ dreamlink " + " ".join(shlex.quote(a) for a in args), fg="cyan")
    try:
        cli.main(args=args, prog_name="dreamlink", standalone_mode=False)
    except SystemExit as exc:  # commands may exit(0) explicitly
        if exc.code not in (0, None):
            raise DreamlinkError(f"demo step `dreamlink {args[0]}` failed (exit {exc.code})") from exc


def _step(number: int, title: str, action: Callable[[], None]) -> float:
    _heading(number, title)
    t0 = time.monotonic()
    action()
    return time.monotonic() - t0


def _compare_staging(out: Path) -> None:
    from dreamlink.io.hypnogram_formats import read_hypnogram
    from dreamlink.staging.agreement import agreement
    from dreamlink.staging.stats import sleep_statistics

    truth = read_hypnogram(out / "night.hypnogram.csv")
    staged = read_hypnogram(out / "hypnogram.csv")
    result = agreement(truth, staged)
    stats = sleep_statistics(staged)
    click.echo(
        f"against the simulator's true stages ({result.n_epochs} epochs; a demo, not real-sleep accuracy): "
        f"accuracy {result.accuracy:.2f}, Cohen's kappa {result.kappa:.2f}"
    )
    keys = [k for k in ("TIB", "TST", "SE", "SOL", "WASO", "Lat_REM") if k in stats]
    click.echo("sleep statistics of the staged night: " + ", ".join(f"{k} {stats[k]:.1f}" for k in keys))


def _compare_detection(out: Path) -> None:
    from dreamlink.events import read_events_tsv

    injected = [e for e in read_events_tsv(out / "night.events.tsv") if e.trial_type in ("lrlr", "message")]
    found = [e for e in read_events_tsv(out / "events.tsv") if e.trial_type in ("lrlr", "message")]
    click.echo("injected (ground truth)          detected")
    for event in injected:
        match = [f for f in found if f.trial_type == event.trial_type and abs(f.onset - event.onset) < 60]
        got = ", ".join(f"{f.value} @ {f.onset:.1f} s (conf {f.confidence or 0:.2f})" for f in match) or "-"
        click.echo(f"  {event.trial_type:8s} {event.value!s:6s} @ {event.onset:8.1f} s   {got}")


@click.command("demo")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for everything the tour writes.",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Simulator seed.")
@click.option("--hours", type=float, default=8.0, show_default=True, help="Length of the simulated night.")
@click.option(
    "--serve/--no-serve",
    default=True,
    show_default=True,
    help="Finish with a shared session on the local session server and its dashboard.",
)
@click.option("--port", type=int, default=8700, show_default=True, help="Port of the demo session server.")
@click.option(
    "--keep-serving",
    type=float,
    default=None,
    metavar="SECONDS",
    help="How long the shared session stays up (default: until Ctrl-C when run in a terminal).",
)
def command(
    out_dir: Path, seed: int, hours: float, serve: bool, port: int, keep_serving: float | None
) -> None:
    """A guided tour of dreamlink on a simulated night (what `make demo` runs).

    Needs no hardware and no internet. Each step prints the command it runs, so you can repeat it
    on your own recordings, e.g.:

    \b
      dreamlink demo                      # the whole tour, then a live shared session
      dreamlink demo --no-serve --out /tmp/tour
    """
    out = out_dir
    out.mkdir(parents=True, exist_ok=True)
    night = str(out / "night.edf")
    timings: dict[str, float] = {}
    click.secho("dreamlink demo: one simulated night, from signal to morning report", bold=True)
    click.echo(f"everything is written to {out.resolve()}")

    inject_args = [arg for spec in demo_injections(hours) for arg in ("--inject", spec)]
    timings["simulate"] = _step(
        1,
        "A simulated night, with a lucid dreamer signalling in REM",
        lambda: _run(
            ["simulate", "--hours", f"{hours:g}", "--seed", str(seed), *inject_args, "--out", night]
        ),
    )
    timings["stage"] = _step(
        2,
        "Sleep staging (offline engine; the real-time stager is `--causal`)",
        lambda: (
            _run(
                [
                    "stage",
                    night,
                    "--eeg",
                    "C4-M1",
                    "--eog",
                    "E1-M2",
                    "--emg",
                    "EMG",
                    "--out",
                    str(out / "hypnogram.csv"),
                ]
            ),
            _compare_staging(out),
        ),
    )
    timings["detect"] = _step(
        3,
        "Detecting what the dreamer sends (eye signals, messages, REMs)",
        lambda: (
            _run(
                [
                    "detect",
                    night,
                    "--eog",
                    "E1-M2",
                    "--eog-right",
                    "E2-M2",
                    "--emg",
                    "EMG",
                    "--out",
                    str(out / "events.tsv"),
                ]
            ),
            _compare_detection(out),
        ),
    )
    timings["cue"] = _step(
        4,
        "A cue for the dreamer, rendered exactly as it would be played",
        lambda: _run(
            ["cue", "SOS", "--as", "morse-audio", "--unit-ms", "80", "--out", str(out / "cue_sos.wav")]
        ),
    )
    examples = _repo_examples()
    if examples is not None and (examples / "konkoly_dialogue.yaml").is_file():
        design = str(examples / "konkoly_dialogue.yaml")
        timings["rehearse"] = _step(
            5,
            "Rehearsing a dream design (Konkoly et al. 2021 two-way dialogue)",
            lambda: (
                _run(["check", design]),
                _run(
                    ["rehearse", design, "--simulate", "--seed", str(seed), "--out", str(out / "rehearsal")]
                ),
            ),
        )
    else:
        _heading(5, "Rehearsing a dream design: skipped (examples/designs not found next to the package)")
    timings["report"] = _step(
        6,
        "The morning report",
        lambda: _run(
            ["report", night, "--expert", str(out / "night.hypnogram.csv"), "--out", str(out / "report.html")]
        ),
    )

    click.echo()
    click.echo("step timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    if serve:
        _heading(7, "A shared session: two simulated dreamers, one message relayed between them")
        try:
            from dreamlink.commands import _demo_session
        except ImportError:
            click.echo("the session server is not part of this build; skipping")
        else:
            _demo_session.run(out / "session", port=port, seed=seed, keep_serving=keep_serving)
    click.echo()
    click.secho(f"done. Open {out / 'report.html'} for the morning report.", bold=True)
