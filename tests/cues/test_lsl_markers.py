import json
import time
import uuid

import pytest

from dreamlink.cues.base import Cue
from dreamlink.cues.lsl_markers import LslMarkerOutput
from dreamlink.cues.scheduler import CueScheduler
from dreamlink.cues.sinks import NullSink
from dreamlink.events import EventBus


def test_cue_markers_reach_a_real_inlet():
    lsl = pytest.importorskip("mne_lsl.lsl")
    name = f"dreamlink-test-cues-{uuid.uuid4().hex[:10]}"
    out = LslMarkerOutput(name).open()
    try:
        infos = lsl.resolve_streams(timeout=5.0, name=name)
        assert len(infos) == 1 and infos[0].stype == "Markers"
        inlet = lsl.StreamInlet(infos[0])
        inlet.open_stream(timeout=5.0)
        time.sleep(0.2)
        bus = EventBus()
        events = []
        bus.subscribe(events.append, kinds=["cue"])
        scheduler = CueScheduler([out, NullSink()], bus=bus)
        scheduler.present(Cue("morse-light", "E", level_db=3.0, unit_ms=50))
        scheduler.present(Cue("tones", "2", level_db=-5.0, unit_ms=30))
        received = []
        for _ in range(2):
            sample, ts = inlet.pull_sample(timeout=5.0)
            assert ts is not None
            received.append(json.loads(sample[0]))
        inlet.close_stream()
    finally:
        out.close()
    assert [(m["kind"], m["payload"], m["level_db"]) for m in received] == [
        ("morse-light", "E", 3.0),
        ("tones", "2", -5.0),
    ]
    assert received[0]["level_dbfs"] == pytest.approx(-17.0)
    assert received[1]["level_dbfs"] == pytest.approx(-45.0)
    # the markers carry the same onsets as the cue events in the recording
    assert [m["onset"] for m in received] == pytest.approx([e.onset for e in events], abs=1e-5)
