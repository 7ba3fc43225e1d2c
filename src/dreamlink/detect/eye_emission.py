"""A dreamer's own eye model: the HSMM's emission learned from their natural REMs.

The eye-message readers (:mod:`dreamlink.detect.eye_hsmm`) score each block of the gaze level
against the code's levels (left, centre, right) by its capped squared distance
(:func:`~dreamlink.detect.eye_hsmm.level_costs`). Natural rapid eye movements of REM sleep that
reach about half a message's swing make most of the character errors of eye-Morse on real REM EOG.
How a sleeper's natural REMs look (how large, how often, how long they stay) differs from one
person to the next, and a night's earlier REM sleep shows them. This module learns them:

1. eye-Morse messages of random letters are rendered as a sender keys them (hold 0.3–1.2 s,
   ±20 % timing, 60–100 % of the calibrated swing; :mod:`dreamlink.sim.gestures`) and added to the
   dreamer's own REM EOG at random times, many times over;
2. the live detector (:class:`~dreamlink.detect.eye_sweeps.EyeSignalDetector`) gives the causal gaze
   level, blocked and scaled as the readers see it
   (:func:`~dreamlink.detect.eye_reading.morse_body_blocks`);
3. a small neural network (two hidden layers; scikit-learn's ``MLPClassifier``) learns, from a window
   of ±0.75 s of blocks around each block, whether the sender was looking left, at centre or right;
4. while reading, each block costs ``α·(−log p)`` of each level (a hybrid HMM: Bourlard & Morgan
   1994), averaged with the hand-built cost (:data:`HAND_SHARE`), inside the same grammar, durations
   and letter tree.

The network is kept as plain arrays (``.npz``, no pickle: a model file cannot run code) and is
evaluated with numpy. On the real REM EOG of ``../shared/data`` (two halves of 300 s, each read with
the model learned on the other) ``benchmarks/eye_morse_learned_emission.py`` measures what it gains.

References
----------
Bourlard H, Morgan N (1994). Connectionist Speech Recognition: A Hybrid Approach. Kluwer.
doi:10.1007/978-1-4615-3210-1
Rabiner LR (1989). A tutorial on hidden Markov models and selected applications in speech
recognition. Proc IEEE 77(2):257-286. doi:10.1109/5.18626
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamlink.detect import eye_hsmm
from dreamlink.detect.calibration import check_signal
from dreamlink.detect.eye_reading import morse_body_blocks
from dreamlink.detect.eye_sweeps import EyeSignalDetector
from dreamlink.errors import DreamlinkError
from dreamlink.link import eye_code
from dreamlink.sim.gestures import gaze_to_eog, render_gaze

#: Blocks of :data:`~dreamlink.detect.eye_hsmm.STEP_SEC` each side of a block in its features (0.75 s).
WINDOW_BLOCKS = 12
#: Weight of −log p in the learned cost (0.1–0.33 read alike on development seeds).
ALPHA = 0.2
#: Probability floor of the learned cost.
P_FLOOR = 1e-3
#: Share of the hand-built cost in the emission used to read (the rest is learned). The decoder's
#: thresholds (closing-test margins, letter costs) were tuned to hand-built costs; half of each read
#: the real REM halves best as a whole decoder (``benchmarks/eye_morse_learned_emission.py``).
HAND_SHARE = 0.5
#: The code's levels (half-swing units, positive = left) in the network's class order.
LEVELS = (-1.0, 0.0, 1.0)
#: Hidden units of the network's layers. On the real REM halves (body reader alone, seeds 101–112 of
#: ``benchmarks/eye_morse_learned_emission.py``, 1646 characters, hand-built emission 50 errors) one
#: layer of 32 read with 37 errors, two of 64 with 21 (a gradient-boosted tree classifier: 31).
HIDDEN_UNITS = (64, 64)
#: Messages injected to learn from, by default (about 500 000 blocks).
DEFAULT_MESSAGES = 2000
#: Most passes over the stretches (each injects new messages at new times).
MAX_PASSES = 2000
#: Shortest stretch of REM EOG (s) to learn from: a stretch must hold a message with room around it.
MIN_STRETCH_SEC = 60.0
#: Format version of a model file.
FORMAT_VERSION = 1
#: Range of a message's hold (s), gain (share of the calibrated swing) and its timing jitter.
HOLD_RANGE_SEC = (0.3, 1.2)
GAIN_RANGE = (0.6, 1.0)
TIMING_JITTER = 0.2


class EyeModelError(DreamlinkError):
    """An eye model cannot be learned or read; the message says why and what to do."""


def block_features(x: np.ndarray) -> np.ndarray:
    """Per block of a gaze trace (half-swing units): the blocks ±:data:`WINDOW_BLOCKS` around it
    (edges repeated), the window's steepest step and its spread. Shape ``(n, 2·W + 3)``."""
    x = np.asarray(x, dtype=np.float64)
    pad = np.pad(x, WINDOW_BLOCKS, mode="edge")
    window = np.lib.stride_tricks.sliding_window_view(pad, 2 * WINDOW_BLOCKS + 1)
    steps = np.abs(np.diff(window, axis=1))
    return np.column_stack([window, steps.max(axis=1), window.std(axis=1)])


