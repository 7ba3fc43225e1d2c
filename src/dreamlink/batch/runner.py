"""Run a task over every night of a dataset on a Dask cluster: resume, failures, summary table.

Orchestration only; the per-night work is :func:`dreamlink.batch.tasks.process_night`, a pure function
that the same code calls in this process (``serial=True``, the reference) or ships to Dask workers
(:mod:`dask.distributed`, Rocklin 2015). By default a :class:`distributed.LocalCluster` of worker
*processes* (one thread each: staging is CPU-bound Python/NumPy) runs on this machine; ``scheduler=``
attaches to an existing cluster (``dask scheduler`` + ``dask worker`` on other machines; the dataset
and the output folder must then be on storage every worker sees, under the same paths).

Output folder layout::

    OUT/
      summary.csv, summary.parquet   one row per night (see dreamlink.batch.tasks), failed nights included
      nights/NAME/result.json        the night's row + the fingerprint of what it was computed from
      nights/NAME/hypnogram.csv      (stage) | report.html + report.pdf (report) | events.tsv (detect)

Resuming: a night whose ``result.json`` says ``ok`` with the same fingerprint (task, options, input
file size and modification time, expert file, dreamlink version) is not redone; failed nights are
retried. The marker is written atomically (temporary file + rename) as each night completes, so an
interrupted batch loses at most the nights in flight.

Faults: a night that raises inside the task is a ``failed`` row, not an exception. A worker that dies
(killed, out of memory) has its night rescheduled on another worker by the Dask scheduler; a night
that kills ``distributed.scheduler.allowed-failures`` workers in turn (3 by default) is reported as
failed with ``KilledWorker``.

References
----------
Rocklin M (2015). Dask: parallel computation with blocked algorithms and task scheduling. Proc.
14th Python in Science Conf. (SciPy 2015):126-132. doi:10.25080/Majora-7b98e3ed-013
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dreamlink.batch.discover import Recording, discover_recordings
from dreamlink.batch.tasks import TASKS, NightOptions, fingerprint, process_night
from dreamlink.errors import ConfigError, InputFileError

logger = logging.getLogger("dreamlink.batch")

RESULT_FILE = "result.json"
SUMMARY_CSV = "summary.csv"
SUMMARY_PARQUET = "summary.parquet"
_LEADING = (
    "name",
    "task",
    "status",
    "error",
    "duration_min",
    "sfreq",
    "n_channels",
    "eeg",
    "eog",
    "emg",
    "n_epochs",
    "TST",
    "SE",
    "WASO",
    "SOL",
    "REM_latency",
    "agreement_accuracy",
    "agreement_kappa",
    "agreement_macro_f1",
    "agreement_epochs",
)


@dataclass
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per night (all nights of the dataset, resumed ones included).
    csv_path, parquet_path : Path
        The summary files.
    n_done, n_resumed, n_failed : int
        Nights processed in this run, skipped because already finished, failed.
    """

    summary: pd.DataFrame
    csv_path: Path
    parquet_path: Path
    n_done: int = 0
    n_resumed: int = 0
    n_failed: int = 0
    cluster: str = ""
    notes: list[str] = field(default_factory=list)


# -- result markers --------------------------------------------------------------------------------
def marker_path(out_dir: Path, name: str) -> Path:
    """``OUT/nights/NAME/result.json``."""
    return out_dir / "nights" / name / RESULT_FILE


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    return str(obj)


def write_marker(out_dir: Path, name: str, fp: dict[str, Any], row: dict[str, Any]) -> Path:
    """Write a night's result marker atomically."""
    path = marker_path(out_dir, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{RESULT_FILE}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"fingerprint": fp, "row": row}, default=_json_default, indent=1))
    os.replace(tmp, path)
    return path


