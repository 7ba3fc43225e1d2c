"""Everything the morning report shows, gathered from a recording folder or a plain EDF file.

:func:`load_recording` opens the signal, events, dream journal and (when present) hypnogram;
:func:`analyse` stages the night when no hypnogram is stored (:func:`dreamlink.staging.stage_raw`),
compares with an expert hypnogram (:func:`dreamlink.staging.agreement.agreement`), computes the AASM
statistics (:func:`dreamlink.staging.stats.sleep_statistics`), finds REM periods and their REM
density, and sorts the events into arousals, the communication timeline and design-runtime states.

REM periods are runs of REM epochs; runs separated by less than 15 min of other stages are merged
into one period (Feinberg & Floyd 1979). REM density is the number of rapid eye movements per minute
of REM sleep in the period. Rapid eye movements and arousals come from the recording's own events
(``rem``, ``arousal``) when the rig logged them; otherwise dreamlink's detectors
(:func:`dreamlink.detect.pipeline.detect_array`) are run offline on the EOG/EMG/EEG for the report,
and the report says so.

References
----------
Feinberg I, Floyd TC (1979). Systematic trends across the night in human sleep cycles.
Psychophysiology 16(3):283-291. doi:10.1111/j.1469-8986.1979.tb02991.x
Aserinsky E (1971). Rapid eye movement density and pattern in the sleep of normal young adults.
Psychophysiology 8(3):361-375. doi:10.1111/j.1469-8986.1971.tb00466.x
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dreamlink.errors import DreamlinkError, InputFileError
from dreamlink.events import Event
from dreamlink.hypnogram import Hypnogram

logger = logging.getLogger("dreamlink.report")

#: Gap (s) of non-REM stages below which two REM runs belong to one REM period.
REM_PERIOD_GAP_SEC = 15 * 60.0
#: Event kinds shown in the communication timeline table.
SIGNAL_KINDS = ("lrlr", "message", "emg_code", "yes_no", "count", "answer", "eye_morse", "emg_morse")
CUE_KINDS = ("cue", "cue_refused", "cue_played", "alarm")
RELAY_KINDS = ("relay_sent", "relay_queued", "relay_delivered", "relay_ack", "relay_expired", "relay_in",
               "relay_revised", "operator_message")
DESIGN_KINDS = ("design_state", "design_start", "design_end", "state", "mark")
NOTE_KINDS = ("note", "recording_warning")


@dataclass
class RecordingData:
    """A recording opened for the report."""

    path: Path
    signal_path: Path
    raw: Any
    ch_types: dict[str, str]
    events: list[Event]
    manifest: dict[str, Any] | None = None
    journal: list[Any] = field(default_factory=list)
    hypnogram: Hypnogram | None = None
    hypnogram_source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def sfreq(self) -> float:
        """Sampling rate in Hz."""
        return float(self.raw.info["sfreq"])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        if self.manifest and self.manifest.get("duration_sec"):
            return float(self.manifest["duration_sec"])
        return self.raw.n_times / self.sfreq

    def pick(self, ch_type: str, prefer: tuple[str, ...] = ()) -> str | None:
        """Best channel of a type: the first whose name contains a preferred token, else the first."""
        names = [n for n, t in self.ch_types.items() if t == ch_type]
        for token in prefer:
            for name in names:
                if token.lower() in name.lower():
                    return name
        return names[0] if names else None


_REQUESTED = re.compile(r" \(requested (-?[0-9.]+) s\)$")


def _events_from_annotations(raw: Any) -> list[Event]:
    events = []
    for ann in raw.annotations:
        text = str(ann["description"])
        kind, _, value = text.partition(":")
        kind_clean = kind.strip()
        if not re.fullmatch(r"[a-z][a-z0-9_]*", kind_clean):  # free-text annotation of another program
            kind_clean, value = "note", text
        data = {}
        m = _REQUESTED.search(value)
        if m:  # a dreamlink cue annotation: "cue:VALUE (requested T s)"
            value, data = value[: m.start()], {"requested_onset": float(m.group(1))}
        events.append(Event(float(ann["onset"]), float(ann["duration"]), kind_clean, value or None, None,
                            "file", data))
    return events


def load_recording(target: str | Path) -> RecordingData:
    """Open a dreamlink recording folder or a plain EDF/BDF/FIF file.

    Raises
    ------
    InputFileError
        Missing path, not a recording, or an interrupted recording (names ``dreamlink recover``).
    """
    from dreamlink.io.edf import read_raw
    from dreamlink.record.dream_journal import read_journal
    from dreamlink.record.folder import STATE_RECORDING, RecordingFolder
    from dreamlink.record.journal import read_event_log
    from dreamlink.sources.channels import infer_channel_type

    target = Path(target)
    if not target.exists():
        raise InputFileError(f"recording not found: {target} (give a recording folder or an EDF file)")
    if target.is_dir():
        folder = RecordingFolder(target)
        manifest = folder.read_manifest()
        if manifest.get("state") == STATE_RECORDING:
            raise InputFileError(
                f"{target} was interrupted and is not finalised; run `dreamlink recover {target}` first"
            )
        layout = manifest["layout"]
        signal = folder.signal_path(layout["file_format"])
        raw = read_raw(signal, preload=False)
        types = dict(zip(layout["ch_names"], layout["ch_types"], strict=True))
        events = read_event_log(folder.event_log_path)
        hyp, hyp_source = None, ""
        if folder.hypnogram_path.is_file():
            from dreamlink.io.hypnogram_formats import read_hypnogram

            hyp = read_hypnogram(folder.hypnogram_path, fmt="csv")
            hyp_source = "hypnogram.csv of the recording"
        return RecordingData(target, signal, raw, types, events, manifest, read_journal(target), hyp,
                             hyp_source)
    raw = read_raw(target, preload=False)
    types = {name: infer_channel_type(name) for name in raw.ch_names}
    return RecordingData(target, target, raw, types, _events_from_annotations(raw))


# -- analysis ---------------------------------------------------------------------------------
@dataclass
class Analysis:
    """Numbers and tables of the report."""

    hypnogram: Hypnogram
    hypnogram_source: str
    stats: dict[str, float]
    expert: Hypnogram | None = None
    agreement: Any = None
    staging_channels: dict[str, str | None] = field(default_factory=dict)
    rem_periods: pd.DataFrame | None = None
    rem_onsets: np.ndarray = field(default_factory=lambda: np.zeros(0))
    arousals: list[Event] = field(default_factory=list)
    timeline: pd.DataFrame | None = None
    timeline_events: list[Event] = field(default_factory=list)
    design: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)


def _load_expert(path: str | Path, duration: float) -> Hypnogram:
    from dreamlink.io.hypnogram_formats import read_hypnogram

    hyp = read_hypnogram(path)
    if hyp.epoch_sec != 30.0 or hyp.start != 0.0:
        hyp = hyp.resample(30.0, start=0.0)
    n = int(np.floor(duration / 30.0 + 1e-9))
    return hyp.crop(0.0, n * 30.0) if hyp.n_epochs > n else hyp


def stage_recording(
    rec: RecordingData, engine: str = "dreamlink"
) -> tuple[Hypnogram, dict[str, str | None], str]:
    """Stage the recording with dreamlink's staging API on its best EEG/EOG/EMG channels."""
    from dreamlink.staging import stage_raw

    eeg = rec.pick("eeg", ("C4", "C3", "Cz", "F4", "F3", "Fz", "Fpz"))
    eog = rec.pick("eog", ("E1", "LOC", "EOG1", "EOGL", "left", "EOG"))
    emg = rec.pick("emg", ("chin", "EMG1", "EMG"))
    if eeg is None:
        raise InputFileError(f"{rec.signal_path.name} has no EEG channel to stage; give a hypnogram instead")
    hyp = stage_raw(rec.raw, eeg, eog, emg, engine=engine)
    used = {"eeg": eeg, "eog": eog, "emg": emg}
    return hyp, used, f"staged for this report by dreamlink ({engine} engine) on " + ", ".join(
        f"{k.upper()} {v}" for k, v in used.items() if v
    )


