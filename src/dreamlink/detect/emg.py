"""Causal detection of deliberate twitches on chin or facial EMG.

In REM sleep the chin EMG is atonic, so a deliberate contraction stands out as a burst of
broadband muscle activity against a very low background (the basis of EMG signalling in Konkoly
et al. 2021). The detector:

1. band-passes the EMG causally (4th-order Butterworth) at 20–100 Hz, the surface-EMG band that
   leaves out movement artefact, ECG and EEG/EOG leakage below 20 Hz (De Luca et al. 2010); the
   upper edge is clipped below Nyquist, and when the sampling rate leaves no room above 20 Hz (a
   50-Hz PSG channel) the band is :attr:`EmgSettings.low_rate_l_freq`–0.45 × rate;
2. takes a causal boxcar mean of the squared signal over :attr:`EmgSettings.window_sec` (the
   power envelope; by default as long as needed for a steady estimate in the band,
   ``dof / (2 × bandwidth)`` clipped to 0.05–0.2 s: a narrow 50-Hz band needs a longer window);
3. tracks the background level as a slow (20-s) running mean of the log power envelope, updated
   in fixed blocks of background samples (never during a burst, so bursts do not raise their own
   threshold, and independent of how the stream is chunked);
4. starts a burst when the envelope exceeds :attr:`EmgSettings.k_on` × background (in RMS) and
   ends it when it stays below :attr:`EmgSettings.k_off` × background for
   :attr:`EmgSettings.min_off_sec` (hysteresis);
5. reads the twitches of a burst at half its level (``level_frac``): the level is the median
   envelope of the burst; each run above half of it is a twitch, runs less than
   :attr:`EmgSettings.split_sec` apart are one twitch, and a run that holds a part much stronger
   than the level (``restep`` × in power: a deliberate twitch on top of weaker tonic activity) is
   read again at half of that part's own level. A twitch runs from its first to its last sample
   above half level, shifted back by half the window (a boxcar reaches half a rectangular burst's
   power half a window after it starts and after it stops), so its measured duration does not
   depend on the burst's strength, its envelope fluctuations or the window; twitches shorter than
   :attr:`EmgSettings.min_twitch_sec` are ignored;
6. a burst longer than :attr:`EmgSettings.max_twitch_sec` is sustained activity (reported by
   :meth:`EmgTwitchDetector.pop_sustained`: an arousal cue, not a code symbol); when it ends, the
   twitches inside it are still read if the burst as a whole is weak (median below
   :attr:`EmgSettings.k_sustained` × background: twitches on top of some tone), never inside
   strong activity (movement, arousal) nor after :attr:`EmgSettings.max_burst_sec`.

A twitch is reported when its burst ends (``emg_twitch`` event, value ``short``/``long`` per
:data:`dreamlink.link.emg_code.LONG_TWITCH_SEC`, ``level_ratio`` its RMS × background), at most
``min_off_sec`` after the envelope falls. The EMG must be sampled fast enough to carry a burst:
below :data:`MIN_EMG_SFREQ` the detector refuses the channel, and below
:data:`RELIABLE_EMG_SFREQ` it warns that the codes are unreliable (measured) and caps the
twitches' confidence.

Measured on real PSG chin EMG with injected codes (``benchmarks/signals.py``): see
:data:`RELIABLE_EMG_SFREQ`.

References
----------
Konkoly KR et al. (2021). Real-time dialogue between experimenters and dreamers during REM sleep.
Curr Biol 31(7):1417-1427. doi:10.1016/j.cub.2021.01.026
De Luca CJ, Gilmore LD, Kuznetsov M, Roy SH (2010). Filtering the surface EMG signal: movement
artifact and baseline noise contamination. J Biomech 43(8):1573-1579.
doi:10.1016/j.jbiomech.2010.01.027
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from dreamlink.detect.emg_messages import Twitch
from dreamlink.detect.filters import bandpass
from dreamlink.errors import SamplingRateError
from dreamlink.events import Event

SOURCE = "detect.emg"
logger = logging.getLogger("dreamlink.detect")

#: Lowest EMG sampling rate (Hz) the detector accepts: below it the band left under Nyquist
#: (< 9 Hz wide) cannot tell a contraction from background fluctuations.
MIN_EMG_SFREQ = 40.0
#: Below this EMG sampling rate (Hz) twitch codes are unreliable: the band under Nyquist misses the
#: 20–100 Hz muscle band and overlaps EEG/ECG. Measured with ``benchmarks/signals.py`` on a real
#: 50-Hz night PSG: EMG-Morse CER ~25 % and yes/no exact ~88 %, against ~1 % and ~99 % on a 256-Hz
#: PSG. The detector still runs, but logs a warning, marks its twitches ``reliable: False`` and caps
#: their confidence at :data:`LOW_RATE_MAX_CONFIDENCE` (a message's confidence is its weakest
#: twitch's).
RELIABLE_EMG_SFREQ = 100.0
#: Highest twitch confidence below :data:`RELIABLE_EMG_SFREQ`.
LOW_RATE_MAX_CONFIDENCE = 0.3


@dataclass(frozen=True)
class EmgSettings:
    """Thresholds of :class:`EmgTwitchDetector` (see the module docstring).

    ``k_on`` and ``k_off`` are RMS ratios to the background; times are in seconds, bands in Hz.
    """

    l_freq: float = 20.0
    h_freq: float = 100.0
    low_rate_l_freq: float = 10.0
    order: int = 4
    window_sec: float | None = None
    dof: float = 6.0
    baseline_sec: float = 20.0
    block_sec: float = 0.25
    warmup_sec: float = 3.0
    k_on: float = 4.0
    k_off: float = 2.5
    level_frac: float = 0.5
    restep: float = 6.0
    min_twitch_sec: float = 0.1
    min_off_sec: float = 0.1
    split_sec: float = 0.2
    max_twitch_sec: float = 3.0
    max_burst_sec: float = 20.0
    k_sustained: float = 5.0


def emg_band(sfreq: float, settings: EmgSettings | None = None) -> tuple[float, float]:
    """The band (Hz) the detector uses at a sampling rate ``sfreq`` (Hz)."""
    s = settings or EmgSettings()
    hi = min(s.h_freq, 0.45 * sfreq)
    lo = s.l_freq if hi >= 2.0 * s.l_freq else min(s.low_rate_l_freq, 0.2 * sfreq)
    return lo, hi


@dataclass
class EmgTwitchDetector:
    """Stateful twitch detector; feed consecutive blocks of one EMG channel (V) to :meth:`update`.

    Parameters
    ----------
    sfreq : float
        Sampling rate (Hz); at least :data:`MIN_EMG_SFREQ`.
    settings : EmgSettings
        Thresholds.

    Raises
    ------
    SamplingRateError
        When ``sfreq`` is below :data:`MIN_EMG_SFREQ`.
    """

    sfreq: float
    settings: EmgSettings = field(default_factory=EmgSettings)

    def __post_init__(self) -> None:
        s = self.settings
        fs = float(self.sfreq)
        if fs < MIN_EMG_SFREQ:
            raise SamplingRateError(
                f"EMG twitch codes need the EMG sampled at {MIN_EMG_SFREQ:g} Hz or more, got {fs:g} Hz; "
                "record the chin EMG faster (200 Hz or more is standard)"
            )
        self.band = emg_band(fs, s)
        self.reliable = fs >= RELIABLE_EMG_SFREQ
        if not self.reliable:
            logger.warning(
                "EMG sampled at %g Hz (band %.0f-%.1f Hz): twitch codes are unreliable below %g Hz; "
                "their confidence is capped at %g",
                fs, *self.band, RELIABLE_EMG_SFREQ, LOW_RATE_MAX_CONFIDENCE,
            )
        self._bp = bandpass(self.band[0], self.band[1], fs, order=s.order)
        win = s.window_sec
        if win is None:
            win = float(np.clip(s.dof / (2.0 * (self.band[1] - self.band[0])), 0.05, 0.2))
        self.window = max(1, int(round(win * fs)))
        self._kernel = np.full(self.window, 1.0 / self.window)
        self._hist = np.zeros(self.window - 1)
        self._block = max(1, int(round(s.block_sec * fs)))
        self._warm_n = int(round(s.warmup_sec * fs))
        self._min_n = max(1, int(round(s.min_twitch_sec * self.sfreq)))
        self._min_off = max(1, int(round(s.min_off_sec * fs)))
        self._max_n = int(round(s.max_twitch_sec * fs))
        self._max_burst_n = int(round(s.max_burst_sec * fs))
        self._log_base: float | None = None
        self._acc = 0.0
        self._acc_n = 0
        self._n = 0
        self._on_start: int | None = None
        self._burst: list[float] = []
        self._below = 0
        self._sustained = False
        self._twitches: list[Twitch] = []
        self._long_bursts: list[tuple[float, float]] = []
        self.envelope_last = 0.0

    @property
    def baseline(self) -> float:
        """Current background RMS (V) in the detector's band."""
        return math.exp(0.5 * self._log_base) if self._log_base is not None else 0.0

    def pop_twitches(self) -> list[Twitch]:
        """Twitches finished since the last call."""
        out, self._twitches = self._twitches, []
        return out

    def pop_sustained(self) -> list[tuple[float, float]]:
        """Sustained bursts (onset, duration) longer than a twitch, since the last call."""
        out, self._long_bursts = self._long_bursts, []
        return out

    def power(self, x: np.ndarray) -> np.ndarray:
        """Advance the filters over a block and return its power envelope (V²)."""
        y = self._bp.process(np.asarray(x, dtype=np.float64))
        both = np.concatenate([self._hist, y * y])
        self._hist = both[len(both) - (self.window - 1) :] if self.window > 1 else self._hist
        return np.convolve(both, self._kernel, mode="valid")

    def update(self, x: np.ndarray) -> list[Event]:
        """Process the next block (V); returns ``emg_twitch`` events of twitches that ended."""
        x = np.asarray(x, dtype=np.float64)
        n = x.size
        if n == 0:
            return []
        env = self.power(x)
        first = self._n
        events: list[Event] = []
        i = 0
        while i < n:
            if self._on_start is None:
                stop = min(n, i + self._block - self._acc_n)
                warm = first + i >= self._warm_n and self._log_base is not None
                if not warm and first + i < self._warm_n:
                    stop = min(stop, self._warm_n - first)
                if warm:
                    thr = self.settings.k_on**2 * math.exp(self._log_base)
                    above = np.flatnonzero(env[i:stop] > thr)
                    if above.size:
                        j = i + int(above[0])
                        self._accumulate(env[i:j], first + j)
                        self._on_start = first + j
                        self._burst = []
                        self._below = 0
                        self._sustained = False
                        i = j
                        continue
                self._accumulate(env[i:stop], first + stop)
                i = stop
                continue
            # Inside a burst (rare): sample by sample, so a dip shorter than min_off does not end it.
            v = float(env[i])
            if not self._sustained:
                self._burst.append(v)
            if v >= self.settings.k_off**2 * math.exp(self._log_base):
                self._below = 0
            else:
                self._below += 1
                if self._below >= self._min_off:
                    events += self._end(first + i + 1)
            length = first + i + 1 - (self._on_start if self._on_start is not None else first + i + 1)
            if self._on_start is not None and length == self._max_n + 1:
                # sustained activity: hand over to the arousal detector (twitches inside it that are
                # much stronger than it are still read when it ends, up to max_burst_sec)
                self._long_bursts.append((self._on_start / self.sfreq, length / self.sfreq))
            if self._on_start is not None and not self._sustained and length > self._max_burst_n:
                self._sustained = True  # too long to keep: forget it
                self._burst = []
            i += 1
        self._n += n
        self.envelope_last = math.sqrt(max(float(env[-1]), 0.0))
        return events

    def _accumulate(self, p: np.ndarray, at: int) -> None:
        """Add background samples to the current baseline block; update the baseline per block."""
        if p.size == 0:
            return
        self._acc += float(np.sum(np.log(np.maximum(p, 1e-30))))
        self._acc_n += p.size
        if self._acc_n < self._block:
            return
        mean = self._acc / self._acc_n
        self._acc, self._acc_n = 0.0, 0
        if self._log_base is None:
            self._log_base = mean
            return
        s = self.settings
        tau = s.baseline_sec if at > self._warm_n else s.warmup_sec / 4.0
        self._log_base += min(1.0, s.block_sec / tau) * (mean - self._log_base)

    def _end(self, stop: int) -> list[Event]:
        """Close the burst that went quiet before sample ``stop``; twitch events for its twitches."""
        assert self._on_start is not None
        start, burst, sustained = self._on_start, np.asarray(self._burst), self._sustained
        self._on_start, self._burst, self._sustained = None, [], False
        if sustained or burst.size == 0:
            return []
        core = burst[: burst.size - self._below] if burst.size > self._below else burst
        level = float(np.median(core))
        if core.size > self._max_n and level > self.settings.k_sustained**2 * math.exp(self._log_base):
            return []  # strong sustained activity (movement, arousal): nothing in it is a code
        events: list[Event] = []
        for a, b in self._segments(burst, 0, burst.size, level, 0):
            events += self._twitch(start, burst[a:b], a, b, stop)
        return events

    def _segments(self, burst: np.ndarray, a: int, b: int, level: float, depth: int) -> list[tuple[int, int]]:
        """Runs of ``burst[a:b]`` above half ``level``; a run much stronger than ``level`` (a twitch
        inside weaker activity) is split again at half its own level."""
        s = self.settings
        out = []
        gap = max(1, int(round(s.split_sec * self.sfreq)))
        for ra, rb in _runs(burst[a:b] >= s.level_frac * level, gap):
            ra, rb = a + ra, a + rb
            strong = burst[ra:rb][burst[ra:rb] >= s.restep * level]
            own = float(np.median(strong)) if strong.size >= self._min_n else 0.0
            if depth < 2 and own > 0:
                out += self._segments(burst, ra, rb, own, depth + 1)
            else:
                out.append((ra, rb))
        return out

    def _twitch(self, start: int, seg: np.ndarray, a: int, b: int, stop: int) -> list[Event]:
        """A twitch from burst samples ``a:b`` (above half level); none if too short or too long."""
        s = self.settings
        onset = (start + a - 0.5 * (self.window - 1)) / self.sfreq
        duration = (b - a) / self.sfreq
        if duration < s.min_twitch_sec:
            return []
        if duration > s.max_twitch_sec:  # sustained (reported when the burst grew this long)
            return []
        base = max(math.exp(self._log_base), 1e-30)
        ratio = math.sqrt(float(np.median(seg)) / base)
        conf = float(np.clip((ratio - s.k_on) / (2 * s.k_on), 0.3, 1.0))
        if not self.reliable:
            conf = min(conf, LOW_RATE_MAX_CONFIDENCE)
        tw = Twitch(onset, duration, conf, stop / self.sfreq, ratio)
        self._twitches.append(tw)
        return [
            Event(
                onset=round(onset, 4),
                duration=round(duration, 4),
                trial_type="emg_twitch",
                value="long" if tw.long else "short",
                confidence=round(conf, 3),
                source=SOURCE,
                data={
                    "level_ratio": round(ratio, 1),
                    "peak_ratio": round(math.sqrt(float(seg.max()) / base), 1),
                    "detected_at": round(tw.detected_at, 4),
                    "reliable": self.reliable,
                },
            )
        ]


def _runs(mask: np.ndarray, min_gap: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the True runs of ``mask``, joining runs separated by < ``min_gap`` samples."""
    idx = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(np.int8), [0]])))
    runs = [[int(a), int(b)] for a, b in zip(idx[::2], idx[1::2], strict=True)]
    out: list[list[int]] = []
    for r in runs:
        if out and r[0] - out[-1][1] < min_gap:
            out[-1][1] = r[1]
        else:
            out.append(r)
    return [(a, b) for a, b in out]
