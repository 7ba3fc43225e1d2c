"""Real recordings for the staging tests, loaded once per session."""

from __future__ import annotations

import pytest

from tests.conftest import real_file


@pytest.fixture(scope="session")
def dreams_ex2(shared_data):
    """DREAMS Spindles excerpt 2 (200 Hz, CZ-A1, volts) with its 30-s expert hypnogram."""
    from dreamlink.staging.datasets import load_dreams_excerpt

    real_file(shared_data, "dreams-spindles/excerpt2.txt")
    return load_dreams_excerpt(shared_data, 2)


@pytest.fixture(scope="session")
def dynamo(shared_data):
    """The DYNAM-O segment (100 Hz, volts) cropped to its scoring grid, with REM."""
    from dreamlink.staging.datasets import load_dynamo_segment

    real_file(shared_data, "dynamo/segment_data.csv")
    return load_dynamo_segment(shared_data)
