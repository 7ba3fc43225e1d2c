"""What a cue is, what it renders to, and the one interface every cue output implements.

A :class:`Cue` is a request: *what* to present (``kind`` and ``payload``), *how strongly* (``level_db``,
in dB relative to the sleeper's calibrated threshold, see :mod:`dreamlink.cues.safety`), *when*
(``at``, seconds on the session clock) and *who asked* (``requester``: ``design``, ``operator`` or
``api``). Rendering a cue (:func:`dreamlink.cues.encoding.render_cue`) gives a :class:`Rendering`
holding either an :class:`AudioSignal` (samples in full-scale units, −1..1) or a :class:`PulseTrain`
(on-intervals for a light or a vibration motor at one intensity). A :class:`CueOutput` delivers
renderings: the sound card, a serial light/vibration device, an LSL marker outlet, or a file/null sink.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np

from dreamlink.errors import DreamlinkError

#: Cue kinds and the sense (modality) each one reaches.
KIND_MODALITY: dict[str, str] = {
    "speech": "audio",
    "tones": "audio",
    "morse-audio": "audio",
    "wav": "audio",
    "morse-light": "light",
    "flashes": "light",
    "morse-vibration": "vibration",
    "buzzes": "vibration",
}
#: The three senses dreamlink can reach.
MODALITIES: tuple[str, ...] = ("audio", "light", "vibration")
#: Who can ask for a cue; recorded with every cue and refusal.
REQUESTERS: tuple[str, ...] = ("design", "operator", "api")

#: Default Morse unit (one dot) in milliseconds: 100 ms = 12 words per minute (PARIS standard).
DEFAULT_UNIT_MS = 100.0
#: Default tone/beep frequency in Hz (a usual Morse side-tone).
DEFAULT_FREQ_HZ = 600.0
#: Audio sampling rate of every rendering, in Hz.
DEFAULT_SFREQ = 44100


class CueRenderError(DreamlinkError):
    """A cue cannot be rendered (unknown kind, empty text, no Morse code for a character, bad WAV)."""


@dataclass(frozen=True)
class Cue:
    """A request to present something to the sleeper.

    Parameters
    ----------
    kind : str
        One of :data:`KIND_MODALITY`: ``speech``, ``tones``, ``morse-audio``, ``wav`` (audio);
        ``morse-light``, ``flashes`` (light); ``morse-vibration``, ``buzzes`` (vibration).
    payload : str
        Text to speak or key in Morse; for ``tones``/``flashes``/``buzzes`` a count (``"3"``) or, for
        ``tones``, frequencies in Hz with optional durations (``"440 660:200 880"``); for ``wav`` a path.
    level_db : float
        Intensity in dB relative to the sleeper's calibrated threshold (0 = at threshold).
    at : float | None
        Requested time in seconds on the session clock; ``None`` = as soon as possible.
    unit_ms : float
        Morse unit (one dot) and counting-pulse unit, in milliseconds.
    freq_hz : float
        Tone frequency in Hz for Morse beeps and counted beeps.
    requester : str
        ``design``, ``operator`` or ``api``.
    label : str
        Free text stored with the cue event (defaults to the payload).
    voice : str
        eSpeak NG voice for ``speech`` (``en``, ``de``, ``fr``...).
    rate_wpm : int
        Speaking rate for ``speech``, words per minute.
    """

    kind: str
    payload: str
    level_db: float = 0.0
    at: float | None = None
    unit_ms: float = DEFAULT_UNIT_MS
    freq_hz: float = DEFAULT_FREQ_HZ
    requester: str = "api"
    label: str = ""
    voice: str = "en"
    rate_wpm: int = 150

    def __post_init__(self) -> None:
        if self.kind not in KIND_MODALITY:
            raise CueRenderError(f"unknown cue kind {self.kind!r}; allowed: {', '.join(KIND_MODALITY)}")
        if self.requester not in REQUESTERS:
            raise CueRenderError(f"unknown requester {self.requester!r}; allowed: {', '.join(REQUESTERS)}")

    @property
    def modality(self) -> str:
        """``audio``, ``light`` or ``vibration``."""
        return KIND_MODALITY[self.kind]

    def describe(self) -> dict[str, Any]:
        """JSON-ready description (kind, payload, level, unit, frequency, requester)."""
        return {
            "kind": self.kind,
            "payload": self.payload,
            "level_db": self.level_db,
            "unit_ms": self.unit_ms,
            "freq_hz": self.freq_hz,
            "requester": self.requester,
            "modality": self.modality,
        }


@dataclass(frozen=True)
class AudioSignal:
    """Mono audio in full-scale units (−1..1).

    Parameters
    ----------
    samples : ndarray, shape (n_times,)
        Samples, float64.
    sfreq : float
        Sampling rate in Hz.
    """

    samples: np.ndarray
    sfreq: float

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return self.samples.size / self.sfreq


@dataclass(frozen=True)
class PulseTrain:
    """On-intervals of a light or vibration actuator at one intensity.

    Parameters
    ----------
    modality : str
        ``light`` or ``vibration``.
    intervals : ndarray, shape (n_pulses, 2)
        ``(start, duration)`` of every pulse, seconds from the cue onset.
    intensity : float
        Drive level as a fraction of full scale (PWM duty, 0–1).
    """

    modality: str
    intervals: np.ndarray
    intensity: float

    @property
    def duration(self) -> float:
        """From the cue onset to the end of the last pulse, in seconds."""
        if len(self.intervals) == 0:
            return 0.0
        return float(np.max(self.intervals[:, 0] + self.intervals[:, 1]))

    @property
    def level_255(self) -> int:
        """Intensity on the 0–255 scale of the serial protocol (rounded down, never up)."""
        return int(np.floor(self.intensity * 255 + 1e-9))


@dataclass(frozen=True)
class Rendering:
    """A cue made concrete: exactly what an output presents.

    Parameters
    ----------
    cue : Cue
        The request.
    level_dbfs : float
        The approved level in dB re full scale (audio: RMS while sounding; light/vibration: drive).
    audio : AudioSignal | None
        For audio cues.
    pulses : PulseTrain | None
        For light and vibration cues.
    """

    cue: Cue
    level_dbfs: float
    audio: AudioSignal | None = None
    pulses: PulseTrain | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def modality(self) -> str:
        """``audio``, ``light`` or ``vibration``."""
        return self.cue.modality

    @property
    def duration(self) -> float:
        """Length in seconds."""
        if self.audio is not None:
            return self.audio.duration
        if self.pulses is not None:
            return self.pulses.duration
        return 0.0


class SessionClock:
    """Seconds since the session start on the monotonic clock (the shared time base).

    Parameters
    ----------
    t0 : float | None
        ``time.monotonic()`` value of the session start; ``None`` = now.
    """

    def __init__(self, t0: float | None = None) -> None:
        self.t0 = time.monotonic() if t0 is None else float(t0)

    def now(self) -> float:
        """Seconds since the session start."""
        return time.monotonic() - self.t0

    def __call__(self) -> float:
        return self.now()


class CueOutput(ABC):
    """Something that presents cues: a sound card, a serial device, a marker stream, a file.

    ``deliver`` must start the presentation and return quickly (playback continues in the background);
    ``abort`` stops whatever is being presented, at once. Outputs are context managers.
    """

    #: Name used in logs and cue events.
    name: str = "output"
    #: Modalities this output presents (``None`` = all, e.g. a marker stream).
    modalities: frozenset[str] | None = None

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def accepts(self, modality: str) -> bool:
        """Whether this output presents cues of ``modality``."""
        return self.modalities is None or modality in self.modalities

    def open(self) -> CueOutput:
        """Acquire the device (no-op for sinks); returns ``self``."""
        return self

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the device and flush files."""

    @abstractmethod
    def deliver(self, rendering: Rendering, onset: float) -> None:
        """Start presenting ``rendering``; ``onset`` is the session time (s) it starts at."""

    @abstractmethod
    def abort(self, at: float) -> None:
        """Stop everything being presented; ``at`` is the session time (s) of the abort."""

    def __enter__(self) -> CueOutput:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
