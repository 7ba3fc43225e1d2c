"""Detecting and decoding the signals a sleeper sends: eye sweeps, LRLR, messages, REMs, arousals.

Modules: :mod:`~dreamlink.detect.filters` (causal filters), :mod:`~dreamlink.detect.eye_sweeps`
(sweeps and the LRLR marker), :mod:`~dreamlink.detect.calibration` (per-person amplitude),
:mod:`~dreamlink.detect.decoded` (a decoded message), :mod:`~dreamlink.detect.eye_hsmm` and
:mod:`~dreamlink.detect.eye_reading` (reading count answers and eye-Morse from sweeps and the gaze
level), :mod:`~dreamlink.detect.eye_messages` (framing eye messages live),
:mod:`~dreamlink.detect.emg` (twitches), :mod:`~dreamlink.detect.emg_messages` (EMG codes),
:mod:`~dreamlink.detect.rems` (REM density), :mod:`~dreamlink.detect.arousal` (arousal/wake),
:mod:`~dreamlink.detect.pipeline` (all of them live, and offline via the same path; EMG codes only in
REM sleep, :class:`~dreamlink.detect.pipeline.EmgGate`).
"""

from dreamlink.detect.calibration import (
    Calibration,
    CalibrationError,
    calibrate,
    estimate_swing,
    load_calibration,
)
from dreamlink.detect.pipeline import DetectionResult, DetectorPipeline, EmgGate, detect_array, detect_file

__all__ = [
    "Calibration",
    "CalibrationError",
    "DetectionResult",
    "DetectorPipeline",
    "EmgGate",
    "calibrate",
    "detect_array",
    "detect_file",
    "estimate_swing",
    "load_calibration",
]
