"""Scripted injections: the spec grammar, and what each injection puts into the signal."""

from __future__ import annotations

import numpy as np
import pytest

from dreamlink.errors import DreamlinkError
from dreamlink.hypnogram import Hypnogram
from dreamlink.sim.hypnogram_model import rem_periods
from dreamlink.sim.injections import Injection, InjectionSpecError, parse_injection, parse_injections
from dreamlink.sim.night import simulate_night
from dreamlink.sim.synthesis import E1, E2, EMG, O2

SF = 256.0
#: 4 min of N2, 10 min of REM, 6 min of N2, 4 min of REM.
STAGES = np.array(["N2"] * 8 + ["R"] * 20 + ["N2"] * 12 + ["R"] * 8)


def _night(specs, **kw):
    return simulate_night(None, seed=5, hypnogram=Hypnogram(STAGES), injections=specs, **kw)


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("lrlr@1800", Injection("lrlr", None, 1800.0, None, "lrlr@1800")),
        ("count:4@2000", Injection("count", "4", 2000.0, None, "count:4@2000")),
        ("morse:SOS@2400.5", Injection("morse", "SOS", 2400.5, None, "morse:SOS@2400.5")),
        ("emg:YES@2600", Injection("emg", "yes", 2600.0, None, "emg:YES@2600")),
        ("emg-morse:HI@2700", Injection("emg-morse", "HI", 2700.0, None, "emg-morse:HI@2700")),
        ("arousal@3000", Injection("arousal", None, 3000.0, None, "arousal@3000")),
        ("arousal:8@3000", Injection("arousal", "8", 3000.0, None, "arousal:8@3000")),
        ("lrlr@rem2+60", Injection("lrlr", None, 60.0, 2, "lrlr@rem2+60")),
        ("lrlr@rem1", Injection("lrlr", None, 0.0, 1, "lrlr@rem1")),
    ],
)
def test_grammar(token, expected):
    assert parse_injection(token) == expected


def test_repeated_and_semicolon_separated():
    specs = parse_injections(["lrlr@10; count:2@20", "arousal@30"])
    assert [s.kind for s in specs] == ["lrlr", "count", "arousal"]


@pytest.mark.parametrize(
    ("token", "why"),
    [
        ("lrlr", "missing '@TIME'"),
        ("wink@10", "unknown kind"),
        ("lrlr@soon", "bad time"),
        ("count:four@10", "whole number"),
        ("morse:@10", "needs a text"),
        ("morse:S#S@10", "no Morse code"),
        ("emg-morse:HI.@10", "ends a message"),
        ("emg:maybe@10", "yes or no"),
        ("arousal:30@10", "3-15 s"),
        ("lrlr:2@10", "no argument"),
        ("lrlr@rem0", "count from 1"),
    ],
)
def test_malformed_specs_name_token_and_grammar(token, why):
    with pytest.raises(InjectionSpecError) as err:
        parse_injection(token)
    msg = str(err.value)
    assert repr(token.strip()) in msg and why in msg and "KIND[:ARG]@TIME" in msg
    assert isinstance(err.value, DreamlinkError)


def test_lrlr_is_four_alternating_sweeps_of_calibrated_amplitude():
    night = _night(["lrlr@300"], artefacts=False)
    truth = night.injected_events
    sweeps = [e for e in truth if e.trial_type == "eye_sweep"]
    assert [e.value for e in sweeps] == ["L", "R", "L", "R", "L"]  # 4 + return to centre
    (marker,) = [e for e in truth if e.trial_type == "lrlr"]
    assert marker.onset == pytest.approx(300.0, abs=0.01) and 1.0 < marker.duration < 4.0
    # The injected signal in the horizontal derivation, against the same night without it.
    plain = _night([], artefacts=False)
    a, b = int(299 * SF), int(305 * SF)
    diff = night.generate(a, b - a) - plain.generate(a, b - a)
    h = (diff[E1] - diff[E2]) * 1e6
    # Full left gaze: E1 - E2 = +2 x 150 µV (± 10 % jitter); full right: -300 µV.
    assert 250 < h.max() < 360 and -360 < h.min() < -250
    assert np.corrcoef(diff[E1], diff[E2])[0, 1] < -0.99  # opposite polarity
    assert np.abs(diff[EMG]).max() == 0.0


