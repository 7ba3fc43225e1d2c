"""Epoch-by-epoch agreement between two hypnograms: accuracy, Cohen's κ, F1, confusion matrix.

Only epochs scored in both hypnograms (not ``?``) and present in both (same onsets) are compared.
The metrics are scikit-learn's; macro-F1 averages the per-stage F1 over the stages present in
either hypnogram (stages absent from both, e.g. REM in the DREAMS excerpts, are left out and
reported as NaN), as ``sklearn.metrics.f1_score(average="macro")`` does on the labels present.

References
----------
Cohen J (1960). A coefficient of agreement for nominal scales. Educ Psychol Meas 20(1):37-46.
doi:10.1177/001316446002000104
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dreamlink.hypnogram import STAGES, UNSCORED, Hypnogram


@dataclass
class AgreementResult:
    """Agreement of a predicted hypnogram with a reference.

    Attributes
    ----------
    accuracy : float
        Fraction of compared epochs with the same stage.
    kappa : float
        Cohen's κ.
    macro_f1 : float
        Mean per-stage F1 over the stages present in either hypnogram.
    f1 : dict of str to float
        F1 per stage (NaN for a stage absent from both).
    confusion : pandas.DataFrame
        Counts, rows = reference stage, columns = predicted stage (:data:`STAGES` order).
    n_epochs : int
        Number of compared epochs.
    epoch_sec : float
        Epoch length in seconds.
    """

    accuracy: float
    kappa: float
    macro_f1: float
    f1: dict[str, float]
    confusion: pd.DataFrame
    n_epochs: int
    epoch_sec: float = 30.0
    extra: dict = field(default_factory=dict)

    @property
    def minutes(self) -> float:
        """Minutes of compared data."""
        return self.n_epochs * self.epoch_sec / 60.0


def aligned_labels(reference: Hypnogram, predicted: Hypnogram) -> tuple[np.ndarray, np.ndarray]:
    """Labels of the epochs both hypnograms cover and score, matched by onset."""
    if not np.isclose(reference.epoch_sec, predicted.epoch_sec):
        raise ValueError(
            f"epoch lengths differ ({reference.epoch_sec} s vs {predicted.epoch_sec} s); "
            "resample one with Hypnogram.resample()"
        )
    ref_idx = np.round((reference.onsets - predicted.start) / predicted.epoch_sec).astype(int)
    ok = (ref_idx >= 0) & (ref_idx < predicted.n_epochs)
    ref = reference.stages[ok]
    pred = predicted.stages[ref_idx[ok]]
    scored = (ref != UNSCORED) & (pred != UNSCORED)
    return ref[scored], pred[scored]


def agreement(reference: Hypnogram, predicted: Hypnogram) -> AgreementResult:
    """Compare ``predicted`` with ``reference`` epoch by epoch.

    Parameters
    ----------
    reference : Hypnogram
        The expert (or other reference) hypnogram.
    predicted : Hypnogram
        The hypnogram to evaluate, on the same epoch length (any start; matched by onset).

    Returns
    -------
    AgreementResult
    """
    from sklearn.metrics import accuracy_score, cohen_kappa_score, confusion_matrix, f1_score

    ref, pred = aligned_labels(reference, predicted)
    labels = list(STAGES)
    conf = pd.DataFrame(
        confusion_matrix(ref, pred, labels=labels) if len(ref) else np.zeros((5, 5), int),
        index=pd.Index(labels, name="reference"),
        columns=pd.Index(labels, name="predicted"),
    )
    if len(ref) == 0:
        nan = float("nan")
        return AgreementResult(nan, nan, nan, dict.fromkeys(labels, nan), conf, 0, reference.epoch_sec)
    present = [s for s in labels if s in set(ref) | set(pred)]
    per = f1_score(ref, pred, labels=present, average=None, zero_division=0.0)
    f1 = dict.fromkeys(labels, float("nan"))
    f1.update({s: float(v) for s, v in zip(present, per, strict=True)})
    kappa = cohen_kappa_score(ref, pred) if len(set(ref) | set(pred)) > 1 else 1.0
    return AgreementResult(
        accuracy=float(accuracy_score(ref, pred)),
        kappa=float(kappa),
        macro_f1=float(np.mean(per)),
        f1=f1,
        confusion=conf,
        n_epochs=int(len(ref)),
        epoch_sec=float(reference.epoch_sec),
    )


def pooled_agreement(pairs: list[tuple[Hypnogram, Hypnogram]]) -> AgreementResult:
    """Agreement over several recordings pooled epoch by epoch (κ of the pooled epochs)."""
    refs, preds = [], []
    for reference, predicted in pairs:
        r, p = aligned_labels(reference, predicted)
        refs.append(r)
        preds.append(p)
    ref = np.concatenate(refs) if refs else np.array([], dtype="<U2")
    pred = np.concatenate(preds) if preds else np.array([], dtype="<U2")
    epoch = pairs[0][0].epoch_sec if pairs else 30.0
    return agreement(Hypnogram(ref, epoch), Hypnogram(pred, epoch))
