"""``dreamlink record SOURCE --duration S --out DIR``: record any source into a crash-safe folder."""

from __future__ import annotations

import signal
import sys

import click

from dreamlink.errors import RecordingError
from dreamlink.sources.base import parse_speed


@click.command(name="record")
@click.argument("source")
@click.option("--duration", type=float, default=None, metavar="SECONDS",
              help="Seconds of signal to record (default: until the source ends or Ctrl-C).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False), metavar="DIR",
              help="New recording folder (must not exist yet, or be empty).")
@click.option("--speed", default=None, metavar="X|max",
              help="Playback speed for file and sim sources (real time × X, or 'max').")
@click.option("--format", "file_format", type=click.Choice(["auto", "edf", "bdf"]), default="auto",
              show_default=True, help="EDF+ (16-bit) or BDF+ (24-bit); auto picks BDF for >16-bit sources.")
@click.option("--bids/--no-bids", default=True, show_default=True,
              help="Also write the BIDS layout (mne-bids) when finished.")
@click.option("--subject", default="01", show_default=True, help="BIDS subject label.")
@click.option("--session", default=None, help="BIDS session label.")
@click.option("--truth/--no-truth", default=False, show_default=True,
              help="For sim sources: log the simulator's ground-truth events (source sim.*) too.")
@click.option("--reserve-mb", type=float, default=20.0, show_default=True,
              help="Free disk space to keep; the recording stops (finalised) below it.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(source: str, duration: float | None, out: str, speed: str | None, file_format: str,
            bids: bool, subject: str, session: str | None, truth: bool, reserve_mb: float,
            quiet: bool) -> None:
    """Record SOURCE into the folder DIR: an EDF+ (or BDF+) file written second by second, an
    fsync'd event log, events.tsv and a BIDS layout.

    A crash or `kill -9` loses at most the last second; finish such a folder with
    `dreamlink recover DIR`. Free space and writability are checked before and during the night.

    \b
    Examples:
      dreamlink record sim:seed=1,hours=0.1 --duration 300 --speed max --out night1
      dreamlink record file:night.edf --duration 60 --speed 20 --out copy
      dreamlink record brainflow:-1 --duration 3600 --out tonight
    """
    from tqdm import tqdm

    from dreamlink.record.recorder import record_source
    from dreamlink.sources.uri import open_source

    if duration is not None and not duration > 0:
        raise RecordingError(f"--duration must be a positive number of seconds, got {duration:g}")
    options = {} if speed is None else {"speed": parse_speed(speed)}
    src = open_source(source, **options)
    events = []
    night = getattr(src, "night", None)
    if truth and night is not None:
        events = list(night.events)

    def _term(signum, frame):  # SIGTERM finishes the recording cleanly, like Ctrl-C
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, _term)
    total = duration if duration is not None else src.info.duration
    bar = tqdm(total=round(total, 1) if total else None, unit="s", file=sys.stderr, leave=False,
               desc="recording", disable=quiet)
    last = [0.0]

    def _progress(elapsed: float) -> None:
        bar.update(round(elapsed - last[0], 3))
        last[0] = elapsed

    try:
        summary = record_source(
            src, out, duration, source_uri=source, progress=_progress, events=events,
            file_format=file_format, bids=bids, subject=subject, session=session,
            reserve_bytes=int(reserve_mb * 1024 * 1024),
        )
    finally:
        bar.close()
        signal.signal(signal.SIGTERM, previous)
    for line in summary.lines():
        click.echo(line)
