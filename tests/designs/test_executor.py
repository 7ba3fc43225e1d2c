"""A design driving the real cue layer (scheduler + safety governor + null output) from an event bus."""

from __future__ import annotations

import pytest

from dreamlink.designs import design_from_text
from dreamlink.designs.executor import CueLayerSink, attach
from dreamlink.designs.runtime import DesignRuntime
from dreamlink.events import Event, EventBus

scheduler_mod = pytest.importorskip("dreamlink.cues.scheduler")
sinks_mod = pytest.importorskip("dreamlink.cues.sinks")

TEXT = """\
design: live
version: 1
initial: wait
states:
  wait:
    on:
      - trigger: lrlr
        do:
          - cue: {kind: tones, text: "2", level_db: 5}
          - cue: {kind: flashes, text: "3", level_db: 19}
          - mark: {label: seen}
"""


def test_cues_go_through_the_scheduler_and_governor():
    bus = EventBus()
    published: list[Event] = []
    bus.subscribe(published.append)
    output = sinks_mod.NullSink()
    clock = lambda: 0.0  # noqa: E731 - a frozen session clock: dispatch is not needed here
    scheduler = scheduler_mod.CueScheduler([output], bus=bus, clock=clock)
    from dreamlink.cues.safety import Cap, SafetyLimits

    # the operator lowered the light limit below the design's 19 dB: that cue is refused
    scheduler.governor.limits = SafetyLimits({"light": Cap(10.0, 0.0)})
    rt = DesignRuntime(design_from_text(TEXT), CueLayerSink(scheduler, bus))
    rt.start(0.0)
    attach(rt, bus)
    bus.publish(Event(5.0, 2.0, "lrlr", "LRLR"))
    assert [r.status for r in scheduler.records] == ["pending"]
    assert scheduler.records[0].cue.requester == "design" and scheduler.records[0].cue.kind == "tones"
    kinds = [e.trial_type for e in published]
    assert "cue_refused" in kinds and "mark" in kinds
    assert rt.counts["action:cue"] == 1 and rt.counts["refused:cue"] == 1