def level_class(x: np.ndarray) -> np.ndarray:
    """The index in :data:`LEVELS` of the nearest of the code's levels (half-swing units)."""
    return np.where(x > 0.5, 2, np.where(x < -0.5, 0, 1))


@dataclass
class EyeModel:
    """A learned left / centre / right classifier of gaze blocks: a network with ReLU hidden layers
    and a softmax output, after standardising the features.

    Parameters
    ----------
    mean, scale : numpy.ndarray
        Feature standardisation.
    weights, biases : list of numpy.ndarray
        The layers, input to output.
    meta : dict
        What it was learned from (swing in V, seconds of REM EOG, messages, blocks, accuracy on
        held-out blocks against the hand-built levels, creation time).
    """

    mean: np.ndarray
    scale: np.ndarray
    weights: list[np.ndarray]
    biases: list[np.ndarray]
    meta: dict = field(default_factory=dict)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """``(n, 3)`` probability of each of :data:`LEVELS` for each block of ``x`` (half swings)."""
        a = (block_features(x) - self.mean) / self.scale
        for w, b in zip(self.weights[:-1], self.biases[:-1], strict=True):
            a = np.maximum(a @ w + b, 0.0)
        z = a @ self.weights[-1] + self.biases[-1]
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def save(self, path: str | Path) -> Path:
        """Write the model as ``.npz`` (arrays and a JSON header; no pickle)."""
        path = Path(path)
        arrays = {"mean": self.mean, "scale": self.scale}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"w{i}"], arrays[f"b{i}"] = w, b
        header = {
            "format": "dreamlink-eye-model",
            "version": FORMAT_VERSION,
            "layers": len(self.weights),
            **self.meta,
        }
        with path.open("wb") as fh:
            np.savez(fh, header=np.array(json.dumps(header)), **arrays)
        return path


def load_eye_model(path: str | Path) -> EyeModel:
    """Read a model written by :meth:`EyeModel.save` (raises :class:`EyeModelError` with a fix)."""
    path = Path(path)
    fix = (
        "learn one with `dreamlink detect REM.edf --eog CH --calibration cal.json --learn-eye-model "
        "--out eye.npz`"
    )
    if not path.is_file():
        raise EyeModelError(f"eye model {path} not found; {fix}")
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            if header.get("format") != "dreamlink-eye-model":
                raise EyeModelError(f"{path.name} is not a dreamlink eye model; {fix}")
            if header.get("version") != FORMAT_VERSION:
                raise EyeModelError(
                    f"{path.name} is an eye model of format {header.get('version')}, this dreamlink reads "
                    f"{FORMAT_VERSION}; {fix}"
                )
            n = int(header["layers"])
            weights = [np.asarray(z[f"w{i}"], dtype=np.float64) for i in range(n)]
            biases = [np.asarray(z[f"b{i}"], dtype=np.float64) for i in range(n)]
            mean, scale = np.asarray(z["mean"], dtype=np.float64), np.asarray(z["scale"], dtype=np.float64)
    except EyeModelError:
        raise
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as err:
        raise EyeModelError(f"{path.name} is not a readable eye model ({err}); {fix}") from None
    n_features = 2 * WINDOW_BLOCKS + 3
    shapes_ok = (
        mean.shape == scale.shape == (n_features,)
        and weights
        and weights[0].shape[0] == n_features
        and weights[-1].shape[1] == len(LEVELS)
        and all(w.shape[1] == b.shape[0] for w, b in zip(weights, biases, strict=True))
        and all(a.shape[1] == b.shape[0] for a, b in zip(weights[:-1], weights[1:], strict=True))
    )
    if not shapes_ok:
        raise EyeModelError(f"{path.name}: the layers' shapes do not fit together; {fix}")
    meta = {k: v for k, v in header.items() if k not in ("format", "version", "layers")}
    return EyeModel(mean, scale, weights, biases, meta)


