"""Stage-probability calibration: per-stage log-prior shifts among W/N1/N2/N3 (REM untouched).

Used by dreamlink's offline engine and by the causal stager (one set of biases per mode: offline,
settled, provisional). The causal stager feeds running-normalised features to YASA's pretrained
classifier; the running normalisation shifts the classifier's balance between stages (too much W
and N1, too little N2 on the real recordings here); offline, a smaller shift remains.
A *prior-shift* calibration corrects that with four numbers: for each of
W, N1, N2, N3 a bias added to the log-probability, renormalised among those four, while the REM
probability is left exactly as the classifier gave it. REM is excluded on purpose: the real labelled
data holds REM in one recording only, and the DREAMS excerpts hold none, so a fitted REM bias would
learn "REM never happens" (the trap noted in issue 3).

The biases maximise the L2-penalised log-likelihood of the expert stages (epochs that the expert
scored W/N1/N2/N3 and the classifier did not call REM). They are fitted by
``python -m dreamlink.staging.train`` and shipped as ``calibration_<mode>_<version>.csv``; the
benchmark refits them leave-one-recording-out.

References
----------
Saerens M, Latinne P, Decaestecker C (2002). Adjusting the outputs of a classifier to new a priori
probabilities: a simple procedure. Neural Comput 14(1):21-41. doi:10.1162/089976602753284446
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dreamlink.hypnogram import STAGES

#: Version of the shipped calibration files.
CALIBRATION_VERSION = "0.1.0"
#: Stages whose bias is fitted (REM is left untouched).
CALIBRATED = ("W", "N1", "N2", "N3")
#: L2 penalty on the biases (chosen among 0, 0.01, 0.1 on the real data; see the report).
DEFAULT_PENALTY = 0.01


@dataclass
class StageCalibration:
    """Four log-probability biases (W, N1, N2, N3); REM untouched.

    Attributes
    ----------
    bias : numpy.ndarray
        Shape ``(4,)``, natural-log units.
    n_epochs : int
        Epochs it was fitted on.
    """

    bias: np.ndarray
    n_epochs: int = 0

    def apply(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities, same shape as ``proba`` (``(..., 5)`` in :data:`STAGES` order)."""
        p = np.asarray(proba, dtype=np.float64)
        q = np.log(np.clip(p[..., :4], 1e-9, None)) + self.bias
        q = np.exp(q - q.max(axis=-1, keepdims=True))
        q /= q.sum(axis=-1, keepdims=True)
        return np.concatenate([q * (1.0 - p[..., 4:5]), p[..., 4:5]], axis=-1)

    def save(self, path: str | Path) -> Path:
        """Write as a one-row CSV."""
        path = Path(path)
        df = pd.DataFrame([self.bias], columns=[f"bias_{s}" for s in CALIBRATED])
        df["n_epochs"] = self.n_epochs
        df.to_csv(path, index=False, float_format="%.6f")
        return path

    @classmethod
    def load(cls, path: str | Path) -> StageCalibration:
        """Read a calibration written by :meth:`save`."""
        df = pd.read_csv(path)
        return cls(df[[f"bias_{s}" for s in CALIBRATED]].to_numpy(np.float64)[0], int(df["n_epochs"].iloc[0]))


def fit_calibration(
    probas: Sequence[np.ndarray], references: Sequence[np.ndarray], penalty: float = DEFAULT_PENALTY
) -> StageCalibration:
    """Fit the four biases on classifier probabilities and expert stages.

    Parameters
    ----------
    probas : sequence of numpy.ndarray
        Per recording, ``(n_epochs, 5)`` probabilities in :data:`STAGES` order (NaN rows skipped).
    references : sequence of numpy.ndarray
        Per recording, the expert stage labels of the same epochs.
    penalty : float
        L2 penalty on the biases.
    """
    from scipy.optimize import minimize

    P = np.vstack([np.asarray(p, dtype=np.float64) for p in probas])
    y = np.concatenate([np.asarray(r) for r in references])
    ok = np.isin(y, CALIBRATED) & np.all(np.isfinite(P), axis=1)
    ok &= np.nan_to_num(P).argmax(axis=1) != 4
    P, y = P[ok], y[ok]
    yi = np.array([STAGES.index(v) for v in y], dtype=int)
    L = np.log(np.clip(P[:, :4], 1e-9, None))

    def nll(b: np.ndarray) -> float:
        z = L + b
        z = z - z.max(axis=1, keepdims=True)
        lp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-lp[np.arange(len(yi)), yi].mean() + penalty * np.sum(b**2))

    res = minimize(nll, np.zeros(4), method="BFGS")
    return StageCalibration(np.asarray(res.x), int(len(yi)))


#: Calibration modes and the version of each shipped file (``fast``: the distilled fast engine).
MODE_VERSIONS = {
    "offline": CALIBRATION_VERSION,
    "settled": CALIBRATION_VERSION,
    "provisional": CALIBRATION_VERSION,
    "fast": "0.2.0",
}


def default_calibration_path(mode: str) -> Path:
    """``dreamlink/models/calibration_<mode>_<version>.csv`` (``offline``, ``settled``, ``provisional``,
    ``fast``)."""
    version = MODE_VERSIONS.get(mode, CALIBRATION_VERSION)
    return Path(__file__).resolve().parents[1] / "models" / f"calibration_{mode}_{version}.csv"


def load_default_calibration() -> dict[str, StageCalibration]:
    """The shipped calibrations by mode (empty when the files are absent: no calibration)."""
    out = {}
    for mode in MODE_VERSIONS:
        path = default_calibration_path(mode)
        if path.is_file():
            out[mode] = StageCalibration.load(path)
    return out