def rem_periods(hyp: Hypnogram, rem_onsets: np.ndarray, gap_sec: float = REM_PERIOD_GAP_SEC) -> pd.DataFrame:
    """REM periods (REM runs merged across gaps < ``gap_sec``) with their REM count and density.

    Returns
    -------
    pandas.DataFrame
        ``period, onset, end, rem_minutes, n_rems, density`` (onset/end in s, density in REMs per
        minute of REM sleep).
    """
    runs = hyp.periods()
    runs = runs[runs["stage"] == "R"]
    merged: list[list[float]] = []
    for _, r in runs.iterrows():
        onset, end = float(r["onset"]), float(r["onset"] + r["duration"])
        if merged and onset - merged[-1][1] < gap_sec:
            merged[-1][1] = end
        else:
            merged.append([onset, end])
    rows = []
    onsets = np.asarray(rem_onsets, dtype=float)
    for i, (onset, end) in enumerate(merged, start=1):
        epoch_on = hyp.onsets
        in_rem = (hyp.stages == "R") & (epoch_on >= onset) & (epoch_on < end)
        rem_min = float(np.count_nonzero(in_rem)) * hyp.epoch_sec / 60.0
        # count REMs that fall inside REM epochs of the period
        idx = np.floor((onsets - hyp.start) / hyp.epoch_sec).astype(int)
        ok = (idx >= 0) & (idx < hyp.n_epochs)
        inside = np.zeros(len(onsets), bool)
        inside[ok] = in_rem[idx[ok]]
        n = int(np.count_nonzero(inside))
        rows.append({"period": i, "onset": onset, "end": end, "rem_minutes": rem_min, "n_rems": n,
                     "density": n / rem_min if rem_min else float("nan")})
    return pd.DataFrame(rows, columns=["period", "onset", "end", "rem_minutes", "n_rems", "density"])


