import math
import threading
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dreamlink.cues import audio
from dreamlink.cues.base import AudioSignal, Cue, Rendering, SessionClock
from dreamlink.cues.safety import (
    DEFAULT_REFERENCE_DBFS,
    HARD_CAPS,
    AdaptiveRamp,
    Calibration,
    Cap,
    SafetyGovernor,
    SafetyLimits,
    calibrate_threshold,
    enforce_hard_cap,
)
from dreamlink.cues.scheduler import CueScheduler
from dreamlink.cues.sinks import CsvSink, NullSink, WavSink
from dreamlink.errors import ConfigError, CueSafetyError
from dreamlink.events import Event, EventBus

# short cues so that hypothesis can render hundreds
FAST_KINDS = [("tones", "1000:30"), ("morse-audio", "E"), ("morse-light", "E"), ("buzzes", "1")]


def _measured_dbfs(rendering: Rendering) -> float:
    if rendering.audio is not None:
        x = rendering.audio.samples
        assert np.max(np.abs(x)) <= 1.0
        return audio.active_rms_dbfs(x, rendering.audio.sfreq)
    return audio.amplitude_to_db(rendering.pulses.intensity)


levels = st.one_of(
    st.floats(min_value=-80, max_value=120),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e300, 30.0, 20.0, 29.999, 30.0001]),
)
cap_requests = st.builds(Cap, st.floats(min_value=-10, max_value=200), st.floats(min_value=-60, max_value=50))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    thresholds=st.dictionaries(
        st.sampled_from(["audio", "light", "vibration"]), st.floats(min_value=-110, max_value=0)
    ),
    operator_caps=st.dictionaries(st.sampled_from(["audio", "light", "vibration"]), cap_requests),
    requests=st.lists(
        st.tuples(st.sampled_from(["design", "operator", "api"]), st.sampled_from(FAST_KINDS), levels),
        min_size=1,
        max_size=8,
    ),
)
def test_no_sequence_of_requests_exceeds_the_hard_cap(thresholds, operator_caps, requests):
    try:
        limits = SafetyLimits(operator_caps)
    except CueSafetyError as err:  # an operator asking for limits above the hard cap is refused
        assert "exceeds the hard cap" in str(err) or "finite" in str(err) or "not a number" in str(err)
        limits = SafetyLimits()
    bus = EventBus()
    refused = []
    bus.subscribe(refused.append, kinds=["cue_refused"])
    calibration = Calibration(thresholds)
    gov = SafetyGovernor(calibration, limits, bus=bus, clock=lambda: 0.0)
    scheduler = CueScheduler([NullSink()], gov, bus=bus)
    for requester, (kind, payload), level in requests:
        cue = Cue(kind, payload, level_db=level, requester=requester, unit_ms=30)
        n_refused = len(refused)
        try:
            rendering = scheduler.prepare(cue)
        except CueSafetyError:
            assert len(refused) == n_refused + 1
            assert refused[-1].data["reason"] in ("invalid_level", "above_cap", "clipping")
            assert refused[-1].data["requester"] == requester
            continue
        modality = cue.modality
        hard = HARD_CAPS[modality]
        thr = calibration.threshold_dbfs(modality)
        bound = min(thr + hard.max_above_threshold_db, hard.max_dbfs)
        assert _measured_dbfs(rendering) <= bound + 0.5  # 0.5 dB: frame-wise RMS of 30-ms beeps
        assert rendering.level_dbfs <= bound + 1e-9
        assert cue.level_db <= limits.cap(modality).max_above_threshold_db + 1e-9
        scheduler.present(cue)  # and the dispatch path agrees


@given(level_dbfs=st.floats(min_value=-40.0, max_value=60.0))
@settings(max_examples=40, deadline=None)
def test_direct_api_renderings_are_stopped_by_every_sink(level_dbfs, tmp_path_factory):
    """Bypassing the governor (raw renderings handed straight to outputs) still cannot exceed the cap."""
    from dreamlink.cues.base import PulseTrain

    tmp = tmp_path_factory.mktemp("api")
    gain = audio.db_to_amplitude(level_dbfs)
    raw_audio = Rendering(
        Cue("tones", "1"), level_dbfs, audio=AudioSignal(audio.tone(1000, 0.05, rms=gain), 44100.0)
    )
    raw_light = Rendering(
        Cue("morse-light", "E"), level_dbfs, pulses=PulseTrain("light", np.array([[0.0, 0.1]]), gain)
    )
    for rendering, sink in [(raw_audio, WavSink(tmp / "a.wav")), (raw_light, CsvSink(tmp / "a.csv"))]:
        too_loud = level_dbfs > HARD_CAPS[rendering.modality].max_dbfs + 0.5 or (
            rendering.audio is not None and np.max(np.abs(rendering.audio.samples)) > 1.0
        )
        if too_loud:
            with pytest.raises(CueSafetyError, match="refused"):
                sink.deliver(rendering, 0.0)
            assert sink.track().samples.size == 0 if isinstance(sink, WavSink) else sink.rows() == []
        else:
            sink.deliver(rendering, 0.0)


