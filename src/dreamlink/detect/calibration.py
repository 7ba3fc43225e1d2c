"""Per-person sweep amplitude: awake calibration, or an estimate from a recording itself.

Why: how many microvolts a full look left-to-right produces differs between people and electrode
placements by a factor of several, and every threshold of the eye detector is a fraction of it.

Awake calibration ("look fully left, then fully right, four times")
    :func:`calibrate` finds the large sweeps of the calibration recording and takes the median
    amplitude of the full left↔right swings. It **refuses** (raises :class:`CalibrationError`,
    with the reason) a recording it cannot trust: a flat or clipped channel, fewer than
    :data:`MIN_SWINGS` full swings, swings that do not alternate, amplitudes that vary too much
    (coefficient of variation > :data:`MAX_CV`) or an implausible amplitude.

Estimate without calibration
    :func:`estimate_swing` looks at every eye movement of the recording and sets the swing to
    :data:`ESTIMATE_FACTOR` × the 95th percentile of their amplitudes, within
    :data:`ESTIMATE_RANGE_V`. The rationale: a full deliberate left↔right swing (≈ 60° of gaze)
    is several times larger than the bulk of natural movements (REM saccades are mostly under
    15–20°; Takahashi & Atsumi 1997). It is an estimate, and the command line says so.

File format (JSON, written by :meth:`Calibration.save`, read by :func:`load_calibration`)::

    {
      "format": "dreamlink-eog-calibration",
      "version": 1,
      "swing_uv": 612.4,            # median full left↔right swing of E1−E2 (µV)
      "method": "calibration",      # or "estimated"
      "n_swings": 7,
      "cv": 0.08,                   # coefficient of variation of the swings
      "hold_s": 0.95,               # median time the gaze stayed at a side between swings (s)
      "sfreq": 256.0,
      "channels": ["E1-M2", "E2-M2"],
      "created": "2026-11-25T16:00:00+00:00",
      "note": ""
    }

Create one with ``dreamlink detect CAL.edf --eog E1-M2 --eog-right E2-M2 --calibrate --out cal.json``
or in Python with ``calibrate(h, sfreq).save("cal.json")``.

References
----------
Takahashi K, Atsumi Y (1997). Precise measurement of individual rapid eye movements in REM sleep of
humans. Sleep 20(9):743-752. doi:10.1093/sleep/20.9.743
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from dreamlink.detect.eye_sweeps import EyeSettings, EyeSignalDetector, Movement
from dreamlink.errors import DreamlinkError, InputFileError

logger = logging.getLogger("dreamlink.detect.calibration")

FORMAT = "dreamlink-eog-calibration"
#: Fewest full swings a calibration needs (the instruction asks for 4 × L-R = 7 or 8).
MIN_SWINGS = 4
#: Largest coefficient of variation of the full swings.
MAX_CV = 0.25
#: Plausible full-swing range (V) on a horizontal derivation.
PLAUSIBLE_V = (50e-6, 5000e-6)
#: Holds (s) at each side at least this long are read more reliably as eye-Morse in REM sleep: on
#: real REM EOG with injected messages (``benchmarks/signals.py``: 12 development seeds and the 8
#: benchmark draws, 2891 characters) the CER was 9.6 % at holds of 0.3–0.6 s, 5.7 % at 0.6–0.9 s and
#: 4.6 % at 0.9–1.2 s, and 1.1 % (5 of 461 characters) when the sender also reached at least 80 % of
#: the calibrated excursion. Natural rapid eye movements are brief; a longer fixation outweighs them.
#: A shorter calibrated hold gets advice to slow down.
ADVISED_HOLD_SEC = 0.9
#: Only fixations shorter than this (s) between two full swings count as holds (longer: a pause).
MAX_HOLD_SEC = 3.0
#: Swing estimate = this × p95 of movement amplitudes...
ESTIMATE_FACTOR = 3.0
#: ...within this range (V).
ESTIMATE_RANGE_V = (300e-6, 3000e-6)


class CalibrationError(DreamlinkError):
    """A calibration recording cannot be trusted; the message says why and what to redo."""


@dataclass(frozen=True)
class Calibration:
    """A person's full left↔right swing on the horizontal derivation.

    Parameters
    ----------
    swing : float
        Median full swing in volts.
    method : str
        ``"calibration"`` (awake routine) or ``"estimated"`` (from the recording).
    n_swings : int
        Number of swings the value rests on.
    cv : float
        Their coefficient of variation.
    sfreq : float
        Sampling rate of the calibration recording (Hz).
    channels : tuple of str
        Channel names used.
    created : str
        ISO-8601 time of creation.
    note : str
        Free text.
    hold : float
        Median time (s) the gaze stayed at a side between two full swings: the person's pace, which
        eye codes use as their unit (0 = unknown: estimated, or an older file).
    """

    swing: float
    method: str = "calibration"
    n_swings: int = 0
    cv: float = 0.0
    sfreq: float = 0.0
    channels: tuple[str, ...] = ()
    created: str = field(default_factory=lambda: _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"))
    note: str = ""
    hold: float = 0.0

    def to_json(self) -> dict:
        """JSON-ready dict in the documented file format."""
        d = asdict(self)
        swing = d.pop("swing")
        d["hold_s"] = round(d.pop("hold"), 3)
        return {
            "format": FORMAT,
            "version": 1,
            "swing_uv": round(swing * 1e6, 2),
            **d,
            "channels": list(self.channels),
        }

    def save(self, path: str | Path) -> Path:
        """Write the calibration as JSON; returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        return path


