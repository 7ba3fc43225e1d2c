"""Eye sweeps and the LRLR marker: synthetic ground truth, rejections, and real-data validation."""

from __future__ import annotations

import glob

import numpy as np
import pytest

from dreamlink.detect.eye_sweeps import EyeSignalDetector
from dreamlink.link import eye_code
from dreamlink.link.eye_code import Gesture
from tests.conftest import real_file
from tests.detect import synth


def run(h, e1=None, e2=None, swing=synth.SWING, fs=synth.FS, block=16):
    det = EyeSignalDetector(fs, swing, two_channels=e1 is not None)
    events, moves = [], []
    for i in range(0, len(h), block):
        sl = slice(i, i + block)
        events += det.update(h[sl], e1[sl] if e1 is not None else None, e2[sl] if e2 is not None else None)
        moves += det.pop_movements()
    return events, moves, det


def test_lrlr_found_with_directions_amplitudes_and_latency():
    e1, e2, trace = synth.eog(synth.centre(2) + eye_code.lrlr(0.6) + synth.centre(3), seed=1)
    events, _, det = run(e1 - e2, e1, e2)
    sweeps = [e for e in events if e.trial_type == "eye_sweep"]
    assert [e.value for e in sweeps] == [s.direction for s in trace.sweeps] == ["L", "R", "L", "R", "L"]
    for e, s in zip(sweeps, trace.sweeps, strict=True):
        assert abs(e.onset - s.onset) < 0.06
        true_uv = s.size * 2 * synth.AMP * 1e6 * (1 if s.direction == "L" else -1)
        assert e.data["amplitude_uv"] == pytest.approx(true_uv, rel=0.1)
    (lrlr,) = [e for e in events if e.trial_type == "lrlr"]
    fourth = trace.sweeps[3]
    latency = lrlr.data["detected_at"] - (fourth.onset + fourth.duration)
    assert 0 < latency <= 0.5
    assert abs(lrlr.onset - trace.sweeps[0].onset) < 0.06
    assert 0.5 < lrlr.confidence <= 1.0


def test_single_channel_derivation_works_too():
    e1, e2, _ = synth.eog(synth.centre(2) + eye_code.lrlr(0.5) + synth.centre(2), seed=2)
    events, _, _ = run(e1 - e2)
    assert sum(e.trial_type == "lrlr" for e in events) == 1


@pytest.mark.parametrize(
    ("gestures", "why"),
    [
        ([Gesture(1, 0.5), Gesture(-1, 0.5), Gesture(1, 0.5), Gesture(-1, 0.5), Gesture(0, 0.5)], "RLRL"),
        (
            [Gesture(-0.5, 0.5), Gesture(0, 0.5), Gesture(-0.5, 0.5), Gesture(0, 0.5)] * 2,
            "Morse dots: half size",
        ),
        (eye_code.lrlr(0.05), "too fast: no fixation between sweeps"),
        (eye_code.lrlr(3.0), "too slow: fixations of 3 s"),
    ],
)
def test_not_an_lrlr(gestures, why):
    e1, e2, _ = synth.eog(synth.centre(2) + gestures + synth.centre(2), seed=3, jitter=0.0)
    events, _, _ = run(e1 - e2, e1, e2)
    assert not [e for e in events if e.trial_type == "lrlr"], why


def test_small_natural_size_movements_are_not_sweeps():
    # An LRLR at a sixth of the calibrated amplitude: natural-REM size.
    e1, e2, _ = synth.eog(synth.centre(2) + eye_code.lrlr() + synth.centre(2), seed=4, amp=synth.AMP / 6)
    events, _, _ = run(e1 - e2, e1, e2)
    assert not events


def test_common_mode_deflections_are_rejected():
    # Both electrodes move the same way (EEG slow wave, vertical movement): not a horizontal sweep.
    e1, e2, _ = synth.eog(synth.centre(2) + eye_code.lrlr() + synth.centre(2), seed=5)
    common = e1 * 1.0
    events, _, _ = run(common - 0.8 * common, common, 0.8 * common)
    assert not [e for e in events if e.trial_type == "eye_sweep"]


def test_no_false_lrlr_on_real_rem_eog(shared_data):
    path = real_file(shared_data, "yasa/eog_rem_256Hz_first600s.npz")
    d = np.load(path)
    loc, roc = d["data"][0] * 1e-6, d["data"][1] * 1e-6
    events, moves, _ = run(loc - roc, loc, roc, swing=600e-6, fs=float(d["sf"]), block=64)
    assert len(moves) > 300  # plenty of natural movements in 10 min of REM
    assert not [e for e in events if e.trial_type == "lrlr"]