def test_limits_above_the_hard_cap_are_refused_and_lower_limits_apply():
    with pytest.raises(CueSafetyError, match="exceeds the hard cap"):
        SafetyLimits({"audio": Cap(40.0, -20.0)})
    with pytest.raises(CueSafetyError, match="exceeds the hard cap"):
        SafetyLimits({"audio": Cap(10.0, 0.0)})
    with pytest.raises(CueSafetyError, match="exceeds the hard cap"):
        SafetyLimits({"light": Cap(math.nan, -3.0)})
    gov = SafetyGovernor(limits=SafetyLimits({"audio": Cap(12.0, -10.0)}), clock=lambda: 0.0)
    assert gov.cap_db("audio") == 12.0
    assert gov.approve(Cue("tones", "1", level_db=12.0)) == pytest.approx(-28.0)
    with pytest.raises(CueSafetyError, match=r"exceeds the audio cap \+12.0 dB re the default reference"):
        gov.approve(Cue("tones", "1", level_db=12.5))


def test_absolute_cap_binds_when_the_threshold_is_high():
    gov = SafetyGovernor(Calibration({"audio": -25.0}), clock=lambda: 0.0)
    assert gov.cap_dbfs("audio") == HARD_CAPS["audio"].max_dbfs == -10.0
    assert gov.cap_db("audio") == 15.0
    with pytest.raises(CueSafetyError, match="calibrated threshold"):
        gov.approve(Cue("tones", "1", level_db=16.0))


def test_clipping_speech_is_refused_with_a_reason():
    bus = EventBus()
    refused = []
    bus.subscribe(refused.append, kinds=["cue_refused"])
    scheduler = CueScheduler([NullSink()], SafetyGovernor(bus=bus, clock=lambda: 0.0), bus=bus)
    with pytest.raises(CueSafetyError, match="clip"):
        scheduler.prepare(Cue("speech", "wake up now", level_db=30.0))
    assert refused[-1].data["reason"] == "clipping"


@pytest.mark.parametrize("true_threshold", [-62.0, -47.3, -30.0])
def test_calibration_staircase_finds_a_deterministic_threshold(true_threshold):
    presented = []

    def listener(level):
        presented.append(level)
        return level >= true_threshold

    result = calibrate_threshold(listener)
    assert result.threshold_dbfs == pytest.approx(true_threshold, abs=2.0)
    assert max(presented) <= HARD_CAPS["audio"].max_dbfs
    assert len(result.reversals) == 8


def test_calibration_with_a_noisy_listener():
    rng = np.random.default_rng(7)
    true = -52.0

    def listener(level):  # logistic psychometric function, slope 1 dB
        return rng.random() < 1 / (1 + math.exp(-(level - true) / 1.0))

    estimates = [calibrate_threshold(listener, n_reversals=10).threshold_dbfs for _ in range(10)]
    assert np.median(estimates) == pytest.approx(true, abs=2.5)


def test_calibration_that_never_converges_says_so():
    with pytest.raises(CueSafetyError, match="never reached a miss"):
        calibrate_threshold(lambda level: True)
    with pytest.raises(ConfigError, match="unknown modality"):
        calibrate_threshold(lambda level: True, modality="smell")


def test_calibration_file_round_trip_and_errors(tmp_path):
    cal = Calibration({"audio": -51.5, "light": -30.0}, subject="sub-01")
    back = Calibration.load(cal.save(tmp_path / "cal.json"))
    assert back.threshold_dbfs("audio") == -51.5
    assert back.threshold_dbfs("vibration") == DEFAULT_REFERENCE_DBFS["vibration"]
    assert back.is_calibrated("light") and not back.is_calibrated("vibration")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(Exception, match="not a dreamlink calibration file"):
        Calibration.load(tmp_path / "bad.json")
    with pytest.raises(ConfigError, match="dBFS value <= 0"):
        Calibration({"audio": 12.0})


def _ramp_rig(tmp_path, **gov_kw):
    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    clock = SessionClock()
    gov = SafetyGovernor(bus=bus, clock=clock, **gov_kw)
    sink = WavSink(tmp_path / "ramp.wav")
    scheduler = CueScheduler([sink], gov, bus=bus)
    return bus, events, clock, gov, sink, scheduler


