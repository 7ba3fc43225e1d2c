"""The causal stager: no lookahead, chunking does not matter, settle delay bounded, events."""

from __future__ import annotations

import numpy as np
import pytest

from dreamlink.staging.causal import CausalResampler, CausalStager


def _run(x, sfreq, chunk, **kw):
    st = CausalStager(sfreq, ["eeg"], **kw)
    events = []
    step = int(chunk * sfreq)
    for a in range(0, x.shape[1], step):
        events.extend(st.update(x[:, a : a + step]))
    return st, events


@pytest.fixture(scope="module")
def six_min(dynamo):
    return dynamo.data[:, : int(360 * dynamo.sfreq)], dynamo.sfreq


def test_resampler_is_chunk_invariant(dreams_ex2):
    x = dreams_ex2.data[:, :20000]
    whole = CausalResampler(200.0, 1).process(x)
    r = CausalResampler(200.0, 1)
    parts = np.hstack([r.process(x[:, a : a + 777]) for a in range(0, x.shape[1], 777)])
    np.testing.assert_allclose(parts, whole, rtol=0, atol=1e-9)
    assert whole.shape[1] == 10000


def test_resampler_non_integer_ratio():
    sf = 256.0
    t = np.arange(int(10 * sf)) / sf
    x = 50e-6 * np.sin(2 * np.pi * 10 * t)[None, :]
    r = CausalResampler(sf, 1)
    y = np.hstack([r.process(x[:, a : a + 100]) for a in range(0, x.shape[1], 100)])
    assert abs(y.shape[1] - 1000) <= 1
    # after the filter settles, a 10-Hz sine keeps ~its amplitude (µV)
    assert 40 < np.max(np.abs(y[0, 500:])) < 55


def test_no_lookahead_future_data_changes_nothing(six_min):
    x, sf = six_min
    cut = int(240 * sf)
    _, past_only = _run(x[:, :cut], sf, 1.0)
    _, with_future = _run(x, sf, 1.0)
    prov_a = [e for e in past_only if e.data.get("kind") == "provisional"]
    prov_b = [e for e in with_future if e.data.get("kind") == "provisional" and e.onset <= 240.0]
    assert len(prov_a) == len(prov_b) == (240 - 30) // 5 + 1
    for a, b in zip(prov_a, prov_b, strict=True):
        assert a.onset == b.onset and a.value == b.value
        assert a.confidence == pytest.approx(b.confidence, abs=1e-9)


def test_chunk_size_does_not_change_outputs(six_min):
    x, sf = six_min
    st1, ev1 = _run(x, sf, 1.0)
    st2, ev2 = _run(x, sf, 7.3)
    assert [(e.onset, e.value) for e in ev1] == [(e.onset, e.value) for e in ev2]
    np.testing.assert_allclose(
        st1.settled_hypnogram().proba.to_numpy(), st2.settled_hypnogram().proba.to_numpy(), atol=1e-9
    )


def test_cadence_and_settle_delay(six_min):
    x, sf = six_min
    st, events = _run(x, sf, 1.0, settle_delay=60.0)
    prov = [e.onset for e in events if e.data.get("kind") == "provisional"]
    assert np.all(np.diff(prov) == 5.0) and prov[0] == 30.0
    settled = [e for e in events if e.data.get("kind") == "settled"]
    assert len(settled) == 360 // 30 - 2  # the last two epochs wait for their lookahead
    for e in settled:
        assert e.data["decided_at"] - (e.onset + 30.0) <= 60.0
        assert e.data["lookahead_sec"] == 60.0
        assert e.value in ("W", "N1", "N2", "N3", "R")
    assert len(st.provisional_hypnogram()) == 12
    st.flush()
    assert len(st.settled_hypnogram()) == 12


def test_rem_entry_on_real_rem(dynamo):
    # the last 54 min of the DYNAM-O segment: N3, N2, then 12.5 min of expert REM
    sf = dynamo.sfreq
    start = 1800.0
    x = dynamo.data[:, int(start * sf) :]
    _, events = _run(x, sf, 5.0, t0=start)
    rem = [e for e in events if e.trial_type == "rem_entry"]
    assert rem, "no rem_entry during 12.5 min of expert REM"
    assert rem[0].onset > 4260.0 - 60.0  # not during the N3 and N2 before it
    assert dynamo.hypnogram.stage_at(rem[0].onset) == "R"


def test_context_rule_enters_rem_earlier_once_and_never_in_n3(dynamo):
    """EEG-only REM onset looks like N1; after stable N2/N3 the context rule counts p_N1 towards REM."""
    sf = dynamo.sfreq
    start = 1800.0
    x = dynamo.data[:, int(start * sf) :]
    onsets = {}
    for rule in ("strict", "context"):
        _, events = _run(x, sf, 5.0, t0=start, rem_rule=rule)
        onsets[rule] = [e.onset for e in events if e.trial_type == "rem_entry"]
        assert all(dynamo.hypnogram.stage_at(t - 1e-6) == "R" for t in onsets[rule])
        # a second rem_entry only after the stager said the sleeper woke
        kinds = [e.trial_type for e in events if e.trial_type in ("rem_entry", "wake")]
        assert all(not (a == b == "rem_entry") for a, b in zip(kinds, kinds[1:], strict=False))
    expert_onset = 4260.0
    assert expert_onset <= onsets["context"][0] < onsets["strict"][0]


def test_context_needs_ten_minutes_of_sleep_without_wake():
    st = CausalStager(100.0, ["eeg"])
    light = np.array([0.05, 0.45, 0.2, 0.0, 0.3])  # N1-looking REM
    assert st._rem_evidence("N1", light) == (False, 0.3)  # no context yet: strict rule
    st._recent = ["N2"] * 120
    assert st._rem_evidence("N1", light)[0]
    arousal = np.array([0.4, 0.45, 0.1, 0.0, 0.05])  # light sleep with wake-like evidence
    assert not st._rem_evidence("N1", arousal)[0]
    st._recent = ["N2"] * 119 + ["W"]
    assert not st._rem_evidence("N1", light)[0]


def test_bad_rem_rule():
    from dreamlink.errors import ConfigError

    with pytest.raises(ConfigError, match="rem_rule"):
        CausalStager(100.0, ["eeg"], rem_rule="eager")


def test_bad_chunk_shape(six_min):
    from dreamlink.errors import ConfigError

    st = CausalStager(100.0, ["eeg"])
    with pytest.raises(ConfigError, match="n_channels=1"):
        st.update(np.zeros((2, 100)))
