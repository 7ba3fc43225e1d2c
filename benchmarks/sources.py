"""Benchmark the ways samples come in, and print one table.

1. File playback → RingBuffer → BufferReader consumer, as fast as possible (``speed=None``), for an
   8-channel 256-Hz EDF written by this script into a temporary folder (default 2 h). Target: ≥ 1000×
   real time on one core.
2. LSL round-trip latency on loopback: a :class:`SignalOutlet` pushes one sample at a time at 256 Hz;
   one channel carries the sender's ``local_clock()`` at push time, and the :class:`LSLSource` consumer
   compares it with ``local_clock()`` when the sample comes out of ``read()`` (same machine, same clock).
3. BrainFlow synthetic board: samples delivered per second through :class:`BrainFlowSource` (it runs in
   real time, so this checks the source keeps up, not a speed).

Usage::

    .venv/bin/python benchmarks/sources.py [--hours 2] [--lsl-seconds 5] [--brainflow-seconds 3]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

from dreamlink.io.edf import write_edf
from dreamlink.signal.ringbuffer import BufferReader, RingBuffer
from dreamlink.sources.base import SourceInfo
from dreamlink.sources.file import FileSource

SFREQ = 256.0
N_CHANNELS = 8


def write_night(folder: Path, hours: float) -> Path:
    """An 8-channel 256-Hz EDF of ``hours`` of noise (µV-scale), written in 10-min pieces of memory."""
    rng = np.random.default_rng(0)
    n = int(hours * 3600 * SFREQ)
    data = rng.normal(0.0, 20e-6, (N_CHANNELS, n)).astype(np.float64)
    names = ["F4-M1", "C4-M1", "O2-M1", "F3-M2", "C3-M2", "E1-M2", "E2-M2", "EMG"]
    types = ["eeg"] * 5 + ["eog", "eog", "emg"]
    return write_edf(folder / "night.edf", data, SFREQ, names, types, physical_range_uv=500.0)


def bench_playback(path: Path, chunk_sec: float) -> dict[str, float]:
    """Samples per second through FileSource → RingBuffer → BufferReader."""
    src = FileSource(path, speed=None)
    ring = RingBuffer(src.info.n_channels, int(60 * src.info.sfreq))
    reader = BufferReader(ring, start=0)
    n_chunk = int(round(chunk_sec * src.info.sfreq))
    checksum = 0.0
    n = 0
    t0 = time.perf_counter()
    with src:
        while (chunk := src.read(n_chunk)) is not None:
            ring.write(chunk.data)
            first, data = reader.read_new()
            if first != n:
                raise RuntimeError(f"sample gap at {n}")
            n += data.shape[1]
            checksum += float(data[0, -1])  # the consumer touches the data
    wall = time.perf_counter() - t0
    if n != src.n_total:
        raise RuntimeError(f"{n} of {src.n_total} samples came through")
    return {"samples": n, "wall": wall, "rate": n / wall, "xrt": (n / src.info.sfreq) / wall}


def bench_lsl(seconds: float) -> dict[str, float]:
    """Latency (ms) from outlet push to inlet read, p50/p99/max, on loopback."""
    from mne_lsl.lsl import local_clock

    from dreamlink.sources.lsl import LSLSource
    from dreamlink.sources.lsl_outlet import SignalOutlet

    name = f"dreamlink-bench-{uuid.uuid4().hex[:10]}"
    info = SourceInfo(tuple(f"ch{i}" for i in range(N_CHANNELS)), ("misc",) * N_CHANNELS, SFREQ)
    outlet = SignalOutlet(info, name)
    src = LSLSource(name, timeout=5.0).open()
    outlet.wait_for_consumers(5.0)
    n_send = int(seconds * SFREQ)
    done = threading.Event()

    def send() -> None:
        start = time.perf_counter()
        for k in range(n_send):
            due = start + k / SFREQ
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            sample = np.zeros((N_CHANNELS, 1))
            now = local_clock()
            sample[0, 0] = now  # "volts" on our side: µV on the wire, exact in float64
            outlet.push(sample, timestamp=now)
        done.set()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    latencies = []
    received = 0
    deadline = time.monotonic() + seconds + 10
    while received < n_send and time.monotonic() < deadline:
        chunk = src.read(64, timeout=0.5)
        t_read = local_clock()
        if chunk.n_times:
            latencies.extend(t_read - chunk.data[0])
            received += chunk.n_times
    sender.join(5)
    src.close()
    outlet.close()
    lat = np.asarray(latencies) * 1e3
    return {"n": received, "sent": n_send, "p50": float(np.percentile(lat, 50)),
            "p99": float(np.percentile(lat, 99)), "max": float(lat.max())}


def bench_brainflow(seconds: float) -> dict[str, float]:
    """Samples per second delivered by the synthetic board through BrainFlowSource."""
    from dreamlink.sources.brainflow import BrainFlowSource

    src = BrainFlowSource(-1)
    n = 0
    with src:
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            n += src.read(timeout=0.1).n_times
        wall = time.perf_counter() - t0
    return {"n": n, "channels": src.info.n_channels, "rate": n / wall, "nominal": src.info.sfreq}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=2.0, help="length of the played file (h)")
    parser.add_argument("--lsl-seconds", type=float, default=5.0, help="LSL latency run length (s)")
    parser.add_argument("--brainflow-seconds", type=float, default=3.0, help="BrainFlow run length (s)")
    args = parser.parse_args()
    from dreamlink.sources.lsl import quiet_liblsl

    quiet_liblsl()  # liblsl's INFO lines would interleave with the table

    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        path = write_night(Path(tmp), args.hours)
        t_write = time.perf_counter() - t0
        for chunk_sec in (0.25, 1.0):
            r = bench_playback(path, chunk_sec)
            rows.append((
                f"file playback → ring → reader, {N_CHANNELS} ch @ {SFREQ:g} Hz, {args.hours:g} h, "
                f"chunks {chunk_sec:g} s",
                f"{r['rate']:,.0f} samples/s per channel ({r['rate'] * N_CHANNELS:,.0f} values/s)",
                f"{r['xrt']:,.0f}x real time ({r['wall']:.2f} s wall; target ≥ 1000x)",
            ))
    try:
        lsl = bench_lsl(args.lsl_seconds)
        rows.append((
            f"LSL loopback push → LSLSource.read, {N_CHANNELS} ch, 1 sample/push @ {SFREQ:g} Hz",
            f"p50 {lsl['p50']:.2f} ms, p99 {lsl['p99']:.2f} ms, max {lsl['max']:.2f} ms",
            f"{lsl['n']}/{lsl['sent']} samples received",
        ))
    except Exception as err:  # noqa: BLE001 - report and continue with the other rows
        rows.append(("LSL loopback latency", f"failed: {err}", ""))
    try:
        bf = bench_brainflow(args.brainflow_seconds)
        rows.append((
            f"BrainFlow synthetic board (-1) → BrainFlowSource, {bf['channels']} ch",
            f"{bf['rate']:.1f} samples/s per channel (board nominal {bf['nominal']:g} Hz)",
            f"{bf['n']} samples in {args.brainflow_seconds:g} s (real-time device)",
        ))
    except Exception as err:  # noqa: BLE001
        rows.append(("BrainFlow synthetic board", f"failed: {err}", ""))

    print(f"(EDF of {args.hours:g} h written in {t_write:.1f} s; single process on "
          f"{__import__('os').cpu_count()} shared cores)")
    widths = [max(len(r[i]) for r in rows + [("what", "measured", "note")]) for i in range(3)]
    header = ("what", "measured", "note")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


if __name__ == "__main__":
    main()