class LearnedEmission:
    """The readers' emission (:data:`~dreamlink.detect.eye_hsmm.Emission`) from an :class:`EyeModel`.

    A block costs ``hand_share`` of the hand-built cost plus the rest of ``α·(−log p)`` of the level
    (shifted so that its likeliest level costs 0, and capped as the hand-built cost is). A level the
    code uses that is none of :data:`LEVELS` keeps the hand-built cost.
    """

    def __init__(self, model: EyeModel, hand_share: float = HAND_SHARE) -> None:
        self.model = model
        self.hand_share = float(hand_share)
        self._cache: tuple[bytes, np.ndarray] | None = None

    def __call__(self, x: np.ndarray, levels: np.ndarray) -> np.ndarray:
        key = np.asarray(x, dtype=np.float64).tobytes()
        if self._cache is None or self._cache[0] != key:  # a reading tries several units on one trace
            cost = -ALPHA * np.log(self.model.probabilities(x) + P_FLOOR)
            cost = np.minimum(cost - cost.min(axis=1, keepdims=True), eye_hsmm.EMISSION_CAP)
            self._cache = (key, cost)
        cost = self._cache[1]
        hand = eye_hsmm.level_costs(x, levels)
        learned = hand.copy()
        for row, level in enumerate(np.asarray(levels, dtype=np.float64)):
            for column, known in enumerate(LEVELS):
                if abs(level - known) < 1e-9:
                    learned[row] = cost[:, column]
        return self.hand_share * hand + (1.0 - self.hand_share) * learned


def random_text(rng: np.random.Generator) -> str:
    """A word of 1–3 random letters, one time in five two of them: what a sender might key, without
    teaching the model any vocabulary."""
    letters = list("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    words = [
        "".join(rng.choice(letters, size=int(rng.integers(1, 4)))) for _ in range(1 + (rng.random() < 0.2))
    ]
    return " ".join(words)


