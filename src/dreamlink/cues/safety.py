"""Intensity and safety: levels relative to the sleeper's threshold, calibration, ramps, caps, abort.

**Levels.** A cue's ``level_db`` is in dB relative to the sleeper's threshold for that sense, measured
awake before sleep with :func:`calibrate_threshold` (a 1-up/1-down staircase, Levitt 1971,
doi:10.1121/1.1912375). The threshold itself is stored in dB re full scale (dBFS): for audio the RMS of
the sound while it sounds (a full-scale sine is −3 dBFS), for light and vibration the PWM drive
(20·log10 of the duty, 255 = 0 dB). Without a calibration, the reference is a documented default:
**audio 0 dB = −40 dBFS RMS (1 % of full scale)**, **light and vibration 0 dB = −20 dB of full drive
(10 % duty, level 25 of 255)**. These are conservative starting points, not thresholds: calibrate.

**Hard caps.** :data:`HARD_CAPS` bounds every cue, whoever asks (design, operator, API): at most
``max_above_threshold_db`` above the threshold *and* at most ``max_dbfs`` absolute. Operators may
lower the limits (:class:`SafetyLimits`) but a limit above the hard cap is refused when it is built,
and :meth:`SafetyGovernor.approve` applies ``min(limit, hard cap)`` again at every cue, and checks the
rendered signal itself (:meth:`SafetyGovernor.verify_rendering`). Audio that would clip is refused.

**Ramps.** :class:`AdaptiveRamp` starts low and steps up until a response (an eye or EMG signal) or the
limit; an ``arousal`` event backs it off and pauses it, a ``wake`` event stops it (and cuts the cue being
presented) at once. Konkoly et al. (2021, doi:10.1016/j.cub.2021.01.026) and Carr et al. (2020, targeted
lucidity reactivation, Psychology of Consciousness, doi:10.1037/cns0000227) both adjusted stimulus
intensity per participant to stay below the waking threshold; this automates that.

**Abort.** :meth:`SafetyGovernor.abort` stops every output at once and refuses cues until
:meth:`SafetyGovernor.resume`. Every refusal is published as a ``cue_refused`` event with a reason.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from dreamlink.cues.base import MODALITIES, Cue, Rendering, SessionClock
from dreamlink.errors import ConfigError, CueSafetyError, InputFileError
from dreamlink.events import Event, EventBus

logger = logging.getLogger("dreamlink.cues.safety")

#: Default reference (0 dB) per modality, dB re full scale, used until the sleeper is calibrated.
DEFAULT_REFERENCE_DBFS: MappingProxyType[str, float] = MappingProxyType(
    {"audio": -40.0, "light": -20.0, "vibration": -20.0}
)


@dataclass(frozen=True)
class Cap:
    """A level bound: dB above the threshold, and absolute dB re full scale."""

    max_above_threshold_db: float
    max_dbfs: float


#: Caps nothing can exceed (module constants; checked again at every cue).
HARD_CAPS: MappingProxyType[str, Cap] = MappingProxyType(
    {
        "audio": Cap(max_above_threshold_db=30.0, max_dbfs=-10.0),
        "light": Cap(max_above_threshold_db=20.0, max_dbfs=0.0),
        "vibration": Cap(max_above_threshold_db=20.0, max_dbfs=0.0),
    }
)
#: Largest sample magnitude an audio rendering may reach (full scale; above = clipping).
MAX_PEAK = 1.0
#: Tolerance of the rendered-signal check, dB (rounding of PWM and of frame-wise RMS).
VERIFY_TOLERANCE_DB = 0.5

#: Refusal reasons (the ``data["reason"]`` of a ``cue_refused`` event).
REASONS = (
    "invalid_level",
    "above_cap",
    "clipping",
    "aborted",
    "paused_after_wake",
    "paused_after_arousal",
    "render_failed",
)


@dataclass(frozen=True)
class SafetyLimits:
    """Operator limits per modality; each must be at or below :data:`HARD_CAPS`.

    Parameters
    ----------
    caps : mapping of str to Cap
        Per-modality limits; missing modalities get the hard cap.

    Raises
    ------
    CueSafetyError
        If any limit is above the hard cap or not a number.
    """

    caps: dict[str, Cap] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for modality, cap in self.caps.items():
            if modality not in HARD_CAPS:
                raise CueSafetyError(f"unknown modality {modality!r} in limits; use {', '.join(MODALITIES)}")
            hard = HARD_CAPS[modality]
            for name in ("max_above_threshold_db", "max_dbfs"):
                value, bound = getattr(cap, name), getattr(hard, name)
                if not (isinstance(value, int | float) and math.isfinite(value)) or value > bound:
                    raise CueSafetyError(
                        f"refused: {modality} limit {name}={value} exceeds the hard cap {bound:g}; "
                        "limits can only be lowered"
                    )

    def cap(self, modality: str) -> Cap:
        """The effective limit of ``modality`` (never above the hard cap)."""
        hard = HARD_CAPS[modality]
        own = self.caps.get(modality, hard)
        return Cap(
            min(own.max_above_threshold_db, hard.max_above_threshold_db), min(own.max_dbfs, hard.max_dbfs)
        )


@dataclass
class Calibration:
    """The sleeper's thresholds per modality, in dBFS (see the module docstring for the reference).

    Parameters
    ----------
    thresholds_dbfs : dict of str to float
        Measured thresholds; modalities not measured use :data:`DEFAULT_REFERENCE_DBFS`.
    subject : str
        Who was calibrated.
    """

    thresholds_dbfs: dict[str, float] = field(default_factory=dict)
    subject: str = ""

    def __post_init__(self) -> None:
        for modality, value in self.thresholds_dbfs.items():
            if modality not in MODALITIES:
                raise ConfigError(
                    f"unknown modality {modality!r} in calibration; use {', '.join(MODALITIES)}"
                )
            if not (isinstance(value, int | float) and math.isfinite(value) and value <= 0):
                raise ConfigError(f"calibrated {modality} threshold must be a dBFS value <= 0, got {value!r}")

    def threshold_dbfs(self, modality: str) -> float:
        """Threshold (0 dB) of ``modality`` in dBFS."""
        return float(self.thresholds_dbfs.get(modality, DEFAULT_REFERENCE_DBFS[modality]))

    def is_calibrated(self, modality: str) -> bool:
        """Whether ``modality`` was measured (else the default reference is used)."""
        return modality in self.thresholds_dbfs

    def save(self, path: str | Path) -> Path:
        """Write as JSON ``{"subject": ..., "thresholds_dbfs": {...}}``."""
        path = Path(path)
        path.write_text(
            json.dumps({"subject": self.subject, "thresholds_dbfs": self.thresholds_dbfs}, indent=2)
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Calibration:
        """Read a file written by :meth:`save`.

        Raises
        ------
        InputFileError
            If it is missing or not a calibration file.
        """
        path = Path(path)
        if not path.is_file():
            raise InputFileError(f"calibration file not found: {path} (check the path)")
        try:
            doc = json.loads(path.read_text())
            return cls(dict(doc["thresholds_dbfs"]), str(doc.get("subject", "")))
        except (ValueError, KeyError, TypeError) as err:
            raise InputFileError(
                f"{path} is not a dreamlink calibration file (needs a 'thresholds_dbfs' mapping)"
            ) from err


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of :func:`calibrate_threshold`.

    Attributes
    ----------
    threshold_dbfs : float
        Mean level of the last reversals, dBFS.
    trials : list of (float, bool)
        Every presented level (dBFS) and whether it was perceived.
    reversals : list of float
        Levels where the staircase changed direction.
    """

    threshold_dbfs: float
    trials: list[tuple[float, bool]]
    reversals: list[float]


