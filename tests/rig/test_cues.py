"""The rig's real cue layer: design, operator and alarm cues through the safety governor, rendered to the
file sink on the pipeline's sample clock, and the operator controls (start, pause, abort, wake alarm, cue)."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest

from dreamlink.cues.base import Cue
from dreamlink.events import Event
from dreamlink.rig.client import Outbox
from dreamlink.rig.cues import RigCueLayer, StreamingWavSink, build_outputs
from dreamlink.rig.pipeline import RigPipeline
from dreamlink.sources import open_source

DESIGN = Path(__file__).resolve().parents[2] / "examples" / "designs" / "carr_tlr.yaml"
SFREQ = 256


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 10-min simulated night: 2 min N2, then 8 min REM; no spontaneous arousals."""
    from dreamlink.hypnogram import Hypnogram
    from dreamlink.io.hypnogram_formats import write_hypnogram_yasa

    path = tmp_path_factory.mktemp("night") / "hypno.txt"
    write_hypnogram_yasa(Hypnogram(np.array(["N2"] * 4 + ["R"] * 16)), path)
    return f"sim:seed=5,hypnogram={path},artefacts=0"


def _events(box: Outbox) -> list[dict]:
    frames = [json.loads(text) for _, text in box.pending(0, 10**6)]
    return [f["event"] for f in frames if f["type"] == "event"]


def _wav(path: Path) -> tuple[np.ndarray, float]:
    with wave.open(str(path), "rb") as fh:
        sfreq = fh.getframerate()
        x = np.frombuffer(fh.readframes(fh.getnframes()), dtype="<i2").astype(float) / 32768.0
    return x, float(sfreq)


def _run(tmp_path: Path, night: str, controls: dict[float, dict] | None = None, design=DESIGN) -> Outbox:
    """Run the rig on ``night`` at maximum speed; ``controls`` maps session seconds to a control frame."""
    from dreamlink.designs import load_design

    box = Outbox(tmp_path / "outbox.sqlite")
    pipe = RigPipeline(
        open_source(night, speed=None),
        box,
        block_sec=1.0,
        design=load_design(design) if design else None,
        cue_output="file",
    )
    pending = sorted((controls or {}).items())

    def inject(end: int) -> None:
        while pending and end / SFREQ >= pending[0][0]:
            pipe.inbox.put({"type": "control", **pending.pop(0)[1]})

    pipe.on_chunk = inject
    pipe.run()
    return box


def _loud(x: np.ndarray, sfreq: float, t0: float, t1: float) -> float:
    seg = x[int(t0 * sfreq) : int(t1 * sfreq)]
    return float(np.sqrt(np.mean(seg**2))) if seg.size else 0.0


def test_design_cues_in_rem_land_in_the_wav_at_their_sample_clock_time(tmp_path: Path, night: str) -> None:
    box = _run(tmp_path, night)
    events = _events(box)
    cues = [e for e in events if e["trial_type"] == "cue"]
    assert 2 <= len(cues) <= 5  # every 45 s in established REM, at most 5 per REM period (the design)
    for cue in cues:
        d = cue["data"]
        assert d["clock"] == "sample" and d["requested_by"] == "design" and d["kind"] == "tones"
        assert d["outputs"] == ["wav-file"]
        assert 0.0 <= d["actual"] - d["requested"] <= 1.0 + 1e-6  # within the 1-s chunk that decided it
        assert cue["onset"] == pytest.approx(d["actual"])
        assert cue["onset"] >= 120 + 60  # REM starts at 120 s; the design waits 60 s of REM
    # the design's own requests are recorded as cue_request, one per presented cue
    assert len([e for e in events if e["trial_type"] == "cue_request"]) == len(cues)
    x, sfreq = _wav(tmp_path / "cues-run01.wav")
    assert json.loads((tmp_path / "cues-run01.json").read_text())["origin_sec"] == 0.0
    assert x.size / sfreq >= cues[-1]["onset"] + cues[-1]["duration"] - 0.01
    first = cues[0]
    assert _loud(x, sfreq, 0, first["onset"] - 0.01) == 0.0  # silence before the first cue
    for cue in cues:
        on, dur = cue["onset"], cue["duration"]
        assert _loud(x, sfreq, on, on + dur) > 0.005  # sounding (≈ -20 dBFS for +4 dB at -40 dBFS ref)
        assert _loud(x, sfreq, on - 5, on - 0.01) == 0.0
        seg = x[int(on * sfreq) : int((on + dur) * sfreq)]
        spectrum = np.abs(np.fft.rfft(seg))
        peaks = np.fft.rfftfreq(seg.size, 1 / sfreq)[np.argsort(spectrum)[-40:]]
        for f in (440, 660, 880):  # the design's three tones
            assert np.min(np.abs(peaks - f)) < 5
        level = 20 * np.log10(np.sqrt(np.mean(seg[np.abs(seg) > 1e-4] ** 2)))
        assert -40 + 4 - 4 < level < -40 + 4 + 4  # +4 dB re the default -40 dBFS reference


