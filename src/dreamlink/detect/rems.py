"""Ordinary rapid eye movements and REM density per minute, causally.

Every movement the eye detector segments (:class:`~dreamlink.detect.eye_sweeps.Movement`) is a
candidate. It counts as a rapid eye movement when it is fast (peak speed ≥ 1.5 mV/s on the
horizontal derivation), short (not a slow drift), between :data:`REM_AMPLITUDE_V` in size (the
amplitude window of ``yasa.rem_detect``, 50–325 µV per channel, doubled for the E1 − E2
derivation) and, with two electrodes, anti-correlated. Each one becomes a ``rem`` event; every
completed minute a ``rem_density`` event carries the count (REMs per minute), a feature for staging
and for the morning report.

:func:`compare_with_yasa` runs ``yasa.rem_detect`` (Agarwal et al. 2005 as implemented by YASA)
on the same LOC/ROC and returns both per-minute densities.

References
----------
Agarwal R, Takeuchi T, Laroche S, Gotman J (2005). Detection of rapid-eye movements in sleep
studies. IEEE Trans Biomed Eng 52(8):1390-1396. doi:10.1109/TBME.2005.851512
Vallat R, Walker MP (2021). An open-source, high-performance tool for automated sleep staging.
eLife 10:e70092. doi:10.7554/eLife.70092
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dreamlink.detect.eye_sweeps import Movement
from dreamlink.events import Event

SOURCE = "detect.rem"

#: Amplitude window of a REM on E1 − E2 (V).
REM_AMPLITUDE_V = (100e-6, 650e-6)
#: Lowest peak speed of a REM (V/s).
REM_MIN_VELOCITY = 1.5e-3


def is_rem(m: Movement) -> bool:
    """Whether a segmented movement counts as an ordinary rapid eye movement."""
    size = abs(m.amplitude)
    return (
        not m.too_long
        and REM_AMPLITUDE_V[0] <= size <= REM_AMPLITUDE_V[1]
        and m.peak_velocity >= REM_MIN_VELOCITY
        and (m.common_ratio is None or m.common_ratio <= 0.6)
    )


def rem_density(onsets: Sequence[float], duration: float, minute_sec: float = 60.0) -> np.ndarray:
    """REMs per minute for each complete minute of a recording of ``duration`` seconds."""
    n_min = int(duration // minute_sec)
    counts = np.bincount((np.asarray(onsets, dtype=float) // minute_sec).astype(int), minlength=n_min)
    return counts[:n_min].astype(float)


@dataclass
class RemCounter:
    """Streaming REM counter: feed movements and the current time, get ``rem`` / ``rem_density`` events.

    Parameters
    ----------
    minute_sec : float
        Length of a density bin (s).
    emit_each : bool
        Emit one ``rem`` event per movement (besides the per-minute densities).
    """

    minute_sec: float = 60.0
    emit_each: bool = True

    def __post_init__(self) -> None:
        self._counts: dict[int, int] = {}
        self._next_minute = 0

    def update(self, movements: Sequence[Movement], now: float, latency: float = 0.5) -> list[Event]:
        """Count new movements; emit densities of minutes that can no longer change."""
        events: list[Event] = []
        for m in movements:
            if not is_rem(m):
                continue
            k = int(m.onset // self.minute_sec)
            self._counts[k] = self._counts.get(k, 0) + 1
            if self.emit_each:
                events.append(
                    Event(
                        onset=round(m.onset, 4),
                        duration=round(m.duration, 4),
                        trial_type="rem",
                        value=m.direction,
                        confidence=None,
                        source=SOURCE,
                        data={"amplitude_uv": round(m.amplitude * 1e6, 1)},
                    )
                )
        while (self._next_minute + 1) * self.minute_sec + latency <= now:
            events.append(self._density_event(self._next_minute))
            self._next_minute += 1
        return events

    def _density_event(self, k: int) -> Event:
        return Event(
            onset=k * self.minute_sec,
            duration=self.minute_sec,
            trial_type="rem_density",
            value=self._counts.get(k, 0) * 60.0 / self.minute_sec,
            confidence=None,
            source=SOURCE,
            data={"unit": "REMs per minute"},
        )


def compare_with_yasa(loc: np.ndarray, roc: np.ndarray, sfreq: float, rem_onsets: Sequence[float]) -> dict:
    """Per-minute REM density of dreamlink's counter and of ``yasa.rem_detect`` on the same EOG.

    Parameters
    ----------
    loc, roc : numpy.ndarray
        The two EOG channels in volts.
    sfreq : float
        Hz.
    rem_onsets : sequence of float
        Onsets (s) of dreamlink's ``rem`` events on the same data.

    Returns
    -------
    dict
        ``dreamlink`` and ``yasa`` per-minute arrays, their totals and Pearson ``r``.
    """
    import warnings

    import yasa

    duration = len(loc) / sfreq
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = yasa.rem_detect(np.asarray(loc) * 1e6, np.asarray(roc) * 1e6, sfreq)
    y_onsets = [] if res is None else res.summary()["Peak"].to_numpy()
    ours = rem_density(rem_onsets, duration)
    theirs = rem_density(y_onsets, duration)
    r = (
        float(np.corrcoef(ours, theirs)[0, 1])
        if len(ours) > 1 and ours.std() and theirs.std()
        else float("nan")
    )
    return {
        "dreamlink": ours,
        "yasa": theirs,
        "n_dreamlink": len(rem_onsets),
        "n_yasa": len(y_onsets),
        "r": r,
    }
