"""The one hypnogram type: a sequence of 30-s (or other) epochs with AASM stage labels.

Stages are the strings ``W``, ``N1``, ``N2``, ``N3``, ``R`` plus ``?`` for unscored, on epochs aligned to
``start`` seconds from the recording's start. An optional *hypnodensity* holds per-epoch stage
probabilities (columns ``p_W, p_N1, p_N2, p_N3, p_R``).

Readers of the file formats found in the field live in :mod:`dreamlink.io.hypnogram_formats`.

References
----------
Berry RB et al. (2017). AASM Manual for the Scoring of Sleep and Associated Events, v2.4.
Stephansen JB et al. (2018). Neural network analysis of sleep stages enables efficient diagnosis of
narcolepsy (hypnodensity). Nat Commun 9:5229. doi:10.1038/s41467-018-07229-3
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

#: The five AASM stages in dreamlink's canonical order.
STAGES: tuple[str, ...] = ("W", "N1", "N2", "N3", "R")
#: Label of an unscored (or unscorable) epoch.
UNSCORED = "?"
#: All valid labels.
LABELS: tuple[str, ...] = (*STAGES, UNSCORED)
#: Default epoch length in seconds.
EPOCH_SEC = 30.0
#: Probability column names of a hypnodensity.
PROBA_COLUMNS: tuple[str, ...] = tuple(f"p_{s}" for s in STAGES)

#: YASA's integer coding (0=W 1=N1 2=N2 3=N3 4=R, -1 unscored).
_TO_INT = {"W": 0, "N1": 1, "N2": 2, "N3": 3, "R": 4, UNSCORED: -1}
_FROM_INT = {v: k for k, v in _TO_INT.items()}


def _as_labels(stages: Sequence[str] | np.ndarray) -> np.ndarray:
    arr = np.asarray(stages, dtype="<U2")
    bad = sorted(set(np.unique(arr)) - set(LABELS))
    if bad:
        raise ValueError(f"unknown stage label(s) {bad}; allowed labels are {list(LABELS)}")
    return arr


@dataclass
class Hypnogram:
    """Sleep stages on a regular epoch grid.

    Parameters
    ----------
    stages : sequence of str
        One label per epoch from :data:`LABELS`.
    epoch_sec : float
        Epoch length in seconds (30 for AASM).
    start : float
        Onset of the first epoch in seconds from the recording's start.
    proba : pandas.DataFrame | None
        Optional hypnodensity, one row per epoch, columns :data:`PROBA_COLUMNS`.
    """

    stages: np.ndarray
    epoch_sec: float = EPOCH_SEC
    start: float = 0.0
    proba: pd.DataFrame | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.stages = _as_labels(self.stages)
        if self.epoch_sec <= 0:
            raise ValueError(f"epoch_sec must be positive, got {self.epoch_sec}")
        if self.proba is not None:
            if len(self.proba) != len(self.stages):
                raise ValueError(
                    f"hypnodensity has {len(self.proba)} rows but the hypnogram has "
                    f"{len(self.stages)} epochs"
                )
            self.proba = self.proba.reset_index(drop=True)[list(PROBA_COLUMNS)]

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_ints(
        cls, codes: Sequence[int] | np.ndarray, epoch_sec: float = EPOCH_SEC, start: float = 0.0
    ) -> Hypnogram:
        """Build from YASA integer codes (0=W 1=N1 2=N2 3=N3 4=R, -1 or other = unscored)."""
        labels = [_FROM_INT.get(int(c), UNSCORED) for c in np.asarray(codes).ravel()]
        return cls(np.asarray(labels), epoch_sec=epoch_sec, start=start)

    # -- views --------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.stages)

    @property
    def n_epochs(self) -> int:
        """Number of epochs."""
        return len(self.stages)

    @property
    def onsets(self) -> np.ndarray:
        """Epoch onsets in seconds from the recording's start."""
        return self.start + np.arange(self.n_epochs) * self.epoch_sec

    @property
    def duration(self) -> float:
        """Total duration covered, in seconds."""
        return self.n_epochs * self.epoch_sec

    @property
    def end(self) -> float:
        """End of the last epoch, in seconds from the recording's start."""
        return self.start + self.duration

    def as_ints(self) -> np.ndarray:
        """Return YASA integer codes (unscored as -1)."""
        return np.array([_TO_INT[s] for s in self.stages], dtype=int)

    def stage_at(self, t: float) -> str:
        """Return the stage at time ``t`` seconds (``?`` outside the hypnogram)."""
        idx = int(np.floor((t - self.start) / self.epoch_sec))
        if idx < 0 or idx >= self.n_epochs:
            return UNSCORED
        return str(self.stages[idx])

    def to_dataframe(self) -> pd.DataFrame:
        """One row per epoch: ``onset, duration, stage`` plus probabilities when present."""
        df = pd.DataFrame(
            {
                "onset": self.onsets,
                "duration": np.full(self.n_epochs, self.epoch_sec),
                "stage": self.stages.astype(str),
            }
        )
        if self.proba is not None:
            df = pd.concat([df, self.proba.reset_index(drop=True)], axis=1)
        return df

    def resample(self, epoch_sec: float = EPOCH_SEC, start: float | None = None) -> Hypnogram:
        """Re-grid to another epoch length by majority vote of the overlapping source labels.

        Each target epoch takes the label covering most of it (ties: the earliest). Target
        epochs not fully covered by the source are unscored. Used to turn the DREAMS 5-s
        hypnograms and change-point lists into 30-s AASM epochs.
        """
        start = self.start if start is None else start
        n_out = int(np.floor((self.end - start) / epoch_sec + 1e-9))
        labels = []
        fine = max(min(self.epoch_sec, epoch_sec) / 10.0, 1e-3)
        for i in range(max(n_out, 0)):
            t0 = start + i * epoch_sec
            ts = t0 + (np.arange(int(round(epoch_sec / fine))) + 0.5) * fine
            idx = np.floor((ts - self.start) / self.epoch_sec).astype(int)
            if idx.min() < 0 or idx.max() >= self.n_epochs:
                labels.append(UNSCORED)
                continue
            vals, counts = np.unique(self.stages[idx], return_counts=True)
            labels.append(str(vals[np.argmax(counts)]))
        return Hypnogram(np.asarray(labels, dtype="<U2"), epoch_sec=epoch_sec, start=start)

    def crop(self, tmin: float, tmax: float) -> Hypnogram:
        """Keep the epochs whose onset lies in ``[tmin, tmax)``."""
        keep = (self.onsets >= tmin - 1e-9) & (self.onsets < tmax - 1e-9)
        idx = np.flatnonzero(keep)
        proba = self.proba.iloc[idx] if self.proba is not None else None
        start = float(self.onsets[idx[0]]) if len(idx) else tmin
        return Hypnogram(self.stages[idx], self.epoch_sec, start, proba)

    def periods(self) -> pd.DataFrame:
        """Runs of consecutive identical stages: ``stage, onset, duration, n_epochs``."""
        rows = []
        if self.n_epochs:
            change = np.flatnonzero(self.stages[1:] != self.stages[:-1]) + 1
            bounds = np.concatenate([[0], change, [self.n_epochs]])
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                rows.append(
                    {
                        "stage": str(self.stages[a]),
                        "onset": self.start + a * self.epoch_sec,
                        "duration": (b - a) * self.epoch_sec,
                        "n_epochs": int(b - a),
                    }
                )
        return pd.DataFrame(rows, columns=["stage", "onset", "duration", "n_epochs"])
