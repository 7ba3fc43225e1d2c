"""Stage-dependent synthesis of polysomnographic signals (EEG, EOG, chin EMG), epoch by epoch.

Why hand-written: no maintained library synthesises a whole PSG night with scored stages and
graphoelements (MNE's ``simulate_raw`` projects given source time courses through a forward model;
it does not know sleep). The building blocks here are deliberately simple and documented.

Model
-----
Every 30-s epoch ``k`` owns a *background segment* (spectrally shaped Gaussian noise: a 1/f
component plus delta, theta, alpha and beta bumps whose powers depend on the stage and the channel)
spanning the epoch plus ``overlap`` seconds on each side; neighbouring segments are cross-faded with
constant-power (sine/cosine) windows, so stage changes never produce a discontinuity. Discrete
*graphoelements* are drawn per epoch and added on top: sleep spindles (11–16 Hz, 0.5–2 s) and
K-complexes in N2, vertex sharp waves in N1, sawtooth waves, rapid eye movements (main-sequence
saccades) and phasic EMG twitches in REM, blinks, saccades and movement artefacts in wake. Slow
rolling eye movements (0.05–0.5 Hz gaze drift) belong to the background of N1 (and drowsy wake).

Everything an epoch contributes is a pure function of ``(seed, epoch index)``, so any sample range
can be generated independently: chunked reads give exactly the samples of one long read.

Amplitudes follow the AASM scoring manual (Berry et al. 2017): N3 slow waves ≥ 75 µV peak-to-peak
at 0.5–2 Hz, frontal-dominant; spindles 11–16 Hz, ≥ 0.5 s, central-dominant; K-complexes a sharp
negative wave followed by a positive component lasting ≥ 0.5 s, frontal-dominant; posterior alpha in
relaxed wake; REM low-voltage mixed frequency with 2–6 Hz sawtooth waves; chin EMG lowest in REM.

References
----------
Berry RB et al. (2017). AASM Manual for the Scoring of Sleep and Associated Events, v2.4.
Iber C et al. (2007). The AASM Manual for the Scoring of Sleep and Associated Events, 1st ed.
Bahill AT, Clark MR, Stark L (1975). The main sequence. Math Biosci 24:191-204.
doi:10.1016/0025-5564(75)90075-9
He BJ (2014). Scale-free brain activity: past, present, and future. Trends Cogn Sci 18(9):480-487.
doi:10.1016/j.tics.2014.04.003 (1/f background)
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import signal as sp_signal

from dreamlink.hypnogram import Hypnogram
from dreamlink.link.eye_code import Gesture
from dreamlink.sim.gestures import render_gaze

#: Channel names of the simulated montage (AASM recommended derivations, right side).
CH_NAMES: tuple[str, ...] = ("F4-M1", "C4-M1", "O2-M1", "E1-M2", "E2-M2", "EMG")
#: Channel types, MNE names.
CH_TYPES: tuple[str, ...] = ("eeg", "eeg", "eeg", "eog", "eog", "emg")
F4, C4, O2, E1, E2, EMG = range(6)
_EEG = (F4, C4, O2)
UV = 1e-6

#: Background components: (name, kind, parameters). "pink": 1/f^exponent from f_lo; "bump": Gaussian
#: in frequency (centre, sd).
_COMPONENTS: dict[str, tuple[str, tuple[float, float]]] = {
    "pink": ("pink", (0.4, 1.5)),
    "delta": ("bump", (1.0, 0.55)),
    "theta": ("bump", (5.8, 1.3)),
    "alpha": ("bump", (10.0, 0.9)),
    "sigma": ("bump", (13.0, 1.0)),
    "beta": ("bump", (21.0, 5.0)),
}

#: Background RMS (µV) of each component per stage at C4-M1.
STAGE_RMS: dict[str, dict[str, float]] = {
    "W": {"pink": 7.0, "delta": 6.0, "theta": 3.5, "alpha": 4.2, "sigma": 2.0, "beta": 2.8},
    "N1": {"pink": 8.0, "delta": 8.0, "theta": 4.5, "alpha": 3.8, "sigma": 1.2, "beta": 1.5},
    "N2": {"pink": 9.0, "delta": 12.0, "theta": 6.5, "alpha": 4.0, "sigma": 1.8, "beta": 1.3},
    "N3": {"pink": 11.0, "delta": 23.0, "theta": 7.0, "alpha": 4.0, "sigma": 3.0, "beta": 1.0},
    "R": {"pink": 6.0, "delta": 4.0, "theta": 4.2, "alpha": 3.5, "sigma": 1.3, "beta": 2.2},
}
#: Exponent of the 1/f background per stage: it steepens from wake to deep NREM sleep (Lendner et al.
#: 2020, eLife 9:e55092, doi:10.7554/eLife.55092).
STAGE_EXPONENT: dict[str, float] = {"W": 1.2, "N1": 1.4, "N2": 1.7, "N3": 2.0, "R": 1.4}
#: Amplitude gain of each component per EEG channel (F4, C4, O2).
CHANNEL_GAIN: dict[str, tuple[float, float, float]] = {
    "pink": (1.0, 1.0, 0.95),
    "delta": (1.2, 1.0, 0.75),
    "theta": (1.0, 1.0, 0.8),
    "alpha": (0.9, 1.0, 0.9),
    "sigma": (0.9, 1.0, 0.7),
    "beta": (1.1, 1.0, 0.9),
}
#: Alpha gains that replace :data:`CHANNEL_GAIN` in some stages: relaxed-wake alpha is posterior.
ALPHA_GAIN: dict[str, tuple[float, float, float]] = {"W": (0.45, 1.0, 2.2), "R": (0.9, 1.0, 1.3)}
#: Chin EMG RMS (µV) per stage: tonic activity high in wake, lower in NREM, atonia in REM.
EMG_RMS: dict[str, float] = {"W": 14.0, "N1": 8.0, "N2": 5.0, "N3": 4.0, "R": 1.6}
#: RMS of the slow horizontal gaze drift (full-gaze units): slow rolling eye movements in N1.
SEM_RMS: dict[str, float] = {"W": 0.06, "N1": 0.3, "N2": 0.05, "N3": 0.01, "R": 0.04}
#: Fraction of the frontal EEG that EOG electrodes pick up (they sit near the frontal scalp).
EOG_EEG_LEAK = 0.6
#: Fraction of the right-eye (E2) eye-movement potential seen by F4-M1.
EYE_TO_F4 = 0.12
#: Correlation of the background across EEG channels (a shared generator).
EEG_COHERENCE = 0.6

#: Rates of graphoelements per 30-s epoch (Poisson means).
_RATES: dict[str, dict[str, float]] = {
    "W": {"blink": 1.5, "saccades": 1.2, "movement": 0.06, "vertex": 0.0},
    "N1": {"vertex": 1.2, "blink": 0.2},
    "N2": {"spindle": 2.2, "kcomplex": 0.8, "arousal": 0.012},
    "N3": {"spindle": 0.6, "kcomplex": 0.2},
    "R": {"rem_burst": 1.2, "sawtooth": 0.6, "twitch": 1.5},
}


@dataclass(frozen=True)
class Element:
    """One discrete graphoelement of an epoch's plan.

    Parameters
    ----------
    kind : str
        ``spindle``, ``kcomplex``, ``vertex``, ``sawtooth``, ``rem_burst``, ``twitch``, ``blink``,
        ``saccades``, ``movement`` or ``arousal``.
    onset : float
        Start in seconds from the recording's start.
    duration : float
        Length in seconds.
    seed : int
        Seed of the element's waveform.
    params : dict
        Kind-specific parameters (frequency, amplitude, gestures...).
    """

    kind: str
    onset: float
    duration: float
    seed: int
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class SynthesisConfig:
    """Options of the signal synthesis.

    Parameters
    ----------
    sfreq : float
        Sampling rate in Hz.
    mains : float | None
        Mains interference frequency (50 or 60 Hz), or ``None`` for none.
    mains_uv : float
        Mains amplitude on the EEG/EOG channels (µV).
    artefacts : bool
        Movement artefacts in wake and spontaneous arousals.
    overlap : float
        Cross-fade half-width between epochs, seconds.
    """

    sfreq: float = 256.0
    mains: float | None = None
    mains_uv: float = 8.0
    artefacts: bool = True
    overlap: float = 1.0


def _seed(*parts: int) -> np.random.Generator:
    return np.random.default_rng([int(p) & 0xFFFFFFFF for p in parts])


class NightSynthesizer:
    """Generate the signals of a hypnogram, any sample range at a time.

    Parameters
    ----------
    hypnogram : Hypnogram
        Stages on 30-s epochs starting at 0 (unscored epochs are rendered as wake).
    seed : int
        Seed of the signals.
    config : SynthesisConfig | None
        Options.
    """

    def __init__(self, hypnogram: Hypnogram, seed: int = 0, config: SynthesisConfig | None = None) -> None:
        self.config = config or SynthesisConfig()
        self.hypnogram = hypnogram
        self.seed = int(seed)
        self.sfreq = float(self.config.sfreq)
        self.epoch_sec = float(hypnogram.epoch_sec)
        self.n_epoch = int(round(self.epoch_sec * self.sfreq))
        self.n_ov = int(round(self.config.overlap * self.sfreq))
        self.n_seg = self.n_epoch + 2 * self.n_ov
        self.n_epochs = hypnogram.n_epochs
        self.n_times = self.n_epochs * self.n_epoch
        self._stages = [s if s in STAGE_RMS else "W" for s in hypnogram.stages.astype(str)]
        self._freqs = np.fft.rfftfreq(self.n_seg, 1.0 / self.sfreq)
        self._shapes = {stage: self._stage_shape(stage) for stage in STAGE_RMS}
        u = (np.arange(2 * self.n_ov) + 0.5) / (2 * self.n_ov)
        self._rise = np.sin(0.5 * np.pi * u)
        self._fall = np.cos(0.5 * np.pi * u)
        self._segments: OrderedDict[int, np.ndarray] = OrderedDict()
        self._blocks: OrderedDict[int, np.ndarray] = OrderedDict()
        self._plans: OrderedDict[int, list[Element]] = OrderedDict()
        self._extra: list[tuple[int, np.ndarray]] = []
        self._lock = threading.Lock()  # the caches may be shared by a reader thread and the main thread

    # -- stage helpers --------------------------------------------------------------------------
    def stage(self, k: int) -> str:
        """Stage rendered in epoch ``k`` (clamped to the hypnogram)."""
        return self._stages[min(max(k, 0), self.n_epochs - 1)]

    def _component_psd(self, name: str, exponent: float | None = None) -> np.ndarray:
        kind, (a, b) = _COMPONENTS[name]
        if exponent is not None:
            b = exponent
        f = self._freqs
        if kind == "pink":
            shape = np.where(f >= a, 1.0 / np.maximum(f, a) ** b, 0.0)
            shape *= 1.0 / (1.0 + (f / 40.0) ** 4)  # the amplifier's anti-aliasing roll-off
        else:
            shape = np.exp(-0.5 * ((f - a) / b) ** 2)
            shape[f < 0.3] = 0.0
        return shape / shape.sum()

    def _stage_shape(self, stage: str) -> np.ndarray:
        """Amplitude spectra (rows: F4, C4, O2, EOG own noise, EMG, SEM gaze) of a stage."""
        rms = STAGE_RMS[stage]
        rows = np.zeros((6, len(self._freqs)))
        for name, value in rms.items():
            psd = self._component_psd(name, STAGE_EXPONENT[stage] if name == "pink" else None)
            gains = ALPHA_GAIN.get(stage, CHANNEL_GAIN[name]) if name == "alpha" else CHANNEL_GAIN[name]
            for ch in _EEG:
                rows[ch] += (value * gains[ch]) ** 2 * psd
        rows[3] = 3.0**2 * self._component_psd("pink")
        f = self._freqs
        hi = min(100.0, 0.45 * self.sfreq)
        emg = ((f >= 15.0) & (f <= hi)).astype(float)
        rows[4] = EMG_RMS[stage] ** 2 * emg / emg.sum()
        sem = np.exp(-0.5 * ((f - 0.0) / 0.25) ** 2) * (f >= 0.04)
        rows[5] = SEM_RMS[stage] ** 2 * sem / sem.sum()
        # Expected |X_k|^2 = psd_k * N^2 / 2 gives a time-domain variance of sum(psd).
        return np.sqrt(rows * self.n_seg**2 / 2.0)

    # -- background -----------------------------------------------------------------------------
    def _segment(self, k: int) -> np.ndarray:
        """Background of epoch ``k``, ``(6, n_seg)`` in volts, starting ``overlap`` before it."""
        seg = self._segments.get(k)
        if seg is not None:
            return seg
        rng = _seed(self.seed, k + 2, 1)
        shape = self._shapes[self.stage(k)]
        nf = len(self._freqs)
        z = (rng.standard_normal((8, nf)) + 1j * rng.standard_normal((8, nf))) * np.sqrt(0.5)
        spec = np.empty((7, nf), dtype=complex)
        c = np.sqrt(EEG_COHERENCE)
        for ch in _EEG:
            spec[ch] = shape[ch] * (c * z[7] + np.sqrt(1 - EEG_COHERENCE) * z[ch])
        spec[3] = shape[3] * z[3]
        spec[4] = shape[3] * z[4]
        spec[5] = shape[4] * z[5]
        spec[6] = shape[5] * z[6]
        spec[:, 0] = 0.0
        x = np.fft.irfft(spec, n=self.n_seg, axis=1)
        out = np.empty((6, self.n_seg))
        out[:3] = x[:3]
        gaze = x[6]
        frontal = EOG_EEG_LEAK * x[F4]
        out[E1] = frontal + x[3] - 150.0 * gaze
        out[E2] = frontal + x[4] + 150.0 * gaze
        out[F4] += EYE_TO_F4 * 150.0 * gaze
        out[EMG] = x[5]
        out *= UV
        self._segments[k] = out
        if len(self._segments) > 4:
            self._segments.popitem(last=False)
        return out

    # -- plans ----------------------------------------------------------------------------------
    def plan(self, k: int) -> list[Element]:
        """Graphoelements of epoch ``k`` (deterministic from the seed and ``k``)."""
        cached = self._plans.get(k)
        if cached is not None:
            return cached
        out = _plan_epoch(self.seed, k, self.stage(k), k * self.epoch_sec, self.epoch_sec,
                          self.sfreq, self.config.artefacts)
        self._plans[k] = out
        if len(self._plans) > 8:
            self._plans.popitem(last=False)
        return out

    def all_elements(self) -> list[Element]:
        """Graphoelements of the whole night."""
        out: list[Element] = []
        for k in range(self.n_epochs):
            out += _plan_epoch(self.seed, k, self.stage(k), k * self.epoch_sec, self.epoch_sec,
                               self.sfreq, self.config.artefacts)
        return out

    # -- additive extras (injections) -----------------------------------------------------------
    def add(self, first_sample: int, data: np.ndarray) -> None:
        """Add ``data`` (volts, ``(6, n)``) at ``first_sample`` on top of the night."""
        self._extra.append((int(first_sample), np.asarray(data, dtype=float)))
        self._blocks.clear()

    # -- blocks ---------------------------------------------------------------------------------
    def _block(self, k: int) -> np.ndarray:
        block = self._blocks.get(k)
        if block is not None:
            return block
        E, ov = self.n_epoch, self.n_ov
        block = self._segment(k)[:, ov : ov + E].copy()
        if ov:
            prev, nxt, cur = self._segment(k - 1), self._segment(k + 1), self._segment(k)
            block[:, :ov] = prev[:, E + ov :] * self._fall[ov:] + cur[:, ov : 2 * ov] * self._rise[ov:]
            block[:, E - ov :] = (
                cur[:, E : E + ov] * self._fall[:ov] + nxt[:, :ov] * self._rise[:ov]
            )
        a = k * E
        for m in (k - 1, k):
            if 0 <= m < self.n_epochs:
                for element in self.plan(m):
                    start = int(round(element.onset * self.sfreq))
                    if start >= a + E or start + (element.duration + 0.1) * self.sfreq < a:
                        continue
                    wave = render_element(element, self.sfreq)
                    _add_into(block, a, start, wave)
        for start, wave in self._extra:
            _add_into(block, a, start, wave)
        if self.config.mains:
            t = (a + np.arange(E)) / self.sfreq
            hum = self.config.mains_uv * UV * np.sin(2 * np.pi * self.config.mains * t)
            block[:5] += hum
            block[EMG] += 0.3 * hum
        self._blocks[k] = block
        if len(self._blocks) > 3:
            self._blocks.popitem(last=False)
        return block

    def generate(self, start: int, n: int) -> np.ndarray:
        """Samples ``start .. start + n`` (clipped to the night), volts, ``(6, n)``."""
        start = max(0, int(start))
        stop = min(self.n_times, start + int(n))
        if stop <= start:
            return np.zeros((6, 0))
        with self._lock:
            return self._generate(start, stop)

    def _generate(self, start: int, stop: int) -> np.ndarray:
        out = np.empty((6, stop - start))
        E = self.n_epoch
        pos = start
        while pos < stop:
            k = pos // E
            a = k * E
            take = min(stop, a + E) - pos
            out[:, pos - start : pos - start + take] = self._block(k)[:, pos - a : pos - a + take]
            pos += take
        return out


def _add_into(block: np.ndarray, block_start: int, start: int, wave: np.ndarray) -> None:
    """Add ``wave`` (starting at absolute sample ``start``) into ``block`` where they overlap."""
    n_block = block.shape[1]
    lo = max(start, block_start)
    hi = min(start + wave.shape[1], block_start + n_block)
    if hi > lo:
        block[:, lo - block_start : hi - block_start] += wave[:, lo - start : hi - start]


# -- planning ------------------------------------------------------------------------------------
def _plan_epoch(
    seed: int, k: int, stage: str, t0: float, epoch_sec: float, sfreq: float, artefacts: bool
) -> list[Element]:
    rng = _seed(seed, k + 2, 2)
    out: list[Element] = []
    rates = _RATES.get(stage, {})
    for kind, rate in rates.items():
        if kind in ("movement", "arousal") and not artefacts:
            continue
        if kind == "rem_burst" and rng.random() < 0.35:
            continue  # tonic REM epoch: no eye movements
        n = int(rng.poisson(rate))
        for _ in range(n):
            element = _draw(kind, rng, t0, epoch_sec, sfreq)
            if element is not None:
                out.append(element)
                if kind == "kcomplex" and stage == "N2" and rng.random() < 0.35:
                    out.append(_spindle(rng, element.onset + element.duration * 0.8))
    out.sort(key=lambda e: e.onset)
    return out


def _spindle(rng: np.random.Generator, onset: float) -> Element:
    return Element(
        "spindle", onset, float(rng.uniform(0.5, 2.0)), int(rng.integers(2**31)),
        {"freq": float(rng.uniform(11.5, 15.0)), "amp_uv": float(rng.uniform(16.0, 35.0))},
    )


def _draw(kind: str, rng: np.random.Generator, t0: float, epoch_sec: float, sfreq: float) -> Element | None:
    seed = int(rng.integers(2**31))
    if kind == "spindle":
        return _spindle(rng, t0 + rng.uniform(0, epoch_sec - 1.0))
    if kind == "kcomplex":
        # Durations of expert-scored K-complexes in the DREAMS K-complex database: 0.9-1.7 s (5-95 %).
        dur = float(rng.uniform(0.8, 1.7))
        return Element(kind, t0 + rng.uniform(0, epoch_sec - dur - 0.2), dur, seed,
                       {"amp_uv": float(rng.uniform(120.0, 260.0))})
    if kind == "vertex":
        return Element(kind, t0 + rng.uniform(0, epoch_sec - 0.5), 0.4, seed,
                       {"amp_uv": float(rng.uniform(50.0, 110.0))})
    if kind == "sawtooth":
        dur = float(rng.uniform(1.5, 4.0))
        return Element(kind, t0 + rng.uniform(0, epoch_sec - dur), dur, seed,
                       {"freq": float(rng.uniform(2.0, 4.0)), "amp_uv": float(rng.uniform(30.0, 60.0))})
    if kind == "twitch":
        dur = float(rng.uniform(0.05, 0.3))
        return Element(kind, t0 + rng.uniform(0, epoch_sec - dur), dur, seed,
                       {"amp_uv": float(rng.uniform(10.0, 35.0))})
    if kind == "blink":
        return Element(kind, t0 + rng.uniform(0, epoch_sec - 0.5), 0.4, seed,
                       {"amp_uv": float(rng.uniform(100.0, 220.0))})
    if kind in ("rem_burst", "saccades"):
        n = int(rng.integers(2, 8)) if kind == "rem_burst" else int(rng.integers(2, 5))
        gestures: list[Gesture] = []
        side = rng.choice([-1.0, 1.0])
        for _ in range(n):
            side = -side if rng.random() < 0.75 else side
            if kind == "rem_burst":
                hold = float(rng.uniform(0.15, 0.6))
                gaze = side * float(rng.uniform(0.3, 0.9))
            else:
                hold = float(rng.uniform(0.4, 1.8))
                gaze = side * float(rng.uniform(0.2, 0.8))
            gestures.append(Gesture(gaze, hold))
        gestures.append(Gesture(0.0, 0.2))
        trace = render_gaze(gestures, sfreq)
        dur = trace.duration
        if dur >= epoch_sec - 0.5:
            return None
        onset = t0 + rng.uniform(0, epoch_sec - dur)
        sweeps = [(onset + s.onset, s.duration, s.direction, s.size) for s in trace.sweeps]
        return Element(kind, onset, dur, seed, {
            "gestures": gestures, "sweeps": sweeps, "amp_uv": float(rng.uniform(110.0, 170.0)),
        })
    if kind == "movement":
        dur = float(rng.uniform(1.0, 4.0))
        return Element(kind, t0 + rng.uniform(0, epoch_sec - dur), dur, seed,
                       {"amp_uv": float(rng.uniform(150.0, 400.0))})
    if kind == "arousal":
        dur = float(rng.uniform(3.0, 10.0))
        return Element(kind, t0 + rng.uniform(0, epoch_sec - dur), dur, seed, {"strength": 1.0})
    raise ValueError(f"unknown element kind {kind!r}")


# -- rendering -----------------------------------------------------------------------------------
def _narrowband(rng: np.random.Generator, n: int, sfreq: float, lo: float, hi: float) -> np.ndarray:
    """Unit-RMS Gaussian noise band-limited to ``lo..hi`` Hz (FFT mask)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1.0 / sfreq)
    spec[(f < lo) | (f > hi)] = 0.0
    x = np.fft.irfft(spec, n=n)
    sd = x.std()
    return x / sd if sd > 0 else x


