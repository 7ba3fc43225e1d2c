"""Rehearse a dream design on a recorded or simulated night, as fast as the computer goes.

A rehearsal turns a night into the event stream a rig would see, feeds it to a
:class:`~dreamlink.designs.runtime.DesignRuntime` with a recording sink, and writes a timeline of every
trigger and action (``timeline.csv``) and a plot of them over the hypnogram (``timeline.png``).

The event stream
----------------
From the hypnogram: a ``stage`` event at every change of stage (at the epoch's onset), a
``rem_entry`` at the start of every run of ``R`` epochs and a ``wake`` at the start of every run of
``W`` after sleep onset. From the night's events (the simulator's ground truth, or the annotations of
an EDF+ file): ``lrlr``, ``count``, ``message``, ``emg_code``, ``arousal``, ``wake``, ``rem_entry``,
``operator_message``, ``relay_in`` ... Detected events act at their *end* (``onset + duration``), the
earliest moment a causal detector could report a whole gesture; stages act at their onset (an ideal
stager: rehearsal shows what the design does with the night's stages, not how well staging works).

Nights
------
:func:`night_from_simulation` uses :func:`dreamlink.sim.night.simulate_night` (ground truth only: the
signal is never synthesised, which is what makes rehearsal fast) with a default script of injected eye
signals in each REM period (:func:`default_injections`). :func:`night_from_recording` reads an
EDF/BDF/FIF file, uses a given hypnogram, else the file's ``stage:X`` annotations, else stages it with
YASA (Vallat & Walker 2021, eLife, doi:10.7554/eLife.70092) and turns the other EDF+ annotations
(``lrlr``, ``message:HI``...) into events.

A design with ``linked: true`` is rehearsed with two dreamers: the night given (dreamer A) and a partner
night (dreamer B: the next simulator seed, or the same recording); relayed messages reach the other
dreamer :data:`RELAY_LATENCY_SEC` later as ``relay_in`` (``relay_ack`` for acknowledgements).
"""

from __future__ import annotations

import csv
import heapq
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dreamlink.designs.model import Design
from dreamlink.designs.runtime import DesignRuntime, RecordingSink, TimelineRow
from dreamlink.errors import DreamlinkError, InputFileError
from dreamlink.events import Event
from dreamlink.hypnogram import EPOCH_SEC, STAGES, Hypnogram

logger = logging.getLogger("dreamlink.designs")

#: Event kinds a design can react to or that shape its context (others are not fed).
RELEVANT_KINDS: frozenset[str] = frozenset({
    "stage", "rem_entry", "lrlr", "message", "count", "arousal", "wake", "operator_message", "relay_in",
    "relay_delivered", "relay_ack", "emg_code", "yes_no",
})
#: Kinds that act at their end (a detector reports a gesture once it is complete).
_ACT_AT_END: frozenset[str] = frozenset({"lrlr", "message", "count", "emg_code", "yes_no", "arousal"})
#: Seconds a relayed message takes to reach the partner in a linked rehearsal.
RELAY_LATENCY_SEC = 1.0
#: Columns of ``timeline.csv``.
TIMELINE_COLUMNS = ("time_s", "clock", "dreamer", "kind", "name", "value", "state", "stage", "detail")


@dataclass
class Night:
    """A night to rehearse on.

    Attributes
    ----------
    name : str
        Shown in outputs (``sim:seed=1,hours=8`` or the file name).
    hypnogram : Hypnogram
        Stages used for ``stage``/``rem_entry``/``wake`` events and the plot.
    events : list of Event
        Other events of the night (ground truth or annotations).
    duration : float
        Length in seconds.
    prepare_sec : float
        Seconds spent building it (simulation or staging), reported apart from the runtime's time.
    partner_seed : int | None
        For simulated nights: the seed of a linked partner's night.
    """

    name: str
    hypnogram: Hypnogram
    events: list[Event]
    duration: float
    prepare_sec: float = 0.0
    partner_seed: int | None = None
    hours: float | None = None
    injections: tuple[str, ...] = ()


