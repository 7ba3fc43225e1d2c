"""A simulated night: hypnogram + signals + scripted injections + ground truth, from one seed.

:func:`simulate_night` is the one entry point; the returned :class:`SimulatedNight` generates any
sample range on demand (:meth:`SimulatedNight.generate`), so an 8-h night never has to sit in memory,
and exposes its ground truth: the true :attr:`~SimulatedNight.hypnogram` and the
:attr:`~SimulatedNight.events` (injected signals plus natural rapid eye movements and arousals).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamlink.errors import DreamlinkError, InputFileError
from dreamlink.events import Event
from dreamlink.hypnogram import EPOCH_SEC, UNSCORED, Hypnogram
from dreamlink.sim.hypnogram_model import HypnogramModel, generate_hypnogram
from dreamlink.sim.injections import Injection, parse_injections, render_injection
from dreamlink.sim.synthesis import CH_NAMES, CH_TYPES, NightSynthesizer, SynthesisConfig
from dreamlink.sources.base import SourceInfo

logger = logging.getLogger("dreamlink.sim")

#: Source label of natural (not injected) ground-truth events.
NATURAL_SOURCE = "sim.natural"
#: trial_type of each natural graphoelement kind.
_ELEMENT_TYPES = {
    "spindle": "spindle",
    "kcomplex": "k_complex",
    "vertex": "vertex_wave",
    "sawtooth": "sawtooth",
    "twitch": "emg_twitch",
    "blink": "blink",
    "movement": "movement",
    "arousal": "arousal",
    "saccades": "saccade",
}


@dataclass
class SimulatedNight:
    """A simulated night and its ground truth.

    Attributes
    ----------
    hypnogram : Hypnogram
        The true stages (30-s epochs from 0).
    info : SourceInfo
        Channels, types, rate, duration (``extra`` holds the seed and options).
    injections : list of Injection
        The scripted injections, in the order given.
    injected_events : list of Event
        Ground truth of the injections (``lrlr``, ``eye_sweep``, ``count``, ``message``,
        ``emg_code``, ``emg_twitch``, ``arousal``; source ``sim.inject``).
    """

    hypnogram: Hypnogram
    info: SourceInfo
    synthesizer: NightSynthesizer = field(repr=False)
    injections: list[Injection] = field(default_factory=list)
    injected_events: list[Event] = field(default_factory=list)
    _natural: list[Event] | None = field(default=None, repr=False)

    # -- signal ---------------------------------------------------------------------------------
    @property
    def sfreq(self) -> float:
        """Sampling rate in Hz."""
        return self.info.sfreq

    @property
    def n_times(self) -> int:
        """Number of samples of the night."""
        return self.synthesizer.n_times

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.n_times / self.sfreq

    def generate(self, start: int, n: int) -> np.ndarray:
        """Samples ``start .. start + n`` in volts, ``(6, n)`` (fewer at the end of the night).

        The result depends only on the sample range, never on how a night is read in pieces.
        """
        return self.synthesizer.generate(int(start), int(n))

    def get_data(self, tmin: float = 0.0, tmax: float | None = None) -> np.ndarray:
        """Signals between ``tmin`` and ``tmax`` seconds, volts, ``(6, n_times)``."""
        a = int(round(tmin * self.sfreq))
        b = self.n_times if tmax is None else int(round(tmax * self.sfreq))
        return self.generate(a, max(0, b - a))

    # -- ground truth ---------------------------------------------------------------------------
    def natural_events(self, kinds: Iterable[str] | None = None) -> list[Event]:
        """Natural graphoelements as events (source ``sim.natural``).

        ``rem`` (each rapid eye movement of REM sleep: one saccade, value ``L``/``R``), ``spindle``,
        ``k_complex``, ``vertex_wave``, ``sawtooth``, ``emg_twitch``, ``blink``, ``saccade`` (in
        wake), ``movement``, ``arousal``. ``kinds`` filters by trial_type.
        """
        if self._natural is None:
            out: list[Event] = []
            for el in self.synthesizer.all_elements():
                if el.kind == "rem_burst":
                    for onset, duration, direction, size in el.params["sweeps"]:
                        out.append(Event(onset, duration, "rem", direction, None, NATURAL_SOURCE,
                                         {"size": round(size, 3)}))
                    continue
                value = None
                if el.kind == "spindle":
                    value = round(el.params["freq"], 2)
                out.append(Event(el.onset, el.duration, _ELEMENT_TYPES[el.kind], value, None,
                                 NATURAL_SOURCE))
            out.sort(key=lambda e: e.onset)
            self._natural = out
        if kinds is None:
            return list(self._natural)
        wanted = set(kinds)
        return [e for e in self._natural if e.trial_type in wanted]

    @property
    def events(self) -> list[Event]:
        """Ground truth: injected events plus natural ``rem`` and ``arousal`` events, by onset."""
        out = self.injected_events + self.natural_events(("rem", "arousal"))
        return sorted(out, key=lambda e: (e.onset, e.trial_type))

    def stage_events(self) -> list[Event]:
        """One ``stage`` event per epoch (value = the stage), source ``sim``."""
        h = self.hypnogram
        return [
            Event(float(o), h.epoch_sec, "stage", str(s), None, "sim")
            for o, s in zip(h.onsets, h.stages, strict=True)
        ]


def load_hypnogram(path: str | Path, fmt: str = "auto", trim_wake_min: float | None = None) -> Hypnogram:
    """Read a real hypnogram and put it on the simulator's grid (30-s epochs aligned to time 0).

    Parameters
    ----------
    path : str or Path
        Any format :func:`~dreamlink.io.hypnogram_formats.read_hypnogram` knows (DREAMS 5-s, YASA,
        Sleep-EDF EDF+, DYNAM-O change points, dreamlink CSV).
    fmt : str
        Its format, or ``"auto"``.
    trim_wake_min : float | None
        Keep only this many minutes of wake (or unscored) before sleep onset and after the final
        awakening (Sleep-EDF files hold ~24 h, mostly wake); ``None`` keeps everything.
    """
    from dreamlink.io.hypnogram_formats import read_hypnogram

    hyp = read_hypnogram(path, fmt)
    if hyp.epoch_sec != EPOCH_SEC or hyp.start != 0.0:
        shifted = Hypnogram(hyp.stages, hyp.epoch_sec, 0.0)  # the night starts with its first epoch
        hyp = shifted.resample(EPOCH_SEC, start=0.0)
    if trim_wake_min is not None:
        asleep = np.flatnonzero(np.isin(hyp.stages, ["N1", "N2", "N3", "R"]))
        if len(asleep):
            keep = int(round(trim_wake_min * 60.0 / EPOCH_SEC))
            a = max(0, asleep[0] - keep)
            b = min(hyp.n_epochs, asleep[-1] + 1 + keep)
            hyp = Hypnogram(hyp.stages[a:b], EPOCH_SEC, 0.0)
    if hyp.n_epochs == 0:
        raise InputFileError(f"{path}: the hypnogram is shorter than one 30-s epoch")
    return hyp


def simulate_night(
    hours: float | None = 8.0,
    seed: int = 0,
    sfreq: float = 256.0,
    hypnogram: Hypnogram | str | Path | None = None,
    injections: Sequence[Injection | str] | str = (),
    mains: float | None = None,
    artefacts: bool = True,
    eye_amplitude_v: float = 150e-6,
    emg_amplitude_v: float = 40e-6,
    model: HypnogramModel | None = None,
) -> SimulatedNight:
    """Simulate a night.

    Parameters
    ----------
    hours : float | None
        Length in hours. With a given ``hypnogram``, ``None`` keeps all of it and a number crops it.
    seed : int
        Seed of the hypnogram, the signals and the injections' jitter.
    sfreq : float
        Sampling rate in Hz (≥ 100).
    hypnogram : Hypnogram | str | Path | None
        Drive the night from this hypnogram (a :class:`Hypnogram` or a file in any supported
        format) instead of the generative model.
    injections : sequence of Injection or str, or str
        Scripted injections (see :mod:`dreamlink.sim.injections` for the grammar).
    mains : float | None
        Mains interference at 50 or 60 Hz, or ``None``.
    artefacts : bool
        Movement artefacts in wake and spontaneous arousals.
    eye_amplitude_v : float
        Deliberate eye signals: potential change per EOG electrode at full lateral gaze (volts).
    emg_amplitude_v : float
        Deliberate chin twitches: RMS in volts.
    model : HypnogramModel | None
        Parameters of the generated hypnogram.

    Returns
    -------
    SimulatedNight

    Raises
    ------
    DreamlinkError
        Bad parameters (non-positive hours, sampling rate below 100 Hz, bad injection spec,
        injection outside the night, unreadable hypnogram file).
    """
    from dreamlink.errors import SamplingRateError

    if not sfreq >= 100:
        raise SamplingRateError(f"simulator sampling rate must be at least 100 Hz, got {sfreq}")
    if mains not in (None, 0, 50, 60, 50.0, 60.0):
        raise DreamlinkError(f"mains must be 50 or 60 Hz (or none), got {mains}")
    if hypnogram is None:
        if hours is None or not hours > 0:
            raise DreamlinkError(f"hours must be positive, got {hours}")
        hyp = generate_hypnogram(hours, seed, model)
    else:
        hyp = hypnogram if isinstance(hypnogram, Hypnogram) else load_hypnogram(hypnogram)
        if hyp.epoch_sec != EPOCH_SEC or hyp.start != 0.0:
            hyp = Hypnogram(hyp.stages, hyp.epoch_sec, 0.0).resample(EPOCH_SEC, start=0.0)
        if hours is not None:
            if not hours > 0:
                raise DreamlinkError(f"hours must be positive, got {hours}")
            hyp = hyp.crop(0.0, hours * 3600.0)
    if np.any(hyp.stages == UNSCORED):
        logger.info("%d unscored epochs are rendered as wake", int(np.sum(hyp.stages == UNSCORED)))
    config = SynthesisConfig(sfreq=float(sfreq), mains=float(mains) if mains else None, artefacts=artefacts)
    synth = NightSynthesizer(hyp, seed, config)
    parsed = parse_injections(list(injections) if not isinstance(injections, str) else injections)
    injected: list[Event] = []
    for i, inj in enumerate(parsed):
        onset = inj.onset(hyp)
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 0x494E4A, i])
        rendered = render_injection(inj, onset, sfreq, rng, eye_amplitude_v, emg_amplitude_v)
        end = (rendered.first_sample + rendered.data.shape[1]) / sfreq
        if onset < 0 or end > synth.n_times / sfreq:
            raise DreamlinkError(
                f"injection {inj.spec!r} runs from {onset:.1f} to {end:.1f} s, outside the "
                f"{synth.n_times / sfreq:.0f}-s night; give an earlier time or a longer night"
            )
        synth.add(rendered.first_sample, rendered.data)
        injected += rendered.events
    injected.sort(key=lambda e: (e.onset, e.trial_type))
    info = SourceInfo(
        ch_names=CH_NAMES,
        ch_types=CH_TYPES,
        sfreq=float(sfreq),
        name=f"sim:seed={seed},hours={synth.n_times / sfreq / 3600.0:g}",
        duration=synth.n_times / sfreq,
        extra={"seed": int(seed), "mains": mains, "artefacts": artefacts,
               "injections": [inj.spec for inj in parsed]},
    )
    return SimulatedNight(hyp, info, synth, parsed, injected)