def calibrate_threshold(
    present: Callable[[float], bool],
    *,
    modality: str = "audio",
    start_dbfs: float | None = None,
    coarse_step_db: float = 6.0,
    fine_step_db: float = 2.0,
    n_reversals: int = 8,
    n_average: int = 6,
    max_trials: int = 60,
) -> CalibrationResult:
    """Measure the awake detection threshold with a 1-up/1-down staircase (Levitt 1971).

    Starting clearly perceptible (``start_dbfs``, default reference + 20 dB), the level drops by
    ``coarse_step_db`` until the first miss, then moves by ``fine_step_db`` (down after a hit, up after a
    miss). The threshold is the mean of the last ``n_average`` of ``n_reversals`` reversal levels (the 50 %
    point of the psychometric function). Presentations never exceed the hard cap.

    Parameters
    ----------
    present : callable
        ``present(level_dbfs) -> perceived``: presents one cue at that level and returns whether the
        (awake) sleeper reported it. In a session this plays the cue and waits for a key or button press.
    modality : str
        ``audio``, ``light`` or ``vibration``.

    Returns
    -------
    CalibrationResult

    References
    ----------
    Levitt, H. (1971). Transformed up-down methods in psychoacoustics. JASA 49, 467-477.
    doi:10.1121/1.1912375
    """
    if modality not in HARD_CAPS:
        raise ConfigError(f"unknown modality {modality!r}; use {', '.join(MODALITIES)}")
    cap = HARD_CAPS[modality].max_dbfs
    level = min(DEFAULT_REFERENCE_DBFS[modality] + 20.0 if start_dbfs is None else start_dbfs, cap)
    trials: list[tuple[float, bool]] = []
    reversals: list[float] = []
    last: bool | None = None
    coarse = True
    while len(trials) < max_trials and len(reversals) < n_reversals:
        heard = bool(present(level))
        trials.append((level, heard))
        if last is not None and heard != last:
            if coarse:
                coarse = False  # first miss ends the coarse descent; not counted as a reversal
            else:
                reversals.append(level)
        last = heard
        step = coarse_step_db if coarse else fine_step_db
        level = min(level - step if heard else level + step, cap)
        if level < -120.0:
            raise CueSafetyError("calibration never reached a miss above -120 dBFS; check the response input")
    if len(reversals) < 2:
        raise CueSafetyError(
            f"calibration did not converge in {max_trials} trials ({len(reversals)} reversals); "
            "check that the responses are consistent and retry"
        )
    use = reversals[-min(n_average, len(reversals)) :]
    return CalibrationResult(float(np.mean(use)), trials, reversals)