def test_saccade_direction_against_eye_tracker(shared_data):
    """Real in-ear EOG with 1,311 eye-tracker saccades (Hladek et al. 2018): first 400 s."""
    import pandas as pd

    path = real_file(shared_data, "eog-saccades/EOG_S1.txt")
    d = pd.read_csv(path)
    fs = 1.0 / float(np.median(np.diff(d["TIME"].to_numpy())))
    n = int(400 * fs)
    eog = d["EOG"].to_numpy()[:n] * 1e-3  # mV -> V
    # The recording's polarity: rightward saccades raise this EOG, so h = -EOG (positive = left).
    h = -eog
    swing = 2.5e-6 * 60  # ≈ 2.5 µV/deg (in-ear EOG is small) × 60° full swing
    _, moves, _ = run(h, swing=swing, fs=fs, block=8)
    sacc = d.iloc[:n]
    sacc = sacc[sacc["SACC"].abs() >= 10]
    onsets = np.array([m.onset for m in moves])
    sizes = np.array([abs(m.amplitude) for m in moves])
    dirs = np.array([m.direction for m in moves])
    t0 = float(d["TIME"].iloc[0])
    hits = correct = 0
    for t, amp in zip(sacc["TIME"].to_numpy() - t0, sacc["SACC"].to_numpy(), strict=True):
        near = np.flatnonzero((np.abs(onsets - t) < 0.15) & (sizes >= 0.3 * 2.5e-6 * abs(amp)))
        if near.size:
            hits += 1
            best = near[np.argmax(sizes[near])]
            correct += dirs[best] == ("L" if amp < 0 else "R")
    assert len(sacc) > 250
    assert hits / len(sacc) >= 0.95
    assert correct / hits >= 0.97


def test_gesture_trials_left_right_other(shared_data):
    """Real labelled look-left / look-right / centre / up / down trials (vasanza/EOG, 120 Hz)."""
    root = real_file(shared_data, "eog-gestures")

    def load(cls):
        return [np.loadtxt(f, delimiter=",") for f in sorted(glob.glob(str(root / cls / "*.csv")))]

    trials = {c: load(c) for c in ("ML", "MR", "CN", "MU", "MD")}

    def excursion(x):
        d = x[:, 0] - x[:20, 0].mean()
        return abs(d[np.argmax(np.abs(d))])

    # Calibrate on the odd trials of ML/MR (raw ADC counts treated as µV), test on the even ones.
    swing = 2 * np.median([excursion(x) for c in ("ML", "MR") for x in trials[c][1::2]]) * 1e-6

    def classify(x):
        det = EyeSignalDetector(120.0, swing)
        h = np.concatenate([x[:, 0], np.full(40, x[-1, 0])]) * 1e-6
        for i in range(0, len(h), 8):
            det.update(h[i : i + 8])
        sweeps = det.pop_sweeps()
        return sweeps[0].direction if sweeps else "other"

    expected = {"ML": "L", "MR": "R", "CN": "other", "MU": "other", "MD": "other"}
    for cls, want in expected.items():
        got = [classify(x) for x in trials[cls][0::2]]
        assert got.count(want) / len(got) >= 0.9, (cls, got)


def test_lrlr_survives_a_sweep_split_by_a_pause():
    # The second sweep stops a third of the way (a natural pause mid-saccade), then goes on.
    gestures = [Gesture(-1, 0.5), Gesture(0.3, 0.12), Gesture(1, 0.5), Gesture(-1, 0.5), Gesture(1, 0.5),
                Gesture(0, 0.5)]
    e1, e2, _ = synth.eog(synth.centre(2) + gestures + synth.centre(2), seed=6, jitter=0.0)
    events, _, det = run(e1 - e2, e1, e2)
    assert sum(e.trial_type == "lrlr" for e in events) == 1


def test_merge_split_joins_same_direction_steps_only():
    from dreamlink.detect.eye_sweeps import Movement, Sweep, merge_split

    def sw(t, amp):
        return Sweep(Movement(t, 0.05, amp, 5e-3, 0.1, 0.1, None, t + 0.2), 0.9)

    merged = merge_split([sw(0.0, 200e-6), sw(0.2, 100e-6), sw(1.0, -300e-6), sw(2.0, -100e-6)])
    assert [round(m.movement.amplitude * 1e6) for m in merged] == [300, -300, -100]
    assert merged[0].onset == 0.0 and merged[0].end == pytest.approx(0.25)


