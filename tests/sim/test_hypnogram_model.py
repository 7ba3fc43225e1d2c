"""The generated hypnograms look like real nights (ranges taken from the real hypnograms in shared/data)."""

from __future__ import annotations

import numpy as np
import pytest

from dreamlink.hypnogram import Hypnogram
from dreamlink.io.hypnogram_formats import read_hypnogram
from dreamlink.sim.hypnogram_model import generate_hypnogram, night_statistics, rem_periods
from dreamlink.sim.night import load_hypnogram
from tests.conftest import real_file

SEEDS = range(8)


def _crop_to_night(h: Hypnogram, before_min: float = 20.0, after_min: float = 5.0) -> Hypnogram:
    """Sleep-EDF keeps ~24 h: keep the night (from 20 min before sleep onset to 5 min after waking)."""
    asleep = np.flatnonzero(np.isin(h.stages, ["N1", "N2", "N3", "R"]))
    a = max(0.0, h.onsets[asleep[0]] - before_min * 60)
    b = h.onsets[asleep[-1]] + h.epoch_sec + after_min * 60
    return h.crop(a, b)


@pytest.fixture(scope="module")
def real_nights(shared_data) -> dict[str, Hypnogram]:
    return {
        "dynamo": read_hypnogram(real_file(shared_data, "dynamo/night_stages.csv")),
        "yasa": read_hypnogram(real_file(shared_data, "yasa/data_full_6hrs_100Hz_hypno_30s.txt")),
        "sleep-edf": _crop_to_night(
            read_hypnogram(real_file(shared_data, "sleep-edf/SC4001EC-Hypnogram.edf"))
        ),
    }


@pytest.fixture(scope="module")
def simulated() -> list:
    return [night_statistics(generate_hypnogram(8.0, seed)) for seed in SEEDS]


def test_same_seed_same_night_and_different_seeds_differ():
    a, b, c = generate_hypnogram(8, 3), generate_hypnogram(8, 3), generate_hypnogram(8, 4)
    assert np.array_equal(a.stages, b.stages)
    assert not np.array_equal(a.stages, c.stages)
    assert a.n_epochs == 960 and a.epoch_sec == 30.0 and a.start == 0.0


def test_short_night_has_requested_length():
    h = generate_hypnogram(0.25, 1)
    assert h.n_epochs == 30
    assert h.stages[0] == "W"


def test_sleep_onset_and_rem_latency_are_textbook(simulated):
    for s in simulated:
        assert 5.0 <= s.sol_min <= 25.5
        assert 60.0 <= s.rem_latency_min <= 130.0


def test_architecture_within_real_nights(simulated, real_nights):
    """Stage percentages, REM latency and awakenings fall within the real nights' range (± margin)."""
    real = {k: night_statistics(h) for k, h in real_nights.items()}
    for stage in ("N1", "N2", "N3", "R"):
        lo = min(r.percent[stage] for r in real.values())
        hi = max(r.percent[stage] for r in real.values())
        for s in simulated:
            assert lo - 3.0 <= s.percent[stage] <= hi + 5.0, (stage, s.percent[stage], lo, hi)
    lat_lo = min(r.rem_latency_min for r in real.values())
    lat_hi = max(r.rem_latency_min for r in real.values())
    for s in simulated:
        assert lat_lo - 15 <= s.rem_latency_min <= lat_hi + 15
        assert s.n_awakenings >= 2


def test_n3_front_loaded_like_real_nights(simulated, real_nights):
    real_min = min(night_statistics(h).n3_first_third for h in real_nights.values())
    for s in simulated:
        assert s.n3_first_third >= real_min  # real: 0.60-0.96 of N3 in the first third


def test_rem_periods_lengthen_towards_morning(simulated):
    for s in simulated:
        periods = s.rem_periods_min
        assert 4 <= len(periods) <= 6
        assert periods[0] < np.mean(periods[-2:])
        assert 3.0 <= periods[0] <= 20.0


def test_cycles_are_about_90_minutes(simulated):
    starts = [
        [o / 60 for o, _ in rem_periods(generate_hypnogram(8.0, seed))] for seed in SEEDS
    ]
    gaps = np.concatenate([np.diff(s) for s in starts])
    assert 70.0 <= np.median(gaps) <= 110.0


@pytest.mark.parametrize(
    "relative", ["dreams-rems/Hypnogram_excerpt1.txt", "dynamo/segment_stages.csv",
                 "yasa/sub-02_hypno_30s.txt"]
)
def test_real_hypnogram_files_drive_the_simulator(shared_data, relative):
    h = load_hypnogram(real_file(shared_data, relative))
    assert h.epoch_sec == 30.0 and h.start == 0.0
    assert h.n_epochs >= 50
    assert set(np.unique(h.stages)) <= {"W", "N1", "N2", "N3", "R", "?"}
