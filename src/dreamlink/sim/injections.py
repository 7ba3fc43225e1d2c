"""Scripted injections into a simulated night: deliberate eye signals, EMG twitch codes, arousals.

Grammar of one injection (the ``--inject SPEC`` option of ``dreamlink simulate``; several specs may
be joined with ``;``)::

    SPEC  := KIND[:ARG]@TIME
    KIND  := lrlr | count:N | morse:TEXT | emg:yes | emg:no | emg-morse:TEXT | arousal[:SECONDS]
    TIME  := SECONDS                 seconds from the recording's start, e.g. 1800 or 1800.5
           | remN[+SECONDS]          SECONDS into the N-th REM period (1-based), e.g. rem2+60

Examples: ``lrlr@1800``, ``count:4@2000``, ``morse:SOS@2400``, ``emg:yes@2600``,
``emg-morse:HI@2700``, ``arousal@3000``, ``arousal:8@3100``, ``lrlr@rem2+60``.

Eye signals are built from :mod:`dreamlink.link.eye_code` gestures and rendered with
:func:`dreamlink.sim.gestures.render_gaze` and :func:`~dreamlink.sim.gestures.gaze_to_eog`; EMG codes
come from :mod:`dreamlink.link.emg_code`. Each injection yields its waveform and its ground-truth
events (``lrlr``, ``eye_sweep``, ``count``, ``message``, ``emg_code``, ``emg_twitch``, ``arousal``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from dreamlink.errors import DreamlinkError
from dreamlink.events import Event
from dreamlink.hypnogram import Hypnogram
from dreamlink.link import emg_code, eye_code, morse
from dreamlink.sim.gestures import gaze_to_eog, render_gaze
from dreamlink.sim.hypnogram_model import rem_periods
from dreamlink.sim.synthesis import E1, E2, EMG, EYE_TO_F4, F4, _narrowband, render_arousal

#: The grammar, quoted in error messages.
GRAMMAR = (
    "KIND[:ARG]@TIME with KIND lrlr | count:N | morse:TEXT | emg:yes|no | emg-morse:TEXT | "
    "arousal[:SECONDS] and TIME seconds or remN[+SECONDS] (e.g. lrlr@1800, count:4@rem2+60)"
)
#: Injection kinds.
KINDS: tuple[str, ...] = ("lrlr", "count", "morse", "emg", "emg-morse", "arousal")
#: Source label of injected ground-truth events.
SOURCE = "sim.inject"

_TIME_RE = re.compile(r"^(?:(?P<sec>\d+(?:\.\d*)?)|rem(?P<rem>\d+)(?:\+(?P<off>\d+(?:\.\d*)?))?)$", re.I)


class InjectionSpecError(DreamlinkError):
    """An ``--inject`` spec does not follow the grammar."""


@dataclass(frozen=True)
class Injection:
    """One scripted injection.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    arg : str | None
        ``N`` for count, the text for morse/emg-morse, ``yes``/``no`` for emg, seconds for arousal.
    at : float | None
        Onset in seconds from the start (absolute form).
    rem : int | None
        1-based REM period index (REM-relative form); ``at`` is then the offset into it.
    spec : str
        The original text.
    """

    kind: str
    arg: str | None = None
    at: float | None = 0.0
    rem: int | None = None
    spec: str = ""

    def onset(self, hypnogram: Hypnogram) -> float:
        """Absolute onset in seconds, resolving a REM-relative time against ``hypnogram``."""
        if self.rem is None:
            return float(self.at or 0.0)
        periods = rem_periods(hypnogram)
        if self.rem > len(periods):
            raise InjectionSpecError(
                f"injection {self.spec!r} needs REM period {self.rem} but the night has only "
                f"{len(periods)}; use an earlier period, a longer night or an absolute time"
            )
        return periods[self.rem - 1][0] + float(self.at or 0.0)


def _fail(token: str, why: str) -> InjectionSpecError:
    return InjectionSpecError(f"bad injection {token!r}: {why}; write {GRAMMAR}")


def parse_injection(token: str) -> Injection:
    """Parse one spec such as ``count:4@2000`` (see the module grammar).

    Raises
    ------
    InjectionSpecError
        The token does not follow the grammar; the message names the token and the grammar.
    """
    text = token.strip()
    if "@" not in text:
        raise _fail(text, "missing '@TIME'")
    what, _, when = text.rpartition("@")
    kind, _, arg = what.partition(":")
    kind = kind.strip().lower()
    arg = arg.strip()
    if kind not in KINDS:
        raise _fail(text, f"unknown kind {kind!r} (allowed: {', '.join(KINDS)})")
    m = _TIME_RE.match(when.strip())
    if not m:
        raise _fail(text, f"bad time {when!r}")
    if m.group("sec") is not None:
        at, rem = float(m.group("sec")), None
    else:
        rem = int(m.group("rem"))
        at = float(m.group("off") or 0.0)
        if rem < 1:
            raise _fail(text, "REM periods count from 1")
    if kind == "count":
        if not arg.isdigit():
            raise _fail(text, "count needs a whole number, e.g. count:4")
    elif kind in ("morse", "emg-morse"):
        if not arg:
            raise _fail(text, f"{kind} needs a text, e.g. {kind}:SOS")
        try:
            emg_code.emg_morse(arg) if kind == "emg-morse" else morse.encode(arg)
        except morse.MorseEncodingError as err:
            raise _fail(text, str(err)) from err
    elif kind == "emg":
        if arg.lower() not in ("yes", "no"):
            raise _fail(text, "emg needs yes or no, e.g. emg:yes")
        arg = arg.lower()
    elif kind == "arousal":
        if arg:
            try:
                seconds = float(arg)
            except ValueError:
                raise _fail(text, "arousal length must be seconds, e.g. arousal:8") from None
            if not 3.0 <= seconds <= 15.0:
                raise _fail(text, "arousal length must be 3-15 s")
    elif arg:
        raise _fail(text, "lrlr takes no argument")
    return Injection(kind, arg or None, at, rem, text)


def parse_injections(specs: str | list[str] | tuple[str, ...]) -> list[Injection]:
    """Parse specs given as repeated options and/or ``;``-separated lists."""
    if isinstance(specs, str):
        specs = [specs]
    out: list[Injection] = []
    for spec in specs:
        if isinstance(spec, Injection):
            out.append(spec)
            continue
        for token in str(spec).split(";"):
            if token.strip():
                out.append(parse_injection(token))
    return out


@dataclass(frozen=True)
class RenderedInjection:
    """An injection's waveform (volts, ``(6, n)`` from ``first_sample``) and ground-truth events."""

    injection: Injection
    first_sample: int
    data: np.ndarray
    events: list[Event]


