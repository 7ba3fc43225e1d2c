"""The physiologically plausible night simulator (the embedded default for demos and tests).

Public API (imported lazily so that ``dreamlink.sim.gestures`` stays light)::

    from dreamlink.sim import simulate_night, SimulatedNight, generate_hypnogram, parse_injections
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "simulate_night": "dreamlink.sim.night",
    "SimulatedNight": "dreamlink.sim.night",
    "load_hypnogram": "dreamlink.sim.night",
    "generate_hypnogram": "dreamlink.sim.hypnogram_model",
    "HypnogramModel": "dreamlink.sim.hypnogram_model",
    "night_statistics": "dreamlink.sim.hypnogram_model",
    "rem_periods": "dreamlink.sim.hypnogram_model",
    "Injection": "dreamlink.sim.injections",
    "parse_injection": "dreamlink.sim.injections",
    "parse_injections": "dreamlink.sim.injections",
    "InjectionSpecError": "dreamlink.sim.injections",
    "render_injection": "dreamlink.sim.injections",
    "RenderedInjection": "dreamlink.sim.injections",
    "NightSynthesizer": "dreamlink.sim.synthesis",
    "SynthesisConfig": "dreamlink.sim.synthesis",
    "stage_band_powers": "dreamlink.sim.realism",
    "epoch_band_powers": "dreamlink.sim.realism",
    "CH_NAMES": "dreamlink.sim.synthesis",
    "CH_TYPES": "dreamlink.sim.synthesis",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'dreamlink.sim' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