def default_injections(hypnogram: Hypnogram, max_periods: int = 6) -> list[str]:
    """The default script of deliberate signals for a simulated night, per REM period.

    In each of the first ``max_periods`` REM periods long enough (≥ 5 min): an LRLR at +90 s (a lucid
    dreamer signalling), a count answer of 4 at +150 s (Konkoly et al. 2021's "8 − 4"), two LRLRs 10 s
    apart at +240 s and +252 s (a counted interval, as in Erlacher et al. 2014)
    and the eye-Morse message ``HI`` at +300 s.
    """
    from dreamlink.sim.hypnogram_model import rem_periods

    out: list[str] = []
    for k, (start, end) in enumerate(rem_periods(hypnogram)[:max_periods], start=1):
        if end - start < 330.0:
            continue
        out += [f"lrlr@rem{k}+90", f"count:4@rem{k}+150", f"lrlr@rem{k}+240", f"lrlr@rem{k}+252",
                f"morse:HI@rem{k}+300"]
    return out


def night_from_simulation(
    seed: int = 0,
    hours: float | None = 8.0,
    injections: Sequence[str] | None = None,
    hypnogram: Hypnogram | str | Path | None = None,
    artefacts: bool = True,
) -> Night:
    """Ground truth of a simulated night (no signal is synthesised).

    Parameters
    ----------
    seed : int
        Simulator seed.
    hours : float | None
        Length in hours (``None`` with a ``hypnogram``: all of it).
    injections : sequence of str | None
        Injection specs (:mod:`dreamlink.sim.injections`); ``None`` = :func:`default_injections`.
    hypnogram : Hypnogram, str, Path or None
        Drive the night from this hypnogram instead of the simulator's model.
    artefacts : bool
        Spontaneous arousals and movement artefacts (the simulator's option).
    """
    from dreamlink.sim.night import simulate_night

    t0 = time.perf_counter()
    if injections is None:
        plain = simulate_night(hours=hours, seed=seed, hypnogram=hypnogram, artefacts=artefacts)
        injections = default_injections(plain.hypnogram)
    night = simulate_night(hours=hours, seed=seed, injections=list(injections), hypnogram=hypnogram,
                           artefacts=artefacts)
    events = [e for e in night.events if e.trial_type in RELEVANT_KINDS]
    return Night(
        name=f"sim:seed={seed},hours={night.duration / 3600:g}",
        hypnogram=night.hypnogram,
        events=events,
        duration=float(night.duration),
        prepare_sec=time.perf_counter() - t0,
        partner_seed=seed + 1,
        hours=hours,
        injections=tuple(injections),
    )


def _channel_types(raw: Any) -> list[str]:
    """Channel types, inferred from names where the file does not say (EDF: 'EOG E1', 'LOC', 'EMG chin')."""
    out = []
    for name, kind in zip(raw.ch_names, raw.get_channel_types(), strict=True):
        upper = name.upper()
        words = upper.replace("-", " ").split()
        if "EOG" in upper or (words and words[0] in ("LOC", "ROC", "E1", "E2")):
            kind = "eog"
        elif "EMG" in upper or "CHIN" in upper:
            kind = "emg"
        out.append(kind)
    return out


def _pick(
    ch_names: Sequence[str], ch_types: Sequence[str], kind: str, preferred: Sequence[str]
) -> str | None:
    names = [n for n, t in zip(ch_names, ch_types, strict=True) if t == kind]
    for want in preferred:
        for name in names:
            if want.lower() in name.lower():
                return name
    return names[0] if names else None