def enforce_hard_cap(rendering: Rendering) -> None:
    """Last line of defence, run by every output before presenting: the signal itself under the hard cap.

    Measures the rendering (audio: active RMS and peak; light/vibration: drive) against the absolute
    hard cap of its modality, whatever path produced it (governor, direct API use of ``render_cue``).

    Raises
    ------
    CueSafetyError
        If the measured level is above :data:`HARD_CAPS` or audio would clip.
    """
    from dreamlink.cues.audio import active_rms_dbfs, amplitude_to_db

    cap = HARD_CAPS[rendering.modality].max_dbfs
    if rendering.audio is not None:
        x = rendering.audio.samples
        if x.size and float(np.max(np.abs(x))) > MAX_PEAK:
            raise CueSafetyError("refused: audio would clip; lower the level")
        measured = active_rms_dbfs(x, rendering.audio.sfreq) if x.size else -math.inf
    elif rendering.pulses is not None:
        measured = amplitude_to_db(rendering.pulses.intensity)
    else:
        return
    # The level a rendering was made at is known exactly, while the frame-wise RMS of a short beep can
    # read a few tenths of a dB low: the louder of the two is held to the cap.
    if rendering.level_dbfs is not None:
        measured = max(measured, float(rendering.level_dbfs))
    if measured > cap + VERIFY_TOLERANCE_DB:
        logger.error("output refused a rendering at %.1f dBFS above the hard cap %.1f dBFS", measured, cap)
        raise CueSafetyError(
            f"refused: {rendering.modality} cue at {measured:.1f} dBFS exceeds the hard cap {cap:.1f} dBFS"
        )


