"""The simulated night as a live source: ``sim[:seed=N,hours=H,sfreq=F,hypnogram=PATH,...]``.

Samples are generated on demand by :class:`~dreamlink.sim.night.SimulatedNight` and released at
real time × ``speed`` (or as fast as possible with ``speed=None``) by
:class:`~dreamlink.sources.base.PacedSource`. The ground truth (true hypnogram, injected and natural
events) is available as :attr:`SimulatorSource.night`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dreamlink.errors import DreamlinkError, SourceError
from dreamlink.hypnogram import Hypnogram
from dreamlink.sim.injections import Injection
from dreamlink.sim.night import SimulatedNight, simulate_night
from dreamlink.sources.base import PacedSource, SourceInfo

logger = logging.getLogger("dreamlink.sources.simulator")

#: Parameters accepted in the ``sim:`` source string.
ACCEPTED_PARAMS: tuple[str, ...] = ("seed", "hours", "sfreq", "hypnogram", "mains", "artefacts", "inject")
#: Default length of a ``sim`` source without ``hours`` (hours).
DEFAULT_HOURS = 8.0


class SimulatorSource(PacedSource):
    """A simulated night streamed like a device.

    Parameters
    ----------
    hours : float | None
        Length in hours (``None`` with a ``hypnogram``: all of it).
    seed : int
        Seed of the night.
    sfreq : float
        Sampling rate in Hz.
    hypnogram : Hypnogram | str | Path | None
        Drive the night from a real hypnogram instead of the generative model.
    injections : sequence of Injection or str, or str
        Scripted injections, e.g. ``["lrlr@1800", "count:4@rem2+60"]``.
    mains : float | None
        50/60-Hz interference, or ``None``.
    artefacts : bool
        Movement artefacts and spontaneous arousals.
    speed : float | None
        Real time × ``speed``; ``None`` for as fast as possible.
    night : SimulatedNight | None
        Stream an already simulated night (the other night parameters are then ignored).
    """

    def __init__(
        self,
        hours: float | None = DEFAULT_HOURS,
        seed: int = 0,
        sfreq: float = 256.0,
        hypnogram: Hypnogram | str | Path | None = None,
        injections: Sequence[Injection | str] | str = (),
        mains: float | None = None,
        artefacts: bool = True,
        speed: float | None = 1.0,
        night: SimulatedNight | None = None,
        **night_options: Any,
    ) -> None:
        super().__init__(speed=speed)
        if night is None:
            try:
                night = simulate_night(hours=hours, seed=seed, sfreq=sfreq, hypnogram=hypnogram,
                                       injections=injections, mains=mains, artefacts=artefacts,
                                       **night_options)
            except SourceError:
                raise
            except DreamlinkError as err:
                raise SourceError(f"cannot simulate this night: {err}") from err
        self._night = night

    @property
    def night(self) -> SimulatedNight:
        """The simulated night: ``.hypnogram``, ``.events``, ``.injected_events``, ``.info``."""
        return self._night

    @property
    def info(self) -> SourceInfo:
        return self._night.info

    @property
    def n_total(self) -> int:
        return self._night.n_times

    def _generate(self, start: int, n: int) -> np.ndarray:
        return self._night.generate(start, n)


def _number(params: dict[str, str], key: str, kind: type, default: Any) -> Any:
    if key not in params:
        return default
    text = params[key]
    try:
        value = kind(float(text)) if kind is int else kind(text)
    except ValueError:
        raise SourceError(f"sim parameter {key}={text!r} must be a number, e.g. sim:{key}=1") from None
    if kind is int and float(text) != int(float(text)):
        raise SourceError(f"sim parameter {key}={text!r} must be a whole number")
    return value


def source_from_uri(target: str, params: dict[str, str], **options: Any) -> SimulatorSource:
    """Factory for ``sim[:seed=N,hours=H,sfreq=F,hypnogram=PATH,mains=50,artefacts=0,inject=SPEC;SPEC]``.

    Parameters
    ----------
    target : str
        Unused (the ``sim`` kind has no target).
    params : dict
        Parsed ``key=value`` pairs; see :data:`ACCEPTED_PARAMS`.
    **options
        ``speed`` (default 1.0; ``None`` = as fast as possible), ``injections`` (extra specs);
        other generic options (``timeout``...) are ignored.

    Raises
    ------
    SourceError
        Unknown parameter (the message lists the accepted ones) or a malformed value.
    """
    unknown = sorted(set(params) - set(ACCEPTED_PARAMS))
    if unknown:
        raise SourceError(
            f"unknown sim parameter(s) {', '.join(unknown)}; accepted: {', '.join(ACCEPTED_PARAMS)} "
            "(e.g. sim:seed=1,hours=0.5)"
        )
    seed = _number(params, "seed", int, 0)
    hypnogram = params.get("hypnogram") or None
    hours = _number(params, "hours", float, None if hypnogram else DEFAULT_HOURS)
    sfreq = _number(params, "sfreq", float, 256.0)
    mains = _number(params, "mains", float, None) or None
    artefacts = params.get("artefacts", "1").strip().lower() not in ("0", "false", "no", "off")
    injections: list[Any] = []
    if params.get("inject"):
        injections.append(params["inject"])
    extra = options.pop("injections", None) or ()
    injections += [extra] if isinstance(extra, str) else list(extra)
    speed = options.pop("speed", 1.0)
    if options:
        logger.debug("sim source ignores options %s", sorted(options))
    return SimulatorSource(hours=hours, seed=seed, sfreq=sfreq, hypnogram=hypnogram,
                           injections=injections, mains=mains, artefacts=artefacts, speed=speed)
