"""A dreamer's learned eye model: learned from REM EOG, saved and read back, and read with."""

from __future__ import annotations

import numpy as np
import pytest

from dreamlink.detect import eye_hsmm
from dreamlink.detect.calibration import Calibration
from dreamlink.detect.eye_emission import (
    LEVELS,
    EyeModelError,
    LearnedEmission,
    block_features,
    injected_blocks,
    learn_eye_model,
    level_class,
    load_eye_model,
)
from dreamlink.detect.pipeline import detect_array
from dreamlink.errors import DreamlinkError
from dreamlink.hypnogram import Hypnogram
from dreamlink.link import eye_code
from dreamlink.sim.night import simulate_night
from dreamlink.sources.base import SourceInfo
from tests.detect import synth

FS = 256.0


def _rem_eog(minutes: float, seed: int) -> np.ndarray:
    """Simulated REM-sleep EOG, E1 − E2 (V)."""
    night = simulate_night(None, seed=seed, sfreq=FS, hypnogram=Hypnogram(np.array(["R"] * int(minutes * 2))))
    data = night.get_data()
    e1, e2 = (night.info.index(c) for c in ("E1-M2", "E2-M2"))
    return data[e1] - data[e2]


@pytest.fixture(scope="module")
def model():
    """A model learned from 3 min of simulated REM EOG with about 80 injected messages."""
    return learn_eye_model([_rem_eog(3.0, seed=5)], FS, synth.SWING, messages=80, seed=1, source="sim")


def test_injected_blocks_label_each_block_with_the_senders_level():
    xs, ys = injected_blocks(_rem_eog(4.0, seed=6), FS, synth.SWING, np.random.default_rng(0))
    assert len(xs) >= 2
    for x, y in zip(xs, ys, strict=True):
        assert x.shape == y.shape
        assert set(np.unique(y)) == {0, 1, 2}  # a message looks right, left and rests at centre
        # On simulated REM EOG the blocked level is near the sender's most of the time.
        assert np.mean(level_class(x) == y) > 0.8


def test_learned_model_reads_held_out_blocks(model):
    meta = model.meta
    assert meta["messages"] >= 40
    assert meta["blocks"] > 5000
    assert meta["held_out_accuracy"] >= 0.9
    assert meta["source"] == "sim"
    assert meta["swing_v"] == pytest.approx(synth.SWING)
    p = model.probabilities(np.array([0.0] * 30 + [1.0] * 30 + [-1.0] * 30))
    assert p.shape == (90, 3)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    # A clean keyed trace: the middle of each plateau reads as its level.
    assert [int(p[i].argmax()) for i in (15, 45, 75)] == [1, 2, 0]


def test_model_file_round_trip(model, tmp_path):
    path = model.save(tmp_path / "eye.npz")
    again = load_eye_model(path)
    x = np.sin(np.linspace(0, 20, 200))
    np.testing.assert_array_equal(again.probabilities(x), model.probabilities(x))
    assert again.meta == model.meta


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "not found"),
        (b"this is not a model", "not a readable eye model"),
        ("no_header", "not a readable eye model"),
        ("wrong_format", "not a dreamlink eye model"),
        ("version", "format 99"),
    ],
)
def test_bad_model_files_are_refused_with_the_fix(model, tmp_path, content, needle):
    path = tmp_path / "eye.npz"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content == "no_header":
        np.savez(path, mean=model.mean)
    elif content in ("wrong_format", "version"):
        model.save(path)
        with np.load(path) as z:
            arrays = dict(z)
        header = arrays.pop("header")
        text = str(header).replace('"dreamlink-eye-model"', '"other"') if content == "wrong_format" else str(
            header
        ).replace('"version": 1', '"version": 99')
        np.savez(path, header=np.array(text), **arrays)
    with pytest.raises(EyeModelError, match=needle) as err:
        load_eye_model(path)
    assert "--learn-eye-model" in str(err.value)


def test_model_file_with_layers_that_do_not_fit_is_refused(model, tmp_path):
    path = model.save(tmp_path / "eye.npz")
    with np.load(path) as z:
        arrays = dict(z)
    arrays["w1"] = arrays["w1"][:-1]
    np.savez(path, **arrays)
    with pytest.raises(EyeModelError, match="shapes"):
        load_eye_model(path)


def test_refuses_too_little_or_unusable_rem_eog():
    with pytest.raises(EyeModelError, match="no stretch of REM sleep of at least 60 s"):
        learn_eye_model([np.zeros(int(30 * FS))], FS, synth.SWING, messages=10)
    with pytest.raises(DreamlinkError, match="flat"):
        learn_eye_model([np.zeros(int(90 * FS))], FS, synth.SWING, messages=10)
    with pytest.raises(EyeModelError, match="swing must be positive"):
        learn_eye_model([_rem_eog(1.5, seed=2)], FS, 0.0, messages=10)


