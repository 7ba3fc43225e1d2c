"""Stage-sequence smoothing with a hidden Markov model over 30-s epochs.

The classifier's per-epoch probabilities are treated as emission likelihoods and combined with a
stage-transition matrix learnt from real expert hypnograms that are *not* among the labelled
recordings used for evaluation (DREAMS REMs annotations, YASA's example hypnograms, Sleep-EDF
SC4001). Offline: forward–backward (full smoothing). Causal: the forward filter (provisional) and
fixed-lag smoothing over the settle delay (settled).

References
----------
Rabiner LR (1989). A tutorial on hidden Markov models and selected applications in speech
recognition. Proc IEEE 77(2):257-286. doi:10.1109/5.18626
Kemp B, Kamphuisen HA (1986). Simulation of human hypnograms using a Markov chain model.
Sleep 9(3):405-414. doi:10.1093/sleep/9.3.405
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from dreamlink.hypnogram import STAGES, Hypnogram

#: Version of the shipped transition matrix (in its file name).
TRANSITIONS_VERSION = "0.1.0"


def default_transitions_path() -> Path:
    """``dreamlink/models/stage_transitions_<version>.csv``."""
    return Path(__file__).resolve().parents[1] / "models" / f"stage_transitions_{TRANSITIONS_VERSION}.csv"


def fit_transitions(hypnograms: Sequence[Hypnogram], pseudo_count: float = 1.0) -> pd.DataFrame:
    """Row-stochastic 5×5 transition matrix (from-stage rows, to-stage columns) of 30-s hypnograms.

    Transitions touching an unscored epoch are skipped; ``pseudo_count`` is added to every cell.
    """
    counts = np.full((5, 5), float(pseudo_count))
    idx = {s: i for i, s in enumerate(STAGES)}
    for hyp in hypnograms:
        st = hyp.stages
        for a, b in zip(st[:-1], st[1:], strict=True):
            if a in idx and b in idx:
                counts[idx[a], idx[b]] += 1
    mat = counts / counts.sum(axis=1, keepdims=True)
    return pd.DataFrame(mat, index=pd.Index(STAGES, name="from"), columns=list(STAGES))


@functools.lru_cache(maxsize=2)
def _load(path: str) -> np.ndarray | None:
    p = Path(path)
    if not p.is_file():
        return None
    mat = pd.read_csv(p, index_col=0)[list(STAGES)].to_numpy(np.float64)
    return mat / mat.sum(axis=1, keepdims=True)  # exact row sums after the CSV's rounding


def load_transitions() -> np.ndarray | None:
    """The shipped transition matrix, or ``None`` if it is absent (no smoothing)."""
    return _load(str(default_transitions_path()))


def _norm(v: np.ndarray) -> np.ndarray:
    s = v.sum(axis=-1, keepdims=True)
    return v / np.where(s > 0, s, 1.0)


def forward_step(prev: np.ndarray | None, emission: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """One forward-filter step: ``alpha_t ∝ emission_t · (Aᵀ alpha_{t-1})`` (uniform start)."""
    pred = np.full(5, 0.2) if prev is None else prev @ trans
    return _norm(pred * np.clip(emission, 1e-6, None))


def backward_message(emissions: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Backward message for the epoch before ``emissions`` (the lookahead epochs, in order)."""
    beta = np.ones(5)
    for em in emissions[::-1]:
        beta = _norm(trans @ (np.clip(em, 1e-6, None) * beta))
    return beta


def forward_backward(proba: np.ndarray, trans: np.ndarray) -> np.ndarray:
    """Smoothed posteriors ``(n_epochs, 5)`` of a whole hypnodensity (offline)."""
    n = proba.shape[0]
    alpha = np.empty_like(proba, dtype=np.float64)
    prev = None
    for t in range(n):
        prev = alpha[t] = forward_step(prev, proba[t], trans)
    post = np.empty_like(alpha)
    beta = np.ones(5)
    for t in range(n - 1, -1, -1):
        post[t] = _norm(alpha[t] * beta)
        beta = _norm(trans @ (np.clip(proba[t], 1e-6, None) * beta))
    return post
