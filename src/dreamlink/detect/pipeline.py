"""All detectors together, live: :class:`DetectorPipeline` fed chunks from any Source.

The pipeline takes chunks of any size from any :class:`~dreamlink.sources.base.Source` (simulator,
file playback, BrainFlow, LSL), re-blocks them into fixed hops of :data:`HOP_SEC` (so its output
does not depend on how the source happened to chunk the stream), and runs on each hop:

* :class:`~dreamlink.detect.eye_sweeps.EyeSignalDetector` → ``eye_sweep``, ``lrlr``;
* :class:`~dreamlink.detect.eye_messages.EyeMessageDecoder` → ``message`` (count / eye-Morse);
* :class:`~dreamlink.detect.rems.RemCounter` → ``rem``, ``rem_density``;
* :class:`~dreamlink.detect.emg.EmgTwitchDetector` + :class:`~dreamlink.detect.emg_messages.EmgMessageDecoder`
  → ``emg_twitch``, ``message`` (yes/no or EMG-Morse), when an EMG channel is given;
* :class:`~dreamlink.detect.arousal.ArousalDetector` → ``arousal``, ``wake``, when EMG or EEG is given.

EMG codes are only read while the sleeper is in REM sleep (:class:`EmgGate`): outside REM the chin
is not atonic, and ordinary muscle tone and movements make twitch-like bursts (on real NREM/wake
PSG the ungated decoder read dozens of false EMG messages per 8 h). The gate follows ``stage``
events when a stager (:class:`dreamlink.staging.CausalStager`) feeds them in
(:meth:`DetectorPipeline.observe`, or subscribed on the ``bus``); without them it estimates REM
from the signals themselves.

Offline analysis (:func:`detect_array`, :func:`detect_file`) does **not** have its own algorithm:
it wraps the samples in an :class:`ArraySource` and streams them through the same pipeline, so
offline and live results are identical (a test checks this for several chunkings).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamlink.detect.arousal import ArousalDetector
from dreamlink.detect.calibration import Calibration, estimate_swing
from dreamlink.detect.emg import EmgTwitchDetector
from dreamlink.detect.emg_messages import EmgMessageDecoder
from dreamlink.detect.eye_emission import EyeModel, LearnedEmission
from dreamlink.detect.eye_messages import EyeMessageDecoder, vocabulary_of
from dreamlink.detect.eye_sweeps import EyeSignalDetector
from dreamlink.detect.rems import RemCounter, is_rem
from dreamlink.errors import ChannelError, SamplingRateError
from dreamlink.events import Event, EventBus
from dreamlink.link.lexicon import lexicon_named
from dreamlink.sources.base import Chunk, PacedSource, Source, SourceInfo

logger = logging.getLogger("dreamlink.detect")

#: Processing hop (s): the pipeline's internal block length.
HOP_SEC = 0.0625
#: Lowest sampling rate the detectors accept (Hz).
MIN_SFREQ = 32.0
#: How long after the end of a stream pending messages are flushed (s).
FLUSH_SEC = 60.0


class ArraySource(PacedSource):
    """A source over samples already in memory (volts, ``(n_channels, n_times)``).

    Parameters
    ----------
    data : numpy.ndarray
        Samples in volts.
    info : SourceInfo
        Channel names/types and rate.
    speed : float | None
        Pacing (``None`` = as fast as possible).
    """

    def __init__(self, data: np.ndarray, info: SourceInfo, speed: float | None = None) -> None:
        super().__init__(speed)
        self._data = np.asarray(data, dtype=np.float64)
        self._info = info

    @property
    def info(self) -> SourceInfo:
        """Channel metadata."""
        return self._info

    @property
    def n_total(self) -> int:
        """Number of samples."""
        return int(self._data.shape[1])

    def _generate(self, start: int, n: int) -> np.ndarray:
        return self._data[:, start : start + n]

#: Modes of :class:`EmgGate`.
EMG_GATES = ("auto", "stage", "off")


@dataclass
class EmgGate:
    """Whether EMG codes may be read now: REM sleep, i.e. an atonic chin with rapid eye movements.

    Deliberate twitch codes are a REM-sleep protocol: the chin is atonic, so a contraction stands
    out (Konkoly et al. 2021). Outside REM the same detector sees tone and movement bursts.

    Modes
        ``"stage"``: open only while the last ``stage`` event said ``R`` (from
        :class:`dreamlink.staging.CausalStager`; closed until one arrives).
        ``"auto"`` (default): like ``"stage"`` once any stage event has arrived; before that, an
        estimate from the signals: open when (1) at least :attr:`min_rems` rapid eye movements
        (:func:`dreamlink.detect.rems.is_rem`) occurred in the last :attr:`rem_window_sec` (REM sleep
        has them; NREM sleep has none) and (2) the chin EMG background is atonic: at most
        :attr:`atonia_ratio` × the lowest background seen so far (REM atonia is the night's lowest
        chin tone; AASM scoring manual), after :attr:`warmup_sec` of signal.
        ``"off"``: always open (a caller who knows the sleeper is in REM).

    A stager's stage events are far better than the estimate; the estimate's part (2) only works
    once the recording has reached low tone, so at the start of a night it relies on part (1).

    References
    ----------
    Konkoly KR et al. (2021). Real-time dialogue between experimenters and dreamers during REM
    sleep. Curr Biol 31(7):1417-1427. doi:10.1016/j.cub.2021.01.026
    Berry RB et al. (2017). AASM Manual for the Scoring of Sleep and Associated Events, v2.4.
    """

    mode: str = "auto"
    min_rems: int = 2
    rem_window_sec: float = 60.0
    atonia_ratio: float = 1.5
    warmup_sec: float = 60.0

    def __post_init__(self) -> None:
        if self.mode not in EMG_GATES:
            raise ValueError(f"emg gate must be one of {EMG_GATES}, got {self.mode!r}")
        self.stage: str | None = None
        self._rems: list[float] = []
        self._min_tone: float | None = None
        self.tone = 0.0

    def observe_stage(self, stage: str) -> None:
        """Take the current stage (``W``, ``N1``, ``N2``, ``N3``, ``R``) from a stager."""
        self.stage = str(stage)

    def update(self, now: float, rem_onsets: Sequence[float], tone: float | None) -> None:
        """Advance to ``now`` (s) with new rapid-eye-movement onsets and the chin background RMS (V)."""
        self._rems = [t for t in list(self._rems) + list(rem_onsets) if now - t <= self.rem_window_sec]
        if tone is not None and tone > 0:
            self.tone = float(tone)
            if now >= self.warmup_sec:
                self._min_tone = tone if self._min_tone is None else min(self._min_tone, tone)

    def is_open(self, now: float) -> bool:
        """Whether EMG codes are read at stream time ``now`` (s)."""
        if self.mode == "off":
            return True
        if self.stage is not None or self.mode == "stage":
            return self.stage == "R"
        if len(self._rems) < self.min_rems or now < self.warmup_sec or self._min_tone is None:
            return False
        return self.tone <= self.atonia_ratio * self._min_tone


@dataclass
class DetectorPipeline:
    """Every detector of a rig, fed chunk by chunk.

    Parameters
    ----------
    info : SourceInfo
        The stream's metadata.
    eog : str
        Horizontal EOG channel (already E1 − E2), or the left electrode when ``eog_right`` is given.
    calibration : Calibration
        The person's sweep amplitude.
    eog_right : str | None
        Right electrode: the derivation is ``eog − eog_right``.
    emg : str | None
        Chin/facial EMG channel (twitch codes, arousals).
    eeg : str | None
        EEG channel for alpha-intrusion arousals.
    eye_code : str
        ``"auto"``, ``"count"`` or ``"morse"``: what eye messages to expect.
    vocabulary : tuple of str
        The words eye-Morse messages are one of (a question's choices); empty: any text.
    lexicon : str | None
        For free-text eye-Morse: the name of a lexicon (:data:`~dreamlink.link.lexicon.LEXICON_NAMES`)
        whose words a message read as a non-word may be read as instead
        (:attr:`~dreamlink.detect.eye_messages.EyeMessageDecoder.lexicon`); ``None``: none.
    emg_code : str
        ``"yes_no"`` or ``"morse"``.
    bus : EventBus | None
        Events are also published here.
    rem_events : bool
        Emit one ``rem`` event per ordinary rapid eye movement.
    emg_gate : str
        When EMG codes are read (:class:`EmgGate`): ``"auto"`` (stage events if any, else a REM
        estimate), ``"stage"`` (only during stage ``R``), ``"off"`` (always).
    eye_model : EyeModel | None
        The dreamer's learned eye model (:mod:`dreamlink.detect.eye_emission`): eye messages are
        read with its emission; ``None``: the hand-built one.
    """

    info: SourceInfo
    eog: str
    calibration: Calibration
    eog_right: str | None = None
    emg: str | None = None
    eeg: str | None = None
    eye_code: str = "auto"
    vocabulary: tuple[str, ...] = ()
    lexicon: str | None = None
    emg_code: str = "yes_no"
    bus: EventBus | None = None
    rem_events: bool = True
    emg_gate: str = "auto"
    eye_model: EyeModel | None = None
    events: list[Event] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        fs = float(self.info.sfreq)
        if fs < MIN_SFREQ:
            raise SamplingRateError(
                f"the detectors need at least {MIN_SFREQ:g} Hz, the stream has {fs:g} Hz; "
                "record the EOG faster"
            )
        names = [self.eog] + [c for c in (self.eog_right, self.emg, self.eeg) if c]
        self._rows = [self.info.index(c) for c in names]
        if self.eog_right is not None and self.eog_right == self.eog:
            raise ChannelError(
                f"--eog and --eog-right are the same channel ({self.eog}); give the right electrode"
            )
        self.sfreq = fs
        self._hop = max(1, int(round(HOP_SEC * fs)))
        self._buf = np.zeros((len(self._rows), 0))
        self._n = 0
        two = self.eog_right is not None
        self.eye = EyeSignalDetector(fs, self.calibration.swing, two_channels=two)
        self.eye_decoder = EyeMessageDecoder(
            self.calibration.swing, mode=self.eye_code, levels=self.eye.level_trace,
            vocabulary=tuple(self.vocabulary),
            lexicon=None if self.lexicon is None else lexicon_named(self.lexicon),
            emission=None if self.eye_model is None else LearnedEmission(self.eye_model),
        )
        self.rems = RemCounter(emit_each=self.rem_events)
        self.emg_det = EmgTwitchDetector(fs) if self.emg else None
        self.emg_decoder = EmgMessageDecoder(self.emg_code) if self.emg else None
        self.gate = EmgGate(self.emg_gate)
        self.gated_twitches = 0
        if self.bus is not None:
            self.bus.subscribe(self.observe, kinds=["stage"])
        self.arousal = (
            ArousalDetector(fs, has_eeg=bool(self.eeg), has_emg=bool(self.emg))
            if (self.emg or self.eeg)
            else None
        )

    # -- feeding ------------------------------------------------------------------------------
    def expect_eye_code(
        self, eye_code: str, vocabulary: Sequence[str] = (), lexicon: str | None = None
    ) -> None:
        """Expect eye messages of ``eye_code`` (``"auto"``, ``"count"``, ``"morse"``) from now on, and
        for eye-Morse one of the words of ``vocabulary`` (empty: any text) or free text likely made
        of the words of ``lexicon`` (a name, :data:`~dreamlink.link.lexicon.LEXICON_NAMES`).

        A message already being received is read as it began
        (:meth:`~dreamlink.detect.eye_messages.EyeMessageDecoder.expect`).
        """
        words = None if lexicon is None else lexicon_named(lexicon)
        self.eye_decoder.expect(eye_code, vocabulary, words)
        self.eye_code, self.vocabulary, self.lexicon = eye_code, vocabulary_of(vocabulary), lexicon

    def observe(self, event: Event) -> None:
        """Take in an event from elsewhere on the rig: ``stage`` events drive the EMG gate."""
        if event.trial_type == "stage" and event.value is not None:
            self.gate.observe_stage(str(event.value))

    def update(self, chunk: Chunk | np.ndarray) -> list[Event]:
        """Feed the next chunk (all channels of the stream); returns the events it completed."""
        data = chunk.data if isinstance(chunk, Chunk) else np.asarray(chunk, dtype=np.float64)
        if data.ndim != 2 or data.shape[0] != self.info.n_channels:
            raise ValueError(f"expected ({self.info.n_channels}, n) samples, got {data.shape}")
        self._buf = np.concatenate([self._buf, data[self._rows]], axis=1)
        out: list[Event] = []
        n_full = self._buf.shape[1] // self._hop
        for i in range(n_full):
            out += self._process(self._buf[:, i * self._hop : (i + 1) * self._hop])
        self._buf = self._buf[:, n_full * self._hop :]
        return self._publish(out)

    def finish(self) -> list[Event]:
        """Process the last partial hop and flush pending messages (end of stream)."""
        out: list[Event] = []
        if self._buf.shape[1]:
            out += self._process(self._buf)
            self._buf = self._buf[:, :0]
        end = self._n / self.sfreq
        out += self.rems.update(self.eye.pop_movements(), end, latency=0.0)  # last complete minute
        out += self._decode(end + FLUSH_SEC, [], [])
        return self._publish(out)

    # -- internals ----------------------------------------------------------------------------
    def _process(self, block: np.ndarray) -> list[Event]:
        n = block.shape[1]
        self._n += n
        now = self._n / self.sfreq
        r = 0
        e1 = block[r]
        r += 1
        if self.eog_right is not None:
            e2 = block[r]
            r += 1
            out = self.eye.update(e1 - e2, e1, e2)
        else:
            out = self.eye.update(e1)
        emg = eeg = None
        if self.emg:
            emg = block[r]
            r += 1
        if self.eeg:
            eeg = block[r]
        twitches = []
        if self.emg_det is not None and emg is not None:
            out += self.emg_det.update(emg)
            twitches = self.emg_det.pop_twitches()
        moves = self.eye.pop_movements()
        self.gate.update(
            now,
            [m.onset for m in moves if is_rem(m)],
            self.emg_det.baseline if self.emg_det is not None else None,
        )
        if twitches and not self.gate.is_open(now):
            self.gated_twitches += len(twitches)  # not REM sleep: not read as a code
            twitches = []
        out += self.rems.update(moves, now, latency=self.eye.latency_sec + 0.1)
        out += self._decode(now, self.eye.pop_sweeps(), twitches)
        if self.arousal is not None:
            out += self.arousal.update(eeg=eeg, emg=emg)
        return out

    def _decode(self, now: float, sweeps: list, twitches: list) -> list[Event]:
        out = [d.to_event() for d in self.eye_decoder.update(sweeps, now, self.eye.pop_frames())]
        if self.emg_decoder is not None:
            out += [d.to_event() for d in self.emg_decoder.update(twitches, now)]
        return out

    def _publish(self, events: list[Event]) -> list[Event]:
        self.events.extend(events)
        if self.bus is not None:
            for e in events:
                self.bus.publish(e)
        return events


def run_source(
    source: Source,
    pipeline_factory: Callable[[SourceInfo], DetectorPipeline],
    chunk_sec: float | None = None,
    progress: Callable[[float], None] | None = None,
) -> DetectorPipeline:
    """Stream a source through a pipeline until it ends; returns the pipeline (events in ``.events``).

    Parameters
    ----------
    source : Source
        Any source (opened here if needed, closed at the end).
    pipeline_factory : callable
        Builds the pipeline from the source's :class:`SourceInfo`.
    chunk_sec : float | None
        Chunk length to read (the source's default if ``None``).
    progress : callable | None
        Called with the seconds processed in each chunk.
    """
    with source:
        pipeline = pipeline_factory(source.info)
        for chunk in source.chunks(chunk_sec):
            pipeline.update(chunk)
            if progress is not None:
                progress(chunk.n_times / chunk.sfreq)
        pipeline.finish()
    return pipeline


@dataclass
class DetectionResult:
    """Events of an offline run, the calibration used and notes for the user."""

    events: list[Event]
    calibration: Calibration
    duration: float
    notes: list[str] = field(default_factory=list)

    def count(self, trial_type: str) -> int:
        """Number of events of one kind."""
        return sum(e.trial_type == trial_type for e in self.events)


def horizontal(data: np.ndarray, info: SourceInfo, eog: str, eog_right: str | None) -> tuple[np.ndarray, ...]:
    """(h, e1, e2) in volts from a recording: ``e1 − e2`` when ``eog_right`` is given, else ``eog``."""
    e1 = data[info.index(eog)]
    if eog_right is None:
        return (e1,)
    e2 = data[info.index(eog_right)]
    return (e1 - e2, e1, e2)


def detect_array(
    data: np.ndarray,
    info: SourceInfo,
    eog: str,
    eog_right: str | None = None,
    emg: str | None = None,
    eeg: str | None = None,
    calibration: Calibration | None = None,
    chunk_sec: float = 1.0,
    eye_code: str = "auto",
    emg_code: str = "yes_no",
    rem_events: bool = True,
    progress: Callable[[float], None] | None = None,
    vocabulary: Sequence[str] = (),
    emg_gate: str = "auto",
    lexicon: str | None = None,
    eye_model: EyeModel | None = None,
) -> DetectionResult:
    """Run the live pipeline over samples in memory, fed as a stream of ``chunk_sec`` chunks.

    Without ``calibration`` the sweep amplitude is first estimated from the recording
    (:func:`~dreamlink.detect.calibration.estimate_swing`) and a note says so. With a ``vocabulary``
    eye-Morse messages are read as its words, with a ``lexicon`` free text may be read as its words
    (:class:`DetectorPipeline`); with an ``eye_model`` eye messages are read with the dreamer's
    learned emission.
    """
    notes: list[str] = []
    if calibration is None:
        parts = horizontal(data, info, eog, eog_right)
        calibration = estimate_swing(
            parts[0], info.sfreq, *parts[1:], channels=[c for c in (eog, eog_right) if c]
        )
        notes.append("no calibration given: sweep amplitude " + calibration.note)

    def factory(inf: SourceInfo) -> DetectorPipeline:
        return DetectorPipeline(
            inf,
            eog,
            calibration,
            eog_right=eog_right,
            emg=emg,
            eeg=eeg,
            eye_code=eye_code,
            vocabulary=tuple(vocabulary),
            lexicon=lexicon,
            emg_code=emg_code,
            rem_events=rem_events,
            emg_gate=emg_gate,
            eye_model=eye_model,
        )

    pipe = run_source(ArraySource(data, info), factory, chunk_sec=chunk_sec, progress=progress)
    if pipe.gated_twitches:
        notes.append(
            f"{pipe.gated_twitches} EMG twitches outside REM sleep were not read as codes "
            "(the chin is not atonic there; --emg-gate off reads them anyway)"
        )
    return DetectionResult(pipe.events, calibration, data.shape[1] / info.sfreq, notes)


def load_channels(path: str | Path, channels: Sequence[str]) -> tuple[np.ndarray, SourceInfo, list[str]]:
    """Read the named channels of a recording (volts) with fix-it errors.

    Channels whose values are implausibly large for volts (median |x| > 10 mV; an EDF header with an
    unrecognised unit such as ``UV``) are taken to be in µV and scaled, with a note.
    """
    from dreamlink.io.edf import read_raw

    raw = read_raw(path, preload=False)
    missing = [c for c in channels if c not in raw.ch_names]
    if missing:
        raise ChannelError(
            f"channel {missing[0]!r} not found in {Path(path).name}; "
            f"available channels: {', '.join(raw.ch_names)}"
        )
    data = raw.get_data(picks=list(channels))
    notes = []
    for i, name in enumerate(channels):
        if np.median(np.abs(data[i])) > 1e-2:
            data[i] *= 1e-6
            notes.append(
                f"channel {name}: values too large for volts, read as µV (check the EDF header unit)"
            )
    info = SourceInfo(
        tuple(channels),
        tuple("eog" for _ in channels),
        float(raw.info["sfreq"]),
        name=f"file:{path}",
        duration=data.shape[1] / raw.info["sfreq"],
    )
    return data, info, notes


def detect_file(
    path: str | Path,
    eog: str,
    eog_right: str | None = None,
    emg: str | None = None,
    eeg: str | None = None,
    calibration: Calibration | None = None,
    **kwargs,
) -> DetectionResult:
    """Detect everything in a recording file by streaming it through the live pipeline."""
    chans = _unique([eog] + [c for c in (eog_right, emg, eeg) if c])
    data, info, notes = load_channels(path, chans)
    res = detect_array(data, info, eog, eog_right, emg, eeg, calibration, **kwargs)
    res.notes[:0] = notes
    return res


def _unique(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for x in items:
        if x not in out:
            out.append(x)
    return out
