"""Arousals: alpha intrusion, sustained EMG and movement artefacts become arousal / wake events."""

from __future__ import annotations

import numpy as np

from dreamlink.detect.arousal import ArousalDetector

FS = 128.0


def background(sec, seed):
    rng = np.random.default_rng(seed)
    n = int(sec * FS)
    eeg = np.cumsum(rng.normal(0, 1e-6, n)) * 0.05 + rng.normal(0, 5e-6, n)  # slow-ish EEG
    emg = rng.normal(0, 2e-6, n)
    return eeg, emg


def run(eeg, emg, block=13):
    det = ArousalDetector(FS, has_eeg=eeg is not None, has_emg=emg is not None)
    events = []
    for i in range(0, len(eeg if eeg is not None else emg), block):
        events += det.update(
            eeg=None if eeg is None else eeg[i : i + block], emg=None if emg is None else emg[i : i + block]
        )
    return events


def test_quiet_sleep_has_no_arousal():
    eeg, emg = background(120, 0)
    assert run(eeg, emg) == []


def test_alpha_intrusion():
    eeg, emg = background(120, 1)
    t = np.arange(len(eeg)) / FS
    on = (t >= 60) & (t < 68)
    eeg[on] += 30e-6 * np.sin(2 * np.pi * 10 * t[on])
    events = run(eeg, emg)
    assert [e.trial_type for e in events] == ["arousal"]
    assert "alpha" in events[0].value and 59 <= events[0].onset <= 62


def test_sustained_emg_then_wake():
    eeg, emg = background(150, 2)
    t = np.arange(len(emg)) / FS
    emg[(t >= 60) & (t < 90)] *= 6.0
    events = run(None, emg)
    kinds = [e.trial_type for e in events]
    assert kinds[0] == "arousal" and "emg" in events[0].value
    assert "wake" in kinds
    wake = events[kinds.index("wake")]
    assert 59 <= wake.onset <= 62 and wake.data["detected_at"] >= 75


def test_movement_artefact():
    eeg, emg = background(120, 3)
    t = np.arange(len(eeg)) / FS
    eeg[(t >= 70) & (t < 72)] += np.random.default_rng(4).normal(0, 200e-6, int(2 * FS))
    events = run(eeg, emg)
    assert events and "movement" in events[0].value and 69 <= events[0].onset <= 71


def test_a_slowly_keyed_emg_answer_is_not_an_arousal():
    """A "no" keyed slowly (three 0.35-s twitches 0.7 s apart, then the 1.1-s closing contraction,
    4.25 s in all) at 15 × the chin's background is an answer, not waking up."""
    from dreamlink.link import emg_code

    eeg, emg = background(120, 5)
    rng = np.random.default_rng(6)
    for tw in emg_code.yes_no(False, short_sec=0.35, gap_sec=0.7, close_sec=1.1):
        i0, n = int((60 + tw.start) * FS), int(tw.duration * FS)
        emg[i0 : i0 + n] += rng.normal(0, 30e-6, n)
    assert run(eeg, emg) == []
