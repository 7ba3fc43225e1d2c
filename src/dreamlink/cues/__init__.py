"""Cues delivered into the dream: sound, light and vibration, safely and on time.

Modules: :mod:`~dreamlink.cues.base` (cue, rendering, output interface), :mod:`~dreamlink.cues.audio`,
:mod:`~dreamlink.cues.speech`, :mod:`~dreamlink.cues.encoding`, :mod:`~dreamlink.cues.serial_device`,
:mod:`~dreamlink.cues.lsl_markers`, :mod:`~dreamlink.cues.sinks`, :mod:`~dreamlink.cues.safety`,
:mod:`~dreamlink.cues.scheduler`.
"""

from dreamlink.cues.base import (
    AudioSignal,
    Cue,
    CueOutput,
    CueRenderError,
    PulseTrain,
    Rendering,
    SessionClock,
)
from dreamlink.cues.encoding import render_cue
from dreamlink.cues.safety import (
    HARD_CAPS,
    AdaptiveRamp,
    Calibration,
    SafetyGovernor,
    SafetyLimits,
    calibrate_threshold,
)
from dreamlink.cues.scheduler import CueScheduler, DispatchRecord
from dreamlink.cues.sinks import CsvSink, NullSink, WavSink, file_sink_for

__all__ = [
    "HARD_CAPS",
    "AdaptiveRamp",
    "AudioSignal",
    "Calibration",
    "CsvSink",
    "Cue",
    "CueOutput",
    "CueRenderError",
    "CueScheduler",
    "DispatchRecord",
    "NullSink",
    "PulseTrain",
    "Rendering",
    "SafetyGovernor",
    "SafetyLimits",
    "SessionClock",
    "WavSink",
    "calibrate_threshold",
    "file_sink_for",
    "render_cue",
]