def render_element(element: Element, sfreq: float) -> np.ndarray:
    """Waveform of one graphoelement, ``(6, n)`` volts, starting at its onset sample."""
    rng = _seed(element.seed, 7)
    p = element.params
    n = max(2, int(round(element.duration * sfreq)))
    t = np.arange(n) / sfreq
    out = np.zeros((6, n))
    kind = element.kind
    if kind == "spindle":
        env = np.hanning(n)
        wave = p["amp_uv"] * env * np.sin(2 * np.pi * p["freq"] * t + rng.uniform(0, 2 * np.pi))
        out[F4], out[C4], out[O2] = 0.8 * wave, wave, 0.5 * wave
        out[E1] = out[E2] = EOG_EEG_LEAK * out[F4]
    elif kind == "kcomplex":
        amp = p["amp_uv"]
        d = element.duration
        neg = -np.exp(-0.5 * ((t - 0.25 * d) / (0.07 * d)) ** 2)
        pos = 0.55 * np.exp(-0.5 * ((t - 0.6 * d) / (0.14 * d)) ** 2)
        wave = amp * (neg + pos) * np.hanning(n) ** 0.2
        out[F4], out[C4], out[O2] = wave, 0.85 * wave, 0.4 * wave
        out[E1] = out[E2] = EOG_EEG_LEAK * out[F4]
    elif kind == "vertex":
        wave = -p["amp_uv"] * np.exp(-0.5 * ((t - 0.2) / 0.045) ** 2)
        wave += 0.25 * p["amp_uv"] * np.exp(-0.5 * ((t - 0.3) / 0.05) ** 2)
        out[F4], out[C4], out[O2] = 0.7 * wave, wave, 0.3 * wave
        out[E1] = out[E2] = EOG_EEG_LEAK * out[F4]
    elif kind == "sawtooth":
        wave = sp_signal.sawtooth(2 * np.pi * p["freq"] * t + rng.uniform(0, 2 * np.pi), width=0.75)
        wave = p["amp_uv"] * np.hanning(n) * wave
        out[F4], out[C4], out[O2] = 0.9 * wave, wave, 0.4 * wave
        out[E1] = out[E2] = EOG_EEG_LEAK * out[F4]
    elif kind == "twitch":
        burst = _narrowband(rng, n, sfreq, 20.0, min(100.0, 0.45 * sfreq))
        out[EMG] = p["amp_uv"] * np.hanning(n) * burst
    elif kind == "blink":
        wave = p["amp_uv"] * np.exp(-0.5 * ((t - 0.15) / 0.05) ** 2) * (t < 0.15)
        wave += p["amp_uv"] * np.exp(-0.5 * ((t - 0.15) / 0.08) ** 2) * (t >= 0.15)
        out[E2], out[E1], out[F4], out[C4] = wave, -0.4 * wave, 0.3 * wave, 0.05 * wave
    elif kind in ("rem_burst", "saccades"):
        gaze = render_gaze(p["gestures"], sfreq).gaze
        m = min(n, len(gaze))
        amp = p["amp_uv"]
        out[E1, :m] = -amp * gaze[:m]
        out[E2, :m] = amp * gaze[:m]
        out[F4, :m] = EYE_TO_F4 * amp * gaze[:m]
    elif kind == "movement":
        env = np.hanning(n)
        slow = _narrowband(rng, n, sfreq, 0.3, 3.0) * env
        for ch in range(5):
            out[ch] = p["amp_uv"] * slow * rng.uniform(0.5, 1.0)
        out[EMG] = 40.0 * env * _narrowband(rng, n, sfreq, 20.0, min(100.0, 0.45 * sfreq))
    elif kind == "arousal":
        out[:] = render_arousal(rng, n, sfreq, p.get("strength", 1.0), movement=False)
    else:
        raise ValueError(f"unknown element kind {kind!r}")
    return out * UV


