"""Causal arousal / awakening detector: "pulled back into reality".

Scoring rules define an arousal as an abrupt shift of EEG frequency (alpha, theta or > 16 Hz) lasting
at least 3 s, in REM sleep accompanied by increased chin EMG (ASDA 1992; AASM manual). A movement
arousal shows as large broadband artefacts. dreamlink watches three things, each relative to the
sleeper's own slowly tracked background (a running mean of the log-envelope with a
:attr:`ArousalSettings.baseline_sec` time constant, frozen while any condition is on):

``alpha``
    8–12 Hz RMS envelope (1-s time constant) of an EEG channel above
    :attr:`ArousalSettings.alpha_ratio` × background for ≥ 3 s.
``emg``
    Chin EMG RMS envelope (0.5-s time constant, 10–100 Hz) above
    :attr:`ArousalSettings.emg_ratio` × background for ≥ 8 s (longer than a deliberate yes/no
    answer: its twitches fall within 4 s and its closing contraction follows, and the envelope
    bridges the short gaps between them; so answering does not count as waking up).
``movement``
    Broadband (0.5–40 Hz) EEG envelope above :attr:`ArousalSettings.movement_ratio` × background
    (EMG: twice that, so that a sustained contraction alone counts as ``emg``) for ≥ 1 s; seen on
    the EMG alone, for ≥ :attr:`ArousalSettings.movement_emg_min_sec` (2 s), longer than the long
    contraction of an EMG code (a dash, or the contraction closing a yes/no answer, about 1 s).

When a condition has held for its minimum time an ``arousal`` event is emitted (value: the
causes, e.g. ``"alpha+emg"``; onset: when it began). If any condition keeps holding for
:attr:`ArousalSettings.wake_sec` a ``wake`` event follows: the design runtime should stop the
dream protocol and the cue layer must stop cueing (a sleeper who woke up should not be cued).

References
----------
American Sleep Disorders Association (1992). EEG arousals: scoring rules and examples. Sleep
15(2):173-184. doi:10.1093/sleep/15.2.173
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from dreamlink.detect.filters import CausalFilter, bandpass, moving_rms_sos
from dreamlink.events import Event

SOURCE = "detect.arousal"


@dataclass(frozen=True)
class ArousalSettings:
    """Thresholds of :class:`ArousalDetector` (see the module docstring)."""

    alpha_ratio: float = 2.0
    emg_ratio: float = 3.0
    movement_ratio: float = 6.0
    min_sec: float = 3.0
    emg_min_sec: float = 8.0
    movement_min_sec: float = 1.0
    movement_emg_min_sec: float = 2.0
    wake_sec: float = 15.0
    baseline_sec: float = 120.0
    warmup_sec: float = 20.0
    step_sec: float = 0.5


class _Envelope:
    """Band-pass → squared → smoothed → sqrt, with a slowly tracked log background."""

    def __init__(self, band: tuple[float, float], tau: float, sfreq: float, baseline_sec: float) -> None:
        self.bp = bandpass(band[0], band[1], sfreq, order=2)
        self.sm = CausalFilter(moving_rms_sos(sfreq, tau))
        self.log_base: float | None = None
        self.baseline_sec = baseline_sec
        self.sfreq = sfreq
        self.level = 0.0

    def update(self, x: np.ndarray) -> float:
        y = self.bp.process(x)
        env = np.sqrt(np.maximum(self.sm.process(y * y), 0.0))
        self.level = float(env[-1])
        return self.level

    def ratio(self) -> float:
        if self.log_base is None:
            return 1.0
        return self.level / max(math.exp(self.log_base), 1e-12)

    def learn(self, n: int, tau: float) -> None:
        value = math.log(max(self.level, 1e-12))
        if self.log_base is None:
            self.log_base = value
            return
        alpha = min(1.0, (n / self.sfreq) / tau)
        self.log_base += alpha * (value - self.log_base)


@dataclass
class ArousalDetector:
    """Stateful arousal detector; call :meth:`update` with consecutive blocks.

    Parameters
    ----------
    sfreq : float
        Hz.
    has_eeg, has_emg : bool
        Which inputs :meth:`update` receives.
    settings : ArousalSettings
        Thresholds.
    """

    sfreq: float
    has_eeg: bool = False
    has_emg: bool = True
    settings: ArousalSettings = field(default_factory=ArousalSettings)

    def __post_init__(self) -> None:
        s, fs = self.settings, self.sfreq
        self._env: dict[str, _Envelope] = {}
        if self.has_eeg:
            self._env["alpha"] = _Envelope((8.0, 12.0), 1.0, fs, s.baseline_sec)
            self._env["movement_eeg"] = _Envelope((0.5, 40.0), 0.25, fs, s.baseline_sec)
        if self.has_emg:
            self._env["emg"] = _Envelope((min(10.0, 0.2 * fs), 100.0), 0.5, fs, s.baseline_sec)
            self._env["movement_emg"] = _Envelope((0.5, 40.0), 0.25, fs, s.baseline_sec)
        self._n = 0
        self._since: dict[str, int | None] = {"alpha": None, "emg": None, "movement": None}
        self._reported: set[str] = set()
        self._episode_start: int | None = None
        self._woke = False
        self._pending: list[tuple[np.ndarray | None, np.ndarray | None]] = []
        self._pending_n = 0

    def update(self, eeg: np.ndarray | None = None, emg: np.ndarray | None = None) -> list[Event]:
        """Feed the next block (volts); returns ``arousal`` / ``wake`` events.

        Blocks are gathered into steps of :attr:`ArousalSettings.step_sec` (decisions need no finer
        time resolution), so the result depends only on the sample stream, not on block sizes.
        """
        block = eeg if eeg is not None else emg
        if block is None or len(block) == 0:
            return []
        self._pending.append((eeg, emg))
        self._pending_n += len(block)
        step = max(1, int(round(self.settings.step_sec * self.sfreq)))
        events: list[Event] = []
        while self._pending_n >= step:
            eeg_all = np.concatenate([b[0] for b in self._pending]) if eeg is not None else None
            emg_all = np.concatenate([b[1] for b in self._pending]) if emg is not None else None
            full = eeg_all if eeg_all is not None else emg_all
            assert full is not None
            head = slice(0, step)
            events += self._step(
                eeg_all[head] if eeg_all is not None else None, emg_all[head] if emg_all is not None else None
            )
            rest = full[step:]
            self._pending = (
                [
                    (
                        eeg_all[step:] if eeg_all is not None else None,
                        emg_all[step:] if emg_all is not None else None,
                    )
                ]
                if len(rest)
                else []
            )
            self._pending_n = len(rest)
        return events

    def _step(self, eeg: np.ndarray | None, emg: np.ndarray | None) -> list[Event]:
        block = eeg if eeg is not None else emg
        assert block is not None
        n = len(block)
        if self.has_eeg and eeg is not None:
            self._env["alpha"].update(np.asarray(eeg, float))
            self._env["movement_eeg"].update(np.asarray(eeg, float))
        if self.has_emg and emg is not None:
            self._env["emg"].update(np.asarray(emg, float))
            self._env["movement_emg"].update(np.asarray(emg, float))
        self._n += n
        s = self.settings
        now = self._n
        warm = self._n / self.sfreq >= s.warmup_sec
        moved_eeg = "movement_eeg" in self._env and self._env["movement_eeg"].ratio() > s.movement_ratio
        on = {
            "alpha": "alpha" in self._env and self._env["alpha"].ratio() > s.alpha_ratio,
            "emg": "emg" in self._env and self._env["emg"].ratio() > s.emg_ratio,
            "movement": moved_eeg
            or ("movement_emg" in self._env and self._env["movement_emg"].ratio() > 2 * s.movement_ratio),
        }
        if not warm:
            on = dict.fromkeys(on, False)
        events: list[Event] = []
        for k, is_on in on.items():
            if is_on and self._since[k] is None:
                self._since[k] = now - n
            elif not is_on:
                self._since[k] = None
                self._reported.discard(k)
        ripe = []
        for k, start in self._since.items():
            if start is None or k in self._reported:
                continue
            movement_sec = s.movement_min_sec if moved_eeg else s.movement_emg_min_sec
            need = {"movement": movement_sec, "emg": s.emg_min_sec}.get(k, s.min_sec)
            if (now - start) / self.sfreq >= need:
                ripe.append(k)
        if ripe:
            onset = min(self._since[k] for k in ripe) / self.sfreq  # type: ignore[type-var]
            self._reported.update(ripe)
            events.append(
                Event(
                    onset=round(onset, 4),
                    duration=round(now / self.sfreq - onset, 4),
                    trial_type="arousal",
                    value="+".join(sorted(ripe)),
                    confidence=round(min(1.0, 0.5 + 0.25 * len(ripe)), 3),
                    source=SOURCE,
                    data={
                        "ratios": {k: round(e.ratio(), 2) for k, e in self._env.items()},
                        "detected_at": round(now / self.sfreq, 4),
                    },
                )
            )
        any_on = any(v is not None for v in self._since.values())
        if any_on:
            if self._episode_start is None:
                self._episode_start = min(v for v in self._since.values() if v is not None)
            if not self._woke and (now - self._episode_start) / self.sfreq >= s.wake_sec:
                self._woke = True
                events.append(
                    Event(
                        onset=round(self._episode_start / self.sfreq, 4),
                        duration=round((now - self._episode_start) / self.sfreq, 4),
                        trial_type="wake",
                        value="W",
                        confidence=0.7,
                        source=SOURCE,
                        data={"detected_at": round(now / self.sfreq, 4)},
                    )
                )
        else:
            self._episode_start = None
            self._woke = False
            tau = s.baseline_sec if warm else s.warmup_sec / 4.0
            for e in self._env.values():
                e.learn(n, tau)
        return events
