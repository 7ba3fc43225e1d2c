"""Detecting and decoding the signals a sleeper sends: eye sweeps, LRLR, messages, REMs, arousals.

Modules: :mod:`~dreamlink.detect.filters` (causal filters), :mod:`~dreamlink.detect.eye_sweeps`
(sweeps and the LRLR marker), :mod:`~dreamlink.detect.calibration` (per-person amplitude),
:mod:`~dreamlink.detect.decoders` (count, eye-Morse, EMG codes), :mod:`~dreamlink.detect.emg`
(twitches), :mod:`~dreamlink.detect.rems` (REM density), :mod:`~dreamlink.detect.arousal`
(arousal/wake), :mod:`~dreamlink.detect.pipeline` (all of them live, and offline via the same path;
EMG codes only in REM sleep, :class:`~dreamlink.detect.pipeline.EmgGate`).
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