def render_arousal(
    rng: np.random.Generator, n: int, sfreq: float, strength: float = 1.0, movement: bool = True
) -> np.ndarray:
    """An arousal in µV, ``(6, n)``: an alpha burst (posterior), an EMG burst, and movement.

    AASM: an abrupt shift to alpha/theta or > 16 Hz lasting ≥ 3 s (Berry et al. 2017).
    """
    env = np.hanning(n) ** 0.3
    out = np.zeros((6, n))
    alpha = _narrowband(rng, n, sfreq, 8.5, 11.5) * env * 18.0 * strength
    beta = _narrowband(rng, n, sfreq, 16.0, 28.0) * env * 5.0 * strength
    out[F4] = 0.6 * alpha + beta
    out[C4] = alpha + beta
    out[O2] = 1.8 * alpha + 0.8 * beta
    out[E1] = out[E2] = EOG_EEG_LEAK * out[F4]
    out[EMG] = 25.0 * strength * env * _narrowband(rng, n, sfreq, 20.0, min(100.0, 0.45 * sfreq))
    if movement:
        m = min(n, int(rng.uniform(0.8, 2.0) * sfreq))
        slow = _narrowband(rng, m, sfreq, 0.3, 3.0) * np.hanning(m) * 120.0 * strength
        for ch in range(5):
            out[ch, :m] += slow * rng.uniform(0.5, 1.0)
        out[EMG, :m] += 40.0 * np.hanning(m) * _narrowband(rng, m, sfreq, 20.0, min(100.0, 0.45 * sfreq))
    return out