def test_operator_cue_above_the_cap_is_refused_and_one_below_is_presented(tmp_path: Path, night: str) -> None:
    controls = {
        30.0: {"action": "cue", "cue": {"kind": "tones", "payload": "3", "level_db": 45.0}},
        40.0: {"action": "cue", "cue": {"kind": "tones", "payload": "3", "level_db": 5.0}},
    }
    box = _run(tmp_path, night, controls, design=None)
    events = _events(box)
    refused = [e for e in events if e["trial_type"] == "cue_refused"]
    assert len(refused) == 1
    assert refused[0]["data"]["reason"] == "above_cap" and refused[0]["data"]["requester"] == "operator"
    assert "cap" in refused[0]["data"]["message"]
    assert 31 <= refused[0]["onset"] <= 32
    cues = [e for e in events if e["trial_type"] == "cue"]
    assert len(cues) == 1 and cues[0]["data"]["mode"] == "operator" and cues[0]["data"]["level_db"] == 5.0
    assert [e["data"]["level_db"] for e in events if e["trial_type"] == "cue_request"] == [45.0, 5.0]
    x, sfreq = _wav(tmp_path / "cues-run01.wav")
    on = cues[0]["onset"]
    assert _loud(x, sfreq, on, on + cues[0]["duration"]) > 0.005
    assert _loud(x, sfreq, 0, on - 0.01) == 0.0  # the refused cue never sounded


def test_abort_ends_the_design_and_stops_every_further_cue(tmp_path: Path, night: str) -> None:
    box = _run(tmp_path, night, {260.0: {"action": "abort"}})
    events = _events(box)
    abort_t = next(e["onset"] for e in events if e["trial_type"] == "cue_abort")
    assert 260 <= abort_t <= 262
    cues = [e for e in events if e["trial_type"] == "cue"]
    assert cues and all(c["onset"] < abort_t for c in cues)  # cues before, none after
    assert any(e["trial_type"] == "design_end" and e["source"] == "rig.control" for e in events)
    controls = [e for e in events if e["trial_type"] == "design_control"]
    assert [c["value"] for c in controls] == ["abort"]
    assert box.get("control")["aborted"] is True
    x, sfreq = _wav(tmp_path / "cues-run01.wav")
    assert _loud(x, sfreq, abort_t, x.size / sfreq + 1) == 0.0


def test_pause_stops_the_design_acting_until_start(tmp_path: Path, night: str) -> None:
    box = _run(tmp_path, night, {100.0: {"action": "pause"}, 400.0: {"action": "start"}})
    events = _events(box)
    controls = [(e["value"], e["onset"]) for e in events if e["trial_type"] == "design_control"]
    assert [c[0] for c in controls] == ["pause", "start"]
    t_pause, t_start = controls[0][1], controls[1][1]
    cues = [e["onset"] for e in events if e["trial_type"] == "cue"]
    requests = [e["onset"] for e in events if e["trial_type"] == "cue_request"]
    assert not [t for t in cues + requests if t_pause <= t <= t_start]  # nothing while paused
    assert [t for t in cues if t > t_start]  # the design acts again after start (REM goes on to 600 s)
    design = [e for e in events if e["source"] == "design" and t_pause < e["onset"] < t_start]
    assert not design


def test_wake_alarm_presents_an_alarm_cue_and_records_it(tmp_path: Path, night: str) -> None:
    box = _run(tmp_path, night, {50.0: {"action": "wake_alarm", "operator": "olga"}}, design=None)
    events = _events(box)
    alarm = [e for e in events if e["trial_type"] == "wake_alarm"]
    assert len(alarm) == 1 and alarm[0]["data"]["accepted"] is True
    cues = [e for e in events if e["trial_type"] == "cue"]
    assert len(cues) == 1 and cues[0]["data"]["mode"] == "alarm" and cues[0]["value"] == "wake_alarm"
    assert cues[0]["data"]["requester"] == "operator"
    x, sfreq = _wav(tmp_path / "cues-run01.wav")
    on, dur = cues[0]["onset"], cues[0]["duration"]
    level = 20 * np.log10(_loud(x, sfreq, on, on + dur) + 1e-12)
    assert level > -30  # +20 dB over the -40 dBFS reference (beeps and gaps)


# -- the cue layer on its own ----------------------------------------------------------------------
def test_sample_clock_dispatches_at_the_requested_sample_time(tmp_path: Path) -> None:
    outputs = build_outputs("file", tmp_path, origin=0.0)
    layer = RigCueLayer(outputs, clock="sample").open(0.0)
    assert layer.request(Cue("tones", "2", level_db=0.0), at=5.25)
    layer.pump(4.0)
    assert layer.drain() == []  # not yet: the sample clock is at 4 s
    layer.pump(6.0)
    (cue,) = layer.drain()
    assert cue.onset == pytest.approx(5.25) and cue.data["lag_ms"] == pytest.approx(0.0)
    # a request for a time the rig has passed is presented now (at the chunk end), with its lag
    assert layer.request(Cue("tones", "1"), at=5.5)
    layer.pump(6.0)
    (late,) = layer.drain()
    assert late.onset == pytest.approx(6.0) and late.data["lag_ms"] == pytest.approx(500.0)
    layer.close(10.0)
    x, sfreq = _wav(tmp_path / "cues-run01.wav")
    assert _loud(x, sfreq, 0, 5.24) == 0.0 and _loud(x, sfreq, 5.25, 5.4) > 0.001


