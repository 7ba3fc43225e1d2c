"""Whole datasets of recorded nights, processed in parallel on Dask.

- :mod:`~dreamlink.batch.discover`: find the recordings of a folder or BIDS root and their expert labels.
- :mod:`~dreamlink.batch.tasks`: :func:`process_night`, the per-night work (stage, report, detect), a pure
  function callable with or without Dask.
- :mod:`~dreamlink.batch.runner`: :func:`run_batch`, the orchestration (LocalCluster or an existing
  scheduler, progress, resume, failures, summary table as CSV and Parquet).
"""

from __future__ import annotations

from dreamlink.batch.discover import Recording, discover_recordings, find_expert
from dreamlink.batch.runner import BatchResult, dask_client, run_batch
from dreamlink.batch.tasks import TASKS, VOLATILE_COLUMNS, NightOptions, process_night

__all__ = [
    "TASKS",
    "VOLATILE_COLUMNS",
    "BatchResult",
    "NightOptions",
    "Recording",
    "dask_client",
    "discover_recordings",
    "find_expert",
    "process_night",
    "run_batch",
]
