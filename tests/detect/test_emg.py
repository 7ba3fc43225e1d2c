"""EMG twitches: known bursts are found with the right short/long class; background alone gives none."""

from __future__ import annotations

import numpy as np
import pytest

from dreamlink.detect.emg import EmgTwitchDetector
from dreamlink.link import emg_code
from tests.detect import synth


def run(x, fs=synth.FS, block=16):
    det = EmgTwitchDetector(fs)
    events = []
    for i in range(0, len(x), block):
        events += det.update(x[i : i + block])
    return events, det


def test_twitches_found_with_durations_and_classes():
    tw = emg_code.emg_morse("TEST")  # long, short, short-short-short, long
    t0 = 10.0
    n = int((t0 + tw[-1].start + 5) * synth.FS)
    events, det = run(synth.emg(n, tw, t0, seed=1))
    assert len(events) == len(tw)
    for e, t in zip(events, tw, strict=True):
        assert abs(e.onset - (t0 + t.start)) < 0.08
        assert e.duration == pytest.approx(t.duration, abs=0.12)
        assert e.value == ("long" if t.duration >= emg_code.LONG_TWITCH_SEC else "short")
    assert det.baseline == pytest.approx(2e-6 * 0.75, rel=0.5)  # ~ band-limited background RMS


def test_background_alone_gives_no_twitch():
    events, _ = run(np.random.default_rng(2).normal(0, 2e-6, int(120 * synth.FS)))
    assert events == []


def test_sustained_activity_is_not_a_twitch():
    x = synth.emg(int(40 * synth.FS), [emg_code.Twitch(0, 6.0)], 15.0, seed=3)
    events, det = run(x)
    assert events == [] and det.pop_sustained()


def test_works_at_50_hz():
    tw = emg_code.yes_no(False)
    x = synth.emg(int(20 * 50), tw, 8.0, seed=4, fs=50.0, ratio=15.0)  # 50 Hz: 10-22 Hz band only
    events, _ = run(x, fs=50.0, block=5)
    assert [e.value for e in events] == ["short"] * 3