def read_marker(out_dir: Path, name: str) -> dict[str, Any] | None:
    """A night's marker, or ``None`` if absent or unreadable (then the night is redone)."""
    path = marker_path(out_dir, name)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def finished_row(out_dir: Path, recording: Recording, fp: dict[str, Any]) -> dict[str, Any] | None:
    """The stored row of a night already finished with the same fingerprint, else ``None``."""
    marker = read_marker(out_dir, recording.name)
    if not marker or marker.get("fingerprint") != json.loads(json.dumps(fp, default=_json_default)):
        return None
    row = marker.get("row") or {}
    return row if row.get("status") == "ok" else None


# -- Dask ------------------------------------------------------------------------------------------
@contextlib.contextmanager
def dask_client(
    scheduler: str | None = None,
    n_workers: int = 2,
    memory_limit: str | None = "auto",
    connect_timeout: float = 15.0,
) -> Iterator:
    """A :class:`distributed.Client` on ``scheduler`` or on a new LocalCluster of ``n_workers`` processes.

    ``connect_timeout`` (s) bounds the wait for a remote scheduler.

    Raises
    ------
    ConfigError
        The scheduler cannot be reached, or ``n_workers`` < 1.
    """
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{connect_timeout}s")
        except (OSError, TimeoutError) as err:
            raise ConfigError(
                f"cannot reach the Dask scheduler at {scheduler} ({err}); start one with `dask scheduler` "
                "or drop --scheduler to use a local cluster"
            ) from err
        try:
            yield client
        finally:
            client.close()
        return
    if n_workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {n_workers} (or use --serial)")
    cluster = LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        memory_limit=memory_limit,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _killed_row(recording: Recording, task: str, err: BaseException) -> dict[str, Any]:
    return {
        "name": recording.name,
        "path": str(recording.path),
        "task": task,
        "status": "failed",
        "error": f"{type(err).__name__}: {err}",
        "expert": str(recording.expert or ""),
    }


def _run_dask(
    client,
    todo: list[Recording],
    task: str,
    options: NightOptions,
    on_row: Callable[[Recording, dict], None],
    retries: int,
) -> None:
    from distributed import as_completed

    futures = {}
    for rec in todo:
        fut = client.submit(
            process_night, rec, task, options, key=f"dreamlink-{task}-{rec.name}", pure=False, retries=retries
        )
        futures[fut] = rec
    for fut in as_completed(list(futures)):
        rec = futures.pop(fut)
        try:
            row = fut.result()
        except Exception as err:  # noqa: BLE001 - KilledWorker, lost scheduler...: report the night, go on
            row = _killed_row(rec, task, err)
        on_row(rec, row)
        fut.release()


