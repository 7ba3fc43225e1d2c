"""``dreamlink batch stage|report|detect DATASET --out DIR``: a whole dataset in parallel on Dask."""

from __future__ import annotations

import logging
import sys

import click

from dreamlink.batch.tasks import TASKS


@click.command(name="batch")
@click.argument("task", type=click.Choice(TASKS))
@click.argument("dataset", type=click.Path())
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Output folder: per-night files under DIR/nights/, DIR/summary.csv and DIR/summary.parquet.",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="tcp://HOST:PORT",
    envvar="DREAMLINK_DASK_SCHEDULER",
    help="Use an existing Dask cluster (env DREAMLINK_DASK_SCHEDULER); default: a local cluster.",
)
@click.option(
    "--workers",
    "n_workers",
    type=int,
    default=2,
    show_default=True,
    help="Worker processes of the local cluster (one night each at a time).",
)
@click.option("--serial", is_flag=True, help="No Dask: process the nights one by one in this process.")
@click.option(
    "--eeg",
    multiple=True,
    metavar="CH",
    help="EEG channel to stage from; repeat to give candidates, the first present wins "
    "(default: the best EEG channel by name, C4 > C3 > Cz > F4 ...).",
)
@click.option(
    "--eog",
    multiple=True,
    metavar="CH",
    help="EOG (left, E1/LOC) channel candidates; 'none' = do not use (default: by name).",
)
@click.option(
    "--eog-right",
    multiple=True,
    metavar="CH",
    help="detect: right EOG (E2/ROC) candidates for the E1−E2 derivation (default: by name).",
)
@click.option(
    "--emg",
    multiple=True,
    metavar="CH",
    help="Chin EMG channel candidates; 'none' = do not use (default: by name).",
)
@click.option(
    "--engine",
    type=click.Choice(["dreamlink", "yasa"]),
    default="dreamlink",
    show_default=True,
    help="Staging engine (stage, report).",
)
@click.option("--no-resume", is_flag=True, help="Redo every night, even those already finished in DIR.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def command(
    task: str,
    dataset: str,
    out: str,
    scheduler: str | None,
    n_workers: int,
    serial: bool,
    eeg: tuple[str, ...],
    eog: tuple[str, ...],
    eog_right: tuple[str, ...],
    emg: tuple[str, ...],
    engine: str,
    no_resume: bool,
    quiet: bool,
) -> None:
    """Run TASK (stage, report or detect) on every recording of DATASET in parallel.

    DATASET is a folder searched recursively for EDF/BDF/FIF files and dreamlink recording folders,
    or a BIDS root. An expert hypnogram next to a recording (NIGHT.hypnogram.csv as written by
    `dreamlink simulate`, a *_hypnogram.csv/tsv/txt sidecar, DREAMS Hypnogram_NIGHT.txt, Sleep-EDF
    *-Hypnogram.edf) is compared with the staging (accuracy, Cohen's kappa, F1).

    Nights run in parallel on a Dask local cluster (or the cluster at --scheduler), each task opening
    its own file. A night already finished in DIR is not redone (delete DIR/nights/NAME or use
    --no-resume); a failed night is listed with its error and the others go on. The exit code is 1
    when any night failed.

    \b
    Examples:
      dreamlink batch stage nights/ --out staged/
      dreamlink batch stage /data/bids-root --eeg C4-M1 --eeg "EEG C4" --workers 4 --out staged/
      dreamlink batch report nights/ --scheduler tcp://10.0.0.5:8786 --out reports/
      dreamlink batch detect nights/ --eog E1-M2 --eog-right E2-M2 --emg EMG --out events/
    """
    from dreamlink.batch.runner import run_batch
    from dreamlink.batch.tasks import NightOptions

    if (
        logging.getLogger().getEffectiveLevel() > logging.INFO
    ):  # no -v: Dask's INFO chatter would drown the bar
        import distributed  # noqa: F401 - configures its loggers on import; quiet them afterwards

        for name in ("distributed", "distributed.nanny", "distributed.scheduler", "distributed.worker"):
            logging.getLogger(name).setLevel(logging.ERROR)
    options = NightOptions(eeg=eeg, eog=eog, emg=emg, eog_right=eog_right, engine=engine)
    result = run_batch(
        dataset,
        task,
        out,
        options,
        scheduler=scheduler,
        n_workers=n_workers,
        serial=serial,
        resume=not no_resume,
        progress=not quiet,
    )
    df = result.summary
    click.echo(
        f"{len(df)} nights: {len(df) - result.n_failed} ok, {result.n_failed} failed "
        f"({result.n_resumed} already finished, {result.n_done} processed on {result.cluster})"
    )
    for _, row in df.iterrows():
        if row["status"] != "ok":
            click.echo(f"  FAILED {row['name']}: {row['error']}")
            continue
        parts = [f"{row.get('duration_min', float('nan')):.1f} min"]
        if "TST" in row and not _isnan(row["TST"]):
            parts.append(f"TST {row['TST']:.1f} min, SE {row['SE']:.1f} %")
        kappa = row.get("agreement_kappa")
        if kappa is not None and not _isnan(kappa):
            parts.append(f"kappa {kappa:.2f} vs expert ({row['agreement_epochs']:.0f} epochs)")
        if task == "detect" and "n_events" in row and not _isnan(row["n_events"]):
            parts.append(f"{row['n_events']:.0f} events")
        click.echo(f"  ok     {row['name']}: " + ", ".join(parts))
    click.echo(f"summary: {result.csv_path} and {result.parquet_path.name}")
    if result.n_failed:
        sys.exit(1)


def _isnan(value) -> bool:
    try:
        return value != value
    except Exception:  # noqa: BLE001
        return False
