"""Causal detection of deliberate eye sweeps and of the LRLR marker on a horizontal EOG.

Input is one horizontal derivation ``h`` in volts, positive for leftward gaze: E1 − E2 (LOC − ROC)
of a PSG, or the left − right frontal difference of a headband. When both electrodes are available
the detector also receives them separately and checks that each sweep moves them mostly in opposite
directions, as a horizontal eye movement does (the corneo-retinal dipole turns towards one canthus
and away from the other; Malmivuo & Plonsey 1995, ch. 28), which rejects EEG slow waves and
vertical/oblique movements that move both electrodes the same way.

How a movement is found and measured (all causal)
    1. ``h`` is low-passed at 15 Hz (4th-order Butterworth, state kept between blocks).
    2. Velocity is the difference over 20 ms (at least 2 samples); a movement is a run of samples
       whose speed exceeds ``v_on`` (2.5 calibrated swings per second, within 0.4–1.5 mV/s) with one
       sign (runs closer than 60 ms merge). Saccades are fast (main sequence, Bahill et al. 1975),
       slow drifts and EEG are not; runs longer than 0.5 s are not saccades. A second movement in
       the same direction starting within 0.13 s of a sweep is the same saccade (a velocity dip).
    3. Its amplitude is the difference between the median level of a 0.1-s fixation window after
       the movement (starting 30 ms after it) and of a 0.1-s window before it. It is known 0.13 s
       after the movement ends, which bounds the detector's latency.
       Both windows stop short of a neighbouring fast movement (peak speed ≥ 25 % of this one's),
       unless that would leave less than 30 ms.
    4. Each window's range relative to the amplitude is its *flatness*: a deliberate sweep lands
       on a fixation plateau, a burst of natural REMs does not.

Which movements are deliberate sweeps
    A movement becomes an ``eye_sweep`` event when its amplitude is at least
    :attr:`EyeSettings.min_sweep_frac` of the person's calibrated full left↔right swing
    (:class:`~dreamlink.detect.calibration.Calibration`), at most twice that swing, it lasts
    ≤ 0.5 s, both fixation windows are flat (range ≤ 45 % of the amplitude), and (two electrodes)
    the change is not dominated by a same-direction (common-mode) change of both electrodes
    (|ΔE1 + ΔE2| ≤ 2 |ΔE1 − ΔE2|; a horizontal sweep gives ≈ 0). Every movement, deliberate or
    not, is also handed to the REM-density counter.

The LRLR marker (``lrlr`` event)
    Four consecutive sweeps L, R, L, R (gaze direction) with: gaps of 0.15–2.5 s between them; the
    three middle-to-last swings each ≥ :attr:`EyeSettings.min_full_frac` of the calibrated swing
    and mutually consistent (max/min ≤ 2.2); the first sweep (from centre) about half of them
    (median of the full swings / first ≥ 1.3, since the protocol starts at centre: this also tells
    a frame from eye-Morse "dot dot", whose four sweeps are all half-size). Smaller sweeps in between
    (natural REMs during the fixations) are skipped (:func:`find_lrlr`). It is emitted when the
    fourth sweep has been measured, ≈ 0.13–0.2 s after that sweep ends.

    Robustness to natural REMs riding on the marker (each measured on real REM EOG by
    ``benchmarks/signals.py``): a candidate whose sweeps fail on their own 0.1-s windows is judged
    again on sizes re-measured between its whole fixation plateaus
    (:meth:`EyeSignalDetector.plateau_sizes`; only when the eyes held still there: 10–90 % range
    ≤ :attr:`EyeSettings.max_plateau_spread` of the swing); consecutive same-direction steps (a
    sweep split by a natural pause) are also tried joined (:func:`merge_split`); and when the
    first, half sweep was refused as a sweep (a burst of natural movements just before it spoils
    its window), a recent leftward movement of sweep size may stand in for it
    (:meth:`EyeSignalDetector._lrlr_from_rejected_start`; it is weighed against the marker found
    among accepted sweeps, as a natural movement before the marker may have been accepted while the
    marker's own first sweep was not). Among candidates the one that keeps the sender's pace (first
    fixation as long as the other two) and whose first sweep is half a swing wins
    (:func:`frame_rank`). A natural look to the right just before the marker makes its first sweep
    look like a full swing by its own windows; on the fixation plateaus it is also measured from
    where the eyes sat over the last :data:`CENTRE_LOOKBACK_SEC` seconds (their centre), and the
    smaller of the two counts. The LRLR tests themselves do not change.

    Swings cut into pieces. Large saccades often land short and are completed by a corrective
    saccade in the same direction (Becker & Fuchs 1969), and in REM sleep a natural movement may
    take part of a swing early. A sweep skipped between the four of a candidate may therefore also
    be a *piece* of the neighbouring chosen swing in its direction, up to
    :attr:`EyeSettings.max_split_frac` of it (:func:`_skips_ok`); and pieces joined by
    :func:`merge_split` are also tried starting at their larger piece (so the fixation before
    it keeps its length). When the marker's first (half) sweep is cut into several jerks none of
    which lands on a fixation, it is read from the gaze level instead
    (:meth:`EyeSignalDetector._lrlr_from_level_start`): fixations are the spans between fast
    movements, as in velocity-threshold fixation identification (Salvucci & Goldberg 2000), and the
    swing is the difference of their median levels: the fixation before the second sweep minus
    the centre. Such a candidate must pass the same LRLR tests, with confidence × 0.7. After a
    marker its last two sweeps stay candidates, so a real marker whose first two sweeps were
    taken by a "marker" made of natural movements just before it is still reported.

Natural rapid eye movements are the enemy: they are frequent, often alternate, and can be large.
What rejects them here is the conjunction of amplitude relative to calibration, strict alternation,
inter-sweep timing, fixation plateaus between sweeps, the half/full amplitude structure of a frame
and anti-correlated electrodes; ``benchmarks/signals.py`` measures the false-signal rate on real REM.

References
----------
Becker W, Fuchs AF (1969). Further properties of the human saccadic system: eye movements and
correction saccades with and without visual fixation points. Vision Res 9(10):1247-1258.
doi:10.1016/0042-6989(69)90112-6
Bahill AT, Clark MR, Stark L (1975). The main sequence, a tool for studying human eye movements.
Math Biosci 24(3-4):191-204. doi:10.1016/0025-5564(75)90075-9
LaBerge SP, Nagel LE, Dement WC, Zarcone VP (1981). Lucid dreaming verified by volitional
communication during REM sleep. Percept Mot Skills 52(3):727-732. doi:10.2466/pms.1981.52.3.727
Malmivuo J, Plonsey R (1995). Bioelectromagnetism, ch. 28: The electric signals originating in the
eye. Oxford University Press.
Salvucci DD, Goldberg JH (2000). Identifying fixations and saccades in eye-tracking protocols.
Proc. ETRA 2000, 71-78. doi:10.1145/355017.355028
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from dreamlink.detect.filters import CausalDelay, lowpass
from dreamlink.events import Event

logger = logging.getLogger("dreamlink.detect.eye")

SOURCE = "detect.eye"
#: Block length (s) of the gaze level trace kept for the message decoder.
LEVEL_STEP_SEC = 0.03125
#: Look-back (s) for where the eyes sit (their centre) before an LRLR's first sweep.
CENTRE_LOOKBACK_SEC = 6.0
#: How much level trace is kept (s): longer than any eye message.
LEVEL_KEEP_SEC = 180.0
#: Fixation plateaus remembered by :meth:`EyeSignalDetector.plateau_sizes` before it forgets them all.
PLATEAU_MEMO_SIZE = 4096


@dataclass(frozen=True)
class EyeSettings:
    """Thresholds of :class:`EyeSignalDetector` (fractions refer to the calibrated full swing).

    Parameters
    ----------
    lowpass_hz : float
        Low-pass of the horizontal derivation before differentiation (Hz).
    velocity_lag_sec : float
        Lag of the velocity difference (s).
    v_on_per_swing : float
        Speed threshold as calibrated swings per second (2.5 → a 600-µV swing gives 1.5 mV/s).
    v_on_floor, v_on_ceiling : float
        Bounds of the speed threshold (V/s), whatever the calibration (the ceiling keeps ordinary
        REMs, ≥ 1.5 mV/s, segmented for the REM-density count).
    merge_sec : float
        Runs of fast samples closer than this merge into one movement (s).
    max_movement_sec : float
        Longer movements are not saccades (s).
    window_sec, settle_sec : float
        Fixation window length and the gap between movement and window (s).
    max_flatness : float
        Largest range of a fixation window relative to the sweep amplitude.
    max_common_ratio : float
        Largest |ΔE1 + ΔE2| / |ΔE1 − ΔE2| (two electrodes only).
    min_sweep_frac, max_sweep_frac : float
        Amplitude bounds of a deliberate sweep, as fractions of the calibrated swing.
    min_full_frac : float
        Smallest full swing (sweeps 2–4 of an LRLR), as a fraction of the calibrated swing.
    min_gap_sec, max_gap_sec : float
        Fixation between consecutive sweeps of an LRLR (s).
    min_frame_ratio : float
        Median of swings 2–4 over sweep 1 in an LRLR (sweep 1 starts from centre).
    max_full_spread : float
        Largest max/min ratio of swings 2–4.
    max_skip_frac : float
        Sweeps between the four of an LRLR are tolerated when smaller than this fraction of the
        smallest full swing (natural REMs during the fixations).
    max_plateau_spread : float
        Largest 10–90 % range of the signal during a fixation between the sweeps of an LRLR, as a
        fraction of its typical swing (:meth:`EyeSignalDetector.plateau_sizes`).
    max_gap_ratio : float
        Longest over shortest fixation between the sweeps of an LRLR: a sender keeps a pace (±20 %),
        while a "marker" that borrows natural movements for its first sweeps rarely does.
    max_split_frac : float
        A skipped sweep larger than :attr:`max_skip_frac` allows is still tolerated as a piece of
        the neighbouring chosen swing in its direction when at most this fraction of it.
    """

    lowpass_hz: float = 15.0
    velocity_lag_sec: float = 0.02
    v_on_per_swing: float = 2.5
    v_on_floor: float = 4e-4
    v_on_ceiling: float = 1.5e-3
    merge_sec: float = 0.06
    max_movement_sec: float = 0.5
    window_sec: float = 0.1
    settle_sec: float = 0.03
    max_flatness: float = 0.45
    max_common_ratio: float = 2.0
    min_sweep_frac: float = 0.15
    max_sweep_frac: float = 2.0
    min_full_frac: float = 0.4
    min_gap_sec: float = 0.15
    max_gap_sec: float = 2.5
    min_frame_ratio: float = 1.15
    max_full_spread: float = 2.2
    max_skip_frac: float = 0.6
    max_plateau_spread: float = 0.5
    max_gap_ratio: float = 2.5
    max_split_frac: float = 0.8


@dataclass(frozen=True)
class Movement:
    """One segmented eye movement (any size), measured on the horizontal derivation.

    Parameters
    ----------
    onset, duration : float
        Start and length in seconds.
    amplitude : float
        Level change in volts (positive = leftward gaze).
    peak_velocity : float
        Largest speed during the movement (V/s).
    flat_before, flat_after : float
        Range of the fixation window before/after, relative to ``|amplitude|``.
    common_ratio : float | None
        |ΔE1 + ΔE2| / |ΔE1 − ΔE2| when both electrodes are known, else ``None``.
    detected_at : float
        Stream time (s) at which the measurement was complete.
    too_long : bool
        The movement lasted longer than a saccade can.
    """

    onset: float
    duration: float
    amplitude: float
    peak_velocity: float
    flat_before: float
    flat_after: float
    common_ratio: float | None
    detected_at: float
    too_long: bool = False

    @property
    def end(self) -> float:
        """End time in seconds."""
        return self.onset + self.duration

    @property
    def direction(self) -> str:
        """``"L"`` (gaze moved left, h rose) or ``"R"``."""
        return "L" if self.amplitude > 0 else "R"


@dataclass(frozen=True)
class Sweep:
    """A movement accepted as a deliberate sweep, with its confidence (0–1)."""

    movement: Movement
    confidence: float

    @property
    def onset(self) -> float:
        """Start (s)."""
        return self.movement.onset

    @property
    def end(self) -> float:
        """End (s)."""
        return self.movement.end

    @property
    def direction(self) -> str:
        """``"L"`` or ``"R"``."""
        return self.movement.direction

    @property
    def size(self) -> float:
        """Absolute amplitude in volts."""
        return abs(self.movement.amplitude)

    def to_event(self) -> Event:
        """The ``eye_sweep`` event of this sweep (amplitude in µV in ``data``)."""
        m = self.movement
        return Event(
            onset=round(m.onset, 4),
            duration=round(m.duration, 4),
            trial_type="eye_sweep",
            value=m.direction,
            confidence=round(self.confidence, 3),
            source=SOURCE,
            data={
                "amplitude_uv": round(m.amplitude * 1e6, 1),
                "peak_velocity_uv_s": round(m.peak_velocity * 1e6, 0),
                "detected_at": round(m.detected_at, 4),
            },
        )


class Frame(list):
    """The four sweeps of an LRLR marker (a ``list`` of :class:`Sweep`) with the marker's confidence."""

    def __init__(self, sweeps: list[Sweep], confidence: float = 1.0) -> None:
        super().__init__(sweeps)
        self.confidence = float(confidence)


