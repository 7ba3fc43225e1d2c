"""Recorder throughput and crash-recovery time.

Prints one table:

1. sustained write throughput of :class:`dreamlink.record.Recorder` for 64 channels at 512 Hz, fed in
   0.25-s chunks (target ≥ 100× real time), measured while writing a whole 8-h night with the default
   fsync policy (completed records fsync'd at most every 0.5 s of wall time: every record of a live
   source), and on 10 min with an fsync after every 1-s record;
2. recovery time of that 8-h recording after a simulated crash (state left at ``recording``, a torn
   half record at the end, ~1,000 logged events): ``dreamlink.record.recover`` to a valid EDF+
   (target ≤ 5 s), and, separately, the optional BIDS export (mne-bids copies the whole file);
3. a check that MNE opens the recovered file with the expected number of samples.

If the disk lacks room for the night (≈ 1.9 GB for 8 h × 64 ch × 512 Hz, twice with the BIDS copy), a
shorter night is written and the table says so; recovery time does not grow with the night's length
(only the header, the torn record and the annotation slots are touched), the BIDS copy does.

Run: ``.venv/bin/python benchmarks/record.py [--hours 8] [--channels 64] [--sfreq 512] [--dir DIR]``
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from dreamlink.events import Event
from dreamlink.record import Recorder, recover
from dreamlink.record.bids import write_bids
from dreamlink.record.folder import RecordingFolder
from dreamlink.record.recorder import free_bytes
from dreamlink.sources.base import SourceInfo


def write_night(folder: Path, hours: float, n_ch: int, sfreq: float, chunk_sec: float,
                sync_interval: float = 0.5) -> dict[str, float]:
    """Write a night through the Recorder, leave it 'crashed'; returns timing numbers."""
    info = SourceInfo(tuple(f"EEG{i:02d}" for i in range(n_ch)), ("eeg",) * n_ch, sfreq, name="bench")
    rng = np.random.default_rng(0)
    n_chunk = int(round(chunk_sec * sfreq))
    block = rng.normal(0, 30e-6, (n_ch, n_chunk * 64))
    total = int(round(hours * 3600 * sfreq))
    rec = Recorder(folder, info, bids=False, expected_duration=hours * 3600,
                   sync_interval=sync_interval).open()
    t0 = time.perf_counter()
    n = k = 0
    while n < total:
        j = k % 64
        data = block[:, j * n_chunk : (j + 1) * n_chunk][:, : total - n]
        rec.write(data)
        n += data.shape[1]
        k += 1
        if k % int(round(30 / chunk_sec)) == 0:  # one stage event per 30 s, a cue per 2 min
            rec.add_event(Event(n / sfreq, 30.0, "stage", "N2", 0.9, "staging.causal"))
            if k % int(round(120 / chunk_sec)) == 0:
                rec.add_event(Event(n / sfreq, 1.0, "cue", "tone:440", None, "cue.audio",
                                    {"requested_onset": n / sfreq - 0.003}))
    wall = time.perf_counter() - t0
    # Simulated crash: no close(); the OS keeps what was written. Add a torn half record.
    journal = rec._journal
    journal.close()
    rec._log.close()
    with (folder / f"recording.{rec.file_format}").open("ab") as fh:
        fh.write(b"\x00" * (rec.layout.record_bytes // 2))
    return {"signal_sec": n / sfreq, "wall_sec": wall, "events": rec._log.n_events, "syncs": journal.n_syncs,
            "bytes": (folder / f"recording.{rec.file_format}").stat().st_size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--sfreq", type=float, default=512.0)
    parser.add_argument("--chunk-sec", type=float, default=0.25)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temp folder)")
    args = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="dreamlink-bench-record-", dir=args.dir))
    try:
        per_hour = args.channels * args.sfreq * 2 * 3600 + 512 * 3600
        hours = args.hours
        room = free_bytes(base) - 500e6
        note = ""
        if room < 2 * per_hour * hours:
            hours = max(0.25, round(room / (2 * per_hour), 2))
            note = f" (disk room for only {hours:g} h; asked {args.hours:g} h)"
        folder = base / "night"
        strict = write_night(base / "strict", min(hours, 1 / 6), args.channels, args.sfreq,
                             args.chunk_sec, 0.0)
        shutil.rmtree(base / "strict")
        w = write_night(folder, hours, args.channels, args.sfreq, args.chunk_sec)
        t0 = time.perf_counter()
        summary = recover(folder, bids=False)
        t_recover = time.perf_counter() - t0
        t0 = time.perf_counter()
        rf = RecordingFolder(folder)
        write_bids(rf, rf.read_manifest())
        t_bids = time.perf_counter() - t0

        import mne

        raw = mne.io.read_raw(summary.signal_path, preload=False, verbose="error")
        ok = raw.n_times == summary.n_samples == int(w["signal_sec"] * args.sfreq)
        speed = w["signal_sec"] / w["wall_sec"]
        strict_speed = strict["signal_sec"] / strict["wall_sec"]
        cut = rf.read_manifest().get("recovered_truncated_bytes")
        rows = [
            ("night written", f"{hours:g} h × {args.channels} ch × {args.sfreq:g} Hz{note}", ""),
            ("file size", f"{w['bytes'] / 1e9:.2f} GB ({'EDF+' if summary.file_format == 'edf' else 'BDF+'})",
             ""),
            ("write throughput, default fsync (≥ 0.5 s wall apart)",
             f"{speed:,.0f}× real time ({speed * args.channels * args.sfreq / 1e6:.1f} "
             f"M samples/s, {w['syncs']} fsyncs)", "≥ 100×: " + ("PASS" if speed >= 100 else "FAIL")),
            (f"write throughput, fsync every 1-s record ({strict['signal_sec'] / 60:.0f} min)",
             f"{strict_speed:,.0f}× real time ({strict['syncs']} fsyncs)",
             "≥ 100×: " + ("PASS" if strict_speed >= 100 else "FAIL")),
            ("events logged (fsync each)", f"{w['events']}", ""),
            ("recover → valid EDF+ with annotations", f"{t_recover:.2f} s",
             "≤ 5 s: " + ("PASS" if t_recover <= 5 else "FAIL")),
            ("  annotations written / torn bytes cut off", f"{summary.n_annotations} / {cut}", ""),
            ("BIDS export (mne-bids copies the file)", f"{t_bids:.2f} s", "(optional step)"),
            ("MNE reads recovered file, samples match", "yes" if ok else "NO", ""),
        ]
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        print(f"{'measure':<{w0}} | {'result':<{w1}} | target")
        print(f"{'-' * w0}-+-{'-' * w1}-+-------")
        for a, b, c in rows:
            print(f"{a:<{w0}} | {b:<{w1}} | {c}")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
