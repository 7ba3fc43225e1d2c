"""Connect a running design to a live rig: events in from the bus, cues out through the cue layer.

:class:`CueLayerSink` is the :class:`~dreamlink.designs.runtime.ActionSink` of a real rig: cue and question
prompts become :class:`dreamlink.cues.base.Cue` objects (requester ``design``) handed to a
:class:`dreamlink.cues.scheduler.CueScheduler`, behind its :class:`~dreamlink.cues.safety.SafetyGovernor`
(a refusal comes back as ``False`` and the runtime does not count the cue); relays, marks and the end are
published on the rig's :class:`~dreamlink.events.EventBus` (the recorder stores them, the rig link
forwards ``relay_sent`` to the server). :func:`attach` subscribes a runtime to the bus.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dreamlink.designs.rehearse import RELEVANT_KINDS
from dreamlink.designs.runtime import CueRequest, DesignRuntime
from dreamlink.errors import DreamlinkError
from dreamlink.events import Event, EventBus

logger = logging.getLogger("dreamlink.designs")


class CueLayerSink:
    """Execute a design's actions on a live rig.

    Parameters
    ----------
    scheduler : dreamlink.cues.scheduler.CueScheduler
        Presents cues (and applies the safety governor).
    bus : EventBus | None
        Where ``relay_sent``, ``mark``, ``alarm`` and ``design_end`` events are published.
    on_relay : callable | None
        ``on_relay(event)`` sends a ``relay_sent`` event to the linked dreamer (the rig link).
    """

    def __init__(self, scheduler: Any, bus: EventBus | None = None,
                 on_relay: Callable[[Event], None] | None = None) -> None:
        self.scheduler = scheduler
        self.bus = bus
        self.on_relay = on_relay

    def _publish(self, event: Event) -> None:
        if self.bus is not None:
            self.bus.publish(event)

    def request_cue(self, request: CueRequest) -> bool:
        try:
            self.scheduler.schedule(request.to_cue())
        except DreamlinkError as err:  # CueSafetyError, CueRenderError: already logged as cue_refused
            logger.info("design cue refused: %s", err)
            return False
        return True

    def relay(self, event: Event) -> None:
        self._publish(event)
        if self.on_relay is not None:
            self.on_relay(event)

    def mark(self, event: Event) -> None:
        self._publish(event)

    def alarm(self, request: CueRequest) -> None:
        self._publish(Event(request.onset, 0.0, "alarm", request.text, None, "design",
                            {"kind": request.kind, "level_db": request.level_db}))
        try:
            self.scheduler.schedule(request.to_cue())
        except DreamlinkError as err:
            logger.warning("alarm refused by the cue layer: %s", err)

    def end(self, event: Event) -> None:
        self._publish(event)


def attach(runtime: DesignRuntime, bus: EventBus) -> Callable[[Event], None]:
    """Feed every relevant event published on ``bus`` to ``runtime``; returns the subscriber.

    The caller should also call ``runtime.advance(now)`` when :meth:`DesignRuntime.next_due` comes
    (a timer, a stage hold or a question timeout with no event to carry it).
    """

    def _on_event(event: Event) -> None:
        if runtime.status.value in ("running", "awaiting_answer"):
            runtime.feed(event)

    bus.subscribe(_on_event, kinds=RELEVANT_KINDS)
    return _on_event