def stage_recording(raw: Any) -> Hypnogram:
    """Stage a recording: :func:`dreamlink.staging.stage_raw` (else YASA's ``SleepStaging`` directly).

    The EEG channel is the first of C4, C3, Cz, F4, F3, O2 found (by name), the EOG the first of LOC, E1,
    EOG1, the EMG the chin/EMG1 channel; missing EOG/EMG are left out.

    Raises
    ------
    InputFileError
        No EEG channel, or shorter than YASA's 5-minute minimum.
    """
    types = _channel_types(raw)
    eeg = _pick(raw.ch_names, types, "eeg", ("C4", "C3", "Cz", "F4", "F3", "O2"))
    eog = _pick(raw.ch_names, types, "eog", ("LOC", "E1", "EOG1", "EOG"))
    emg = _pick(raw.ch_names, types, "emg", ("chin", "EMG1", "EMG"))
    if eeg is None:
        name = Path(raw.filenames[0]).name if raw.filenames else "recording"
        raise InputFileError(f"{name}: no EEG channel to stage; give a hypnogram with --hypnogram")
    try:
        from dreamlink.staging import stage_raw
    except ImportError:  # staging not installed in this build: YASA directly
        stage_raw = None
    if stage_raw is not None:
        return stage_raw(raw, eeg, eog, emg)
    import yasa

    if raw.times[-1] < 300:
        raise InputFileError("the recording is shorter than 5 minutes: too short to stage; give --hypnogram")
    staging = yasa.SleepStaging(raw, eeg_name=eeg, eog_name=eog, emg_name=emg)
    pred = staging.predict()
    labels = pred.hypno.to_numpy() if hasattr(pred, "hypno") else np.asarray(pred)
    mapping = {"WAKE": "W", "W": "W", "N1": "N1", "N2": "N2", "N3": "N3", "REM": "R", "R": "R"}
    return Hypnogram(np.array([mapping.get(str(s).upper(), "?") for s in labels]), EPOCH_SEC, 0.0)


def _annotation_events(raw: Any) -> tuple[list[Event], list[tuple[float, str]]]:
    from dreamlink.events import _parse_value

    events, stages = [], []
    for ann in raw.annotations:
        text = str(ann["description"]).strip()
        kind, _, value = text.partition(":")
        kind = kind.strip().lower()
        if kind == "stage" and value.strip().upper() in {*STAGES, "REM"}:
            stage = "R" if value.strip().upper() == "REM" else value.strip().upper()
            stages.append((float(ann["onset"]), stage))
            continue
        if kind in RELEVANT_KINDS:
            events.append(Event(float(ann["onset"]), float(ann["duration"]), kind,
                                _parse_value(value.strip()) if value else None, None, "edf"))
    return events, stages


def detect_recording(path: str | Path, raw: Any) -> list[Event]:
    """Run :func:`dreamlink.detect.detect_file` (eye signals, messages, arousals) on a recording.

    The horizontal EOG is E1 − E2 (the first two EOG channels, LOC/E1 first); the EMG and EEG
    channels are used when present. Only the kinds a design reacts to are kept.

    Raises
    ------
    InputFileError
        The recording has no EOG channel.
    """
    from dreamlink.detect import detect_file

    types = _channel_types(raw)
    eogs = [n for n, t in zip(raw.ch_names, types, strict=True) if t == "eog"]
    if not eogs:
        raise InputFileError(f"{Path(path).name}: no EOG channel, nothing to detect eye signals in; "
                             "drop --detect or give a recording with EOG")
    left = _pick(raw.ch_names, types, "eog", ("LOC", "E1", "EOG1"))
    right = next((n for n in eogs if n != left), None)
    emg = _pick(raw.ch_names, types, "emg", ("chin", "EMG1", "EMG"))
    eeg = _pick(raw.ch_names, types, "eeg", ("C4", "C3", "Cz", "F4", "F3", "O2"))
    result = detect_file(path, left, right, emg=emg, eeg=eeg)
    for note in result.notes:
        logger.info("detect: %s", note)
    return [e for e in result.events if e.trial_type in RELEVANT_KINDS]