def render_injection(
    injection: Injection,
    onset: float,
    sfreq: float,
    rng: np.random.Generator,
    eye_amplitude_v: float = 150e-6,
    emg_amplitude_v: float = 40e-6,
    hold: float = 0.5,
    jitter: float = 0.1,
) -> RenderedInjection:
    """Render one injection starting at ``onset`` seconds.

    Parameters
    ----------
    injection : Injection
        What to inject.
    onset : float
        Start in seconds from the recording's start.
    sfreq : float
        Sampling rate in Hz.
    rng : numpy.random.Generator
        Randomness (hold-time jitter, noise of bursts).
    eye_amplitude_v : float
        Potential change per EOG electrode at full lateral gaze, volts (calibrated ≈ 150 µV).
    emg_amplitude_v : float
        RMS of a deliberate chin twitch, volts.
    hold : float
        Fixation time per gaze target, seconds.
    jitter : float
        Relative variation of hold times and excursions (a person is not a metronome).
    """
    first = int(round(onset * sfreq))
    t0 = first / sfreq
    kind = injection.kind
    data: dict = {"injected": True, "spec": injection.spec}
    if kind in ("lrlr", "count", "morse"):
        if kind == "lrlr":
            gestures = eye_code.lrlr(hold)
        elif kind == "count":
            gestures = eye_code.count_answer(int(injection.arg or 0), hold)
        else:
            gestures = eye_code.eye_morse(str(injection.arg), hold)
        trace = render_gaze(gestures, sfreq, rng=rng, jitter=jitter)
        e1, e2 = gaze_to_eog(trace.gaze, eye_amplitude_v)
        wave = np.zeros((6, len(trace.gaze)))
        wave[E1], wave[E2] = e1, e2
        wave[F4] = EYE_TO_F4 * e2
        sw = trace.sweeps
        events = [
            Event(t0 + s.onset, s.duration, "eye_sweep", s.direction, None, SOURCE,
                  {**data, "size": round(s.size, 3)})
            for s in sw
        ]
        frames = [sw[0:4]] if kind == "lrlr" else [sw[0:4], sw[-5:-1]]
        for i, frame in enumerate(frames):
            events.append(Event(t0 + frame[0].onset, frame[-1].onset + frame[-1].duration - frame[0].onset,
                                "lrlr", "LRLR", None, SOURCE, {**data, "frame": i}))
        if kind == "count":
            events.append(Event(t0, trace.duration, "count", int(injection.arg or 0), None, SOURCE, data))
        elif kind == "morse":
            events.append(Event(t0, trace.duration, "message", str(injection.arg).upper(), None,
                                SOURCE, {**data, "code": "eye_morse"}))
        return RenderedInjection(injection, first, wave, events)
    if kind in ("emg", "emg-morse"):
        if kind == "emg":
            twitches = emg_code.yes_no(injection.arg == "yes")
            value, code = str(injection.arg), "yes_no"
        else:
            twitches = emg_code.emg_morse(str(injection.arg))
            value, code = str(injection.arg).upper(), "emg_morse"
        end = max(t.start + t.duration for t in twitches)
        n = int(round(end * sfreq)) + 1
        wave = np.zeros((6, n))
        events = []
        hi = min(100.0, 0.45 * sfreq)
        for tw in twitches:
            a = int(round(tw.start * sfreq))
            m = max(4, int(round(tw.duration * sfreq)))
            ramp = np.ones(m)
            r = min(m // 2, max(1, int(0.015 * sfreq)))
            ramp[:r] = np.linspace(0, 1, r)
            ramp[m - r :] = np.linspace(1, 0, r)
            burst = _narrowband(rng, m, sfreq, 20.0, hi) * ramp * emg_amplitude_v
            wave[EMG, a : a + m] += burst[: n - a]
            events.append(Event(t0 + tw.start, tw.duration, "emg_twitch",
                                "long" if tw.duration >= emg_code.LONG_TWITCH_SEC else "short",
                                None, SOURCE, data))
        events.append(Event(t0, end, "emg_code", value, None, SOURCE, {**data, "code": code}))
        return RenderedInjection(injection, first, wave, events)
    if kind == "arousal":
        seconds = float(injection.arg) if injection.arg else float(rng.uniform(5.0, 10.0))
        n = int(round(seconds * sfreq))
        wave = render_arousal(rng, n, sfreq, strength=1.0, movement=True) * 1e-6
        return RenderedInjection(injection, first, wave,
                                 [Event(t0, n / sfreq, "arousal", None, None, SOURCE, data)])
    raise InjectionSpecError(f"unknown injection kind {kind!r}; write {GRAMMAR}")
