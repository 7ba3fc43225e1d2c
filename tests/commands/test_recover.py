"""``dreamlink recover``: a `dreamlink record` killed with SIGKILL, finished from the command line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DREAMLINK = Path(sys.executable).with_name("dreamlink")


def test_killed_record_command_recovers(run_cli, tmp_path):
    import mne
    import mne_bids

    out = tmp_path / "night"
    proc = subprocess.Popen(
        [str(DREAMLINK), "record", "sim:seed=2,hours=0.1", "--duration", "300", "--speed", "20",
         "--out", str(out), "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        edf = out / "recording.edf"
        while time.monotonic() < deadline and (not edf.exists() or edf.stat().st_size < 20_000):
            time.sleep(0.05)
        time.sleep(0.7)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL
    size_before = edf.stat().st_size

    code, stdout, stderr = run_cli("recover", str(out))
    assert code == 0, stderr
    assert "(recovered)" in stdout
    raw = mne.io.read_raw_edf(edf, preload=True, verbose="error")
    assert raw.n_times >= 256 * 5 and raw.n_times % 256 == 0
    assert raw.ch_names == ["F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "EMG"]
    assert size_before - edf.stat().st_size < (6 * 256 * 2 + 512)  # at most one torn record cut off
    bids = next((out / "bids").rglob("*_eeg.edf"))
    braw = mne_bids.read_raw_bids(mne_bids.get_bids_path_from_fname(bids), verbose=False)
    assert braw.n_times == raw.n_times


def test_recover_bad_folder_is_one_line(run_cli, tmp_path):
    code, _, stderr = run_cli("recover", str(tmp_path / "missing"))
    assert code == 2 and "recording folder not found" in stderr
    (tmp_path / "empty").mkdir()
    code, _, stderr = run_cli("recover", str(tmp_path / "empty"))
    assert code == 2 and "not a dreamlink recording folder" in stderr