def night_from_recording(
    path: str | Path, hypnogram: str | Path | Hypnogram | None = None, detect: bool = False
) -> Night:
    """A recorded night: its hypnogram (given, annotated or staged) and its events.

    Parameters
    ----------
    path : str or Path
        EDF/EDF+/BDF/FIF recording.
    hypnogram : str, Path, Hypnogram or None
        Expert or earlier staging (any format :func:`~dreamlink.io.hypnogram_formats.read_hypnogram`
        reads); default: the file's ``stage:X`` annotations, else :func:`stage_recording`.
    detect : bool
        Also run the detectors (:func:`detect_recording`) and add their events to the annotations'.
    """
    from dreamlink.io.edf import read_raw

    t0 = time.perf_counter()
    raw = read_raw(path, preload=False)
    events, stage_marks = _annotation_events(raw)
    if detect:
        events = sorted(events + detect_recording(path, raw), key=lambda e: e.onset)
    duration = float(raw.n_times / raw.info["sfreq"])
    if isinstance(hypnogram, Hypnogram):
        hyp = hypnogram
    elif hypnogram is not None:
        from dreamlink.io.hypnogram_formats import read_hypnogram

        hyp = read_hypnogram(hypnogram)
    elif stage_marks:
        n = int(np.ceil(duration / EPOCH_SEC))
        labels = np.full(n, "?", dtype="<U2")
        for onset, stage in sorted(stage_marks):
            labels[int(onset // EPOCH_SEC):] = stage
        hyp = Hypnogram(labels, EPOCH_SEC, 0.0)
    else:
        raw.load_data(verbose="error")
        hyp = stage_recording(raw)
    return Night(Path(path).name, hyp, events, duration, time.perf_counter() - t0)


def stream_events(night: Night) -> list[tuple[float, Event]]:
    """The events a rig would see during ``night``, as ``(time they act, event)`` in time order."""
    out: list[tuple[float, int, Event]] = []
    stages = night.hypnogram.stages
    onsets = night.hypnogram.onsets
    prev: str | None = None
    slept = False
    for i, (onset, stage) in enumerate(zip(onsets, stages, strict=True)):
        stage = str(stage)
        if stage == prev:
            continue
        t = float(onset)
        out.append((t, 0, Event(t, 0.0, "stage", stage, None, "hypnogram")))
        if stage == "R":
            out.append((t, 1, Event(t, 0.0, "rem_entry", "R", None, "hypnogram")))
        elif stage == "W" and slept:
            out.append((t, 1, Event(t, 0.0, "wake", "W", None, "hypnogram")))
        slept = slept or stage in ("N1", "N2", "N3", "R")
        prev = stage
        del i
    for event in night.events:
        if event.trial_type not in RELEVANT_KINDS or event.trial_type == "stage":
            continue
        at = event.end if event.trial_type in _ACT_AT_END else event.onset
        out.append((float(at), 2, event))
    out.sort(key=lambda item: (item[0], item[1]))
    return [(t, e) for t, _, e in out]


@dataclass
class RehearsalResult:
    """What a rehearsal produced.

    Attributes
    ----------
    design : Design
        The design rehearsed.
    nights : list of Night
        The dreamer's night (and the partner's for a linked design).
    timelines : list of list of TimelineRow
        Per dreamer, every trigger, action, skipped cue, state change, answer and timeout.
    actions : list of list of Event
        Per dreamer, the events the sink received (cues, relays, marks, alarms, end).
    counts : list of dict
        Per dreamer, the runtime's counters (``trigger:lrlr``, ``action:cue``, ``answer``, ...).
    runtime_sec : float
        Wall-clock seconds spent running the design(s).
    events_sec : float
        Seconds spent turning the night(s) into event streams (plus :attr:`Night.prepare_sec`).
    n_events : int
        Events fed.
    """

    design: Design
    nights: list[Night]
    timelines: list[list[TimelineRow]]
    actions: list[list[Event]]
    counts: list[dict[str, int]]
    runtime_sec: float = 0.0
    events_sec: float = 0.0
    n_events: int = 0
    final_states: list[str] = field(default_factory=list)

    @property
    def counts_total(self) -> dict[str, int]:
        """Counters summed over dreamers."""
        total: Counter[str] = Counter()
        for c in self.counts:
            total.update(c)
        return dict(total)

    def summary_lines(self) -> list[str]:
        """Human-readable counts, one per line."""
        lines = []
        for i, (night, counts) in enumerate(zip(self.nights, self.counts, strict=True)):
            who = f"dreamer {'AB'[i]} " if len(self.nights) > 1 else ""
            lines.append(f"{who}night {night.name}: {night.duration / 3600:.2f} h, "
                         f"final state {self.final_states[i] if self.final_states else '?'}")
            for prefix, title in (("trigger:", "triggers"), ("action:", "actions"),
                                  ("skipped:", "skipped by guards"), ("refused:", "refused")):
                items = sorted((k[len(prefix):], v) for k, v in counts.items() if k.startswith(prefix))
                if items:
                    lines.append(f"  {title}: " + ", ".join(f"{k} {v}" for k, v in items))
            asked = ("answer", "answer:correct", "answer:wrong", "answer:unsure", "retry", "timeout")
            qa = [f"{k} {counts[k]}" for k in asked if counts.get(k)]
            if qa:
                lines.append("  questions: " + ", ".join(qa))
        hours = sum(n.duration for n in self.nights[:1]) / 3600.0
        speed = hours * 3600.0 / self.runtime_sec if self.runtime_sec > 0 else float("inf")
        lines.append(f"{self.n_events} events; runtime {self.runtime_sec * 1000:.1f} ms "
                     f"({speed:,.0f}x real time); event generation {self.events_sec:.2f} s")
        return lines


def _route(rt_index: int, emitted: Sequence[Event], heap: list, seq: list[int]) -> None:
    for ev in emitted:
        if ev.trial_type != "relay_sent":
            continue
        kind = "relay_ack" if ev.data.get("kind") == "ack" else "relay_in"
        at = ev.onset + RELAY_LATENCY_SEC
        seq[0] += 1
        heapq.heappush(heap, (at, 3, seq[0], 1 - rt_index,
                              Event(at, 0.0, kind, ev.value, None, "relay", {"from": "AB"[rt_index]})))


def rehearse(design: Design, night: Night, partner: Night | None = None) -> RehearsalResult:
    """Run ``design`` through ``night`` (and ``partner`` for a linked design) as fast as possible.

    Returns
    -------
    RehearsalResult
    """
    nights = [night] if not design.linked else [night, partner if partner is not None else night]
    t0 = time.perf_counter()
    streams = [stream_events(n) for n in nights]
    events_sec = time.perf_counter() - t0 + sum(n.prepare_sec for n in nights)
    sinks = [RecordingSink() for _ in nights]
    t1 = time.perf_counter()
    runtimes = [DesignRuntime(design, sink) for sink in sinks]
    n_events = 0
    if len(runtimes) == 1:
        rt = runtimes[0]
        rt.start(0.0)
        for at, event in streams[0]:
            if rt.status.value == "ended":
                break
            rt.feed(event, at=at)
            n_events += 1
        if rt.status.value != "ended":
            rt.advance(nights[0].duration)
    else:
        heap: list = []
        seq = [0]
        for i, stream in enumerate(streams):
            for at, event in stream:
                seq[0] += 1
                heap.append((at, 2, seq[0], i, event))
        heapq.heapify(heap)
        for i, rt in enumerate(runtimes):
            _route(i, rt.start(0.0), heap, seq)
        end = max(n.duration for n in nights)
        while True:
            nxt = heap[0][0] if heap else end
            # timed triggers of either dreamer due before the next event fire first (they may relay)
            dues = [(rt.next_due(), i) for i, rt in enumerate(runtimes) if rt.status.value != "ended"]
            dues = [(d, i) for d, i in dues if d is not None and d < nxt]
            if dues:
                d, i = min(dues)
                _route(i, runtimes[i].advance(d), heap, seq)
                continue
            if not heap:
                break
            at, _, _, i, event = heapq.heappop(heap)
            if runtimes[i].status.value == "ended":
                continue
            _route(i, runtimes[i].feed(event, at=at), heap, seq)
            n_events += 1
        for i, rt in enumerate(runtimes):
            if rt.status.value != "ended":
                _route(i, rt.advance(nights[i].duration), heap, seq)
    runtime_sec = time.perf_counter() - t1
    return RehearsalResult(
        design=design,
        nights=nights,
        timelines=[rt.timeline for rt in runtimes],
        actions=[s.events for s in sinks],
        counts=[dict(rt.counts) for rt in runtimes],
        runtime_sec=runtime_sec,
        events_sec=events_sec,
        n_events=n_events,
        final_states=[f"{rt.state} ({rt.status.value})" for rt in runtimes],
    )


def _clock(t: float) -> str:
    t = max(0.0, t)
    return f"{int(t // 3600):02d}:{int(t % 3600 // 60):02d}:{t % 60:04.1f}"


def write_timeline_csv(result: RehearsalResult, path: str | Path) -> Path:
    """Write every timeline row of every dreamer, in time order, to a CSV file (:data:`TIMELINE_COLUMNS`)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (timeline, night) in enumerate(zip(result.timelines, result.nights, strict=True)):
        who = "AB"[i] if len(result.nights) > 1 else "A"
        for row in timeline:
            rows.append((row.t, i, row, night.hypnogram.stage_at(row.t), who))
    rows.sort(key=lambda r: (r[0], r[1]))
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(TIMELINE_COLUMNS)
        for t, _, row, stage, who in rows:
            writer.writerow([f"{t:.3f}", _clock(t), who, row.kind, row.name, row.value, row.state, stage,
                             row.detail])
    return path


_STAGE_Y = {"W": 4, "R": 3, "N1": 2, "N2": 1, "N3": 0}
_MARKERS = {
    "cue": ("o", "tab:blue"), "question": ("D", "tab:purple"), "relay": (">", "tab:green"),
    "mark": ("|", "tab:gray"), "alarm": ("*", "tab:red"), "end": ("X", "black"),
}


def plot_timeline(result: RehearsalResult, path: str | Path) -> Path:
    """Plot each dreamer's hypnogram with triggers (ticks) and actions (markers) to a PNG file."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    n = len(result.nights)
    fig, axes = plt.subplots(n, 1, figsize=(12, 3.2 * n), squeeze=False, sharex=True)
    for i, (ax, night, timeline) in enumerate(zip(axes[:, 0], result.nights, result.timelines, strict=True)):
        hyp = night.hypnogram
        ys = np.array([_STAGE_Y.get(str(s), np.nan) for s in hyp.stages], dtype=float)
        hours = np.append(hyp.onsets, hyp.end) / 3600.0
        ax.step(hours, np.append(ys, ys[-1] if len(ys) else np.nan), where="post", color="0.3", lw=1)
        rem = hyp.stages == "R"
        ax.fill_between(hours[:-1], 2.8, 3.2, where=rem, step="post", color="tab:red", alpha=0.35, lw=0)
        ax.set_yticks(list(_STAGE_Y.values()), list(_STAGE_Y.keys()))
        ax.set_ylim(-1.6, 5.2)
        trig = [r.t / 3600.0 for r in timeline if r.kind == "trigger"]
        ax.plot(trig, np.full(len(trig), -0.7), "|", color="tab:orange", ms=10,
                label=f"trigger ({len(trig)})")
        for name, (marker, color) in _MARKERS.items():
            ts = [r.t / 3600.0 for r in timeline if r.kind == "action" and r.name == name]
            if ts:
                ax.plot(ts, np.full(len(ts), 4.7), marker, color=color, ms=7, ls="none",
                        label=f"{name} ({len(ts)})")
        skipped = [r.t / 3600.0 for r in timeline if r.kind in ("skipped", "refused")]
        if skipped:
            ax.plot(skipped, np.full(len(skipped), 4.7), "x", color="0.5", ms=6, ls="none",
                    label=f"skipped ({len(skipped)})")
        who = f"dreamer {'AB'[i]}: " if n > 1 else ""
        ax.set_title(f"{who}{result.design.name} on {night.name}", fontsize=10, loc="left")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7, framealpha=0.8)
        ax.grid(axis="x", alpha=0.3)
    axes[-1, 0].set_xlabel("hours from the recording's start")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=110)
    except OSError as err:
        raise DreamlinkError(f"cannot write {path}: {err.strerror}") from err
    finally:
        plt.close(fig)
    return path


def write_outputs(result: RehearsalResult, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``timeline.csv`` and ``timeline.png`` into ``out_dir``."""
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise DreamlinkError(f"cannot create output folder {out_dir}: {err.strerror}") from err
    csv_path = write_timeline_csv(result, out_dir / "timeline.csv")
    return csv_path, plot_timeline(result, out_dir / "timeline.png")
