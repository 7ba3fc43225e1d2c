"""The pipeline: live and offline paths give identical events; simulator injections are found."""

from __future__ import annotations

import numpy as np
import pytest

from dreamlink.detect import Calibration, DetectorPipeline, detect_array
from dreamlink.detect.pipeline import ArraySource, run_source
from dreamlink.errors import ChannelError, SamplingRateError
from dreamlink.link import emg_code, eye_code
from dreamlink.sources.base import Source, SourceInfo
from tests.detect import synth


def _recording():
    gestures = (
        synth.centre(3)
        + eye_code.lrlr()
        + synth.centre(6)
        + eye_code.count_answer(2)
        + synth.centre(6)
        + eye_code.eye_morse("HI")
        + synth.centre(8)
    )
    e1, e2, _ = synth.eog(gestures, seed=21)
    n = len(e1)
    emg = synth.emg(
        n,
        emg_code.yes_no(True) + [emg_code.Twitch(t.start + 8, t.duration) for t in emg_code.yes_no(False)],
        20.0,
        seed=22,
    )
    info = SourceInfo(("E1", "E2", "EMG"), ("eog", "eog", "emg"), synth.FS)
    return np.vstack([e1, e2, emg]), info


class _RandomChunks(Source):
    """Replays an array in chunks of random sizes (as a network stream would deliver them)."""

    def __init__(self, data, info, seed):
        super().__init__()
        self._data, self._info, self._rng, self._pos = data, info, np.random.default_rng(seed), 0

    @property
    def info(self):
        return self._info

    def _open(self):
        self._pos = 0

    def _close(self):
        pass

    def _read(self, max_samples, timeout):
        if self._pos >= self._data.shape[1]:
            return None
        n = int(self._rng.integers(1, 200))
        out = self._data[:, self._pos : self._pos + n]
        self._pos += out.shape[1]
        return out


def _key(events):
    return [e.to_row() for e in events]


def test_offline_equals_live_for_any_chunking():
    data, info = _recording()
    cal = Calibration(synth.SWING)
    # The synthetic recording has no REM context (no rapid eye movements, 40 s long), so the EMG
    # gate is opened explicitly here; the gate itself is tested below.
    offline = detect_array(
        data, info, "E1", "E2", emg="EMG", calibration=cal, chunk_sec=1.0, emg_gate="off"
    ).events
    kinds = {e.trial_type for e in offline}
    assert {"eye_sweep", "lrlr", "message", "emg_twitch"} <= kinds
    messages = [e.value for e in offline if e.trial_type == "message"]
    # In the order they were decoded (a count is read as soon as its closing frame follows its
    # return to centre).
    assert messages == ["2", "yes", "no", "HI"]
    for chunk_sec in (0.013, 0.25, 7.3):
        other = detect_array(
            data, info, "E1", "E2", emg="EMG", calibration=cal, chunk_sec=chunk_sec, emg_gate="off"
        ).events
        assert _key(other) == _key(offline), chunk_sec

    def factory(inf):
        return DetectorPipeline(inf, "E1", cal, eog_right="E2", emg="EMG", emg_gate="off")

    live = run_source(_RandomChunks(data, info, seed=5), factory).events
    assert _key(live) == _key(offline)


def test_array_source_and_errors():
    data, info = _recording()
    src = ArraySource(data, info)
    assert src.n_total == data.shape[1]
    with pytest.raises(ChannelError, match="not found"):
        DetectorPipeline(info, "LOC", Calibration(synth.SWING))
    with pytest.raises(ChannelError, match="same channel"):
        DetectorPipeline(info, "E1", Calibration(synth.SWING), eog_right="E1")
    slow = SourceInfo(("E1",), ("eog",), 20.0)
    with pytest.raises(SamplingRateError, match="at least"):
        DetectorPipeline(slow, "E1", Calibration(synth.SWING))


def test_without_calibration_the_estimate_is_said():
    data, info = _recording()
    res = detect_array(data, info, "E1", "E2")
    assert res.calibration.method == "estimated"
    assert any("no calibration" in n for n in res.notes)