def test_plateau_sizes_measure_between_fixations():
    e1, e2, trace = synth.eog(synth.centre(2) + eye_code.lrlr(0.6) + synth.centre(3), seed=7, jitter=0.0)
    h = e1 - e2
    det = EyeSignalDetector(synth.FS, synth.SWING, two_channels=True)
    frames = []
    for i in range(0, len(h), 16):
        det.update(h[i : i + 16], e1[i : i + 16], e2[i : i + 16])
        frames += det.pop_frames()
    (frame,) = frames
    sizes = np.array(det.plateau_sizes(frame))
    true = np.array([s.size for s in trace.sweeps[:4]]) * 2 * synth.AMP
    assert np.allclose(sizes, true, rtol=0.1)


def test_lrlr_found_when_its_first_sweep_starts_from_a_burst_of_movements():
    # Natural movements right before the marker spoil the first sweep's fixation window before it.
    burst = [Gesture(0.35, 0.06), Gesture(-0.3, 0.06), Gesture(0.3, 0.06)]
    gestures = synth.centre(2) + burst + eye_code.lrlr(0.6) + synth.centre(2)
    e1, e2, trace = synth.eog(gestures, seed=8, jitter=0.0)
    events, _, _ = run(e1 - e2, e1, e2)
    (lrlr,) = [e for e in events if e.trial_type == "lrlr"]
    assert abs(lrlr.onset - trace.sweeps[3].onset) < 0.1  # starts at the marker's first sweep


def test_lrlr_first_sweep_judged_from_where_the_eyes_sit():
    # A natural look to the right just before the marker: its first sweep (right → far left) is
    # nearly a full swing by its own windows, half a swing from the eyes' centre.
    gestures = synth.centre(7) + [Gesture(0.8, 0.35)] + eye_code.lrlr(0.6) + synth.centre(2)
    e1, e2, trace = synth.eog(gestures, seed=9, jitter=0.0)
    events, _, _ = run(e1 - e2, e1, e2)
    (lrlr,) = [e for e in events if e.trial_type == "lrlr"]
    assert abs(lrlr.onset - trace.sweeps[1].onset) < 0.1


def test_frame_rank_prefers_the_senders_pace():
    from dreamlink.detect.eye_sweeps import Movement, Sweep, frame_rank

    def sw(t, amp):
        return Sweep(Movement(t, 0.1, amp, 5e-3, 0.1, 0.1, None, t + 0.2), 0.9)

    rest = [sw(2.0, -600e-6), sw(2.8, 600e-6), sw(3.6, -600e-6)]
    early = [sw(0.0, 300e-6)] + rest  # a natural movement 1.9 s before the second sweep
    paced = [sw(1.2, 300e-6)] + rest  # the marker's own first sweep, 0.7 s before it
    sizes = [300e-6, 600e-6, 600e-6, 600e-6]
    assert frame_rank(paced, sizes, 0.8) > frame_rank(early, sizes, 0.8)


def test_lrlr_found_when_a_natural_movement_takes_part_of_a_swing_early():
    # During the fixation at left before the fourth sweep the eyes drift back most of the way to
    # centre (a natural movement 0.4 swing, too large to skip as a small one); the fourth sweep
    # then finishes the swing 0.5 s later. The piece goes the way of the swing it belongs to.
    gestures = [Gesture(-1, 0.6), Gesture(1, 0.6), Gesture(-1, 0.5), Gesture(-0.2, 0.5), Gesture(1, 0.6),
                Gesture(0, 0.6)]
    for seed in (1, 2):
        e1, e2, trace = synth.eog(synth.centre(7) + gestures + synth.centre(2), seed=seed, jitter=0.0)
        events, _, _ = run(e1 - e2, e1, e2)
        (lrlr,) = [e for e in events if e.trial_type == "lrlr"]
        fourth = trace.sweeps[4]
        assert abs(lrlr.onset - trace.sweeps[0].onset) < 0.1
        assert abs(lrlr.onset + lrlr.duration - (fourth.onset + fourth.duration)) < 0.1


def test_lrlr_first_sweep_cut_into_pieces_is_read_from_the_gaze_level():
    # The half sweep from centre goes out in four jerks with natural back-steps: none lands on a
    # fixation, so none is a sweep; the level before the second sweep tells the first swing.
    first = [Gesture(-0.4, 0.06), Gesture(-0.2, 0.06), Gesture(-0.7, 0.06), Gesture(-0.5, 0.06)]
    gestures = first + eye_code.lrlr(0.6)
    for seed in (1, 2, 3):
        e1, e2, trace = synth.eog(synth.centre(7) + gestures + synth.centre(2), seed=seed, jitter=0.0)
        events, _, _ = run(e1 - e2, e1, e2)
        (lrlr,) = [e for e in events if e.trial_type == "lrlr"]
        assert abs(lrlr.onset - trace.sweeps[0].onset) < 0.3
        fourth = trace.sweeps[7]
        assert abs(lrlr.onset + lrlr.duration - (fourth.onset + fourth.duration)) < 0.1