def test_wake_and_arousal_events_reach_the_governor(tmp_path: Path) -> None:
    layer = RigCueLayer([StreamingWavSink(tmp_path / "c.wav")], clock="sample").open(0.0)
    assert layer.request(Cue("tones", "3"), at=20.0)  # queued for later
    layer.observe([Event(10.0, 0.0, "wake", "W", None, "staging.causal")])
    layer.pump(30.0)
    assert not [e for e in layer.drain() if e.trial_type == "cue"]  # the wake cancelled it
    assert not layer.request(Cue("tones", "3"), at=30.0)
    (refused,) = layer.drain()
    assert refused.trial_type == "cue_refused" and refused.data["reason"] == "paused_after_wake"
    layer.pump(400.0)  # the 300-s wake pause is over (sample clock)
    layer.observe([Event(400.0, 0.0, "arousal", None, None, "detect")])
    assert not layer.request(Cue("tones", "3"), at=401.0)
    assert layer.drain()[0].data["reason"] == "paused_after_arousal"
    layer.close(500.0)


def test_cli_rejects_an_unknown_cue_output(run_cli, tmp_path: Path) -> None:
    code, _, err = run_cli("rig", "sim:hours=0.01", "--out", str(tmp_path), "--cue-output", "speaker")
    assert code == 2 and "--cue-output" in err


def test_wall_clock_mode_dispatches_from_the_scheduler_thread(tmp_path: Path) -> None:
    import time

    layer = RigCueLayer(build_outputs("file", tmp_path, origin=100.0), clock="wall").open(100.0)
    at = layer.now() + 0.2
    assert layer.request(Cue("tones", "1"), at=at)
    deadline = time.monotonic() + 5
    cues: list[Event] = []
    while not cues and time.monotonic() < deadline:
        time.sleep(0.05)
        cues = layer.drain()
    assert len(cues) == 1 and cues[0].data["clock"] == "wall"
    assert 0 <= cues[0].data["lag_ms"] < 200  # a loaded 2-core machine; the benchmark measures jitter
    layer.close(layer.now())
    x, sfreq = _wav(tmp_path / "cues-run01.wav")
    on = cues[0].onset - 100.0  # the WAV starts at session time 100 s
    assert _loud(x, sfreq, 0, on - 0.01) == 0.0 and _loud(x, sfreq, on, on + 0.1) > 0.001


def test_an_abort_survives_a_rig_restart(tmp_path: Path, night: str) -> None:
    from dreamlink.designs import load_design

    box = Outbox(tmp_path / "outbox.sqlite")
    first = RigPipeline(
        open_source(night, speed=None), box, block_sec=1.0, design=load_design(DESIGN), cue_output="file"
    )

    def control(end: int) -> None:
        if end == 230 * SFREQ:
            first.inbox.put({"type": "control", "action": "abort"})
        if end >= 300 * SFREQ:
            first.stop()

    first.on_chunk = control
    first.run()
    second = RigPipeline(
        open_source(night, speed=None), box, block_sec=1.0, design=load_design(DESIGN), cue_output="file"
    )
    summary = second.run()
    assert summary.resumed_from == 300 * SFREQ and summary.cues_presented == 0
    events = _events(box)
    cues = [e["onset"] for e in events if e["trial_type"] == "cue"]
    assert cues and max(cues) < 231  # the cues before the abort (210 s), none after, in either run
    assert json.loads((tmp_path / "cues-run02.json").read_text())["origin_sec"] == 300.0
    x, _ = _wav(tmp_path / "cues-run02.wav")
    assert x.size > 0 and not np.any(x)


def test_light_and_vibration_cues_land_in_the_csv(tmp_path: Path) -> None:
    import csv

    layer = RigCueLayer(build_outputs("file", tmp_path), clock="sample").open(0.0)
    assert layer.request(Cue("morse-light", "E", level_db=5.0, unit_ms=200), at=12.0)
    assert layer.request(Cue("buzzes", "2", level_db=0.0), at=20.0)
    assert not layer.request(Cue("flashes", "2", level_db=25.0), at=21.0)  # light cap +20 dB
    layer.pump(30.0)
    layer.close(30.0)
    with (tmp_path / "cues-run01.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["modality"], r["kind"]) for r in rows] == [("light", "morse-light")] + [
        ("vibration", "buzzes")
    ] * 2
    assert float(rows[0]["on_sec"]) == pytest.approx(12.0)
    assert float(rows[0]["off_sec"]) - float(rows[0]["on_sec"]) == pytest.approx(0.2)  # one dot
    assert float(rows[1]["on_sec"]) == pytest.approx(20.0)
