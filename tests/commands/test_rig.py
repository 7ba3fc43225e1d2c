"""`dreamlink rig`: offline recording, bad input → one line, a refused token does not stop the night."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dreamlink.detect.calibration import Calibration
from dreamlink.rig.client import Outbox
from dreamlink.sources import open_source
from tests.server.helpers import DREAMLINK, add_users, server_process


def test_offline_rig_records_and_fills_its_outbox(run_cli, tmp_path: Path) -> None:
    out = tmp_path / "rig"
    n = open_source("sim:seed=1,hours=0.02", speed=None).n_total
    code, stdout, err = run_cli("rig", "sim:seed=1,hours=0.02", "--speed", "max", "--out", str(out))
    assert code == 0, err
    assert f"samples processed : {n} " in stdout
    box = Outbox(out / "outbox.sqlite")
    assert box.count("signal") == n // 256 and box.get("src_end") == n
    box.close()
    assert (out / "recording-run01").is_dir()


def test_rig_tells_the_operator_when_the_dreamers_looks_are_short(run_cli, tmp_path: Path) -> None:
    cal = Calibration(800e-6, hold=0.45).save(tmp_path / "cal.json")
    args = ["rig", "sim:seed=1,hours=0.01", "--speed", "max", "--events", "detect", "--calibration", str(cal)]
    code, _, err = run_cli(*args, "--out", str(tmp_path / "rig"))
    assert code == 0, err
    assert "the dreamer's calibration: the gaze stayed 0.45 s at each side" in err and "about 1 s" in err
    slow = Calibration(800e-6, hold=1.0).save(tmp_path / "slow.json")
    args[-1] = str(slow)
    code, _, err = run_cli(*args, "--out", str(tmp_path / "rig-slow"))
    assert code == 0, err
    assert "the dreamer's calibration" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sim:seed=1,hours=0.01", "--server", "http://127.0.0.1:9"], "--server needs --token"),
        (
            ["sim:seed=1,hours=0.01", "--server", "http://127.0.0.1:9", "--token", "t"],
            "--server needs --session",
        ),
        (["nonsense-source"], "unknown source"),
        (["sim:seed=1,hours=0.01", "--events", "truth", "--speed", "fast"], "not a number or 'max'"),
    ],
)
def test_bad_input_one_line(run_cli, tmp_path: Path, args, message, monkeypatch) -> None:
    monkeypatch.delenv("DREAMLINK_TOKEN", raising=False)
    monkeypatch.delenv("DREAMLINK_SESSION", raising=False)
    code, _, err = run_cli("rig", *args, "--out", str(tmp_path / "rig"))
    assert code == 2 and message in err and "Traceback" not in err


def test_bad_design_file_is_reported_with_its_location(run_cli, tmp_path: Path) -> None:
    design = tmp_path / "d.yaml"
    design.write_text("design: x\nversion: 1\nstates: 12\n")
    code, _, err = run_cli(
        "rig", "sim:seed=1,hours=0.01", "--design", str(design), "--out", str(tmp_path / "r")
    )
    assert code != 0 and err.startswith("error:") and "d.yaml:" in err and "Traceback" not in err


def test_refused_token_warns_but_the_night_is_recorded(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    add_users(db, {"alice": "dreamer"})
    with server_process(db) as (base, _):
        r = subprocess.run(
            [
                *DREAMLINK,
                "rig",
                "sim:seed=1,hours=0.01",
                "--speed",
                "max",
                "--server",
                base,
                "--token",
                "wrong",
                "--session",
                "nope",
                "--out",
                str(tmp_path / "rig"),
                "--linger",
                "2",
                "--no-record",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert r.returncode == 0, r.stderr
    n = open_source("sim:seed=1,hours=0.01", speed=None).n_total
    assert "server refused the rig" in r.stderr and f"samples processed : {n} " in r.stdout


def test_eye_model_is_for_the_detectors(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("rig", "sim:seed=1,hours=0.01", "--events", "truth", "--eye-model", "m.npz",
                           "--out", str(tmp_path / "rig"))
    assert code == 2 and "--eye-model is read by the detectors: it goes with --events detect" in err
    cal = Calibration(800e-6).save(tmp_path / "cal.json")
    code, _, err = run_cli("rig", "sim:seed=1,hours=0.01", "--events", "detect", "--calibration", str(cal),
                           "--eye-model", str(tmp_path / "missing.npz"), "--out", str(tmp_path / "rig"))
    assert code == 2 and "missing.npz not found" in err and "Traceback" not in err