@dataclass
class _Open:
    first: int
    last: int
    sign: int
    peak: float


def lrlr_check(
    sweeps: list[Sweep], swing: float, settings: EyeSettings, sizes: list[float] | None = None
) -> tuple[bool, float, str]:
    """Whether four sweeps form an LRLR marker.

    Parameters
    ----------
    sweeps : list of Sweep
        Exactly four consecutive sweeps.
    swing : float
        Calibrated full left↔right swing (V).
    settings : EyeSettings
        Thresholds.
    sizes : list of float | None
        The four swing sizes (V) to judge; default each sweep's own measured size. The detector
        passes sizes re-measured between the fixation plateaus (:meth:`EyeSignalDetector.plateau_sizes`).

    Returns
    -------
    (ok, confidence, reason) : tuple
        ``reason`` says why not when ``ok`` is false.
    """
    if len(sweeps) != 4:
        return False, 0.0, "an LRLR needs four sweeps"
    if [s.direction for s in sweeps] != ["L", "R", "L", "R"]:
        return False, 0.0, "directions are not L, R, L, R"
    gaps = [b.onset - a.end for a, b in zip(sweeps[:-1], sweeps[1:], strict=True)]
    if min(gaps) < settings.min_gap_sec or max(gaps) > settings.max_gap_sec:
        return False, 0.0, f"fixations of {min(gaps):.2f}-{max(gaps):.2f} s between sweeps"
    if max(gaps) > settings.max_gap_ratio * min(gaps):
        return False, 0.0, f"uneven fixations ({min(gaps):.2f}-{max(gaps):.2f} s): not one sender's pace"
    size = [s.size for s in sweeps] if sizes is None else [float(x) for x in sizes]
    if min(size) <= 0:
        return False, 0.0, "a swing goes the wrong way between the fixations"
    full = np.array(size[1:])
    if full.min() < settings.min_full_frac * swing:
        return False, 0.0, "swings smaller than the calibrated amplitude allows"
    if full.max() / full.min() > settings.max_full_spread:
        return False, 0.0, "inconsistent swing amplitudes"
    ratio = float(np.median(full) / size[0])
    if ratio < settings.min_frame_ratio:
        return False, 0.0, "the first sweep is not from centre (too large relative to the swings)"
    c_amp = float(np.clip(np.median(full) / (0.6 * swing), 0.0, 1.0))
    c_spread = float(np.clip(1.0 - (full.max() / full.min() - 1.0) / 2.4, 0.3, 1.0))
    c_ratio = float(np.clip((ratio - 1.0) / 0.8, 0.3, 1.0))
    conf = float(np.mean([s.confidence for s in sweeps])) * (0.5 + 0.5 * c_amp) * c_spread * c_ratio
    conf = float(np.clip(conf, 0.0, 1.0))
    return True, conf, ""