def injected_blocks(
    h: np.ndarray, sfreq: float, swing: float, rng: np.random.Generator, spacing_sec: float = 12.0
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Eye-Morse messages added to one stretch of REM EOG ``h`` (V, E1 − E2), read by the live
    detector: per message body, the blocked gaze trace as the readers see it (half swings) and the
    sender's level per block (:func:`level_class`)."""
    data = np.array(h, dtype=np.float64)
    truth = np.zeros_like(data)
    bodies: list[tuple[float, float, float, float]] = []  # start, end (s), half swing (V), hold (s)
    total = data.size / sfreq
    t = rng.uniform(5.0, 10.0)
    while True:
        hold, gain = rng.uniform(*HOLD_RANGE_SEC), rng.uniform(*GAIN_RANGE)
        trace = render_gaze(
            eye_code.eye_morse(random_text(rng), hold), sfreq, rng=rng, jitter=TIMING_JITTER, gain=gain
        )
        if t + trace.duration + 5.0 > total:
            break
        amplitude = 0.25 * swing * rng.uniform(0.9, 1.1)  # per electrode: E1 − E2 swings 4 × it
        e1, e2 = gaze_to_eog(trace.gaze, amplitude)
        i0 = int(round(t * sfreq))
        data[i0 : i0 + e1.size] += e1 - e2
        truth[i0 : i0 + e1.size] = (e1 - e2) / (2.0 * amplitude * gain)
        sw = trace.sweeps
        # The body: after the opening frame's return to centre, up to the closing frame's first sweep.
        bodies.append(
            (t + sw[3].onset + sw[3].duration + 0.3, t + sw[-5].onset, 2.0 * amplitude * gain, hold)
        )
        t += trace.duration + spacing_sec * rng.uniform(1.0, 1.5)
    if not bodies:
        return [], []
    detector = EyeSignalDetector(sfreq, swing, level_keep_sec=total + 1.0)
    step = max(1, int(sfreq))
    for i in range(0, data.size, step):
        detector.update(data[i : i + step])
    times, levels = detector.level_trace(0.0, np.inf)
    sample_times = np.arange(data.size) / sfreq
    xs, ys = [], []
    for start, end, half, hold in bodies:
        inside = (times >= start) & (times <= end)
        sender = np.interp(times[inside], sample_times, truth)
        found = labelled_blocks(times[inside], levels[inside], sender, half, hold)
        if found is not None:
            xs.append(found[0])
            ys.append(found[1])
    return xs, ys


def labelled_blocks(
    times: np.ndarray, levels: np.ndarray, sender: np.ndarray, half: float, hold: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """A message body's gaze level as the readers see it (blocked, centred, in half swings;
    :func:`~dreamlink.detect.eye_reading.morse_body_blocks`) and the sender's level class per block
    (:func:`level_class`), from the level (V) and the sender's gaze (half swings) at ``times`` (s),
    the half swing (V) and the hold (s); ``None`` when the readers would find no trace."""
    _, found = morse_body_blocks(times, levels, half, hold)
    if found is None:
        return None
    x, _, _ = eye_hsmm._blocks(found[1], times)
    truth, _, _ = eye_hsmm._blocks(sender, times)
    return x, level_class(truth)


def learn_eye_model(
    stretches: Sequence[np.ndarray],
    sfreq: float,
    swing: float,
    messages: int = DEFAULT_MESSAGES,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
    source: str = "",
) -> EyeModel:
    """Learn a dreamer's eye model from stretches of their REM-sleep EOG.

    Parameters
    ----------
    stretches : sequence of numpy.ndarray
        The horizontal derivation (E1 − E2, V) of stretches of REM sleep, each at least
        :data:`MIN_STRETCH_SEC` long; shorter ones are left out.
    sfreq : float
        Sampling rate (Hz).
    swing : float
        The dreamer's calibrated full left-right swing (V).
    messages : int
        How many messages to inject (over as many passes over the stretches as it takes, at most
        :data:`MAX_PASSES`).
    seed : int
        Random seed of the injections and the network.
    progress : callable, optional
        ``progress(done, total)`` after each pass (``total``: the passes it will take, estimated).
    source : str
        Where the stretches come from, kept in the model's ``meta``.

    Raises
    ------
    EyeModelError
        No stretch long enough, a flat or clipped stretch, or no message readable in them.
    """
    from sklearn.neural_network import MLPClassifier
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    if not swing > 0:
        raise EyeModelError("the calibrated swing must be positive; give the dreamer's calibration")
    long_enough = [np.asarray(s, dtype=np.float64) for s in stretches if len(s) >= MIN_STRETCH_SEC * sfreq]
    if not long_enough:
        longest = max((len(s) / sfreq for s in stretches), default=0.0)
        raise EyeModelError(
            f"no stretch of REM sleep of at least {MIN_STRETCH_SEC:.0f} s to learn from (the longest is "
            f"{longest:.0f} s); give a recording with REM sleep and its hypnogram"
        )
    for s in long_enough:
        check_signal(s, sfreq, "REM EOG")
    seconds = sum(s.size for s in long_enough) / sfreq
    rng = np.random.default_rng(seed)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    passes = 0
    while len(xs) < messages and passes < MAX_PASSES:
        for s in long_enough:
            bx, by = injected_blocks(s, sfreq, swing, rng)
            xs += bx
            ys += by
        passes += 1
        if progress is not None:  # the passes it will take at this pass's yield
            progress(passes, max(passes, int(np.ceil(messages * passes / max(len(xs), 1)))))
    if len(xs) < 10:
        raise EyeModelError(
            f"only {len(xs)} injected messages could be read in {seconds:.0f} s of REM EOG; check the "
            "calibration's swing and that the stretches are REM sleep"
        )
    held = np.arange(len(xs)) % 10 == 0  # every tenth message is held out to report the accuracy
    train_x = np.vstack([block_features(x) for x, h in zip(xs, held, strict=True) if not h])
    train_y = np.concatenate([y for y, h in zip(ys, held, strict=True) if not h])
    scaler = StandardScaler().fit(train_x)
    net = MLPClassifier(HIDDEN_UNITS, max_iter=200, early_stopping=True, random_state=seed)
    with threadpool_limits(1):  # small matrix products: threads only compete (tenfold slower when busy)
        net.fit(scaler.transform(train_x), train_y)
    if list(net.classes_) != list(range(len(LEVELS))):
        raise EyeModelError("the injected messages did not show every level; learn from more REM EOG")
    model = EyeModel(
        scaler.mean_.copy(),
        scaler.scale_.copy(),
        [w.copy() for w in net.coefs_],
        [b.copy() for b in net.intercepts_],
    )
    test_x = [x for x, h in zip(xs, held, strict=True) if h]
    test_y = np.concatenate([y for y, h in zip(ys, held, strict=True) if h])
    learned = np.concatenate([model.probabilities(x).argmax(axis=1) for x in test_x])
    hand = np.concatenate([level_class(x) for x in test_x])
    model.meta = {
        "swing_v": float(swing),
        "sfreq": float(sfreq),
        "rem_seconds": round(seconds, 1),
        "messages": len(xs),
        "blocks": int(train_y.size),
        "held_out_accuracy": round(float(np.mean(learned == test_y)), 4),
        "held_out_accuracy_hand": round(float(np.mean(hand == test_y)), 4),
        "source": source,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    return model
