"""Would a learned emission read eye-Morse on real REM EOG better than the hand-built one?

The eye-Morse body reader (:func:`dreamlink.detect.eye_hsmm.best_path`) scores each block of the
gaze level against the code's levels (left / centre / right) by its capped squared distance
(:func:`~dreamlink.detect.eye_hsmm.level_costs`). Natural rapid eye movements of REM sleep that
reach about half a message's swing make most of its character errors (``benchmarks/signals.py``).
This benchmark asks whether a classifier that has *seen* natural REMs tells them from deliberate
looks better: a gradient-boosted tree classifier (scikit-learn's ``HistGradientBoostingClassifier``,
after Ke et al. 2017) takes a window of the blocked gaze level around each block (±0.75 s, plus
the sender's unit) and gives the probability that the sender is looking left, at centre or right;
the HSMM then scores each block by ``−α·log p`` of each level (a hybrid HMM, Bourlard & Morgan
1994), with the same durations, grammar and letter tree.

Training data: eye-Morse messages rendered as ``benchmarks/signals.py`` renders them (hold
0.3–1.2 s, gain 0.6–1.0, timing ±20 %) and injected into

* one half of the real REM EOG (yasa, 300 s each half) and read on the other half: a model of
  *this sleeper's* natural REMs, as a per-dreamer adaptation could learn from the night's earlier
  REM (the best case; the only real REM EOG with rapid eye movements in ``../shared/data``: the
  nap PSG's REM stretch has none that ``yasa.rem_detect`` finds, the DREAMS night excerpt no REM);
* the project's simulated REM EOG, with natural REM bursts added at a random density (2–10 bursts
  per 30 s of 1–7 saccades to 20–100 % of a gaze of 60–200 µV per electrode, each held
  0.1–0.8 s): a model that never saw real REMs, read on each real half.

Each message is read between its true frames with the sender's true hold and swing (the body
reader alone, as the last column of the benchmark's eye-Morse draws table), once with each
emission, on the same injections. Block accuracy: the share of blocks whose most likely level
(nearest level for the hand emission) is the sender's.

A second table runs the whole live decoder (``benchmarks/signals.py``'s REM eye-Morse passes: the
detector, the framing tests and the body reader) on each real half with the hand-built emission, the
learned one of the other half, and their average, in every HSMM reading. The framing tests do not
know the sender's unit, so that model is trained without it. Its thresholds (the closing test's
margins, :data:`~dreamlink.detect.eye_hsmm.LETTER_MAX_EXTRA`) were tuned to the hand-built costs.

References
----------
Bourlard H, Morgan N (1994). Connectionist Speech Recognition: A Hybrid Approach. Kluwer.
doi:10.1007/978-1-4615-3210-1
Ke G, Meng Q, Finley T, et al. (2017). LightGBM: a highly efficient gradient boosting decision
tree. Advances in Neural Information Processing Systems 30.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

# One thread per process: the rows run in parallel, and OpenMP threads of each process's classifier
# competing for the same cores slow the many small predictions of a reading tenfold.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import signals  # noqa: E402  (also puts the package's src on the path)
from dreamlink.detect import eye_hsmm  # noqa: E402
from dreamlink.detect.eye_reading import decode_eye_morse_path, morse_body_blocks  # noqa: E402
from dreamlink.hypnogram import Hypnogram  # noqa: E402
from dreamlink.link import eye_code  # noqa: E402
from dreamlink.sim.gestures import Gesture, gaze_to_eog, render_gaze  # noqa: E402
from dreamlink.sim.night import simulate_night  # noqa: E402

#: Blocks of :data:`~dreamlink.detect.eye_hsmm.STEP_SEC` each side of a block in its features (0.75 s).
WINDOW_BLOCKS = 12
#: Weight of −log p in the learned emission (0.1–0.33 read alike on development seeds).
ALPHA = 0.2
#: The hand-built emission (the decoder's own), kept while a learned one stands in for it.
HAND_COSTS = eye_hsmm.level_costs
#: The classifier's column (:func:`level_class`) of each of the code's levels (half-swing units).
LEVEL_COLUMNS = {-1.0: 0, 0.0: 1, 1.0: 2}
#: Probability floor of the learned emission.
P_FLOOR = 1e-3


@dataclass
class Body:
    """One injected message's body: the sender's truth and the causal gaze level between its frames."""

    answer: str
    hold: float  # s
    half_v: float  # V, the half swing reached on E1 − E2
    times: np.ndarray  # s
    levels: np.ndarray  # V
    true_x: np.ndarray  # the sender's gaze at ``times``, half-swing units (positive = left)


def real_halves() -> dict[str, signals.Background]:
    """The real REM EOG (yasa) cut into its first and second 300 s."""
    full = signals.load_backgrounds()[0]
    n = full.data.shape[1] // 2
    first, second = "real REM 0-300 s", "real REM 300-600 s"
    return {
        first: signals.Background(first, full.data[:, :n], full.sfreq, False, "REM"),
        second: signals.Background(second, full.data[:, n:], full.sfreq, False, "REM"),
    }


def simulated_rem(seed: int, minutes: float = 10.0, sfreq: float = 256.0) -> signals.Background:
    """Simulated REM EOG (E1, E2 in V) with natural REM bursts added at a random density."""
    rng = np.random.default_rng([seed, 7])
    stages = Hypnogram(np.array(["R"] * int(minutes * 2)))
    night = simulate_night(hours=None, seed=seed, sfreq=sfreq, hypnogram=stages)
    data = night.get_data()[[3, 4]].copy()
    total = data.shape[1] / sfreq
    rate = rng.uniform(2.0, 10.0)  # bursts per 30 s
    t = 0.0
    while True:
        t += rng.exponential(30.0 / rate)
        side = rng.choice([-1.0, 1.0])
        gestures = []
        for _ in range(int(rng.integers(1, 8))):
            side = -side if rng.random() < 0.75 else side
            gestures.append(Gesture(side * float(rng.uniform(0.2, 1.0)), float(rng.uniform(0.1, 0.8))))
        gestures.append(Gesture(0.0, 0.2))
        trace = render_gaze(gestures, sfreq)
        if t + trace.duration >= total - 1.0:
            break
        e1, e2 = gaze_to_eog(trace.gaze, float(rng.uniform(60e-6, 200e-6)))
        i0 = int(t * sfreq)
        data[0, i0 : i0 + e1.size] += e1
        data[1, i0 : i0 + e2.size] += e2
        t += trace.duration
    return signals.Background("simulated REM", data, sfreq, False, "REM")


def bodies(bg: signals.Background, seed: int) -> Iterator[Body]:
    """Eye-Morse messages injected into ``bg`` (the benchmark's passes), each body with its truth."""
    rng = np.random.default_rng(seed)
    for _ in range(signals.EYE_MORSE_PASSES):
        a_v = rng.uniform(150e-6, 250e-6)
        calib = signals.Calibration(4 * a_v * rng.uniform(0.9, 1.1))
        data, truths = signals.inject_eye(bg, "eye_morse", a_v, rng)
        injected = (data[0] - bg.data[0]) - (data[1] - bg.data[1])
        times, levels = signals.gaze_level(bg, data, calib)
        sample_times = np.arange(data.shape[1]) / bg.sfreq
        for tr in truths:
            inside = (times >= tr.body[0]) & (times <= tr.body[1])
            true_x = np.interp(times[inside], sample_times, injected) / tr.half_v
            yield Body(tr.answer, tr.hold, tr.half_v, times[inside], levels[inside], true_x)


def features(x: np.ndarray, unit: float) -> np.ndarray:
    """Per block: the blocked level ±:data:`WINDOW_BLOCKS`, the unit (s), and the window's steepest
    step and spread."""
    pad = np.pad(x, WINDOW_BLOCKS, mode="edge")
    window = np.lib.stride_tricks.sliding_window_view(pad, 2 * WINDOW_BLOCKS + 1)
    steps = np.abs(np.diff(window, axis=1))
    return np.column_stack([window, np.full(x.size, unit), steps.max(axis=1), window.std(axis=1)])


def level_class(x: np.ndarray) -> np.ndarray:
    """The nearest of the code's levels (half-swing units) as a class: 0 right, 1 centre, 2 left."""
    return np.where(x > 0.5, 2, np.where(x < -0.5, 0, 1))


def blocks_and_labels(body: Body) -> tuple[np.ndarray, np.ndarray] | None:
    """The body's blocked level (as the reader sees it) and the sender's level per block
    (:func:`level_class`)."""
    _, found = morse_body_blocks(body.times, body.levels, body.half_v, body.hold)
    if found is None:
        return None
    x, _, _ = eye_hsmm._blocks(found[1], body.times)
    truth, _, _ = eye_hsmm._blocks(body.true_x, body.times)
    return x, level_class(truth)


def train(backgrounds: list[signals.Background], seeds: list[int], with_unit: bool = True):
    """A left / centre / right classifier of blocks, from messages injected into ``backgrounds``
    (``with_unit=False``: without the unit among the features, which the live decoder's framing
    tests do not know)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    xs, ys = [], []
    for bg, seed in zip(backgrounds, seeds, strict=True):
        for body in bodies(bg, seed):
            found = blocks_and_labels(body)
            if found is not None:
                xs.append(features(found[0], eye_code.morse_unit(body.hold) if with_unit else 0.0))
                ys.append(found[1])
    model = HistGradientBoostingClassifier(max_iter=300, learning_rate=0.1, max_leaf_nodes=31, random_state=0)
    return model.fit(np.vstack(xs), np.concatenate(ys))


class LearnedEmission:
    """``level_costs`` from the classifier's probabilities, for one body at a time (its unit; 0 for a
    model trained without it), averaged with the hand-built costs at weight ``hand_share``."""

    def __init__(self, model, hand_share: float = 0.0, unit: float = 1.0) -> None:
        self.model = model
        self.unit = unit
        self.hand_share = hand_share
        self._cache: tuple[bytes, np.ndarray] | None = None

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        key = x.tobytes() + np.float64(self.unit).tobytes()
        if self._cache is None or self._cache[0] != key:
            self._cache = (key, self.model.predict_proba(features(x, self.unit)))
        return self._cache[1]

    def __call__(self, x: np.ndarray, levels: np.ndarray) -> np.ndarray:
        cost = -ALPHA * np.log(self.probabilities(x) + P_FLOOR)
        cost = np.minimum(cost - cost.min(axis=1, keepdims=True), eye_hsmm.EMISSION_CAP)
        hand = HAND_COSTS(x, levels)
        learned = hand.copy()  # a level the classifier has no class for keeps the hand-built cost
        for row, level in enumerate(levels):
            column = LEVEL_COLUMNS.get(round(float(level), 9))
            if column is not None:
                learned[row] = cost[:, column]
        return self.hand_share * hand + (1.0 - self.hand_share) * learned


@contextlib.contextmanager
def emission(costs) -> Iterator[None]:
    """Read with ``costs`` in place of the hand-built emission."""
    saved = eye_hsmm.level_costs
    if costs is not None:
        eye_hsmm.level_costs = costs
    try:
        yield
    finally:
        eye_hsmm.level_costs = saved


def read_row(train_on: str, test_on: str, train_seeds: list[int], test_seeds: list[int]) -> dict:
    """Train on ``train_on``, read bodies injected into ``test_on`` with both emissions."""
    halves = real_halves()
    t0 = time.time()
    if train_on == "simulated REM":
        model = train([simulated_rem(s) for s in train_seeds], train_seeds)
    else:
        model = train([halves[train_on]] * len(train_seeds), train_seeds)
    learned = LearnedEmission(model)
    hand_err = learned_err = chars = messages = 0
    hand_ok = learned_ok = n_blocks = 0
    for seed in test_seeds:
        for body in bodies(halves[test_on], seed):
            messages += 1
            chars += len(body.answer)
            learned.unit = eye_code.morse_unit(body.hold)
            found = blocks_and_labels(body)
            if found is not None:
                x, y = found
                hand_ok += int((level_class(x) == y).sum())
                learned_ok += int((learned.probabilities(x).argmax(axis=1) == y).sum())
                n_blocks += y.size
            for costs in (None, learned):
                with emission(costs):
                    read = decode_eye_morse_path(body.times, body.levels, body.half_v, body.hold,
                                                 spoiled_ok=True, timed_edges=True)
                err = signals.levenshtein(read.text if read.ok and read.text else "", body.answer)
                if costs is None:
                    hand_err += err
                else:
                    learned_err += err
    return {
        "train": train_on, "test": test_on, "messages": messages, "chars": chars,
        "block_hand": hand_ok / max(n_blocks, 1), "block_learned": learned_ok / max(n_blocks, 1),
        "hand_err": hand_err, "learned_err": learned_err, "seconds": time.time() - t0,
    }


def pipeline_row(train_on: str, test_on: str, train_seeds: list[int], test_seeds: list[int]) -> dict:
    """The whole live decoder (``benchmarks/signals.py``'s REM eye-Morse passes, on ``test_on``) with
    the hand-built emission, a learned one (trained on ``train_on`` without the unit) and their
    average, in every HSMM reading: framing tests and body alike."""
    halves = real_halves()
    t0 = time.time()
    model = train([halves[train_on]] * len(train_seeds), train_seeds, with_unit=False)
    out = {"train": train_on, "test": test_on}
    for name, costs in (("hand", None), ("learned", LearnedEmission(model, unit=0.0)),
                        ("average", LearnedEmission(model, hand_share=0.5, unit=0.0))):
        sc = signals.Score()
        with emission(costs):
            for seed in test_seeds:
                rng = np.random.default_rng(seed)
                for _ in range(signals.EYE_MORSE_PASSES):
                    signals.run_pass(halves[test_on], "eye_morse", rng, sc)
        lat = np.asarray(sc.latencies)
        out[name] = {
            "messages": sc.trials, "chars": sc.chars, "errors": sc.char_errors, "found": sc.detected,
            "late": int((lat > 0.5).sum()),
            "p99": float(np.percentile(lat, 99)) if lat.size else float("nan"),
        }
    out["seconds"] = time.time() - t0
    return out


def print_pipeline(results: list[dict]) -> None:
    print("\n## The whole live decoder on real REM EOG, cross-fitted: hand-built, learned and averaged "
          "emission\n")
    print("| trained on | read on | messages | emission | found | CER | later than 0.5 s | latency p99 (s) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for name in ("hand", "learned", "average"):
            m = r[name]
            print(f"| {r['train']} | {r['test']} | {m['messages']} | {name} | {m['found']} "
                  f"| {100 * m['errors'] / m['chars']:.1f}% ({m['errors']} of {m['chars']}) | {m['late']} "
                  f"| {m['p99']:.2f} |")
    for name in ("hand", "learned", "average"):
        errors = sum(r[name]["errors"] for r in results)
        chars = sum(r[name]["chars"] for r in results)
        late = sum(r[name]["late"] for r in results)
        print(f"- {name}: both halves CER {100 * errors / chars:.1f}% ({errors} of {chars}), "
              f"{late} later than 0.5 s")
    print("\nThe learned model here has no unit among its features (the framing tests do not know it); "
          "averaged: half the hand-built cost plus half the learned one.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train-seeds", type=int, default=40, help="seeds of 5 passes to train on (default 40)")
    ap.add_argument("--test-seeds", type=int, default=12, help="seeds of 5 passes to read (default 12)")
    ap.add_argument("--first-test-seed", type=int, default=101, help="first seed read (default 101)")
    ap.add_argument("--no-simulated", action="store_true", help="leave out the rows trained on the simulator")
    ap.add_argument("--no-pipeline", action="store_true", help="leave out the whole live decoder's table")
    ap.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    args = ap.parse_args()
    if not (signals.DATA / "yasa" / "eog_rem_256Hz_first600s.npz").exists():
        print(f"skipped: the real REM EOG is not in {signals.DATA} (see its README)")
        return
    first, second = "real REM 0-300 s", "real REM 300-600 s"
    train_seeds = list(range(300, 300 + args.train_seeds))
    test_seeds = list(range(args.first_test_seed, args.first_test_seed + args.test_seeds))
    rows = [(first, second), (second, first)]
    if not args.no_simulated:
        rows += [("simulated REM", first), ("simulated REM", second)]
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(read_row, a, b, train_seeds, test_seeds) for a, b in rows]
        if not args.no_pipeline:
            whole = [pool.submit(pipeline_row, a, b, train_seeds, test_seeds) for a, b in rows[:2]]
        results = [f.result() for f in futures]
    print("## Eye-Morse body reader on real REM EOG: hand-built emission against a learned one\n")
    print(f"Train: seeds {train_seeds[0]}-{train_seeds[-1]}; read: seeds {test_seeds[0]}-{test_seeds[-1]}; "
          f"{signals.EYE_MORSE_PASSES} passes each (true frames, hold and swing).\n")
    print("| trained on | read on | messages | characters | block accuracy: hand / learned "
          "| CER hand emission | CER learned emission | s |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['train']} | {r['test']} | {r['messages']} | {r['chars']} "
              f"| {100 * r['block_hand']:.1f}% / {100 * r['block_learned']:.1f}% "
              f"| {100 * r['hand_err'] / r['chars']:.1f}% ({r['hand_err']}) "
              f"| {100 * r['learned_err'] / r['chars']:.1f}% ({r['learned_err']}) | {r['seconds']:.0f} |")
    folds = [r for r in results if r["train"] != "simulated REM"]
    chars = sum(r["chars"] for r in folds)
    hand, learned = sum(r["hand_err"] for r in folds), sum(r["learned_err"] for r in folds)
    print(f"\nBoth real halves, each read with the model of the other (cross-fitted, {chars} characters): "
          f"CER hand {100 * hand / chars:.1f}% ({hand}), learned {100 * learned / chars:.1f}% ({learned}).")
    print("The real folds learn this sleeper's own natural REMs (the best case of adapting to a dreamer);"
          " the simulated rows, REMs that the simulator draws.")

    if not args.no_pipeline:
        print_pipeline([f.result() for f in whole])


if __name__ == "__main__":
    main()
