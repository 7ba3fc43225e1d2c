"""Causal detection of deliberate twitches on chin or facial EMG.

In REM sleep the chin EMG is atonic, so a deliberate contraction stands out as a burst of
broadband muscle activity against a very low background (the basis of EMG signalling in Konkoly
et al. 2021). The detector:

1. band-passes the EMG 10–100 Hz (upper edge clipped below Nyquist), causally;
2. takes an RMS envelope with a 50-ms time constant;
3. tracks the background level as a slow (20-s) running mean of the log-envelope, frozen while a
   burst is on, so bursts do not raise their own threshold;
4. starts a twitch when the envelope exceeds :attr:`EmgSettings.k_on` × background and ends it when
   it stays below :attr:`EmgSettings.k_off` × background for 80 ms (hysteresis); the twitch ends
   at the last sample above half its peak envelope (so the envelope's decay is not counted in its
   duration); twitches shorter than
   0.1 s are ignored, longer than :attr:`EmgSettings.max_twitch_sec` are sustained activity (an
   arousal cue, not a code symbol).

A twitch is reported when it ends (``emg_twitch`` event, value ``short``/``long`` per
:data:`dreamlink.link.emg_code.LONG_TWITCH_SEC`). The measured duration includes the envelope's
rise and decay (tens of ms).

References
----------
Konkoly KR et al. (2021). Real-time dialogue between experimenters and dreamers during REM sleep.
Curr Biol 31(7):1417-1427. doi:10.1016/j.cub.2021.01.026
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dreamlink.detect.decoders import Twitch
from dreamlink.detect.filters import CausalFilter, bandpass, moving_rms_sos
from dreamlink.events import Event

SOURCE = "detect.emg"


@dataclass(frozen=True)
class EmgSettings:
    """Thresholds of :class:`EmgTwitchDetector` (see the module docstring)."""

    l_freq: float = 10.0
    h_freq: float = 100.0
    envelope_sec: float = 0.05
    baseline_sec: float = 20.0
    warmup_sec: float = 3.0
    k_on: float = 6.0
    k_off: float = 3.5
    min_twitch_sec: float = 0.1
    min_off_sec: float = 0.08
    max_twitch_sec: float = 3.0


@dataclass
class EmgTwitchDetector:
    """Stateful twitch detector; feed consecutive blocks of one EMG channel (V) to :meth:`update`.

    Parameters
    ----------
    sfreq : float
        Sampling rate (Hz); at least 25 Hz.
    settings : EmgSettings
        Thresholds.
    """

    sfreq: float
    settings: EmgSettings = field(default_factory=EmgSettings)

    def __post_init__(self) -> None:
        s = self.settings
        self._bp = bandpass(min(s.l_freq, 0.2 * self.sfreq), s.h_freq, self.sfreq, order=2)
        self._env = CausalFilter(moving_rms_sos(self.sfreq, s.envelope_sec))
        self._log_base: float | None = None
        self._n = 0
        self._on_start: int | None = None
        self._peak = 0.0
        self._last_high = 0
        self._below = 0
        self._twitches: list[Twitch] = []
        self._long_bursts: list[tuple[float, float]] = []
        self.envelope_last = 0.0

    @property
    def baseline(self) -> float:
        """Current background RMS (V)."""
        return math.exp(self._log_base) if self._log_base is not None else 0.0

    def pop_twitches(self) -> list[Twitch]:
        """Twitches finished since the last call."""
        out, self._twitches = self._twitches, []
        return out

    def pop_sustained(self) -> list[tuple[float, float]]:
        """Sustained bursts (onset, duration) longer than a twitch, since the last call."""
        out, self._long_bursts = self._long_bursts, []
        return out

    def envelope(self, x: np.ndarray) -> np.ndarray:
        """Advance the filters over a block and return its RMS envelope (V)."""
        y = self._bp.process(np.asarray(x, dtype=np.float64))
        return np.sqrt(np.maximum(self._env.process(y * y), 0.0))

    def update(self, x: np.ndarray) -> list[Event]:
        """Process the next block (V); returns ``emg_twitch`` events of twitches that ended."""
        x = np.asarray(x, dtype=np.float64)
        n = x.size
        if n == 0:
            return []
        env = self.envelope(x)
        first = self._n
        self._n += n
        s = self.settings
        fs = self.sfreq
        if self._log_base is None:
            self._log_base = math.log(max(float(np.median(env)), 1e-9))
        events: list[Event] = []
        warm = self._n / fs > s.warmup_sec
        on_thr = s.k_on * self.baseline
        off_thr = s.k_off * self.baseline
        min_off = max(1, int(round(s.min_off_sec * fs)))
        i = 0
        while i < n and warm:
            if self._on_start is None:
                above = np.flatnonzero(env[i:] > on_thr)
                if above.size == 0:
                    break
                i += int(above[0])
                self._on_start = first + i
                self._peak = float(env[i])
                self._last_high = first + i
                self._below = 0
                continue
            # Inside a burst (rare): sample by sample, so a dip shorter than min_off does not end it.
            v = float(env[i])
            if v >= off_thr:
                self._below = 0
                self._peak = max(self._peak, v)
                if v >= 0.5 * self._peak:
                    self._last_high = first + i
            else:
                self._below += 1
                if self._below >= min_off:
                    events += self._end(self._last_high + 1)
            i += 1
        if self._on_start is None:
            # Background: a slow running mean of the log-envelope (only outside bursts).
            tau = s.baseline_sec if warm else s.warmup_sec / 4.0
            alpha = min(1.0, (n / fs) / tau)
            self._log_base += alpha * (math.log(max(float(np.median(env)), 1e-9)) - self._log_base)
        elif (self._n - self._on_start) / fs > s.max_twitch_sec:
            self._long_bursts.append((self._on_start / fs, (self._n - self._on_start) / fs))
            self._on_start = None  # sustained: hand over to the arousal detector, re-arm
        self.envelope_last = float(env[-1])
        return events

    def _end(self, stop: int) -> list[Event]:
        assert self._on_start is not None
        s = self.settings
        onset = self._on_start / self.sfreq
        duration = (stop - self._on_start) / self.sfreq
        self._on_start = None
        if duration < s.min_twitch_sec:
            return []
        if duration > s.max_twitch_sec:
            self._long_bursts.append((onset, duration))
            return []
        ratio = self._peak / max(self.baseline, 1e-12)
        conf = float(np.clip((ratio - s.k_on) / (2 * s.k_on), 0.3, 1.0))
        tw = Twitch(onset, duration, conf, self._n / self.sfreq)
        self._twitches.append(tw)
        return [
            Event(
                onset=round(onset, 4),
                duration=round(duration, 4),
                trial_type="emg_twitch",
                value="long" if tw.long else "short",
                confidence=round(conf, 3),
                source=SOURCE,
                data={"peak_ratio": round(ratio, 1), "detected_at": round(tw.detected_at, 4)},
            )
        ]
