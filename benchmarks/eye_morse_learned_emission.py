"""Does a dreamer's learned eye model read eye-Morse on real REM EOG better than the hand-built emission?

The eye-Morse readers (:mod:`dreamlink.detect.eye_hsmm`) score each block of the gaze level against
the code's levels by its capped squared distance (:func:`~dreamlink.detect.eye_hsmm.level_costs`).
Natural rapid eye movements of REM sleep that reach about half a message's swing make most of its
character errors (``benchmarks/signals.py``). A dreamer's eye model
(:mod:`dreamlink.detect.eye_emission`, ``dreamlink detect --learn-eye-model``) learns their natural
REMs from their own REM EOG with eye-Morse messages of random letters injected into it, and the
readers then score blocks with it.

The only real REM EOG with rapid eye movements in ``../shared/data`` is YASA's 600 s (the nap PSG's
REM stretch has none that ``yasa.rem_detect`` finds, the DREAMS night excerpt no REM). It is cut in
halves of 300 s; each half is read with the model learned on the other (cross-fitted: a model of
this sleeper from other minutes of their REM sleep, as one learned from a night's earlier REM or
the night before would be). The messages read are those of ``benchmarks/signals.py``'s REM
eye-Morse passes (its word list, senders, timing), none of which the model saw: it learns from
random letters.

Two tables:

1. the body reader alone, between each message's true frames with the sender's true hold and
   swing (as the last column of the benchmark's eye-Morse draws table), with the hand-built
   emission, the model's (``hand share`` 0) and the decoder's default mix
   (:data:`~dreamlink.detect.eye_emission.HAND_SHARE`); block accuracy: the share of blocks whose
   likeliest level is the sender's;
2. the whole live decoder (detector, framing tests, body reader: ``signals.run_pass`` with the model,
   as ``dreamlink detect --eye-model``) with the same emissions.

References
----------
Bourlard H, Morgan N (1994). Connectionist Speech Recognition: A Hybrid Approach. Kluwer.
doi:10.1007/978-1-4615-3210-1
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

# One thread per process: the rows run in parallel, and BLAS threads of each process competing for
# the same cores slow the many small matrix products of a reading.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import signals  # noqa: E402  (also puts the package's src on the path)
from dreamlink.detect import eye_emission, eye_hsmm, pipeline  # noqa: E402
from dreamlink.detect.eye_reading import decode_eye_morse_path  # noqa: E402

#: Emissions compared, by name: share of the hand-built cost (1 = the hand-built emission alone).
SHARES = {"hand-built": 1.0, "learned": 0.0, "mixed (default)": eye_emission.HAND_SHARE}


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
    """The real REM EOG (yasa) cut into its first and second 300 s, by name."""
    return {half.name: half for half in signals.rem_halves(signals.load_backgrounds()[0])}


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


def blocks_and_labels(body: Body) -> tuple[np.ndarray, np.ndarray] | None:
    """The body's blocked level (as the reader sees it) and the sender's level class per block."""
    return eye_emission.labelled_blocks(body.times, body.levels, body.true_x, body.half_v, body.hold)


def emission_of(model: eye_emission.EyeModel, share: float) -> eye_hsmm.Emission | None:
    """The emission with ``share`` of the hand-built cost (``None`` for the hand-built one alone)."""
    return None if share >= 1.0 else eye_emission.LearnedEmission(model, hand_share=share)


@contextlib.contextmanager
def decoders_share(share: float) -> Iterator[None]:
    """Make the live pipeline's decoders read a given eye model with ``share`` of the hand-built cost."""
    made = pipeline.LearnedEmission
    pipeline.LearnedEmission = lambda model: made(model, hand_share=share)  # type: ignore[assignment]
    try:
        yield
    finally:
        pipeline.LearnedEmission = made  # type: ignore[assignment]


def learn(half: signals.Background, messages: int) -> eye_emission.EyeModel:
    """The eye model learned from one half (``signals.learn_half_model`` with ``messages``)."""
    h, swing = half.data[0] - half.data[1], signals.EYE_MODEL_SWING_V
    return eye_emission.learn_eye_model([h], half.sfreq, swing, messages, source=half.name)


def body_row(train_on: str, test_on: str, messages: int, test_seeds: list[int]) -> dict:
    """Learn on ``train_on``, read the bodies injected into ``test_on`` with each emission."""
    halves = real_halves()
    t0 = time.time()
    model = learn(halves[train_on], messages)
    learn_sec = time.time() - t0
    errors = dict.fromkeys(SHARES, 0)
    chars = messages_read = hand_ok = model_ok = n_blocks = 0
    for seed in test_seeds:
        for body in bodies(halves[test_on], seed):
            messages_read += 1
            chars += len(body.answer)
            found = blocks_and_labels(body)
            if found is not None:
                x, y = found
                hand_ok += int((eye_emission.level_class(x) == y).sum())
                model_ok += int((model.probabilities(x).argmax(axis=1) == y).sum())
                n_blocks += y.size
            for name, share in SHARES.items():
                with eye_hsmm.reading_with(emission_of(model, share)):
                    read = decode_eye_morse_path(
                        body.times, body.levels, body.half_v, body.hold, spoiled_ok=True, timed_edges=True
                    )
                errors[name] += signals.levenshtein(read.text if read.ok and read.text else "", body.answer)
    return {
        "train": train_on, "test": test_on, "messages": messages_read, "chars": chars, "errors": errors,
        "block_hand": hand_ok / max(n_blocks, 1), "block_model": model_ok / max(n_blocks, 1),
        "held_out": model.meta["held_out_accuracy"], "learn_sec": learn_sec, "seconds": time.time() - t0,
    }