def merge_split(sweeps: list[Sweep], max_gap_sec: float = 0.45, at_larger: bool = False) -> list[Sweep]:
    """Join consecutive same-direction sweeps less than ``max_gap_sec`` apart into one.

    A natural rapid eye movement during a deliberate sweep can split it in two steps in the same
    direction (the gaze overshoots, pauses, goes on); for the LRLR pattern they are one swing.
    The joined sweep spans both, its amplitude is their sum, its confidence the lower one. With
    ``at_larger`` it starts at the larger piece instead (a natural movement just before a sweep,
    in its direction, is not when the sender moved: the fixation before lasted until the main
    piece).
    """
    out: list[Sweep] = []
    for sw in sweeps:
        prev = out[-1] if out else None
        if prev is not None and prev.direction == sw.direction and sw.onset - prev.end < max_gap_sec:
            a, b = prev.movement, sw.movement
            onset = b.onset if at_larger and abs(b.amplitude) > abs(a.amplitude) else a.onset
            m = Movement(
                onset, b.end - onset, a.amplitude + b.amplitude, max(a.peak_velocity, b.peak_velocity),
                a.flat_before, b.flat_after, a.common_ratio, b.detected_at, False,
            )
            out[-1] = Sweep(m, min(prev.confidence, sw.confidence))
        else:
            out.append(sw)
    return out