def test_level_start_needs_a_rise_from_centre():
    # Three full swings R, L, R from centre with no first sweep at all are no marker.
    gestures = [Gesture(1, 0.6), Gesture(-1, 0.6), Gesture(1, 0.6), Gesture(0, 0.6)]
    e1, e2, _ = synth.eog(synth.centre(7) + gestures + synth.centre(2), seed=4, jitter=0.0)
    events, _, _ = run(e1 - e2, e1, e2)
    assert not [e for e in events if e.trial_type == "lrlr"]


def test_marker_right_after_natural_look_left_right_is_still_found():
    # A natural look left then right just before the marker passes as the first two sweeps of a
    # "marker" that ends with the real marker's second sweep; the real marker, one fixation
    # later, is reported too (its first two sweeps stay candidates).
    gestures = [Gesture(-0.5, 0.6), Gesture(0.5, 0.6)] + eye_code.lrlr(0.6)
    e1, e2, trace = synth.eog(synth.centre(7) + gestures + synth.centre(2), seed=1, jitter=0.0)
    events, _, _ = run(e1 - e2, e1, e2)
    lrlrs = [e for e in events if e.trial_type == "lrlr"]
    real = trace.sweeps[2:6]
    end = real[3].onset + real[3].duration
    assert any(abs(e.onset - real[0].onset) < 0.1 and abs(e.onset + e.duration - end) < 0.1 for e in lrlrs)
    assert len(lrlrs) == 2


def test_lrlr_sensitivity_on_real_rem_eog(shared_data):
    """LRLRs injected into 10 min of real REM EOG (natural REMs underneath) at a 800-µV swing."""
    from dreamlink.sim.gestures import gaze_to_eog, render_gaze

    d = np.load(real_file(shared_data, "yasa/eog_rem_256Hz_first600s.npz"))
    fs = float(d["sf"])
    loc, roc = d["data"][0] * 1e-6, d["data"][1] * 1e-6
    rng = np.random.default_rng(2024)
    truths = []
    t = 8.0
    while True:
        gestures = eye_code.lrlr(rng.uniform(0.3, 1.2))
        trace = render_gaze(gestures, fs, rng=rng, jitter=0.2, gain=rng.uniform(0.6, 1.0))
        e1, e2 = gaze_to_eog(trace.gaze, 200e-6)
        i0 = int(round(t * fs))
        if i0 + len(e1) + int(5 * fs) > len(loc):
            break
        loc[i0 : i0 + len(e1)] += e1
        roc[i0 : i0 + len(e2)] += e2
        fourth = trace.sweeps[3]
        truths.append((t + trace.sweeps[0].onset, t + fourth.onset + fourth.duration))
        t += trace.duration + 10.0  # the next marker 10 s after this one ends
    events, _, _ = run(loc - roc, loc, roc, swing=800e-6, fs=fs, block=256)
    lrlrs = [e for e in events if e.trial_type == "lrlr"]
    found = sum(
        any(abs(e.onset - a) < 0.5 and abs(e.onset + e.duration - b) < 0.5 for e in lrlrs) for a, b in truths
    )
    assert len(truths) >= 35
    assert found / len(truths) >= 0.95, (found, len(truths))


def test_level_trace_keeps_as_much_as_asked():
    """The gaze level is kept for the decoder's reach (LEVEL_KEEP_SEC), or longer when asked
    (the benchmark reads whole recordings from it), and follows the gaze."""
    e1, e2, _ = synth.eog(synth.centre(3) + [Gesture(-1, 4.0)] + synth.centre(30), seed=4)
    spans = {}
    for keep in (10.0, 60.0):
        det = EyeSignalDetector(synth.FS, synth.SWING, two_channels=True, level_keep_sec=keep)
        for i in range(0, len(e1), 64):
            det.update(e1[i : i + 64] - e2[i : i + 64], e1[i : i + 64], e2[i : i + 64])
        times, levels = det.level_trace(0.0, np.inf)
        spans[keep] = times[-1] - times[0]
        if keep == 60.0:
            left = levels[(times > 4.0) & (times < 6.5)]  # looking left: E1 − E2 positive, half a swing
            assert np.median(left) == pytest.approx(synth.SWING / 2, rel=0.2)
    assert 10.0 <= spans[10.0] <= 12.5
    assert spans[60.0] >= len(e1) / synth.FS - 0.5  # all of it
