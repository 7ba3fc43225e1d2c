"""dreamlink's own offline staging model: a softmax regression distilled from YASA's classifier.

The model is a multinomial logistic (softmax) regression on the fast spectral features of
:mod:`dreamlink.staging.fastfeatures`, standardised. It is trained by *knowledge distillation*
(Hinton et al. 2015): the teacher is YASA's pretrained LightGBM (Vallat & Walker 2021) applied to
YASA's own feature set, and the student is fitted to the teacher's per-epoch probabilities (soft
targets, cross-entropy, L2 penalty) on *unlabelled* EEG: the real recordings in ``../shared/data``
(their expert labels are never used here) and simulated nights. Expert labels enter only through
the small per-stage calibration fitted on top (:mod:`dreamlink.staging.calibration`).

Prediction is one matrix product per recording, which with the spectral features makes the
offline engine more than ten times faster than YASA (``benchmarks/staging.py``).

Model files: ``dreamlink/models/student_<channels>_<version>.csv``, one row per feature (plus an
``intercept`` row) with the standardisation (``mean``, ``std``) and one weight column per stage.
Rebuilt by ``python -m dreamlink.staging.train``.

References
----------
Hinton G, Vinyals O, Dean J (2015). Distilling the knowledge in a neural network.
arXiv:1503.02531. doi:10.48550/arXiv.1503.02531
Vallat R, Walker MP (2021). An open-source, high-performance tool for automated sleep staging.
eLife 10:e70092. doi:10.7554/eLife.70092
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dreamlink.hypnogram import STAGES

#: Version of the shipped student models (in their file names).
STUDENT_VERSION = "0.2.0"
#: Default L2 penalty (on standardised features; per epoch of training data).
DEFAULT_L2 = 1e-3


@dataclass
class SoftmaxStudent:
    """Softmax regression ``p = softmax(((x - mean) / std) @ W + b)`` over :data:`STAGES`.

    Attributes
    ----------
    features : list of str
        Feature names, in column order.
    mean, std : numpy.ndarray
        Standardisation, shape ``(n_features,)``.
    weights : numpy.ndarray
        ``(n_features, 5)``.
    intercept : numpy.ndarray
        ``(5,)``.
    """

    features: list[str]
    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    intercept: np.ndarray

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Stage probabilities ``(n_epochs, 5)`` of a feature matrix ``(n_epochs, n_features)``."""
        z = ((np.asarray(X, dtype=np.float64) - self.mean) / self.std) @ self.weights + self.intercept
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def save(self, path: str | Path) -> Path:
        """Write as CSV: one row per feature and an ``intercept`` row."""
        path = Path(path)
        df = pd.DataFrame(self.weights, index=self.features, columns=[f"w_{s}" for s in STAGES])
        df.insert(0, "std", self.std)
        df.insert(0, "mean", self.mean)
        df.loc["intercept"] = [0.0, 1.0, *self.intercept]
        df.index.name = "feature"
        df.to_csv(path, float_format="%.8g")
        return path

    @classmethod
    def load(cls, path: str | Path) -> SoftmaxStudent:
        """Read a model written by :meth:`save`."""
        df = pd.read_csv(path, index_col=0)
        w = df[[f"w_{s}" for s in STAGES]]
        body = df.drop(index="intercept")
        return cls(
            list(body.index),
            body["mean"].to_numpy(np.float64),
            body["std"].to_numpy(np.float64),
            w.drop(index="intercept").to_numpy(np.float64),
            w.loc["intercept"].to_numpy(np.float64),
        )


def fit_student(
    X: np.ndarray,
    soft_targets: np.ndarray,
    features: Sequence[str],
    sample_weight: np.ndarray | None = None,
    l2: float = DEFAULT_L2,
) -> SoftmaxStudent:
    """Fit a :class:`SoftmaxStudent` to soft targets by minimising the weighted cross-entropy.

    Parameters
    ----------
    X : numpy.ndarray
        ``(n_epochs, n_features)`` features.
    soft_targets : numpy.ndarray
        ``(n_epochs, 5)`` teacher probabilities in :data:`STAGES` order.
    features : sequence of str
        Column names of ``X``.
    sample_weight : numpy.ndarray | None
        Weight of each epoch (default 1).
    l2 : float
        L2 penalty on the weights (not the intercepts).
    """
    from scipy.optimize import minimize

    X = np.asarray(X, dtype=np.float64)
    T = np.asarray(soft_targets, dtype=np.float64)
    T = T / T.sum(axis=1, keepdims=True)
    w = np.ones(len(X)) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    w = w / w.sum()
    mean = X.mean(axis=0)
    std = X.std(axis=0)
    std[std == 0] = 1.0
    Z = (X - mean) / std
    n_f, k = Z.shape[1], T.shape[1]
    Zb = np.hstack([Z, np.ones((len(Z), 1))])

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        W = theta.reshape(n_f + 1, k)
        s = Zb @ W
        s -= s.max(axis=1, keepdims=True)
        logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        val = -np.sum(w[:, None] * T * logp) + l2 * np.sum(W[:-1] ** 2)
        grad = Zb.T @ (w[:, None] * (np.exp(logp) - T))
        grad[:-1] += 2 * l2 * W[:-1]
        return float(val), grad.ravel()

    res = minimize(loss, np.zeros((n_f + 1) * k), jac=True, method="L-BFGS-B", options={"maxiter": 2000})
    W = res.x.reshape(n_f + 1, k)
    return SoftmaxStudent(list(features), mean, std, W[:-1], W[-1])


def combo_name(ch_types: Sequence[str]) -> str:
    """File stem part for a channel combination, e.g. ``eeg+eog``."""
    return "+".join(t for t in ("eeg", "eog", "emg") if t in ch_types)


def default_student_path(ch_types: Sequence[str]) -> Path:
    """``dreamlink/models/student_<channels>_<version>.csv``."""
    models = Path(__file__).resolve().parents[1] / "models"
    return models / f"student_{combo_name(ch_types)}_{STUDENT_VERSION}.csv"


@functools.lru_cache(maxsize=8)
def load_student(ch_types: tuple[str, ...]) -> SoftmaxStudent | None:
    """The shipped student for ``ch_types`` (loaded once per process), or ``None`` if absent."""
    path = default_student_path(ch_types)
    return SoftmaxStudent.load(path) if path.is_file() else None