def find_lrlr(
    recent: list[Sweep],
    swing: float,
    settings: EyeSettings,
    measure: Callable[[list[Sweep]], list[float] | None] | None = None,
) -> tuple[list[Sweep], float] | None:
    """The best LRLR ending with the newest sweep, allowing small natural movements in between.

    Natural rapid eye movements go on during the fixations of a deliberate signal. Sweeps between
    the four chosen ones are tolerated when each is smaller than
    :attr:`EyeSettings.max_skip_frac` of the smallest full swing; each skipped sweep lowers the
    confidence by 10 %. Consecutive same-direction sweeps are first joined (:func:`merge_split`).

    Parameters
    ----------
    recent : list of Sweep
        Recent sweeps in time order; the last is the newest.
    swing : float
        Calibrated swing (V).
    settings : EyeSettings
        Thresholds.
    measure : callable | None
        Re-measures the four swing sizes of a candidate (V) from the signal between its fixation
        plateaus (``None`` when it cannot); default: each sweep's own size.

    Returns
    -------
    (sweeps, confidence) | None
    """
    best: tuple[list[Sweep], float, float] | None = None
    merged = merge_split(recent)
    seqs = [recent] if len(merged) == len(recent) else [recent, merged, merge_split(recent, at_larger=True)]
    for seq in seqs:
        found = _best_lrlr(seq, swing, settings, measure)
        if found is not None and (best is None or found[2] > best[2]):
            best = found
    return None if best is None else (best[0], best[1])


def frame_rank(sweeps: list[Sweep], sizes: list[float], conf: float) -> float:
    """How well four sweeps that pass :func:`lrlr_check` look like one sender's marker (for choosing).

    Among overlapping candidates the marker is the one whose first sweep is closest to half a
    swing (it starts from centre) and whose first fixation lasts like the other two (a sender
    keeps a pace; a natural movement before the marker's first sweep makes a candidate whose
    first fixation is too long or too short).
    """
    half = float(np.exp(-abs(np.log(np.median(sizes[1:]) / (2.0 * max(sizes[0], 1e-12))))))
    gaps = [b.onset - a.end for a, b in zip(sweeps[:-1], sweeps[1:], strict=True)]
    pace = float(np.exp(-abs(np.log(max(gaps[0], 1e-3) / max(float(np.median(gaps[1:])), 1e-3)))))
    return conf * half * pace


def _skips_ok(chosen: list[Sweep], size: list[float], skipped: list[Sweep], settings: EyeSettings) -> bool:
    """Whether the sweeps skipped between the four chosen ones are natural movements of a fixation.

    Each must be smaller than :attr:`EyeSettings.max_skip_frac` of the smallest full swing, or be
    a piece of the swing it belongs to: the same direction as the chosen sweep next to it (the one
    before or after, whichever goes the same way) and smaller than
    :attr:`EyeSettings.max_split_frac` of it (the eyes reached the side in two steps).
    """
    limit = settings.max_skip_frac * min(size[1:])
    for s in skipped:
        if s.size <= limit:
            continue
        before = [n for n, c in enumerate(chosen) if c.end <= s.onset]
        n = before[-1] if before else 0
        if chosen[n].direction != s.direction and n + 1 < len(chosen):
            n += 1
        if chosen[n].direction != s.direction or s.size > settings.max_split_frac * size[n]:
            return False
    return True


def _best_lrlr(
    recent: list[Sweep],
    swing: float,
    settings: EyeSettings,
    measure: Callable[[list[Sweep]], list[float] | None] | None,
) -> tuple[list[Sweep], float, float] | None:
    if len(recent) < 4 or recent[-1].direction != "R":
        return None
    last = len(recent) - 1
    best: tuple[list[Sweep], float, float] | None = None
    ks = [k for k in range(last) if recent[k].direction == "L"]
    for k in ks:
        for j in range(k):
            if recent[j].direction != "R":
                continue
            for i in range(j):
                if recent[i].direction != "L":
                    continue
                chosen = [recent[i], recent[j], recent[k], recent[last]]
                sizes = None
                ok, conf, _ = lrlr_check(chosen, swing, settings)
                if not ok and measure is not None:
                    # A natural REM next to a sweep can spoil its own 0.1-s windows: judge the
                    # swings again between the fixation plateaus of this candidate.
                    sizes = measure(chosen)
                    if sizes is not None:
                        ok, conf, _ = lrlr_check(chosen, swing, settings, sizes)
                        conf *= 0.9
                if not ok:
                    continue
                size = sizes if sizes is not None else [s.size for s in chosen]
                skipped = [recent[m] for m in range(i + 1, last) if m not in (j, k)]
                if not _skips_ok(chosen, size, skipped, settings):
                    continue
                conf *= 0.9 ** len(skipped)
                rank = frame_rank(chosen, size, conf)
                if best is None or rank > best[2]:
                    best = (chosen, conf, rank)
    return best


