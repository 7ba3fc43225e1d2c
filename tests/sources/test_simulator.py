"""The simulator as a source: continuity, pacing, source strings, ground truth."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dreamlink.errors import SourceError
from dreamlink.signal.ringbuffer import BufferReader, RingBuffer
from dreamlink.sources.simulator import SimulatorSource, source_from_uri
from dreamlink.sources.uri import open_source
from tests.conftest import real_file


def test_chunked_reads_equal_one_read():
    """Reads of random sizes (crossing epoch seams and cache limits) give exactly one long read."""
    one = SimulatorSource(hours=0.1, seed=4, speed=None, injections=["lrlr@100", "emg:no@200"])
    with one:
        whole = one.read_all()
    assert whole.shape == (6, int(0.1 * 3600 * 256))
    src = SimulatorSource(hours=0.1, seed=4, speed=None, injections=["lrlr@100", "emg:no@200"])
    rng = np.random.default_rng(0)
    parts, expected_first = [], 0
    with src:
        while True:
            chunk = src.read(int(rng.integers(1, 9000)))
            if chunk is None:
                break
            assert chunk.first_sample == expected_first  # sample counter: nothing dropped or repeated
            expected_first += chunk.n_times
            parts.append(chunk.data)
    assert np.array_equal(np.concatenate(parts, axis=1), whole)
    # Random access (as a benchmark injecting into a segment would do) agrees as well.
    night = src.night
    assert np.array_equal(night.generate(123_457, 20_000), whole[:, 123_457:143_457])


def test_sample_counter_through_ring_buffer():
    """A sample-index channel pushed through RingBuffer -> BufferReader arrives without gaps."""
    src = SimulatorSource(hours=0.05, seed=1, speed=None)
    buf = RingBuffer(src.info.n_channels + 1, capacity=4096)
    reader = BufferReader(buf)
    seen = []
    with src:
        for chunk in src.chunks(chunk_sec=0.3):
            counter = (chunk.first_sample + np.arange(chunk.n_times))[None, :].astype(float)
            buf.write(np.vstack([chunk.data, counter]))
            _, data = reader.read_new()
            seen.append(data[-1])
    counter = np.concatenate(seen)
    assert np.array_equal(counter, np.arange(src.n_total))


def test_info_and_ground_truth():
    src = SimulatorSource(hours=1.0, seed=2, speed=None, injections="count:2@1000")
    info = src.info
    assert info.ch_names == ("F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "EMG")
    assert info.ch_types == ("eeg", "eeg", "eeg", "eog", "eog", "emg")
    assert info.sfreq == 256.0 and info.duration == 3600.0 and info.units == "V"
    night = src.night
    assert night.hypnogram.n_epochs == 120
    assert any(e.trial_type == "count" and e.value == 2 for e in night.events)
    assert all(e.source in ("sim.inject", "sim.natural") for e in night.events)


def test_paced_at_speed():
    src = SimulatorSource(hours=0.05, seed=0, speed=200.0)
    with src:
        t0 = time.monotonic()
        n = 0
        while n < 256 * 20:  # 20 s of signal at 200x = 0.1 s
            chunk = src.read(256)
            n += chunk.n_times
        elapsed = time.monotonic() - t0
    assert 0.07 <= elapsed <= 1.0


def test_uri_parameters():
    src = open_source("sim:seed=3,hours=0.05,sfreq=200,mains=60,artefacts=0,inject=lrlr@10;arousal@60",
                      speed=None)
    assert isinstance(src, SimulatorSource)
    assert src.info.sfreq == 200.0 and src.info.duration == pytest.approx(180.0)
    assert src.info.extra["mains"] == 60.0 and src.info.extra["artefacts"] is False
    assert [i.kind for i in src.night.injections] == ["lrlr", "arousal"]
    assert src.speed is None
    assert open_source("sim").speed == 1.0 and open_source("sim").info.duration == 8 * 3600


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"colour": "blue"}, "accepted: seed, hours"),
        ({"seed": "x"}, "must be a number"),
        ({"seed": "1.5"}, "whole number"),
        ({"hours": "-1"}, "hours must be positive"),
        ({"sfreq": "50"}, "at least 100 Hz"),
        ({"inject": "wink@3"}, "unknown kind"),
        ({"hypnogram": "/nonexistent/h.txt"}, "not found"),
    ],
)
def test_bad_parameters_are_source_errors(params, match):
    with pytest.raises(SourceError, match=match):
        source_from_uri("", params)


def test_driven_by_a_real_hypnogram(shared_data):
    path = real_file(shared_data, "dreams-rems/Hypnogram_excerpt1.txt")
    src = source_from_uri("", {"hypnogram": str(path), "seed": "1"}, speed=None)
    hyp = src.night.hypnogram
    assert hyp.n_epochs == 60 and src.info.duration == 1800.0
    # The stages follow the file (5-s DREAMS epochs resampled to 30 s).
    from dreamlink.io.hypnogram_formats import read_hypnogram

    real = read_hypnogram(path).resample(30.0, start=0.0)
    assert np.array_equal(hyp.stages, real.stages)
    cropped = source_from_uri("", {"hypnogram": str(path), "hours": "0.25"}, speed=None)
    assert cropped.night.hypnogram.n_epochs == 30
