"""``dreamlink simulate``: EDF+ with stages and injections as annotations, plus side files."""

from __future__ import annotations

import numpy as np

from dreamlink.events import read_events_tsv
from dreamlink.io.edf import read_raw
from dreamlink.io.hypnogram_formats import read_hypnogram


def test_writes_edf_with_stages_and_injections(run_cli, tmp_path):
    out = tmp_path / "night.edf"
    code, stdout, stderr = run_cli(
        "simulate", "--hours", "0.25", "--seed", "2", "--inject", "lrlr@300",
        "--inject", "count:2@400;emg:yes@600", "--mains", "50", "--out", str(out), "--quiet",
    )
    assert code == 0, stderr
    raw = read_raw(out, preload=True)
    assert raw.ch_names == ["F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "EMG"]
    assert raw.info["sfreq"] == 256.0
    assert raw.n_times == 900 * 256
    x = raw.get_data()
    assert np.isfinite(x).all() and 1e-6 < np.std(x[1]) < 1e-4  # volts, EEG-sized
    desc = list(raw.annotations.description)
    stages = [d for d in desc if d.startswith("stage:")]
    assert len(stages) == 30 and stages[0] == "stage:W"
    assert "lrlr:LRLR" in desc and "count:2" in desc and "emg_code:yes" in desc
    hyp = read_hypnogram(tmp_path / "night.hypnogram.csv")
    assert hyp.n_epochs == 30 and [f"stage:{s}" for s in hyp.stages] == stages
    events = read_events_tsv(tmp_path / "night.events.tsv")
    kinds = {e.trial_type for e in events}
    assert {"lrlr", "eye_sweep", "count", "emg_code", "emg_twitch"} <= kinds
    lrlr = [e for e in events if e.trial_type == "lrlr" and e.data.get("spec") == "lrlr@300"]
    assert abs(lrlr[0].onset - 300.0) < 0.01
    assert "stages (min):" in stdout and "count 2" in stdout and "wrote" in stdout


def test_driven_by_real_hypnogram(run_cli, tmp_path, shared_data):
    from tests.conftest import real_file

    path = real_file(shared_data, "yasa/sub-02_hypno_30s.txt")
    out = tmp_path / "sub02.edf"
    code, stdout, stderr = run_cli("simulate", "--hypnogram", str(path), "--hours", "0.2",
                                   "--out", str(out), "--quiet")
    assert code == 0, stderr
    real = read_hypnogram(path)
    written = read_hypnogram(tmp_path / "sub02.hypnogram.csv")
    assert np.array_equal(written.stages, real.stages[:24])


def test_bad_injection_is_one_line_error(run_cli, tmp_path):
    code, stdout, stderr = run_cli("simulate", "--hours", "0.1", "--inject", "count:x@10",
                                   "--out", str(tmp_path / "n.edf"))
    assert code == 2
    assert stderr.startswith("error: bad injection 'count:x@10'") and "KIND[:ARG]@TIME" in stderr
    assert "Traceback" not in stderr and stderr.count("\n") == 1
    assert not (tmp_path / "n.edf").exists()


def test_other_bad_input(run_cli, tmp_path):
    code, _, stderr = run_cli("simulate", "--hours", "0.1", "--out", str(tmp_path / "n.txt"))
    assert code == 2 and "must end in .edf" in stderr
    code, _, stderr = run_cli("simulate", "--hypnogram", str(tmp_path / "none.txt"),
                              "--out", str(tmp_path / "n.edf"))
    assert code == 2 and "not found" in stderr
    code, _, stderr = run_cli("simulate", "--hours", "0.1", "--sfreq", "64", "--out", str(tmp_path / "n.edf"))
    assert code == 2 and "at least 100 Hz" in stderr
    code, _, stderr = run_cli("simulate", "--hours", "0.1", "--inject", "lrlr@rem3",
                              "--out", str(tmp_path / "n.edf"))
    assert code == 2 and "REM period 3" in stderr


def test_help_teaches():
    from click.testing import CliRunner

    from dreamlink.commands.simulate import command

    result = CliRunner().invoke(command, ["--help"])
    assert result.exit_code == 0
    assert "dreamlink simulate --hours 8 --seed 1 --out night.edf" in result.output
    assert "remN[+SECONDS]" in result.output


def test_sleep_edf_hypnogram_trimmed_to_the_night(run_cli, tmp_path, shared_data):
    from tests.conftest import real_file

    path = real_file(shared_data, "sleep-edf/SC4001EC-Hypnogram.edf")
    out = tmp_path / "sc.edf"
    code, stdout, stderr = run_cli("simulate", "--hypnogram", str(path), "--trim-wake", "10",
                                   "--sfreq", "100", "--out", str(out), "--quiet")
    assert code == 0, stderr
    hyp = read_hypnogram(tmp_path / "sc.hypnogram.csv")
    asleep = np.flatnonzero(np.isin(hyp.stages, ["N1", "N2", "N3", "R"]))
    assert asleep[0] == 20 and hyp.n_epochs - 1 - asleep[-1] == 20  # 10 min of wake kept each side
    assert 6.0 < hyp.duration / 3600 < 9.0  # the night, not the 24-h file
    code, _, stderr = run_cli("simulate", "--trim-wake", "10", "--out", str(tmp_path / "x.edf"))
    assert code == 2 and "--trim-wake only applies" in stderr
