"""Dispatch cues at requested times and record when each one really started.

The :class:`CueScheduler` renders and approves a cue when it is scheduled (so a refusal is immediate and
dispatch only has to hand samples to the outputs), waits on the monotonic session clock until shortly
before the requested time, then busy-waits the last millisecond (holding the GIL, so that another busy
Python thread cannot delay the cue by a 5-ms interpreter switch interval). On a loaded machine the
operating system's scheduler dominates the jitter; ``realtime=True`` runs the dispatcher thread at
SCHED_FIFO priority (see ``benchmarks/cues.py`` for both). At dispatch it asks the safety
governor again (the sleeper may have woken meanwhile), hands the rendering to every output that presents
that modality, and publishes a ``cue`` :class:`~dreamlink.events.Event` whose ``onset`` is the actual start
and whose ``data`` holds ``requested``, ``actual`` and ``lag_ms`` — every cue is an event in the recording.
Refusals become ``cue_refused`` events (published by the governor).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import TracebackType

from dreamlink.cues.base import DEFAULT_SFREQ, Cue, CueOutput, Rendering, SessionClock
from dreamlink.cues.encoding import render_cue
from dreamlink.cues.safety import SafetyGovernor
from dreamlink.errors import CueSafetyError, DreamlinkError
from dreamlink.events import Event, EventBus

logger = logging.getLogger("dreamlink.cues.scheduler")

#: SCHED_FIFO priority of the dispatcher thread when ``realtime=True`` (1-99; audio servers use ~20).
REALTIME_PRIORITY = 20


@dataclass
class DispatchRecord:
    """What happened to one cue.

    Attributes
    ----------
    cue_id : int
        Order of scheduling.
    cue : Cue
        The request.
    requested : float
        Requested start, session seconds.
    actual : float | None
        Actual start (when handed to the outputs), session seconds; ``None`` if never presented.
    status : str
        ``pending``, ``delivered``, ``refused``, ``cancelled`` or ``failed``.
    reason : str
        Why it was refused, cancelled or failed.
    duration : float
        Length of the rendering in seconds.
    """

    cue_id: int
    cue: Cue
    requested: float
    actual: float | None = None
    status: str = "pending"
    reason: str = ""
    duration: float = 0.0

    @property
    def lag(self) -> float | None:
        """Actual minus requested start, seconds."""
        return None if self.actual is None else self.actual - self.requested


class CueScheduler:
    """Present cues on time through a set of outputs, behind the safety governor.

    Parameters
    ----------
    outputs : iterable of CueOutput
        Where cues go (each receives the modalities it accepts).
    governor : SafetyGovernor | None
        The safety gate (default: a new one on ``bus`` with default calibration and hard caps).
    bus : EventBus | None
        Where ``cue`` events are published (and the governor listens for ``arousal``/``wake``).
    clock : callable | None
        Session time in seconds (default: the governor's clock, else a new :class:`SessionClock`).
    spin_sec : float
        How long before the requested time the dispatcher stops sleeping and spins.
    sfreq : float
        Audio sampling rate of renderings, Hz.
    realtime : bool
        Run the dispatcher thread at real-time priority (Linux ``SCHED_FIFO``, needs root or an
        ``rtprio`` limit) so that other busy processes cannot delay cues; falls back to normal priority
        with a warning when not permitted.
    """

    def __init__(
        self,
        outputs: Iterable[CueOutput],
        governor: SafetyGovernor | None = None,
        bus: EventBus | None = None,
        clock: Callable[[], float] | None = None,
        *,
        spin_sec: float = 0.001,
        realtime: bool = False,
        sfreq: float = DEFAULT_SFREQ,
        source: str = "cues.scheduler",
    ) -> None:
        self.outputs = list(outputs)
        if clock is None:
            clock = governor.clock if governor is not None else SessionClock()
        self.clock = clock
        self.bus = bus
        self.governor = governor or SafetyGovernor(bus=bus, clock=clock)
        self.spin_sec = float(spin_sec)
        self.realtime = bool(realtime)
        self.realtime_active = False
        self.sfreq = float(sfreq)
        self.source = source
        self.records: list[DispatchRecord] = []
        self._heap: list[tuple[float, int, DispatchRecord, Rendering]] = []
        self._ids = itertools.count()
        self._cond = threading.Condition()
        self._running = False
        self._busy = False
        self._thread: threading.Thread | None = None
        self.governor.add_stop_callback(self._on_stop)

    # -- preparing ----------------------------------------------------------------------------
    def prepare(self, cue: Cue) -> Rendering:
        """Approve, render and verify ``cue`` (raises :class:`CueSafetyError` on refusal)."""
        level_dbfs = self.governor.approve(cue)
        try:
            rendering = render_cue(cue, level_dbfs, self.sfreq)
        except DreamlinkError as err:  # bad text, missing TTS engine, unreadable WAV
            self.governor.log_refusal(cue, "render_failed", str(err))
            raise
        self.governor.verify_rendering(rendering)
        return rendering

    def schedule(self, cue: Cue, at: float | None = None) -> DispatchRecord:
        """Queue ``cue`` for session time ``at`` (default ``cue.at``, else now).

        Returns
        -------
        DispatchRecord
            Updated in place when the cue is dispatched.

        Raises
        ------
        CueSafetyError
            If the cue is refused now (logged as a ``cue_refused`` event).
        """
        when = at if at is not None else (cue.at if cue.at is not None else self.clock())
        rendering = self.prepare(cue)
        record = DispatchRecord(next(self._ids), cue, float(when), duration=rendering.duration)
        with self._cond:
            self.records.append(record)
            heapq.heappush(self._heap, (record.requested, record.cue_id, record, rendering))
            self._cond.notify_all()
        return record

    def present(self, cue: Cue) -> DispatchRecord:
        """Approve, render and present ``cue`` now, in the caller's thread."""
        requested = self.clock()
        rendering = self.prepare(cue)
        record = DispatchRecord(next(self._ids), cue, requested, duration=rendering.duration)
        with self._cond:
            self.records.append(record)
        self._dispatch(record, rendering)
        return record

    # -- dispatching --------------------------------------------------------------------------
    def _dispatch(self, record: DispatchRecord, rendering: Rendering) -> None:
        cue = record.cue
        try:
            self.governor.approve(cue)  # state may have changed since scheduling (wake, abort)
        except CueSafetyError as err:
            record.status, record.reason = "refused", str(err)
            return
        actual = self.clock()
        delivered, errors = [], []
        for output in self.outputs:
            if not output.accepts(cue.modality):
                continue
            try:
                output.deliver(rendering, actual)
                delivered.append(output.name)
            except CueSafetyError as err:  # an output's own hard-cap check (enforce_hard_cap)
                errors.append(f"{output.name}: {err}")
                self.governor.log_refusal(cue, "above_cap", f"{output.name}: {err}")
            except DreamlinkError as err:
                errors.append(f"{output.name}: {err}")
                logger.error("cue output %s failed: %s", output.name, err)
        record.actual = actual
        record.status = "delivered" if delivered else "failed"
        record.reason = (
            "; ".join(errors) if errors else ("" if delivered else "no output for " + cue.modality)
        )
        if delivered and self.bus is not None:
            self.bus.publish(
                Event(
                    onset=actual,
                    duration=rendering.duration,
                    trial_type="cue",
                    value=cue.label or cue.payload,
                    source=self.source,
                    data={
                        **cue.describe(),
                        "requested": record.requested,
                        "actual": actual,
                        "lag_ms": (actual - record.requested) * 1000.0,
                        "level_dbfs": rendering.level_dbfs,
                        "outputs": delivered,
                    },
                )
            )

    def _raise_priority(self) -> None:
        try:
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))  # this thread only
            self.realtime_active = True
        except (AttributeError, OSError) as err:
            logger.warning(
                "cue dispatcher stays at normal priority (%s); allow real-time priority (root, "
                "CAP_SYS_NICE or an rtprio limit in /etc/security/limits.conf) for tighter timing",
                err,
            )

    def _run(self) -> None:
        if self.realtime:
            self._raise_priority()
        while True:
            with self._cond:
                while self._running and not self._heap:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                if not self._running:
                    return
                when = self._heap[0][0]
                delay = when - self.clock()
                if delay > self.spin_sec:
                    self._cond.wait(delay - self.spin_sec)
                    continue  # re-check: an earlier cue may have been queued meanwhile
                _, _, record, rendering = heapq.heappop(self._heap)
                self._busy = True
            while self.clock() < record.requested:
                pass  # busy-wait holding the GIL: sleep(0) would hand it to a busy thread for up to 5 ms
            if record.status == "pending":
                self._dispatch(record, rendering)

    def start(self) -> CueScheduler:
        """Start the dispatcher thread; returns ``self``."""
        with self._cond:
            if self._running:
                return self
            self._running = True
        self._thread = threading.Thread(target=self._run, name="dreamlink-cue-scheduler", daemon=True)
        self._thread.start()
        return self

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until every queued cue has been dispatched; ``False`` on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._heap or self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self) -> None:
        """Stop the dispatcher; queued cues are cancelled."""
        with self._cond:
            self._running = False
            self._cancel_pending("scheduler stopped")
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _cancel_pending(self, reason: str) -> None:
        for _, _, record, _ in self._heap:
            record.status, record.reason = "cancelled", reason
        self._heap.clear()
        self._busy = False
        self._cond.notify_all()

    def _on_stop(self, at: float) -> None:
        """Governor callback on abort or wake: drop queued cues and cut whatever is being presented."""
        with self._cond:
            self._cancel_pending("stopped by abort or wake")
        for output in self.outputs:
            try:
                output.abort(at)
            except DreamlinkError as err:
                logger.error("cue output %s could not abort: %s", output.name, err)

    def abort(self, reason: str = "operator abort") -> None:
        """Global abort (through the governor): every output stops, every queued cue is cancelled."""
        self.governor.abort(reason)

    def close(self) -> None:
        """Stop and close every output."""
        self.stop()
        self.governor.remove_stop_callback(self._on_stop)
        for output in self.outputs:
            output.close()

    def __enter__(self) -> CueScheduler:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