def test_eye_amplitude_is_configurable():
    small = _night(["lrlr@300"], artefacts=False, eye_amplitude_v=50e-6)
    plain = _night([], artefacts=False)
    a, n = int(299 * SF), int(6 * SF)
    diff = (small.generate(a, n) - plain.generate(a, n)) * 1e6
    assert 80 < (diff[E1] - diff[E2]).max() < 120


def test_count_and_morse_ground_truth():
    night = _night(["count:3@300", "morse:SOS@500"], artefacts=False)
    ev = night.injected_events
    (count,) = [e for e in ev if e.trial_type == "count"]
    assert count.value == 3
    count_sweeps = [e for e in ev if e.trial_type == "eye_sweep" and e.data["spec"] == "count:3@300"]
    # LRLR + return, 3 x (L, R), return to centre, LRLR + return.
    assert len(count_sweeps) == 5 + 6 + 1 + 5
    (msg,) = [e for e in ev if e.trial_type == "message"]
    assert msg.value == "SOS"
    frames = [e for e in ev if e.trial_type == "lrlr" and e.data["spec"] == "morse:SOS@500"]
    assert len(frames) == 2 and frames[0].end < frames[1].onset
    body = [e for e in ev if e.trial_type == "eye_sweep" and frames[0].end < e.onset < frames[1].onset]
    # After the frame's return to centre, each element is out (half), straight across (full swing),
    # back to centre (half): S = ... three dots (left, across to the right, back), O = --- three
    # dashes (right, across to the left, back), then S again.
    values = [e.value for e in body]
    sizes = [e.data["size"] for e in body]
    assert values[1:10] == ["L", "R", "L"] * 3
    assert values[10:19] == ["R", "L", "R"] * 3
    assert values[19:28] == ["L", "R", "L"] * 3
    assert len(values) == 28
    for i in range(1, 28, 3):
        assert sizes[i + 1] > 1.5 * max(sizes[i], sizes[i + 2])  # the full swing is the middle one


def test_emg_codes_make_twitches_in_the_chin_channel():
    night = _night(["emg:yes@300", "emg-morse:HI@400"], artefacts=False)
    ev = night.injected_events
    codes = {e.value: e for e in ev if e.trial_type == "emg_code"}
    assert set(codes) == {"yes", "HI"}
    twitches = [e for e in ev if e.trial_type == "emg_twitch"]
    assert len(twitches) == 3 + (4 + 2 + 5)  # yes = 2 short, closed by a long; H = ...., I = .., .-.-.
    x = night.get_data(300, 301.5)[EMG] * 1e6
    # Atonic REM chin EMG: median RMS of 1-s windows over 2 min of REM.
    rem = night.get_data(420, 540)[EMG].reshape(120, -1) * 1e6
    base = np.median(np.sqrt(np.mean(rem**2, axis=1)))
    assert np.sqrt(np.mean(x**2)) > 5 * base


def test_arousal_raises_alpha_and_emg():
    night = _night(["arousal:10@150"], artefacts=False)  # in N2
    plain = _night([], artefacts=False)
    a, n = int(150 * SF), int(10 * SF)
    diff = (night.generate(a, n) - plain.generate(a, n)) * 1e6
    f = np.fft.rfftfreq(n, 1 / SF)
    spec = np.abs(np.fft.rfft(diff[O2])) ** 2
    alpha = spec[(f >= 8) & (f <= 12)].sum() / spec[(f > 0.5) & (f < 30)].sum()
    assert alpha > 0.4
    assert np.sqrt(np.mean(diff[EMG] ** 2)) > 10
    (arousal,) = [e for e in night.injected_events if e.trial_type == "arousal"]
    assert arousal.duration == pytest.approx(10.0, abs=0.01)


def test_rem_relative_time_resolves_to_the_nth_rem_period():
    night = _night(["lrlr@rem2+30"], artefacts=False)
    periods = rem_periods(night.hypnogram)
    assert len(periods) == 2
    (marker,) = [e for e in night.injected_events if e.trial_type == "lrlr"]
    assert marker.onset == pytest.approx(periods[1][0] + 30.0, abs=0.01)
    assert night.hypnogram.stage_at(marker.onset) == "R"


def test_missing_rem_period_and_out_of_night_times_are_user_errors():
    with pytest.raises(DreamlinkError, match="REM period 3"):
        _night(["lrlr@rem3"])
    with pytest.raises(DreamlinkError, match="outside"):
        _night(["count:4@1435"])