def _ack_key(event: Event) -> Any:
    data = event.data or {}
    for key in ("relay_id", "message_id", "id", "ack_of"):
        if data.get(key) is not None:
            return data[key]
    return None


def communication_timeline(events: list[Event]) -> pd.DataFrame:
    """One row per cue, dreamer signal, message or note: who sent what, when, and whether acknowledged.

    Relays are grouped by ``data['relay_id']`` (or ``message_id``/``id``): a message is acknowledged
    when a ``relay_ack`` with the same id exists, delivered when a ``relay_delivered`` does, superseded
    when a ``relay_revised`` does (a revision replaced it before delivery). A revision's ``what`` says
    which message it revises.
    """
    groups: dict[Any, list[Event]] = {}
    for e in events:
        if e.trial_type in RELAY_KINDS and _ack_key(e) is not None:
            groups.setdefault(_ack_key(e), []).append(e)
    rows = []
    seen_relays: set[Any] = set()
    for e in sorted(events, key=lambda x: x.onset):
        data = e.data or {}
        kind = e.trial_type
        if kind in RELAY_KINDS:
            key = _ack_key(e)
            if key is not None:
                if key in seen_relays:
                    continue
                seen_relays.add(key)
                hops = groups[key]
                sent = next((h for h in hops if h.trial_type == "relay_sent"), hops[0])
                delivered = next((h for h in hops if h.trial_type == "relay_delivered"), None)
                ack = next((h for h in hops if h.trial_type == "relay_ack"), None)
                expired = next((h for h in hops if h.trial_type == "relay_expired"), None)
                revised = next((h for h in hops if h.trial_type == "relay_revised"), None)
                what = "" if sent.value is None else str(sent.value)
                if (sent.data or {}).get("revises") is not None:
                    what += f" (revises {sent.data['revises']})"
                if ack:
                    outcome = f"yes ({ack.onset - sent.onset:.1f} s later)"
                elif expired:
                    outcome = "expired"
                elif revised:
                    outcome = f"superseded by {(revised.data or {}).get('revision', 'a revision')}"
                else:
                    outcome = "no"
                rows.append({
                    "time": sent.onset, "kind": "message", "sender": str(data.get("sender") or sent.source),
                    "to": str(data.get("recipient") or ""),
                    "what": what,
                    "requested": np.nan,
                    "delivered": delivered.onset if delivered else np.nan,
                    "acknowledged": outcome,
                })
                continue
        elif kind not in SIGNAL_KINDS + CUE_KINDS + NOTE_KINDS:
            continue
        requested = data.get("requested_onset", data.get("requested"))
        if kind in CUE_KINDS:
            ack = "refused" if kind == "cue_refused" else ("yes" if data.get("acknowledged") else "")
        elif kind in SIGNAL_KINDS:
            ack = "yes" if data.get("acknowledged") else ""
        else:
            ack = ""
        who = data.get("sender") or e.source or ("dreamer" if kind in SIGNAL_KINDS else "")
        what = "" if e.value is None else str(e.value)
        if kind == "message" and data.get("revises") is not None:
            # The decoder read the message again whole after a frame inside it had closed it early.
            what += f" (revises {data['revises']})"
        rows.append({
            "time": e.onset, "kind": kind, "sender": str(who), "to": str(data.get("recipient") or ""),
            "what": what,
            "requested": float(requested) if isinstance(requested, int | float) else np.nan,
            "delivered": np.nan, "acknowledged": ack,
        })
    cols = ["time", "kind", "sender", "to", "what", "requested", "delivered", "acknowledged"]
    return pd.DataFrame(rows, columns=cols)