class SafetyGovernor:
    """The one gate every cue passes: caps, pauses after arousal or wake, global abort, refusal log.

    Parameters
    ----------
    calibration : Calibration | None
        The sleeper's thresholds (default: the documented default references).
    limits : SafetyLimits | None
        Operator limits (default: the hard caps).
    bus : EventBus | None
        Where ``cue_refused`` and ``cue_abort`` events are published; ``arousal`` and ``wake`` events on
        it pause cueing.
    clock : callable | None
        Session time in seconds (default: a new :class:`SessionClock`).
    arousal_pause_sec, wake_pause_sec : float
        How long cues are refused after an ``arousal`` / ``wake`` event.
    """

    def __init__(
        self,
        calibration: Calibration | None = None,
        limits: SafetyLimits | None = None,
        *,
        bus: EventBus | None = None,
        clock: Callable[[], float] | None = None,
        arousal_pause_sec: float = 30.0,
        wake_pause_sec: float = 300.0,
        source: str = "cues.safety",
    ) -> None:
        self.calibration = calibration or Calibration()
        self.limits = limits or SafetyLimits()
        self.bus = bus
        self.clock = clock or SessionClock()
        self.arousal_pause_sec = float(arousal_pause_sec)
        self.wake_pause_sec = float(wake_pause_sec)
        self.source = source
        self.refusals: list[Event] = []
        self._lock = threading.RLock()
        self._aborted: str | None = None
        self._paused_until = -math.inf
        self._pause_reason = ""
        self._stop_callbacks: list[Callable[[float], None]] = []
        if bus is not None:
            bus.subscribe(self._on_event, kinds=("arousal", "wake"))

    # -- levels -------------------------------------------------------------------------------
    def cap_db(self, modality: str) -> float:
        """Highest allowed level of ``modality`` in dB re the threshold."""
        thr = self.calibration.threshold_dbfs(modality)
        cap = self.limits.cap(modality)
        return min(cap.max_above_threshold_db, cap.max_dbfs - thr)

    def cap_dbfs(self, modality: str) -> float:
        """Highest allowed level of ``modality`` in dBFS."""
        return self.calibration.threshold_dbfs(modality) + self.cap_db(modality)

    def to_dbfs(self, modality: str, level_db: float) -> float:
        """Convert dB re threshold to dBFS."""
        return self.calibration.threshold_dbfs(modality) + float(level_db)

    # -- state --------------------------------------------------------------------------------
    @property
    def aborted(self) -> bool:
        """Whether a global abort is in force."""
        return self._aborted is not None

    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when not paused)."""
        return max(0.0, self._paused_until - self.clock())

    def add_stop_callback(self, callback: Callable[[float], None]) -> None:
        """Call ``callback(session_time)`` on abort and on wake (schedulers and ramps register here)."""
        with self._lock:
            self._stop_callbacks.append(callback)

    def remove_stop_callback(self, callback: Callable[[float], None]) -> None:
        """Undo :meth:`add_stop_callback`."""
        with self._lock:
            self._stop_callbacks = [c for c in self._stop_callbacks if c is not callback]

    def _stop_all(self, at: float) -> None:
        with self._lock:
            callbacks = list(self._stop_callbacks)
        for callback in callbacks:
            try:
                callback(at)
            except Exception:  # noqa: BLE001 - one failing output must not keep the others running
                logger.exception("stop callback %r failed", callback)

    def abort(self, reason: str = "operator abort") -> None:
        """Stop everything now and refuse every cue until :meth:`resume`."""
        at = self.clock()
        with self._lock:
            self._aborted = reason
        logger.warning("cues aborted at %.3f s: %s", at, reason)
        self._stop_all(at)
        self._publish(Event(onset=at, trial_type="cue_abort", value=reason, source=self.source))

    def resume(self) -> None:
        """Lift an abort and any pause (an explicit operator action)."""
        with self._lock:
            self._aborted = None
            self._paused_until = -math.inf

    def pause(self, seconds: float, reason: str) -> None:
        """Refuse cues for ``seconds`` from now (``reason`` is ``paused_after_wake``/``..._arousal``)."""
        with self._lock:
            until = self.clock() + float(seconds)
            if until > self._paused_until:
                self._paused_until, self._pause_reason = until, reason

    def _on_event(self, event: Event) -> None:
        if event.trial_type == "wake":
            self.pause(self.wake_pause_sec, "paused_after_wake")
            self._stop_all(self.clock())
        elif event.trial_type == "arousal":
            self.pause(self.arousal_pause_sec, "paused_after_arousal")

    # -- the gate -----------------------------------------------------------------------------
    def approve(self, cue: Cue) -> float:
        """Approve ``cue`` now and return its level in dBFS, or refuse it.

        Raises
        ------
        CueSafetyError
            With the reason, after publishing a ``cue_refused`` event.
        """
        level = cue.level_db
        if not isinstance(level, int | float) or not math.isfinite(level):
            self.refuse(cue, "invalid_level", f"level {level!r} dB is not a finite number")
        if self._aborted is not None:
            self.refuse(cue, "aborted", f"cues are aborted ({self._aborted}); resume first")
        left = self.paused_for()
        if left > 0:
            self.refuse(cue, self._pause_reason, f"cues paused for {left:.0f} s more ({self._pause_reason})")
        cap_db = self.cap_db(cue.modality)
        if level > cap_db + 1e-9:
            ref = (
                "calibrated threshold"
                if self.calibration.is_calibrated(cue.modality)
                else "default reference"
            )
            self.refuse(
                cue,
                "above_cap",
                f"level {level:+.1f} dB exceeds the {cue.modality} cap {cap_db:+.1f} dB re the {ref} "
                f"({self.cap_dbfs(cue.modality):.1f} dBFS); lower the level",
            )
        # never above the cap, not even by a rounding error of threshold + level
        return min(self.to_dbfs(cue.modality, level), self.cap_dbfs(cue.modality))

    def verify_rendering(self, rendering: Rendering) -> None:
        """Check the rendered signal itself against the cap (and audio against clipping).

        Raises
        ------
        CueSafetyError
            If the measured level exceeds the cap or audio would clip (after publishing ``cue_refused``).
        """
        from dreamlink.cues.audio import active_rms_dbfs, amplitude_to_db

        cue = rendering.cue
        cap = self.cap_dbfs(cue.modality)
        if rendering.audio is not None:
            x = rendering.audio.samples
            peak = float(np.max(np.abs(x))) if x.size else 0.0
            if peak > MAX_PEAK:
                self.refuse(
                    cue,
                    "clipping",
                    f"audio would clip (peak {amplitude_to_db(peak):+.1f} dBFS) at level "
                    f"{cue.level_db:+.1f} dB; lower the level",
                )
            measured = active_rms_dbfs(x, rendering.audio.sfreq)
        elif rendering.pulses is not None:
            measured = amplitude_to_db(rendering.pulses.intensity)
        else:
            measured = -math.inf
        if measured > cap + VERIFY_TOLERANCE_DB:
            self.refuse(
                cue, "above_cap", f"rendered level {measured:.1f} dBFS exceeds the cap {cap:.1f} dBFS"
            )

    def log_refusal(self, cue: Cue, reason: str, message: str, **data: Any) -> Event:
        """Publish and log a ``cue_refused`` event (without raising); returns it."""
        event = Event(
            onset=self.clock(),
            trial_type="cue_refused",
            value=cue.kind,
            source=self.source,
            data={
                "reason": reason,
                "message": message,
                "requester": cue.requester,
                "payload": cue.payload,
                "level_db": cue.level_db if math.isfinite(cue.level_db) else str(cue.level_db),
                "requested_at": cue.at,
                **data,
            },
        )
        with self._lock:
            self.refusals.append(event)
        logger.warning("cue refused (%s, from %s): %s", reason, cue.requester, message)
        self._publish(event)
        return event

    def refuse(self, cue: Cue, reason: str, message: str, **data: Any) -> None:
        """Publish a ``cue_refused`` event, log it, and raise :class:`CueSafetyError`."""
        self.log_refusal(cue, reason, message, **data)
        raise CueSafetyError(f"refused: {message}")

    def _publish(self, event: Event) -> None:
        if self.bus is not None:
            self.bus.publish(event)


#: Event kinds that count as the sleeper's response to a ramp: deliberate signals decoded by
#: :mod:`dreamlink.detect` (LRLR eye signal, decoded message, count or yes/no answer); single EMG
#: twitches are not included because REM sleep has spontaneous ones (pass ``response_kinds`` to change).
RESPONSE_KINDS: tuple[str, ...] = ("lrlr", "message", "count", "yes_no", "response")


class AdaptiveRamp:
    """Present a cue repeatedly, louder each time, until the sleeper responds or the limit is reached.

    Each step presents ``cue`` at ``start_db``, ``start_db + step_db``, ... (dB re threshold), one every
    ``interval_sec``, never above ``max_db`` nor the governor's cap. A response event (any of
    ``response_kinds``) ends it (``outcome = "responded"``); an ``arousal`` event lowers the level by
    ``backoff_db`` and pauses ``pause_sec`` before continuing; a ``wake`` event stops it at once
    (``outcome = "woke"``) and the governor cuts the cue being presented. An abort stops it too
    (``"aborted"``). While the governor refuses cues (a pause), the same level is retried after the pause;
    any other refusal ends the ramp (``"refused"``). ``outcome`` is ``"limit"`` when the limit was passed
    without a response, ``"stopped"`` after :meth:`stop`.

    Parameters
    ----------
    scheduler : CueScheduler
        Presents each step (through its outputs and its governor).
    cue : Cue
        The cue to present; its ``level_db`` is replaced by the ramp's level.
    bus : EventBus
        Where responses, arousals and wakes arrive.
    """

    def __init__(
        self,
        scheduler: Any,
        cue: Cue,
        bus: EventBus,
        *,
        start_db: float = -10.0,
        step_db: float = 3.0,
        max_db: float | None = None,
        interval_sec: float = 10.0,
        backoff_db: float = 6.0,
        pause_sec: float = 30.0,
        response_kinds: Iterable[str] = RESPONSE_KINDS,
    ) -> None:
        if not step_db > 0 or not interval_sec > 0:
            raise ConfigError("ramp step_db and interval_sec must be positive")
        self.scheduler = scheduler
        self.cue = cue
        self.bus = bus
        self.start_db, self.step_db = float(start_db), float(step_db)
        cap = scheduler.governor.cap_db(cue.modality)
        self.max_db = min(cap, float(max_db)) if max_db is not None else cap
        self.interval_sec, self.backoff_db, self.pause_sec = (
            float(interval_sec),
            float(backoff_db),
            float(pause_sec),
        )
        self.response_kinds = frozenset(response_kinds)
        self.levels: list[float] = []
        self.outcome: str | None = None
        self.stopped_at: float | None = None
        self._wake = threading.Event()  # set on anything that needs the loop's attention
        self._stop_reason: str | None = None
        self._arousals = 0
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _on_event(self, event: Event) -> None:
        with self._lock:
            if event.trial_type == "wake":
                self._stop_reason = self._stop_reason or "woke"
            elif event.trial_type in self.response_kinds:
                self._stop_reason = self._stop_reason or "responded"
            elif event.trial_type == "arousal":
                self._arousals += 1
            elif event.trial_type == "cue_abort":
                self._stop_reason = self._stop_reason or "aborted"
        self._wake.set()

    def start(self) -> AdaptiveRamp:
        """Run in a background thread; returns ``self``."""
        kinds = {"wake", "arousal", "cue_abort", *self.response_kinds}
        self.bus.subscribe(self._on_event, kinds=kinds)
        self._thread = threading.Thread(target=self._run, name="dreamlink-ramp", daemon=True)
        self._thread.start()
        return self

    def stop(self, reason: str = "stopped") -> None:
        """Stop the ramp (does not cut a cue being presented; use the governor's abort for that)."""
        with self._lock:
            self._stop_reason = self._stop_reason or reason
        self._wake.set()

    def join(self, timeout: float | None = None) -> str | None:
        """Wait for the end; returns the outcome."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.outcome

    def _wait(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    def _run(self) -> None:
        from dataclasses import replace

        level = self.start_db
        seen_arousals = 0
        clock = self.scheduler.clock
        try:
            while True:
                with self._lock:
                    reason, arousals = self._stop_reason, self._arousals
                if reason is not None:
                    self.outcome = reason
                    break
                if arousals > seen_arousals:
                    seen_arousals = arousals
                    level -= self.backoff_db
                    deadline = clock() + self.pause_sec
                    while clock() < deadline and self._stop_reason is None:
                        self._wait(deadline - clock())
                    continue
                if level > self.max_db + 1e-9:
                    self.outcome = "limit"
                    break
                try:
                    self.scheduler.present(replace(self.cue, level_db=level))
                    self.levels.append(level)
                    stepped = True
                except CueSafetyError:  # refused and logged by the governor
                    paused = self.scheduler.governor.paused_for()
                    if paused <= 0 and not self.scheduler.governor.aborted:
                        self.outcome = "refused"  # e.g. the calibration changed under the ramp
                        break
                    stepped = False  # paused: retry the same level when the pause is over
                wait = self.interval_sec if stepped else max(self.interval_sec, paused)
                deadline = clock() + wait
                while clock() < deadline and self._stop_reason is None and self._arousals == seen_arousals:
                    self._wait(deadline - clock())
                if stepped:
                    level += self.step_db
        finally:
            self.stopped_at = clock()
            self.bus.unsubscribe(self._on_event)
            logger.info("ramp ended (%s) after %d steps", self.outcome, len(self.levels))