def test_learned_emission_costs(model):
    x = np.linspace(-1.5, 1.5, 40)
    levels = np.array([-1.0, 0.0, 0.5, 1.0])
    hand = eye_hsmm.level_costs(x, levels)
    np.testing.assert_allclose(LearnedEmission(model, hand_share=1.0)(x, levels), hand)
    learned = LearnedEmission(model, hand_share=0.0)(x, levels)
    assert learned.shape == (4, 40)
    np.testing.assert_allclose(learned[2], hand[2])  # 0.5 is no level of the model: the hand-built cost
    model_rows = learned[[0, 1, 3]]
    assert np.all(model_rows >= 0.0) and np.all(model_rows <= eye_hsmm.EMISSION_CAP)
    np.testing.assert_allclose(model_rows.min(axis=0), 0.0, atol=1e-12)  # the likeliest level costs 0
    mixed = LearnedEmission(model, hand_share=0.5)(x, levels)
    np.testing.assert_allclose(mixed, 0.5 * hand + 0.5 * learned)
    assert block_features(x).shape == (40, 27)
    assert len(LEVELS) == 3


def test_reading_with_sets_the_emission_only_inside():
    x, levels = np.array([0.0, 1.0]), np.array([0.0, 1.0])

    def constant(x, levels):
        return np.full((levels.size, x.size), 0.25)

    with eye_hsmm.reading_with(constant):
        np.testing.assert_array_equal(eye_hsmm.emission_costs(x, levels), 0.25)
        with eye_hsmm.reading_with(None):
            np.testing.assert_array_equal(eye_hsmm.emission_costs(x, levels), [[0.0, 1.0], [1.0, 0.0]])
    np.testing.assert_array_equal(eye_hsmm.emission_costs(x, levels), [[0.0, 1.0], [1.0, 0.0]])


def test_live_pipeline_reads_eye_morse_with_a_learned_model(model):
    gestures = synth.centre(3) + eye_code.eye_morse("SOS", 0.5) + synth.centre(8)
    e1, e2, _ = synth.eog(gestures, seed=31)
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), synth.FS)
    data = np.vstack([e1, e2])
    calib = Calibration(synth.SWING)
    with_model = detect_array(data, info, "E1", "E2", calibration=calib, eye_code="morse", eye_model=model)
    hand = detect_array(data, info, "E1", "E2", calibration=calib, eye_code="morse")
    texts = [e.value for e in with_model.events if e.trial_type == "message"]
    assert texts == ["SOS"]
    assert texts == [e.value for e in hand.events if e.trial_type == "message"]


@pytest.fixture(scope="module")
def real_rem(shared_data):
    """The real REM EOG (yasa, 600 s): E1 − E2 (V), its rate (Hz), and a model learned on its last 300 s."""
    from tests.conftest import real_file

    d = np.load(real_file(shared_data, "yasa/eog_rem_256Hz_first600s.npz"))
    x = np.asarray(d["data"], float) * 1e-6
    fs = float(d["sf"])
    h = x[0] - x[1]
    return h, fs, learn_eye_model([h[int(300 * fs) :]], fs, 800e-6, messages=300, seed=0)


def test_a_model_learned_on_real_rem_reads_other_real_rem_better(real_rem):
    """Learned on the last 300 s of real REM EOG, read on messages injected into the first 300 s:
    more blocks read as the sender's level than the hand-built levels do."""
    h, fs, learned = real_rem
    xs, ys = [], []
    rng = np.random.default_rng(7)
    for _ in range(4):
        bx, by = injected_blocks(h[: int(300 * fs)], fs, 800e-6, rng)
        xs += bx
        ys += by
    truth = np.concatenate(ys)
    by_model = np.concatenate([learned.probabilities(b).argmax(axis=1) for b in xs])
    by_hand = np.concatenate([level_class(b) for b in xs])
    assert truth.size > 5000
    assert np.mean(by_model == truth) > np.mean(by_hand == truth) + 0.01


@pytest.mark.parametrize(("seed", "spelled"), [(0, "WK"), (1, "MK")])
def test_a_dreamers_model_reads_a_word_natural_rems_spoiled(shared_data, real_rem, seed, spelled):
    # Real REM EOG (100-160 s) with an "OK" whose first dash natural REMs spoil: read with the
    # hand-built emission it spells a non-word; with the model learned on other minutes of this
    # sleeper's REM sleep (300-600 s) it reads "OK", without any lexicon.
    from tests.detect.test_eye_messages import real_rem_ok

    _, _, learned = real_rem
    data, fs, _ = real_rem_ok(shared_data, seed)
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), fs)

    def messages(model):
        res = detect_array(data, info, "E1", "E2", calibration=Calibration(800e-6), eye_code="morse",
                           rem_events=False, eye_model=model)
        return [e.value for e in res.events if e.trial_type == "message"]

    assert messages(None) == [spelled]
    assert messages(learned) == ["OK"]