def _wait_for(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.002)


def test_wake_stops_an_ongoing_ramp_within_100_ms(tmp_path):
    bus, events, clock, gov, sink, scheduler = _ramp_rig(tmp_path)
    cue = Cue("tones", "700:500", requester="design")
    ramp = AdaptiveRamp(scheduler, cue, bus, start_db=-6, step_db=2, interval_sec=0.6).start()
    _wait_for(lambda: len(ramp.levels) == 3)
    third = [r for r in scheduler.records if r.status == "delivered"][-1]
    _wait_for(lambda: clock() > third.actual + 0.1)  # the third cue (500 ms) is sounding now
    t_wake = clock()
    bus.publish(Event(onset=t_wake, trial_type="wake", source="test"))
    assert ramp.join(timeout=2) == "woke"
    stop_delay = ramp.stopped_at - t_wake
    assert stop_delay < 0.1, f"ramp stopped {stop_delay * 1000:.1f} ms after the wake event"
    time.sleep(0.3)
    assert len(ramp.levels) == 3 and ramp.levels == [-6, -4, -2]
    delivered = [r for r in scheduler.records if r.status == "delivered"]
    assert all(r.actual < t_wake for r in delivered)
    last = delivered[-1]
    assert last.actual + last.duration > t_wake + 0.1  # it was still sounding at the wake event
    # what the loudspeaker played: the sounding cue was cut at the wake; silence afterwards
    track = sink.track()
    i_wake = int(round((t_wake + 0.1) * track.sfreq))
    i_cue = int(round(last.actual * track.sfreq))
    assert np.max(np.abs(track.samples[i_cue:i_wake])) > 0
    assert not np.any(track.samples[i_wake:])
    levels = [e.data["level_db"] for e in events if e.trial_type == "cue"]
    assert levels == [-6, -4, -2]


def test_arousal_backs_off_and_pauses_then_response_ends(tmp_path):
    bus, events, clock, gov, sink, scheduler = _ramp_rig(tmp_path, arousal_pause_sec=0.25)
    cue = Cue("tones", "600:40", requester="design")
    ramp = AdaptiveRamp(
        scheduler, cue, bus, start_db=0, step_db=3, interval_sec=0.08, backoff_db=6, pause_sec=0.25
    ).start()
    _wait_for(lambda: len(ramp.levels) == 3)  # 0, 3, 6
    t_arousal = clock()
    bus.publish(Event(onset=t_arousal, trial_type="arousal", source="test"))
    _wait_for(lambda: len(ramp.levels) == 5)
    bus.publish(Event(onset=clock(), trial_type="lrlr", value="yes", source="test"))
    assert ramp.join(timeout=2) == "responded"
    assert ramp.levels[:3] == [0, 3, 6]
    assert ramp.levels[3] == pytest.approx(ramp.levels[2] + 3 - 6)  # next step, minus the back-off
    assert ramp.levels[4] == ramp.levels[3] + 3
    cues = [e for e in events if e.trial_type == "cue"]
    resumed = cues[3].onset
    assert resumed - t_arousal >= 0.25  # paused for at least the pause time


def test_ramp_waits_out_a_longer_governor_pause_without_skipping_levels(tmp_path):
    bus, events, clock, gov, sink, scheduler = _ramp_rig(tmp_path, arousal_pause_sec=0.3)
    ramp = AdaptiveRamp(
        scheduler, Cue("tones", "800:30"), bus, start_db=0, step_db=1, interval_sec=0.05, backoff_db=2,
        pause_sec=0.05,
    ).start()  # fmt: skip
    _wait_for(lambda: len(ramp.levels) == 2)  # 0, 1
    t_arousal = clock()
    bus.publish(Event(onset=t_arousal, trial_type="arousal", source="test"))
    _wait_for(lambda: len(ramp.levels) == 4)
    ramp.stop()
    assert ramp.join(timeout=2) == "stopped"
    assert ramp.levels[2] == ramp.levels[1] + 1 - 2  # backed off, then retried once the pause ended
    assert ramp.levels[3] == ramp.levels[2] + 1
    refused = [e for e in events if e.trial_type == "cue_refused"]
    assert refused and {e.data["reason"] for e in refused} == {"paused_after_arousal"}
    resumed = [e for e in events if e.trial_type == "cue"][2].onset
    assert resumed - t_arousal >= 0.3