def design_states(events: list[Event]) -> pd.DataFrame:
    """Design-runtime events (state changes, marks, start/end) as a table ``time, kind, state, detail``."""
    rows = []
    for e in sorted(events, key=lambda x: x.onset):
        if e.trial_type in DESIGN_KINDS or (e.source or "").startswith("design"):
            data = e.data or {}
            state = data.get("state") or (e.value if e.trial_type in ("design_state", "state") else "")
            rows.append({"time": e.onset, "kind": e.trial_type, "state": "" if state is None else str(state),
                         "detail": "" if e.value is None else str(e.value)})
    return pd.DataFrame(rows, columns=["time", "kind", "state", "detail"])


def _offline_detection(rec: RecordingData, notes: list[str]) -> list[Event]:
    """Run dreamlink's detectors over the recording for REMs and arousals (report-only)."""
    from dreamlink.detect.pipeline import detect_array
    from dreamlink.sources.base import SourceInfo

    eogs = [n for n, t in rec.ch_types.items() if t == "eog"]
    if not eogs:
        notes.append("no EOG channel: rapid eye movements not detected")
        return []
    eog = rec.pick("eog", ("E1", "LOC", "EOG1", "EOGL", "left"))
    right = next((n for n in eogs if n != eog), None)
    emg = rec.pick("emg", ("chin", "EMG1", "EMG"))
    eeg = rec.pick("eeg", ("C4", "C3", "Cz", "F4", "F3"))
    picks = [c for c in dict.fromkeys([eog, right, emg, eeg]) if c]
    data = rec.raw.get_data(picks=picks)
    info = SourceInfo(tuple(picks), tuple(rec.ch_types[c] for c in picks), rec.sfreq)
    try:
        result = detect_array(data, info, eog, right, emg, eeg)
    except DreamlinkError as err:
        notes.append(f"offline detection of REMs and arousals failed: {err}")
        return []
    notes.append(
        "rapid eye movements and arousals were not logged during the night; they were detected for this "
        f"report by dreamlink's detectors on {', '.join(picks)}"
    )
    return [e for e in result.events if e.trial_type in ("rem", "arousal", "wake")]


def analyse(rec: RecordingData, expert: str | Path | None = None, engine: str = "dreamlink",
            detect: bool = True) -> Analysis:
    """Compute everything the report shows (see the module docstring)."""
    from dreamlink.staging.agreement import agreement
    from dreamlink.staging.stats import sleep_statistics

    notes = list(rec.notes)
    expert_hyp = _load_expert(expert, rec.duration) if expert is not None else None
    used: dict[str, str | None] = {}
    if rec.hypnogram is not None:
        hyp, source = rec.hypnogram, rec.hypnogram_source
    else:
        try:
            hyp, used, source = stage_recording(rec, engine)
        except DreamlinkError as err:
            if expert_hyp is None:
                raise
            hyp, source = expert_hyp, "the expert hypnogram (automatic staging refused this recording)"
            notes.append(f"automatic staging refused: {err}")
    agr = None
    if expert_hyp is not None and hyp is not expert_hyp:
        agr = agreement(expert_hyp, hyp)
    stats = sleep_statistics(hyp)
    events = list(rec.events)
    kinds = {e.trial_type for e in events}
    if detect and not ({"rem", "arousal"} & kinds):
        events += _offline_detection(rec, notes)
    rem_onsets = np.array([e.onset for e in events if e.trial_type == "rem"])
    arousals = [e for e in events if e.trial_type in ("arousal", "wake")]
    timeline = communication_timeline(events)
    return Analysis(
        hypnogram=hyp, hypnogram_source=source, stats=stats, expert=expert_hyp, agreement=agr,
        staging_channels=used, rem_periods=rem_periods(hyp, rem_onsets), rem_onsets=rem_onsets,
        arousals=arousals, timeline=timeline, timeline_events=events, design=design_states(events),
        notes=notes,
    )
