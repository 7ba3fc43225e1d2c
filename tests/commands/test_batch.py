"""`dreamlink batch`: the command line over a small dataset (serial and on a 2-worker local cluster)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dreamlink.batch.tasks import VOLATILE_COLUMNS
from tests.batch._data import write_dynamo_excerpt, write_sim_night


@pytest.fixture(scope="module")
def small_dataset(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-dataset")
    write_dynamo_excerpt(root / "dynamo.edf", shared_data, 82, 20)  # real EEG, expert stages
    write_sim_night(root / "sim.edf", seed=4)
    (root / "broken.edf").write_bytes(b"0       not really an EDF header" * 3)
    return root


def _results(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    return (
        df.drop(columns=[c for c in VOLATILE_COLUMNS if c in df.columns])
        .sort_values("name")
        .reset_index(drop=True)
    )


@pytest.mark.slow
def test_local_cluster_equals_serial_and_failure_exit_code(
    run_cli, small_dataset: Path, tmp_path: Path
) -> None:
    code, out, err = run_cli(
        "batch", "stage", str(small_dataset), "--out", str(tmp_path / "serial"), "--serial", "--quiet"
    )
    assert code == 1, err  # one night failed
    assert "3 nights: 2 ok, 1 failed" in out
    assert "FAILED broken: InputFileError" in out
    assert "kappa" in out and "vs expert (20 epochs)" in out
    code, out, err = run_cli(
        "batch", "stage", str(small_dataset), "--out", str(tmp_path / "dask"), "--workers", "2", "--quiet"
    )
    assert code == 1, err
    assert "processed on Dask tcp://" in out and "(2 workers)" in out
    pd.testing.assert_frame_equal(
        _results(tmp_path / "dask" / "summary.csv"),
        _results(tmp_path / "serial" / "summary.csv"),
        check_dtype=False,
    )
    assert (tmp_path / "dask" / "summary.parquet").is_file()
    # resumed: the two finished nights are not redone, the broken one is tried again
    code, out, _ = run_cli(
        "batch", "stage", str(small_dataset), "--out", str(tmp_path / "serial"), "--serial", "--quiet"
    )
    assert code == 1 and "(2 already finished, 1 processed" in out


def test_bad_arguments_are_one_line_errors(run_cli, small_dataset: Path, tmp_path: Path) -> None:
    code, _, err = run_cli("batch", "stage", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert code == 2 and err.startswith("error: dataset not found")
    code, _, err = run_cli(
        "batch", "stage", str(small_dataset), "--out", str(tmp_path / "o"), "--workers", "0"
    )
    assert code == 2 and "--workers must be at least 1" in err
    code, _, err = run_cli("batch", "dance", str(small_dataset), "--out", str(tmp_path / "o"))
    assert code == 2 and "dance" in err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code, _, err = run_cli("batch", "stage", str(small_dataset), "--out", str(blocker / "sub"), "--serial")
    assert code == 2 and "cannot create the output folder" in err


def test_unreachable_scheduler_names_the_fix() -> None:
    from dreamlink.batch.runner import dask_client
    from dreamlink.errors import ConfigError

    with (
        pytest.raises(
            ConfigError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:1 .*dask scheduler"
        ),
        dask_client("tcp://127.0.0.1:1", connect_timeout=1.0),
    ):
        pass


def test_help_teaches(run_cli) -> None:
    code, out, _ = run_cli("batch", "--help")
    assert code == 0 and "dreamlink batch stage nights/ --out staged/" in out and "--scheduler" in out