@dataclass
class EyeSignalDetector:
    """Causal eye-sweep and LRLR detector; feed it consecutive blocks with :meth:`update`.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    swing : float
        The person's calibrated full left↔right swing on the horizontal derivation, in volts.
    two_channels : bool
        Whether :meth:`update` receives E1 and E2 (then it checks anti-correlation).
    settings : EyeSettings
        Thresholds.
    level_keep_sec : float
        How much of the gaze level trace (:meth:`level_trace`) is kept (s).
    """

    sfreq: float
    swing: float
    two_channels: bool = False
    settings: EyeSettings = field(default_factory=EyeSettings)
    level_keep_sec: float = LEVEL_KEEP_SEC

    def __post_init__(self) -> None:
        s = self.settings
        fs = self.sfreq
        n_ch = 3 if self.two_channels else 1
        self._lp = lowpass(min(s.lowpass_hz, 0.4 * fs), fs, order=4, n_channels=n_ch)
        self._k = max(2, int(round(s.velocity_lag_sec * fs)))
        self._delay = CausalDelay(self._k)
        self.v_on = float(np.clip(s.v_on_per_swing * self.swing, s.v_on_floor, s.v_on_ceiling))
        self._merge = max(1, int(round(s.merge_sec * fs)))
        self._max_len = int(round(s.max_movement_sec * fs))
        self._win = max(2, int(round(s.window_sec * fs)))
        self._min_win = max(2, int(round(0.03 * fs)))
        self._done: list[tuple[int, int, float]] = []
        self._settle = int(round(s.settle_sec * fs))
        self._hist_len = int(round(16.0 * fs))
        self._hist = np.zeros((n_ch, 0))
        self._hist_start = 0
        self._n = 0
        self._open: _Open | None = None
        self._pending: list[tuple[int, int, float, bool]] = []
        self._recent: list[Sweep] = []
        self._movements: list[Movement] = []
        self._sweeps: list[Sweep] = []
        self._sweeps_all: list[Sweep] = []
        self._frames: list[list[Sweep]] = []
        self._rejected: list[Movement] = []
        # Gaze level trace for the message decoder: mean of the low-passed derivation over blocks of
        # LEVEL_STEP_SEC (aligned to the stream's first sample, so any chunking gives the same trace).
        self._lvl_n = max(1, int(round(LEVEL_STEP_SEC * fs)))
        self._lvl_acc = np.zeros(0)
        self._lvl: list[float] = []
        self._lvl_first = 0  # block index of self._lvl[0]
        self._lvl_keep = int(round(self.level_keep_sec / (self._lvl_n / fs)))
        # Fixation plateaus already measured, by their absolute sample span (the history is never
        # rewritten): candidate markers share most of their fixations (see :meth:`plateau_sizes`).
        self._plateaus: dict[tuple[int, int], tuple[float, float, float] | None] = {}

    # -- public -------------------------------------------------------------------------------
    @property
    def latency_sec(self) -> float:
        """Time after a movement's end until it is measured (s)."""
        return (self._settle + self._win) / self.sfreq

    def pop_movements(self) -> list[Movement]:
        """Every movement measured since the last call (for REM density)."""
        out, self._movements = self._movements, []
        return out

    def pop_frames(self) -> list[list[Sweep]]:
        """The four sweeps of each LRLR marker found since the last call (for the message decoder)."""
        out, self._frames = self._frames, []
        return out

    def plateau_sizes(self, sweeps: list[Sweep]) -> list[float] | None:
        """Swing sizes (V) of consecutive sweeps, re-measured between their fixation plateaus.

        Each sweep is measured by its own 0.1-s windows, which a natural REM next to it can
        distort. For a candidate pattern the whole fixation between two sweeps is known, so each
        fixation's level is the median of the low-passed derivation over it (its first and last
        30 ms left out); the level before the first sweep is the median of the 0.3 s before it and
        the level after the last is the median of its 0.1-s fixation window. The sizes are the
        level steps in each sweep's direction (negative when the level went the wrong way).
        Returns ``None`` when the history no longer holds the span.
        """
        fs = self.sfreq
        pad = self._settle
        bounds = [(int(round(sweeps[0].onset * fs)) - int(round(0.3 * fs)), int(round(sweeps[0].onset * fs)))]
        for a, b in zip(sweeps[:-1], sweeps[1:], strict=True):
            lo, hi = int(round(a.end * fs)) + pad, int(round(b.onset * fs)) - pad
            if hi - lo < self._min_win:
                lo, hi = int(round(a.end * fs)), int(round(b.onset * fs))
            bounds.append((lo, hi))
        post = int(round(sweeps[-1].end * fs)) + pad
        bounds.append((post, min(self._n, post + self._win)))
        levels, spreads = [], []
        for lo, hi in bounds:
            plateau = self._plateau(lo, hi)
            if plateau is None:
                return None
            q10, q50, q90 = plateau
            levels.append(q50)
            spreads.append(q90 - q10)
        steps = np.diff(levels)
        sizes = [float(d if s.direction == "L" else -d) for d, s in zip(steps, sweeps, strict=True)]
        typical = float(np.median(np.abs(steps[1:]))) if len(steps) > 1 else float(abs(steps[0]))
        if max(spreads[1:-1], default=0.0) > self.settings.max_plateau_spread * typical:
            return [0.0] * len(sweeps)  # the eyes did not hold still between the sweeps
        if len(sweeps) == 4 and sweeps[0].direction == "L":
            # The marker's first sweep starts from centre. When a natural movement just before it
            # left the eyes off to the right, the step from the 0.3 s before it overstates the
            # half sweep; the gaze level relative to where the eyes sat over the last seconds
            # (their centre) does not.
            start = int(round(sweeps[0].onset * fs))
            w = self._window(start - int(round(CENTRE_LOOKBACK_SEC * fs)), start)
            if w is not None:
                from_centre = levels[1] - float(np.median(w[0]))
                # (only for a first sweep still smaller than every full swing: a larger one is
                # no marker's first sweep, wherever the eyes were; relaxing this lets the full
                # swings of eye-Morse elements start "markers")
                if 0 < from_centre < sizes[0] < min(sizes[1:]):
                    sizes[0] = from_centre
        return sizes

    def pop_sweeps(self) -> list[Sweep]:
        """Deliberate sweeps accepted since the last call (for the message decoders)."""
        out, self._sweeps = self._sweeps, []
        return out

    def update(
        self, h: np.ndarray, e1: np.ndarray | None = None, e2: np.ndarray | None = None
    ) -> list[Event]:
        """Process the next block of samples.

        Parameters
        ----------
        h : numpy.ndarray
            Horizontal derivation (V), shape ``(n_times,)``.
        e1, e2 : numpy.ndarray | None
            The two electrodes (V), when ``two_channels``.

        Returns
        -------
        list of Event
            ``eye_sweep`` and ``lrlr`` events completed in this block.
        """
        h = np.asarray(h, dtype=np.float64)
        if self.two_channels:
            if e1 is None or e2 is None:
                raise ValueError("two_channels detector needs e1 and e2")
            x = np.vstack([h, e1, e2])
        else:
            x = h[np.newaxis, :]
        n = x.shape[1]
        if n == 0:
            return []
        if self._n == 0:  # start from the signal's own level: no start-up transient
            self._lp.prime(x[:, 0])
            self._delay.prime(float(x[0, 0]))
        y = self._lp.process(x)
        v = (y[0] - self._delay.lagged(y[0])) * self.sfreq / self._k
        first = self._n
        self._append_levels(y[0])
        self._append_history(y)
        self._n += n
        self._segment(v, first)
        return self._measure_ready()

    def level_trace(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        """Gaze level of the horizontal derivation between ``t0`` and ``t1`` (s).

        Returns
        -------
        (times, levels) : tuple of numpy.ndarray
            Block centres (s) and mean low-passed level (V) per :data:`LEVEL_STEP_SEC` block, for
            the blocks complete so far and still kept (the last :data:`LEVEL_KEEP_SEC`).
        """
        step = self._lvl_n / self.sfreq
        idx = self._lvl_first + np.arange(len(self._lvl))
        times = (idx + 0.5) * step
        keep = (times >= t0) & (times <= t1)
        return times[keep], np.asarray(self._lvl, dtype=float)[keep]

    # -- internals ----------------------------------------------------------------------------
    def _append_levels(self, y: np.ndarray) -> None:
        acc = np.concatenate([self._lvl_acc, y])
        n_full = acc.size // self._lvl_n
        if n_full:
            self._lvl.extend(acc[: n_full * self._lvl_n].reshape(n_full, self._lvl_n).mean(axis=1).tolist())
        self._lvl_acc = acc[n_full * self._lvl_n :]
        extra = len(self._lvl) - self._lvl_keep
        if extra > 2 * self._lvl_keep // 10:  # trim now and then, not every block
            del self._lvl[:extra]
            self._lvl_first += extra

    def _append_history(self, y: np.ndarray) -> None:
        self._hist = np.concatenate([self._hist, y], axis=1)
        extra = self._hist.shape[1] - self._hist_len
        if extra > 0:
            self._hist = self._hist[:, extra:]
            self._hist_start += extra

    def _segment(self, v: np.ndarray, first: int) -> None:
        active = np.abs(v) >= self.v_on
        idx = np.flatnonzero(active)
        if idx.size:
            sg = np.sign(v[idx]).astype(int)
            cut = np.flatnonzero((np.diff(idx) > 1) | (np.diff(sg) != 0)) + 1
            starts = np.concatenate([[0], cut])
            ends = np.concatenate([cut, [idx.size]])
            for a, b in zip(starts, ends, strict=True):
                s0, s1, sign = first + int(idx[a]), first + int(idx[b - 1]), int(sg[a])
                peak = float(np.max(np.abs(v[idx[a] : idx[b - 1] + 1])))
                op = self._open
                if op is not None and op.sign == sign and s0 - op.last <= self._merge:
                    op.last, op.peak = s1, max(op.peak, peak)
                else:
                    if op is not None:
                        self._close(op)
                    self._open = _Open(s0, s1, sign, peak)
        op = self._open
        if op is not None and (self._n - 1 - op.last > self._merge or op.last - op.first > self._max_len):
            self._close(op)
            self._open = None

    def _close(self, op: _Open) -> None:
        start = max(0, op.first - self._k)
        end = op.last + 1
        too_long = end - start > self._max_len
        self._pending.append((start, end, op.peak, too_long))

    def _plateau(self, lo: int, hi: int) -> tuple[float, float, float] | None:
        """10th, 50th and 90th percentiles of the low-passed derivation over samples ``lo:hi``."""
        if (lo, hi) in self._plateaus:
            return self._plateaus[(lo, hi)]
        w = self._window(lo, hi)
        if w is None and hi > self._n:
            return None  # not recorded yet: ask again later
        found = None
        if w is not None:
            q10, q50, q90 = np.percentile(w[0], (10, 50, 90))
            found = (float(q10), float(q50), float(q90))
        if len(self._plateaus) >= PLATEAU_MEMO_SIZE:
            self._plateaus.clear()
        self._plateaus[(lo, hi)] = found
        return found

    def _window(self, a: int, b: int) -> np.ndarray | None:
        a -= self._hist_start
        b -= self._hist_start
        if a < 0 or b > self._hist.shape[1] or b - a < 2:
            return None
        return self._hist[:, a:b]

    def _measure_ready(self) -> list[Event]:
        events: list[Event] = []
        keep = []
        others = [(p[0], p[1], p[2]) for p in self._pending]
        if self._open is not None:
            others.append((max(0, self._open.first - self._k), self._open.last + 1, self._open.peak))
        for item in self._pending:
            start, end, peak, too_long = item
            post_a = end + self._settle
            post_b = post_a + self._win
            if post_b > self._n:
                keep.append(item)
                continue
            # Fixation windows stop short of neighbouring fast movements (natural REMs during a
            # fixation), unless that would leave less than 30 ms.
            big = [o for o in others + self._done if o[2] >= 0.25 * peak and o[0] != start]
            later = [o[0] for o in big if o[0] > start]
            if later and min(later) - 1 - post_a >= self._min_win:
                post_b = min(post_b, min(later) - 1)
            pre_a = start - self._settle - self._win
            earlier = [o[1] for o in big if o[1] <= start]
            if earlier and start - self._settle - (max(earlier) + self._settle) >= self._min_win:
                pre_a = max(pre_a, max(earlier) + self._settle)
            self._done = [o for o in self._done + [(start, end, peak)] if o[1] > start - 2 * self._win]
            pre = self._window(pre_a, start - self._settle)
            post = self._window(post_a, post_b)
            if pre is None or post is None:
                continue
            movement = self._measure(start, end, peak, too_long, pre, post)
            self._movements.append(movement)
            sweep = self._accept(movement)
            if sweep is None:
                self._note_rejected(movement)
            last = self._sweeps_all[-1] if self._sweeps_all else None
            if (
                sweep is not None
                and last is not None
                and last.direction == sweep.direction
                and sweep.onset - last.end < (self._settle + self._win) / self.sfreq
            ):
                # The same saccade seen twice (a dip in its velocity). Keep the first, unless the
                # second is the larger part (a natural movement ran into the start of a deliberate
                # sweep): then the two are one sweep, which replaces the first for the LRLR search.
                sweep = self._join_dip(last, sweep) if sweep.size > last.size else None
            if sweep is not None:
                self._sweeps_all = [sweep]
                self._sweeps.append(sweep)
                events.append(sweep.to_event())
                lrlr = self._check_lrlr(sweep)
                if lrlr is not None:
                    events.append(lrlr)
        self._pending = keep
        return events

    def _join_dip(self, first: Sweep, second: Sweep) -> Sweep:
        """One sweep from two same-direction parts of one saccade; drops the first from the LRLR search."""
        a, b = first.movement, second.movement
        m = Movement(
            a.onset, b.end - a.onset, a.amplitude + b.amplitude, max(a.peak_velocity, b.peak_velocity),
            a.flat_before, b.flat_after, b.common_ratio, b.detected_at, False,
        )
        self._recent = [r for r in self._recent if r is not first]
        return Sweep(m, second.confidence)

    def _measure(
        self, start: int, end: int, peak: float, too_long: bool, pre: np.ndarray, post: np.ndarray
    ) -> Movement:
        fs = self.sfreq
        d = np.median(post, axis=1) - np.median(pre, axis=1)
        amp = float(d[0])
        scale = max(abs(amp), 1e-12)
        flat_b = float(np.ptp(pre[0]) / scale)
        flat_a = float(np.ptp(post[0]) / scale)
        common = None
        if self.two_channels:
            common = float(abs(d[1] + d[2]) / max(abs(d[1] - d[2]), 1e-12))
        return Movement(
            onset=start / fs,
            duration=(end - start) / fs,
            amplitude=amp,
            peak_velocity=peak,
            flat_before=flat_b,
            flat_after=flat_a,
            common_ratio=common,
            detected_at=self._n / fs,
            too_long=too_long,
        )

    def _accept(self, m: Movement) -> Sweep | None:
        s = self.settings
        size = abs(m.amplitude)
        if m.too_long or size < s.min_sweep_frac * self.swing or size > s.max_sweep_frac * self.swing:
            return None
        flat = max(m.flat_before, m.flat_after)
        if flat > s.max_flatness:
            return None
        if m.common_ratio is not None and m.common_ratio > s.max_common_ratio:
            return None
        conf = 1.0 - 0.6 * flat / s.max_flatness
        if m.common_ratio is not None:
            conf *= 1.0 - 0.5 * m.common_ratio / s.max_common_ratio
        return Sweep(m, float(np.clip(conf, 0.05, 1.0)))

    def _note_rejected(self, m: Movement) -> None:
        """Keep recent leftward movements of sweep size that failed only the sweep tests."""
        s = self.settings
        size = abs(m.amplitude)
        if m.direction == "L" and not m.too_long and s.min_sweep_frac * self.swing <= size <= self.swing:
            horizon = 4 * (s.max_gap_sec + s.max_movement_sec)
            self._rejected = [r for r in self._rejected if m.end - r.onset <= horizon] + [m]

    def _lrlr_from_rejected_start(self) -> tuple[list[Sweep], float] | None:
        """An LRLR whose first (half) sweep was not accepted as a sweep.

        The marker's first sweep starts from whatever the eyes were doing before it; in REM sleep
        that is often a burst of natural movements, so its fixation window before is not flat and
        the sweep test refuses it. When the three full swings are there, a recent leftward movement
        of the right size may stand in for it (confidence × 0.8; the latest such movement); the
        LRLR tests are unchanged.
        """
        best: tuple[list[Sweep], float] | None = None
        for m in self._rejected:
            seq = [Sweep(m, 0.5)] + [r for r in self._recent if r.onset >= m.end]
            if len(seq) < 4:
                continue
            found = find_lrlr(seq, self.swing, self.settings, self.plateau_sizes)
            if found is not None and found[0][0].movement is m:
                found = (found[0], found[1] * 0.8)
                # The latest stand-in is the one next to the second sweep, as the marker's first
                # sweep is (an earlier one is a natural movement before the marker).
                if best is None or m.onset > best[0][0].onset:
                    best = found
        return best

    def _level_start(self, second: Sweep, hold: float) -> Sweep | None:
        """The marker's first (half) sweep read from the gaze level before its second sweep.

        The first sweep starts from centre, often out of a burst of natural movements that cut it
        into several small pieces, none of which passes as a sweep. Its size is a level
        difference: the median level of the fixation before ``second`` (``hold`` seconds, as long as
        the sender's other fixations) minus the centre (median level over the
        :data:`CENTRE_LOOKBACK_SEC` before that fixation). Its time is where the level last rose
        through the midpoint between the two for at least 60 ms. ``None`` when the history does
        not hold the span or the level did not rise by at least :attr:`EyeSettings.min_sweep_frac`
        of the swing.
        """
        fs = self.sfreq
        s = self.settings
        hi = int(round(second.onset * fs)) - self._settle
        lo = hi - int(round(hold * fs))
        fix = self._window(lo, hi)
        back = self._window(lo - int(round(CENTRE_LOOKBACK_SEC * fs)), lo)
        if fix is None or back is None or hi - lo < self._min_win:
            return None
        level, centre = float(np.median(fix[0])), float(np.median(back[0]))
        if level - centre < s.min_sweep_frac * self.swing:
            return None
        # the last run of ≥ 60 ms below the midpoint before the fixation's end
        span = self._window(lo - int(round((s.max_gap_sec + s.max_movement_sec) * fs)), hi)
        if span is None:
            return None
        below = span[0] < 0.5 * (level + centre)
        run = max(2, int(round(0.06 * fs)))
        ok = np.convolve(below.astype(float), np.ones(run), "valid") >= run
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return None
        cross = hi - span.shape[1] + int(idx[-1]) + run  # first sample after that run
        half = max(1, int(round(0.05 * fs)))
        onset, end = (cross - half) / fs, (cross + half) / fs
        if second.onset - end < s.min_gap_sec:
            return None
        m = Movement(onset, end - onset, level - centre, 0.0, 0.0, 0.0, None, second.onset, False)
        return Sweep(m, 0.5)

    def _lrlr_from_level_start(self) -> tuple[list[Sweep], float] | None:
        """An LRLR whose first (half) sweep is read from the gaze level (:meth:`_level_start`).

        For each recent rightward sweep that could be the marker's second, a first sweep is
        measured from the level and the four are judged by the unchanged LRLR tests
        (:func:`find_lrlr`); the first fixation's length is taken as the median fixation between
        the later sweeps (the sender's pace). Confidence × 0.7; the first must be at least a
        quarter of the median full swing (a marker's is half). Only when no leftward sweep was
        accepted there (the ordinary search has judged those): the sweeps of eye-Morse elements,
        which land on fixations, must not start a marker read from the level.
        """
        best: tuple[list[Sweep], float] | None = None
        recent = self._recent
        for n, second in enumerate(recent[:-2]):
            if second.direction != "R":
                continue
            later = recent[n:]
            gaps = [b.onset - a.end for a, b in zip(later[:-1], later[1:], strict=True)]
            hold = float(np.clip(np.median(gaps), self.settings.min_gap_sec, self.settings.max_gap_sec))
            first = self._level_start(second, hold)
            if first is None or any(
                r.direction == "L" and r.onset >= first.onset - 0.5 and r.end <= second.onset for r in recent
            ):
                continue  # a first sweep that passed as a sweep is the ordinary search's to judge
            found = find_lrlr([first] + later, self.swing, self.settings, self.plateau_sizes)
            if found is None or found[0][0] is not first:
                continue
            sizes = self.plateau_sizes(found[0]) or [x.size for x in found[0]]
            if min(sizes[1:]) <= 0 or 4.0 * max(first.size, sizes[0]) < float(np.median(sizes[1:])):
                continue
            found = (found[0], found[1] * 0.7)
            if best is None or self._rank(found) > self._rank(best):
                best = found
        return best

    def _rank(self, found: tuple[list[Sweep], float]) -> float:
        sweeps, conf = found
        sizes = self.plateau_sizes(sweeps)
        if sizes is None or min(sizes) <= 0:
            sizes = [s.size for s in sweeps]
        return frame_rank(sweeps, sizes, conf)

    def _check_lrlr(self, sweep: Sweep) -> Event | None:
        self._recent.append(sweep)
        horizon = 4 * (self.settings.max_gap_sec + self.settings.max_movement_sec)
        self._recent = [s for s in self._recent if sweep.end - s.onset <= horizon]
        found = find_lrlr(self._recent, self.swing, self.settings, self.plateau_sizes)
        stand_in = self._lrlr_from_rejected_start()
        if found is None or (stand_in is not None and self._rank(stand_in) > self._rank(found)):
            # The marker's first sweep may have been refused as a sweep while a natural movement
            # before it was accepted: the stand-in that keeps the sender's pace is the marker.
            found = stand_in
        level = self._lrlr_from_level_start()
        if found is None or (level is not None and self._rank(level) > self._rank(found)):
            # The marker's first sweep, cut into pieces by natural movements, read from the gaze
            # level; it also wins over a candidate that borrowed a natural movement before it.
            found = level
        if found is None:
            return None
        sweeps, conf = found
        self._frames.append(Frame(sweeps, conf))
        self._rejected = []
        # The frame's last two sweeps stay candidates: when natural movements just before a marker
        # pass as its first two sweeps, a "marker" ends with the real marker's first two sweeps,
        # and the real one follows one fixation later. (A real marker's third sweep is a full
        # swing, which cannot start another marker.)
        self._recent = [s for s in self._recent if s.onset >= sweeps[2].onset]
        return Event(
            onset=round(sweeps[0].onset, 4),
            duration=round(sweeps[-1].end - sweeps[0].onset, 4),
            trial_type="lrlr",
            value="LRLR",
            confidence=round(conf, 3),
            source=SOURCE,
            data={
                "amplitudes_uv": [round(s.movement.amplitude * 1e6, 1) for s in sweeps],
                "detected_at": round(sweeps[-1].movement.detected_at, 4),
                "latency_sec": round(sweeps[-1].movement.detected_at - sweeps[-1].end, 4),
            },
        )