# -- summary ---------------------------------------------------------------------------------------
def summary_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Rows → a summary table with the key columns first."""
    df = pd.DataFrame(list(rows))
    lead = [c for c in _LEADING if c in df.columns]
    return df[lead + [c for c in df.columns if c not in lead]]


def write_summary(df: pd.DataFrame, out_dir: Path) -> tuple[Path, Path]:
    """Write ``summary.csv`` and ``summary.parquet`` (pyarrow) into ``out_dir``."""
    csv_path, pq_path = out_dir / SUMMARY_CSV, out_dir / SUMMARY_PARQUET
    df.to_csv(csv_path, index=False)
    table = df.copy()
    for col in table.columns:  # object columns with mixed None/str/number: store as text
        if table[col].dtype == object:
            table[col] = table[col].map(
                lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v)
            )
    table.to_parquet(pq_path, index=False, engine="pyarrow")
    return csv_path, pq_path


def _check_out_dir(out_dir: Path) -> None:
    try:
        (out_dir / "nights").mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputFileError(
            f"cannot create the output folder {out_dir}: {err.strerror} (choose another --out)"
        ) from err
    if not os.access(out_dir, os.W_OK):
        raise InputFileError(f"output folder {out_dir} is not writable (choose another --out)")


def run_batch(
    dataset: str | Path | Sequence[Recording],
    task: str,
    out_dir: str | Path,
    options: NightOptions | None = None,
    *,
    scheduler: str | None = None,
    n_workers: int = 2,
    serial: bool = False,
    client: Any = None,
    resume: bool = True,
    retries: int = 0,
    progress: bool = True,
) -> BatchResult:
    """Process every night of ``dataset`` with ``task``.

    Parameters
    ----------
    dataset : str or Path or sequence of Recording
        A folder / BIDS root (see :func:`~dreamlink.batch.discover.discover_recordings`) or nights.
    task : {"stage", "report", "detect"}
        What to do with each night.
    out_dir : str or Path
        Output folder (per-night files, markers, summary).
    options : NightOptions | None
        Channels and engine (its ``out_dir`` is set to ``out_dir``).
    scheduler : str | None
        Address of an existing Dask scheduler (``tcp://host:8786``); ``None`` starts a LocalCluster.
    n_workers : int
        Worker processes of the LocalCluster.
    serial : bool
        Run every night in this process without Dask (the reference the Dask run must equal).
    client : distributed.Client | None
        Use this client instead (tests, benchmarks); overrides ``scheduler`` and ``n_workers``.
    resume : bool
        Skip nights already finished with the same fingerprint.
    retries : int
        Dask retries of a task that raised (process_night does not raise for bad nights; a dead
        worker is rescheduled by the scheduler regardless).
    progress : bool
        Show a tqdm progress bar on stderr.

    Returns
    -------
    BatchResult
    """
    from tqdm import tqdm

    if task not in TASKS:
        raise ConfigError(f"unknown batch task {task!r}; choose one of {', '.join(TASKS)}")
    out_dir = Path(out_dir)
    recordings = list(dataset) if not isinstance(dataset, str | Path) else discover_recordings(dataset)
    if not recordings:
        raise InputFileError("no recordings to process")
    _check_out_dir(out_dir)
    options = NightOptions(**{**(options or NightOptions()).__dict__, "out_dir": str(out_dir)})

    rows: dict[str, dict[str, Any]] = {}
    fps = {r.name: fingerprint(r, task, options) for r in recordings}
    todo = []
    for rec in recordings:
        row = finished_row(out_dir, rec, fps[rec.name]) if resume else None
        if row is not None:
            rows[rec.name] = {**row, "resumed": True}
        else:
            todo.append(rec)
    n_resumed = len(recordings) - len(todo)
    if n_resumed:
        logger.info("resuming: %d of %d nights already finished", n_resumed, len(recordings))

    bar = tqdm(
        total=len(recordings),
        initial=n_resumed,
        unit="night",
        desc=f"batch {task}",
        file=sys.stderr,
        disable=not progress,
        dynamic_ncols=True,
    )
    failed = 0

    def on_row(rec: Recording, row: dict[str, Any]) -> None:
        nonlocal failed
        row["resumed"] = False
        row["finished_at"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
        rows[rec.name] = row
        write_marker(out_dir, rec.name, fps[rec.name], row)
        if row.get("status") != "ok":
            failed += 1
            bar.write(f"failed: {rec.name}: {row.get('error')}", file=sys.stderr)
        bar.set_postfix(failed=failed, refresh=False)
        bar.update(1)

    cluster = "serial (this process)"
    try:
        if not todo:
            pass
        elif serial:
            for rec in todo:
                on_row(rec, process_night(rec, task, options))
        elif client is not None:
            cluster = f"Dask {client.scheduler.address}"
            _run_dask(client, todo, task, options, on_row, retries)
        else:
            with dask_client(scheduler, n_workers) as cl:
                n = len(cl.scheduler_info().get("workers", {}))
                cluster = f"Dask {cl.scheduler.address} ({n} workers)"
                _run_dask(cl, todo, task, options, on_row, retries)
    finally:
        bar.close()
        done_rows = [rows[r.name] for r in recordings if r.name in rows]
        if done_rows:
            df = summary_frame(done_rows)
            csv_path, pq_path = write_summary(df, out_dir)
    n_failed = int((df["status"] != "ok").sum())
    return BatchResult(
        df, csv_path, pq_path, n_done=len(todo), n_resumed=n_resumed, n_failed=n_failed, cluster=cluster
    )