def test_ramp_stops_at_the_limit(tmp_path):
    bus, events, clock, gov, sink, scheduler = _ramp_rig(tmp_path)
    ramp = AdaptiveRamp(
        scheduler, Cue("buzzes", "1", unit_ms=20), bus, start_db=14, step_db=2, interval_sec=0.02
    )
    scheduler.outputs.append(NullSink())
    ramp.start()
    assert ramp.join(timeout=3) == "limit"
    assert ramp.levels == [14, 16, 18, 20]  # vibration hard cap: +20 dB re threshold
    assert max(e.data["level_db"] for e in events if e.trial_type == "cue") == 20


def test_abort_stops_everything_and_refusals_carry_reasons(tmp_path):
    bus = EventBus()
    events = []
    bus.subscribe(events.append)
    clock = SessionClock()
    gov = SafetyGovernor(bus=bus, clock=clock)
    wav, csvs = WavSink(tmp_path / "a.wav"), CsvSink(tmp_path / "l.csv")
    scheduler = CueScheduler([wav, csvs], gov, bus=bus).start()
    ramp = AdaptiveRamp(scheduler, Cue("tones", "500:400"), bus, start_db=0, interval_sec=0.5).start()
    scheduler.present(Cue("morse-light", "TTT", unit_ms=100))  # 1.3 s of flashes
    queued = [scheduler.schedule(Cue("tones", "3"), at=clock() + 0.5 + k) for k in range(3)]
    time.sleep(0.15)
    threading.Thread(target=scheduler.abort, args=("operator pressed STOP",)).start()
    assert ramp.join(timeout=2) == "aborted"
    t_abort = next(e.onset for e in events if e.trial_type == "cue_abort")
    assert ramp.stopped_at - t_abort < 0.1
    assert all(r.status == "cancelled" for r in queued)
    with pytest.raises(CueSafetyError, match="aborted"):
        scheduler.present(Cue("tones", "1"))
    time.sleep(0.6)
    scheduler.close()
    # audio: nothing after the abort; light: the flash that was on ends at the abort, none after
    track = wav.track()
    assert not np.any(track.samples[int(round((t_abort + 0.1) * track.sfreq)) :])
    rows = csvs.rows()
    assert rows and max(r["off_sec"] for r in rows) <= t_abort + 0.1
    assert len(rows) < 3
    kinds = [e.trial_type for e in events]
    assert "cue_abort" in kinds
    reasons = [e.data["reason"] for e in events if e.trial_type == "cue_refused"]
    assert "aborted" in reasons
    # resume is explicit and restores cueing
    gov.resume()
    assert scheduler.present(Cue("tones", "1")).status == "delivered"


def test_refusals_are_logged_with_reasons(caplog, tmp_path):
    bus = EventBus()
    refused = []
    bus.subscribe(refused.append, kinds=["cue_refused"])
    gov = SafetyGovernor(bus=bus, clock=lambda: 12.0, arousal_pause_sec=30)
    scheduler = CueScheduler([NullSink()], gov, bus=bus)
    cases = [
        (Cue("tones", "1", level_db=math.nan, requester="api"), "invalid_level"),
        (Cue("tones", "1", level_db=45.0, requester="operator"), "above_cap"),
        (Cue("morse-audio", "a#", requester="design"), "render_failed"),
    ]
    with caplog.at_level("WARNING", logger="dreamlink.cues.safety"):
        for cue, _ in cases:
            with pytest.raises(Exception, match="."):
                scheduler.prepare(cue)
        bus.publish(Event(onset=12.0, trial_type="arousal", source="detect.arousal"))
        with pytest.raises(CueSafetyError, match="paused for 30 s"):
            scheduler.prepare(Cue("tones", "1", requester="design"))
    reasons = [e.data["reason"] for e in refused]
    assert reasons == ["invalid_level", "above_cap", "render_failed", "paused_after_arousal"]
    assert [e.data["requester"] for e in refused] == ["api", "operator", "design", "design"]
    assert all(e.onset == 12.0 and e.source == "cues.safety" and e.data["message"] for e in refused)
    assert sum("cue refused" in r.getMessage() for r in caplog.records) == 4


def test_enforce_hard_cap_on_raw_renderings():
    loud = Rendering(Cue("tones", "1"), 0.0, audio=AudioSignal(audio.tone(500, 0.2, rms=0.5), 44100.0))
    with pytest.raises(CueSafetyError, match="exceeds the hard cap"):
        enforce_hard_cap(loud)
    clipping = Rendering(Cue("tones", "1"), 0.0, audio=AudioSignal(np.full(100, 1.5), 44100.0))
    with pytest.raises(CueSafetyError, match="clip"):
        enforce_hard_cap(clipping)
