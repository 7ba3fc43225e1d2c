"""Cue markers on a Lab Streaming Layer outlet, so any LSL recorder (LabRecorder, mne-lsl) logs the cues.

One irregular-rate string channel of type ``Markers``; each presented cue pushes one JSON sample
``{"kind", "payload", "level_db", "level_dbfs", "onset", "duration", "modality"}`` time-stamped with
LSL's clock at dispatch.
"""

from __future__ import annotations

import json
import logging
import uuid

from dreamlink.cues.base import CueOutput, Rendering
from dreamlink.errors import DeviceError

logger = logging.getLogger("dreamlink.cues.lsl")


class LslMarkerOutput(CueOutput):
    """Publish every cue (all modalities) as a marker on an LSL outlet.

    Parameters
    ----------
    name : str
        Stream name (unique on the network, e.g. ``dreamlink-cues-<rig>``).
    source_id : str | None
        Stable identifier so recorders can reconnect (default: random).
    """

    name = "lsl-markers"
    modalities = None  # markers for every cue

    def __init__(self, name: str = "dreamlink-cues", source_id: str | None = None) -> None:
        super().__init__()
        self.stream_name = name
        self.source_id = source_id or f"dreamlink-cues-{uuid.uuid4().hex[:8]}"
        self._outlet = None

    def open(self) -> LslMarkerOutput:
        try:
            from mne_lsl.lsl import StreamInfo, StreamOutlet
        except (ImportError, RuntimeError) as err:
            raise DeviceError(f"LSL is not available ({err}); install mne-lsl") from err
        info = StreamInfo(self.stream_name, "Markers", 1, 0.0, "string", self.source_id)
        self._outlet = StreamOutlet(info)
        return self

    def push(self, marker: str) -> None:
        """Push one marker string now."""
        if self._outlet is None:
            self.open()
        self._outlet.push_sample([marker])

    def deliver(self, rendering: Rendering, onset: float) -> None:
        cue = rendering.cue
        self.push(
            json.dumps(
                {
                    "kind": cue.kind,
                    "payload": cue.payload,
                    "level_db": cue.level_db,
                    "level_dbfs": round(rendering.level_dbfs, 3),
                    "onset": round(onset, 6),
                    "duration": round(rendering.duration, 6),
                    "modality": cue.modality,
                },
                sort_keys=True,
            )
        )

    def abort(self, at: float) -> None:
        if self._outlet is not None:
            self.push(json.dumps({"kind": "abort", "onset": round(at, 6)}))

    def close(self) -> None:
        self._outlet = None