def pipeline_row(train_on: str, test_on: str, messages: int, test_seeds: list[int]) -> dict:
    """The whole live decoder (``signals.run_pass`` on ``test_on``) with each emission."""
    halves = real_halves()
    t0 = time.time()
    model = learn(halves[train_on], messages)
    out: dict = {"train": train_on, "test": test_on}
    for name, share in SHARES.items():
        sc = signals.Score()
        with decoders_share(share):
            for seed in test_seeds:
                rng = np.random.default_rng(seed)
                for _ in range(signals.EYE_MORSE_PASSES):
                    signals.run_pass(
                        halves[test_on], "eye_morse", rng, sc, eye_model=None if share >= 1 else model
                    )
        lat = np.asarray(sc.latencies)
        out[name] = {
            "messages": sc.trials, "chars": sc.chars, "errors": sc.char_errors, "found": sc.detected,
            "late": int((lat > 0.5).sum()), "false": sc.false_in_injected,
            "p99": float(np.percentile(lat, 99)) if lat.size else float("nan"),
        }
    out["seconds"] = time.time() - t0
    return out


def print_bodies(results: list[dict], test_seeds: list[int]) -> None:
    print("## Eye-Morse body reader on real REM EOG, cross-fitted halves: hand-built emission and the "
          "dreamer's eye model\n")
    print(f"Read: seeds {test_seeds[0]}-{test_seeds[-1]}, {signals.EYE_MORSE_PASSES} passes each "
          "(true frames, hold and swing); CER per emission (character errors).\n")
    names = list(SHARES)
    print("| learned on | read on | messages | characters | model: held-out blocks | block accuracy: hand / "
          "model | " + " | ".join(f"CER {n}" for n in names) + " | learn s | s |")
    print("|---|---|---|---|---|---|" + "---|" * len(names) + "---|---|")
    for r in results:
        cells = " | ".join(f"{100 * r['errors'][n] / r['chars']:.1f}% ({r['errors'][n]})" for n in names)
        print(f"| {r['train']} | {r['test']} | {r['messages']} | {r['chars']} | {100 * r['held_out']:.1f}% "
              f"| {100 * r['block_hand']:.1f}% / {100 * r['block_model']:.1f}% | {cells} "
              f"| {r['learn_sec']:.0f} | {r['seconds']:.0f} |")
    chars = sum(r["chars"] for r in results)
    totals = {n: sum(r["errors"][n] for r in results) for n in names}
    both = ", ".join(f"{n} {100 * totals[n] / chars:.1f}% ({totals[n]})" for n in names)
    print(f"\nBoth halves ({chars} characters): {both}.")


def print_pipeline(results: list[dict]) -> None:
    print("\n## The whole live decoder on real REM EOG, cross-fitted halves: hand-built emission and the "
          "dreamer's eye model\n")
    print("| learned on | read on | messages | emission | found | CER | false messages | later than 0.5 s "
          "| latency p99 (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        for name in SHARES:
            m = r[name]
            print(f"| {r['train']} | {r['test']} | {m['messages']} | {name} | {m['found']} "
                  f"| {100 * m['errors'] / m['chars']:.1f}% ({m['errors']} of {m['chars']}) | {m['false']} "
                  f"| {m['late']} "
                  f"| {m['p99']:.2f} |")
    for name in SHARES:
        errors = sum(r[name]["errors"] for r in results)
        chars = sum(r[name]["chars"] for r in results)
        late = sum(r[name]["late"] for r in results)
        print(f"- {name}: both halves CER {100 * errors / chars:.1f}% ({errors} of {chars}), "
              f"{late} later than 0.5 s")
    print(f"\nMixed: {eye_emission.HAND_SHARE:g} of the hand-built cost plus the rest of the model's, as "
          "`dreamlink detect --eye-model` reads.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = eye_emission.DEFAULT_MESSAGES
    ap.add_argument("--messages", type=int, default=default,
                    help=f"messages injected to learn each model from (default {default})")
    ap.add_argument("--test-seeds", type=int, default=12, help="seeds of 5 passes to read (default 12)")
    ap.add_argument("--first-test-seed", type=int, default=101, help="first seed read (default 101)")
    ap.add_argument("--no-pipeline", action="store_true", help="leave out the whole live decoder's table")
    ap.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    args = ap.parse_args()
    if not (signals.DATA / "yasa" / "eog_rem_256Hz_first600s.npz").exists():
        print(f"skipped: the real REM EOG is not in {signals.DATA} (see its README)")
        return
    test_seeds = list(range(args.first_test_seed, args.first_test_seed + args.test_seeds))
    first, second = real_halves()
    rows = [(first, second), (second, first)]
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [pool.submit(body_row, a, b, args.messages, test_seeds) for a, b in rows]
        if not args.no_pipeline:
            whole = [pool.submit(pipeline_row, a, b, args.messages, test_seeds) for a, b in rows]
        print_bodies([f.result() for f in futures], test_seeds)
        if not args.no_pipeline:
            print_pipeline([f.result() for f in whole])


if __name__ == "__main__":
    main()