def load_calibration(path: str | Path) -> Calibration:
    """Read a calibration JSON file.

    Raises
    ------
    InputFileError
        Missing file, not JSON, wrong format or an implausible amplitude.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"calibration file not found: {path} (create one with --calibrate)")
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputFileError(f"{path} is not a calibration JSON file ({err})") from err
    if not isinstance(d, dict) or d.get("format") != FORMAT or "swing_uv" not in d:
        raise InputFileError(
            f'{path} is not a dreamlink calibration (needs "format": "{FORMAT}" and "swing_uv"); '
            "create one with `dreamlink detect CAL.edf --eog ... --calibrate --out cal.json`"
        )
    try:
        swing = float(d["swing_uv"]) * 1e-6
    except (TypeError, ValueError) as err:
        raise InputFileError(f"{path}: swing_uv must be a number of microvolts") from err
    if not PLAUSIBLE_V[0] <= swing <= PLAUSIBLE_V[1]:
        raise InputFileError(
            f"{path}: swing_uv {swing * 1e6:g} is outside the plausible "
            f"{PLAUSIBLE_V[0] * 1e6:g}-{PLAUSIBLE_V[1] * 1e6:g} µV; redo the calibration"
        )
    return Calibration(
        swing=swing,
        method=str(d.get("method", "calibration")),
        n_swings=int(d.get("n_swings", 0)),
        cv=float(d.get("cv", 0.0)),
        hold=_hold_of(d.get("hold_s", 0.0), path),
        sfreq=float(d.get("sfreq", 0.0)),
        channels=tuple(d.get("channels", ())),
        created=str(d.get("created", "")),
        note=str(d.get("note", "")),
    )


def _hold_of(value: object, path: Path) -> float:
    """The ``hold_s`` field of a calibration file (s; 0 when absent)."""
    try:
        hold = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise InputFileError(f"{path}: hold_s must be a number of seconds") from err
    if not 0.0 <= hold <= MAX_HOLD_SEC:
        raise InputFileError(f"{path}: hold_s {hold:g} is outside 0-{MAX_HOLD_SEC:g} s; redo the calibration")
    return hold


def hold_advice(cal: Calibration) -> str | None:
    """Advice for a person whose calibrated hold is short (:data:`ADVISED_HOLD_SEC`), else ``None``."""
    if not 0.0 < cal.hold < ADVISED_HOLD_SEC:
        return None
    return (
        f"the gaze stayed {cal.hold:.2f} s at each side; for eye-Morse, hold each side about 1 s "
        f"(at least {ADVISED_HOLD_SEC:g} s): in REM sleep, natural eye movements spoil short looks far "
        "more often (see docs/signal-codes.md)"
    )


def side_holds(full: Sequence[Movement]) -> list[float]:
    """Times (s) the gaze stayed at a side between consecutive full swings (shorter than
    :data:`MAX_HOLD_SEC`; a longer stay is a pause, not a hold)."""
    holds = [b.onset - (a.onset + a.duration) for a, b in zip(full[:-1], full[1:], strict=True)]
    return [h for h in holds if 0.0 < h < MAX_HOLD_SEC]


def check_signal(h: np.ndarray, sfreq: float, what: str = "EOG") -> None:
    """Refuse a flat or clipped channel (raises :class:`CalibrationError`)."""
    h = np.asarray(h, dtype=np.float64)
    if h.size < sfreq * 2:
        raise CalibrationError(f"{what} is only {h.size / sfreq:.1f} s long; record at least 10 s")
    if not np.all(np.isfinite(h)):
        raise CalibrationError(f"{what} contains NaN or infinite samples; check the recording")
    if np.std(h) < 1e-6:
        raise CalibrationError(f"{what} is flat (SD {np.std(h) * 1e6:.2f} µV); check the electrodes")
    lo, hi = h.min(), h.max()
    at_rail = np.mean((h >= hi - 1e-9 * max(1.0, abs(hi))) | (h <= lo + 1e-9 * max(1.0, abs(lo))))
    if at_rail > 0.01:
        raise CalibrationError(
            f"{what} is clipped ({at_rail:.1%} of samples at the amplifier's limits); "
            "lower the gain or widen the input range and calibrate again"
        )


def find_movements(
    h: np.ndarray, sfreq: float, swing: float, e1: np.ndarray | None = None, e2: np.ndarray | None = None
) -> list[Movement]:
    """Every eye movement of a recording, found by the live detector run over it once.

    Parameters
    ----------
    h : numpy.ndarray
        Horizontal derivation (V).
    sfreq : float
        Hz.
    swing : float
        Provisional swing (V) that sets the speed threshold.
    e1, e2 : numpy.ndarray | None
        The electrodes, when known.
    """
    two = e1 is not None and e2 is not None
    det = EyeSignalDetector(sfreq, swing, two_channels=two)
    step = max(1, int(round(sfreq)))
    for i in range(0, len(h), step):
        sl = slice(i, i + step)
        det.update(h[sl], e1[sl] if two else None, e2[sl] if two else None)
    return det.pop_movements()


def calibrate(
    h: np.ndarray,
    sfreq: float,
    e1: np.ndarray | None = None,
    e2: np.ndarray | None = None,
    channels: Sequence[str] = (),
) -> Calibration:
    """Calibrate from an awake "look fully left-right 4 times" recording.

    Parameters
    ----------
    h : numpy.ndarray
        Horizontal derivation E1 − E2 (V), positive for leftward gaze.
    sfreq : float
        Sampling rate (Hz).
    e1, e2 : numpy.ndarray | None
        The two electrodes, when known (used to check anti-correlation).
    channels : sequence of str
        Names stored in the result.

    Returns
    -------
    Calibration

    Raises
    ------
    CalibrationError
        Flat, clipped, no sweeps, too few swings, not alternating, inconsistent or implausible.
    """
    h = np.asarray(h, dtype=np.float64)
    check_signal(h, sfreq)
    # Provisional swing: the span of the (drift-free) signal, which a calibration fills.
    centred = h - np.median(h)
    provisional = float(np.percentile(centred, 99) - np.percentile(centred, 1))
    if provisional < PLAUSIBLE_V[0]:
        raise CalibrationError(
            f"no eye sweeps: the signal spans only {provisional * 1e6:.0f} µV; ask the person to look "
            "fully left and right, and check the electrodes"
        )
    # Both sides: the gaze must go well to the left and well to the right of where it started.
    start_level = float(np.median(h[: int(sfreq)]))
    left = float(np.percentile(h - start_level, 98))
    right = float(-np.percentile(h - start_level, 2))
    if min(left, right) < 0.2 * provisional:
        side = "left" if left >= right else "right"
        raise CalibrationError(
            f"the eyes went only to the {side} (from the starting fixation); ask for full looks to BOTH sides"
        )
    moves = [m for m in find_movements(h, sfreq, 0.5 * provisional, e1, e2) if not m.too_long]
    big = [m for m in moves if abs(m.amplitude) >= 0.3 * provisional]
    if not big:
        raise CalibrationError("no eye sweeps found; ask the person to look fully left and right 4 times")
    sizes = np.abs([m.amplitude for m in big])
    full = [m for m in big if abs(m.amplitude) >= 0.5 * np.max(sizes)]
    if len(full) < MIN_SWINGS:
        raise CalibrationError(
            f"only {len(full)} full left-right swings found (need {MIN_SWINGS}); "
            "ask the person to look fully left and right 4 times, holding each side ~1 s"
        )
    dirs = [m.direction for m in full]
    alternations = sum(a != b for a, b in zip(dirs[:-1], dirs[1:], strict=True)) / (len(dirs) - 1)
    if alternations < 0.8:
        raise CalibrationError(
            f"the swings do not alternate left/right ({''.join(dirs)}); redo: left, right, left, right..."
        )
    amps = np.abs([m.amplitude for m in full])
    cv = float(np.std(amps) / np.mean(amps))
    if cv > MAX_CV:
        raise CalibrationError(
            f"swing amplitudes are inconsistent (CV {cv:.0%}, "
            f"{amps.min() * 1e6:.0f}-{amps.max() * 1e6:.0f} µV); "
            "redo with full, steady looks to each side"
        )
    if e1 is not None and e2 is not None:
        ratios = [m.common_ratio for m in full if m.common_ratio is not None]
        if ratios and np.median(ratios) > EyeSettings().max_common_ratio:
            raise CalibrationError(
                "the two EOG electrodes move together, not in opposition; check that --eog is the "
                "left and --eog-right the right outer canthus"
            )
    swing = float(np.median(amps))
    holds = side_holds(full)
    hold = round(float(np.median(holds)), 3) if holds else 0.0
    if not PLAUSIBLE_V[0] <= swing <= PLAUSIBLE_V[1]:
        raise CalibrationError(
            f"implausible swing amplitude {swing * 1e6:.0f} µV; check units and electrodes"
        )
    logger.info(
        "calibrated swing %.0f µV from %d swings (CV %.2f), hold %.2f s", swing * 1e6, len(full), cv, hold
    )
    return Calibration(
        swing, "calibration", len(full), round(cv, 3), hold=hold, sfreq=float(sfreq), channels=tuple(channels)
    )


def estimate_swing(
    h: np.ndarray,
    sfreq: float,
    e1: np.ndarray | None = None,
    e2: np.ndarray | None = None,
    channels: Sequence[str] = (),
) -> Calibration:
    """Estimate the full swing from a recording's own eye-movement amplitudes (no calibration).

    Returns
    -------
    Calibration
        With ``method="estimated"`` and a ``note`` saying how.
    """
    h = np.asarray(h, dtype=np.float64)
    moves = [
        m
        for m in find_movements(h, sfreq, ESTIMATE_RANGE_V[0], e1, e2)
        if not m.too_long and abs(m.amplitude) >= 20e-6 and max(m.flat_before, m.flat_after) <= 0.5
    ]
    lo, hi = ESTIMATE_RANGE_V
    if len(moves) < 10:
        swing = lo * 2
        note = f"only {len(moves)} eye movements in the recording: default swing {swing * 1e6:.0f} µV"
    else:
        p95 = float(np.percentile(np.abs([m.amplitude for m in moves]), 95))
        swing = float(np.clip(ESTIMATE_FACTOR * p95, lo, hi))
        note = (
            f"estimated from {len(moves)} eye movements of this recording: "
            f"{ESTIMATE_FACTOR:g} × p95 amplitude ({p95 * 1e6:.0f} µV) = {swing * 1e6:.0f} µV"
        )
    return Calibration(
        swing, "estimated", len(moves), 0.0, sfreq=float(sfreq), channels=tuple(channels), note=note
    )
