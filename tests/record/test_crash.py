"""A recording killed with SIGKILL at a random moment recovers to a valid EDF+ losing < 1 s."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dreamlink.record import recover
from tests.record.helpers import intact

REPO = Path(__file__).resolve().parents[2]

# The child records a sample-counter source at 4× real time and logs an event every 5 chunks. After
# each write it prints how many samples and events it has handed to the recorder (so the parent
# knows what was confirmed written before the kill).
_CHILD = """
import sys
from dreamlink.events import Event
from dreamlink.record import Recorder
from tests.record.helpers import CounterSource
src = CounterSource(sfreq=256.0, speed=4.0).open()
with Recorder(sys.argv[1], src.info, bids=False) as rec:
    n_events = 0
    for i, chunk in enumerate(src.chunks(0.1)):
        rec.write(chunk)
        if i % 5 == 0:
            rec.add_event(Event(rec.elapsed, 0.0, "note", f"n{n_events}", None, "test"))
            n_events += 1
        print(f"done {rec.n_samples} {n_events}", flush=True)
"""


def _run_and_kill(folder: Path, kill_after: float) -> tuple[int, int]:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(folder)], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        first = proc.stdout.readline()
        assert first.startswith("done"), proc.stderr.read()
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    last = [line for line in (first + out).splitlines() if line.startswith("done")][-1].split()
    return int(last[1]), int(last[2])


@pytest.mark.parametrize("rep", range(5))
def test_sigkill_at_a_random_moment_recovers(tmp_path, rep):
    import mne

    rng = random.Random(1000 + rep)
    folder = tmp_path / "night"
    confirmed_samples, confirmed_events = _run_and_kill(folder, rng.uniform(0.2, 2.0))
    assert json.loads((folder / "recording.json").read_text())["state"] == "recording"

    summary = recover(folder)
    assert summary.state == "recovered"
    raw = mne.io.read_raw_edf(summary.signal_path, preload=True, verbose="error")
    n = raw.n_times
    assert n == summary.n_samples
    assert intact(raw)  # every recovered sample is the right one, no gap, no repeat
    # At most one second of what the recorder had confirmed is missing (the unfinished record).
    assert confirmed_samples - n < 256, (confirmed_samples, n)
    # Every event logged before the kill is an EDF+ annotation of the recovered file.
    descriptions = set(mne.read_annotations(summary.signal_path).description)
    assert {f"note:n{i}" for i in range(confirmed_events)} <= descriptions
    assert (folder / "events.tsv").is_file()
    # Recovering again changes nothing.
    again = recover(folder)
    assert again.n_samples == n and again.n_annotations == summary.n_annotations