def test_simulator_injections_are_found():
    sim = pytest.importorskip("dreamlink.sources.simulator")
    from dreamlink.hypnogram import Hypnogram

    hyp = Hypnogram(["N2"] * 2 + ["R"] * 12)
    spec = "lrlr@90;count:3@130;morse:SOS@190;emg:yes@290;emg:no@320;arousal:8@390"
    src = sim.SimulatorSource(hypnogram=hyp, seed=4, speed=None, injections=spec)
    truth = [
        e for e in src.night.events if e.trial_type in ("lrlr", "count", "message", "emg_code", "arousal")
    ]
    pipe = run_source(
        src,
        lambda inf: DetectorPipeline(
            inf, "E1-M2", Calibration(4 * 150e-6), eog_right="E2-M2", emg="EMG", eeg="O2-M1", rem_events=False
        ),
    )
    found = pipe.events

    def near(kind, t, value=None, tol=2.0):
        return [
            e
            for e in found
            if e.trial_type == kind
            and abs(e.onset - t) <= tol
            and (value is None or str(e.value) == str(value))
        ]

    for t in (e for e in truth if e.trial_type == "lrlr"):
        assert near("lrlr", t.onset), t
    assert near("message", 130.0, "3")
    assert near("message", 190.0, "SOS")
    assert near("message", 290.0, "yes")
    assert near("message", 320.0, "no")
    assert near("arousal", 390.0, tol=3.0)
    assert sum(e.trial_type == "rem_density" for e in found) == 7  # one per complete minute


def test_emg_codes_are_only_read_in_rem():
    """Outside REM (no stage R, no rapid eye movements) twitches are not read as codes."""
    from dreamlink.events import Event, EventBus

    data, info = _recording()
    cal = Calibration(synth.SWING)
    gated = detect_array(data, info, "E1", "E2", emg="EMG", calibration=cal)
    assert [e.value for e in gated.events if e.trial_type == "message"] == ["2", "HI"]  # eye only
    assert any(e.trial_type == "emg_twitch" for e in gated.events)  # twitches still reported

    def run(stage):
        bus = EventBus()
        pipe = DetectorPipeline(info, "E1", cal, eog_right="E2", emg="EMG", bus=bus, emg_gate="stage")
        bus.publish(Event(0.0, 30.0, "stage", stage, 0.9, "staging"))
        pipe.update(data)
        pipe.finish()
        return [e.value for e in pipe.events if e.trial_type == "message" and "emg" in e.data["kind"]]

    assert run("R") == ["yes", "no"]
    assert run("N2") == []
    with pytest.raises(ValueError, match="emg gate"):
        DetectorPipeline(info, "E1", cal, emg_gate="sometimes")


def test_emg_gate_estimates_rem_from_eye_movements_and_atonia():
    from dreamlink.detect.pipeline import EmgGate

    gate = EmgGate("auto", warmup_sec=60.0)
    gate.update(30.0, [10.0, 20.0], 2e-6)
    assert not gate.is_open(30.0)  # still warming up
    gate.update(70.0, [], 2e-6)
    assert gate.is_open(70.0)  # REMs in the last minute, lowest tone so far
    gate.update(90.0, [], 8e-6)
    assert not gate.is_open(90.0)  # tone 4 x the lowest: not atonic
    gate.update(150.0, [], 2e-6)
    assert not gate.is_open(150.0)  # atonic, but no rapid eye movements for a minute (NREM)
    gate.observe_stage("R")
    assert gate.is_open(150.0)  # a stager's word wins
    gate.observe_stage("N2")
    assert not gate.is_open(150.0)
    assert EmgGate("off").is_open(0.0) and not EmgGate("stage").is_open(0.0)


def _feed(pipe: DetectorPipeline, data: np.ndarray, on_chunk=None) -> list:
    """Feed ``data`` in 0.25-s chunks, calling ``on_chunk(pipe)`` after each; returns the messages."""
    step = int(0.25 * synth.FS)
    out = []
    for i in range(0, data.shape[1], step):
        out += pipe.update(data[:, i : i + step])
        if on_chunk is not None:
            on_chunk(pipe)
    out += pipe.finish()
    return [(e.data["kind"], e.value) for e in out if e.trial_type == "message"]


def test_expecting_a_count_reads_a_count_of_zero_and_keeps_its_mode_through_the_message():
    # A "0" is two markers with a rest between; only a decoder that expects a count reads it.
    e1, e2, _ = synth.eog(synth.centre(2) + eye_code.count_answer(0) + synth.centre(12), seed=3)
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), synth.FS)
    data = np.vstack([e1, e2])

    def pipeline():
        return DetectorPipeline(info, "E1", Calibration(synth.SWING), eog_right="E2", rem_events=False)

    assert _feed(pipeline(), data) == []  # "auto": two markers, not a message
    told = pipeline()
    told.expect_eye_code("count")
    assert told.eye_decoder.mode == "count"
    seen = []

    def stop_expecting_once_open(pipe: DetectorPipeline) -> None:
        if pipe.eye_decoder.active and not seen:
            pipe.expect_eye_code("auto")  # e.g. the question timed out while the answer came in
            seen.append(pipe.eye_decoder.mode)

    assert _feed(told, data, stop_expecting_once_open) == [("count", "0")]
    assert seen == ["count"]  # the open message kept the mode it opened with...
    assert told.eye_decoder.mode == "auto"  # ...and the new one applied after it
    with pytest.raises(ValueError, match="mode must be"):
        told.expect_eye_code("semaphore")
