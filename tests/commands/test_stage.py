"""`dreamlink stage` on a small EDF made from a real excerpt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dreamlink.io.edf import write_edf
from dreamlink.staging.datasets import load_dreams_excerpt
from tests.conftest import real_file

COLUMNS = ["onset", "duration", "stage", "confidence", "p_W", "p_N1", "p_N2", "p_N3", "p_R"]


@pytest.fixture(scope="module")
def real_edf(shared_data, tmp_path_factory):
    real_file(shared_data, "dreams-spindles/excerpt4.txt")
    rec = load_dreams_excerpt(shared_data, 4)
    path = tmp_path_factory.mktemp("stage") / "ex4.edf"
    write_edf(path, rec.data[:, : int(480 * rec.sfreq)], rec.sfreq, ["CZ-A1"], ["eeg"])
    return path


@pytest.mark.parametrize(
    "extra", [[], ["--engine", "dreamlink-fast"], ["--causal"], ["--causal", "--provisional"]]
)
def test_stage_writes_epoch_csv(run_cli, real_edf, tmp_path, extra):
    out = tmp_path / "hypno.csv"
    code, stdout, stderr = run_cli("stage", str(real_edf), "--eeg", "CZ-A1", *extra, "--out", str(out))
    assert code == 0, stderr
    df = pd.read_csv(out)
    assert list(df.columns) == COLUMNS
    assert len(df) == 16
    np.testing.assert_allclose(df["onset"], np.arange(16) * 30.0)
    assert set(df["stage"]) <= {"W", "N1", "N2", "N3", "R"}
    np.testing.assert_allclose(df[COLUMNS[4:]].sum(axis=1), 1.0, atol=1e-3)
    assert "wrote" in stdout


def test_missing_channel_is_one_line_error(run_cli, real_edf, tmp_path):
    code, _, stderr = run_cli("stage", str(real_edf), "--eeg", "C4-M1", "--out", str(tmp_path / "h.csv"))
    assert code == 2
    assert stderr.strip() == "error: channel 'C4-M1' (--eeg) not found; available channels: CZ-A1"


def test_50hz_file_refused(run_cli, shared_data, tmp_path):
    x = np.loadtxt(real_file(shared_data, "dreams-spindles/excerpt3.txt"), skiprows=1)[None, :] * 1e-6
    path = write_edf(tmp_path / "ex3.edf", x, 50.0, ["C3-A1"], ["eeg"])
    code, _, stderr = run_cli("stage", str(path), "--eeg", "C3-A1", "--out", str(tmp_path / "h.csv"))
    assert code == 2 and "50 Hz is below the 100 Hz" in stderr


def test_provisional_needs_causal(run_cli, real_edf, tmp_path):
    out = str(tmp_path / "h.csv")
    code, _, stderr = run_cli("stage", str(real_edf), "--eeg", "CZ-A1", "--provisional", "--out", out)
    assert code == 2 and "--causal" in stderr
