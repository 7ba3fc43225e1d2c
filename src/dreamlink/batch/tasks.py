"""Per-night work of a batch: one pure function, :func:`process_night`, callable with or without Dask.

Each call opens its own recording lazily (``mne`` with ``preload=False``) and reads only the channels
its task needs, so a worker holds one night at a time and nothing is loaded up front. It writes its
artefacts into ``options.out_dir/nights/NAME/`` and returns one flat row for the summary table:

``name, path, task, status ("ok" | "failed"), error, duration_min, sfreq, n_channels``,
the channels used, the AASM sleep statistics of the hypnogram (``TIB, TST, SE, ...``; see
:func:`dreamlink.staging.stats.sleep_statistics`), agreement with the expert hypnogram when one exists
(``agreement_accuracy, agreement_kappa, agreement_macro_f1, agreement_f1_W..R, agreement_epochs,
agreement_minutes``), event counts (``n_<trial_type>``) for ``detect``, output files, and the
bookkeeping columns :data:`VOLATILE_COLUMNS` (which differ between runs of the same night).

A night that fails (unreadable file, missing channel, too short...) does not raise: the row has
``status="failed"`` and ``error`` holds the one-line reason, so a batch never stops for one bad night.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dreamlink.batch.discover import Recording, find_expert
from dreamlink.errors import ChannelError, ConfigError, DreamlinkError

logger = logging.getLogger("dreamlink.batch")

#: The tasks a batch can run.
TASKS = ("stage", "report", "detect")
#: Row columns that depend on where and when a night ran, not on its result.
VOLATILE_COLUMNS = ("elapsed_sec", "cpu_sec", "host", "pid", "finished_at", "resumed")
#: Preferred channels, by type, when none are named (tokens matched case-insensitively in the label).
PREFERRED = {
    "eeg": ("C4", "C3", "Cz", "F4", "F3", "Fz", "Fpz", "Pz", "O2", "O1"),
    "eog": ("E1", "LOC", "EOG1", "EOGL", "LEFT", "EOG"),
    "eog_right": ("E2", "ROC", "EOG2", "EOGR", "RIGHT"),
    "emg": ("CHIN", "EMG1", "EMG"),
}
NONE = "none"


@dataclass(frozen=True)
class NightOptions:
    """How each night is processed.

    Parameters
    ----------
    eeg : tuple of str
        Candidate EEG channel names, first present wins; empty = the best EEG channel by name
        (:data:`PREFERRED`).
    eog, emg : tuple of str
        Candidate EOG (left / E1) and chin-EMG channels; empty = automatic; ``("none",)`` = do not use.
    eog_right : tuple of str
        Candidate right EOG (E2) channel for ``detect`` (E1 − E2 derivation); empty = automatic.
    engine : {"dreamlink", "yasa"}
        Staging engine (``stage`` and ``report``).
    detect_in_report : bool
        ``report``: detect REMs and arousals offline when the recording logged none.
    out_dir : str | None
        Batch output folder; per-night files go to ``out_dir/nights/NAME/``. ``None`` writes nothing.
    """

    eeg: tuple[str, ...] = ()
    eog: tuple[str, ...] = ()
    emg: tuple[str, ...] = ()
    eog_right: tuple[str, ...] = ()
    engine: str = "dreamlink"
    detect_in_report: bool = True
    out_dir: str | None = None

    def fingerprint(self) -> dict[str, Any]:
        """The options that change a night's result (for resuming); ``out_dir`` is not one."""
        d = asdict(self)
        d.pop("out_dir")
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    def night_dir(self, name: str) -> Path | None:
        """Output folder of one night, or ``None`` when nothing is written."""
        return None if self.out_dir is None else Path(self.out_dir) / "nights" / name


@dataclass
class ChannelChoice:
    """Channels picked for a night (``None`` = not used)."""

    eeg: str | None = None
    eog: str | None = None
    eog_right: str | None = None
    emg: str | None = None
    notes: list[str] = field(default_factory=list)


def _lower(names: list[str]) -> dict[str, str]:
    return {n.lower(): n for n in names}


def _by_preference(names: list[str], prefer: tuple[str, ...]) -> str | None:
    import re

    for token in prefer:
        for name in names:
            tokens = [t.upper() for t in re.split(r"[^A-Za-z0-9]+", name) if t]
            if token.upper() in tokens:
                return name
    return None


def pick_channels(
    ch_names: list[str], options: NightOptions, need: tuple[str, ...] = ("eeg",)
) -> ChannelChoice:
    """Choose a night's channels from candidate lists or by name.

    Parameters
    ----------
    ch_names : list of str
        The recording's channel labels.
    options : NightOptions
        Candidate names per type.
    need : tuple of str
        Types that must be found (else :class:`ChannelError`).

    Returns
    -------
    ChannelChoice
    """
    from dreamlink.sources.channels import infer_channel_type

    types = {n: infer_channel_type(n) for n in ch_names}
    lower = _lower(ch_names)
    choice = ChannelChoice()
    wanted = {"eeg": options.eeg, "eog": options.eog, "eog_right": options.eog_right, "emg": options.emg}
    for kind, candidates in wanted.items():
        if tuple(c.lower() for c in candidates) == (NONE,):
            continue
        picked = None
        if candidates:
            picked = next((lower[c.lower()] for c in candidates if c.lower() in lower), None)
            if picked is None:
                if kind in need:
                    opt = "--" + kind.replace("_", "-")
                    raise ChannelError(
                        f"none of {opt} {' '.join(candidates)} is in this recording; available channels: "
                        f"{', '.join(ch_names)}"
                    )
                choice.notes.append(f"no {kind} channel among {', '.join(candidates)}")
        else:
            pool_type = "eog" if kind == "eog_right" else kind
            pool = [n for n in ch_names if types[n] == pool_type]
            if kind == "eog_right":
                pool = [n for n in pool if n != choice.eog]
                picked = _by_preference(pool, PREFERRED[kind])
            else:
                picked = _by_preference(pool, PREFERRED[kind]) or (pool[0] if pool else None)
            if picked is None and kind in need:
                raise ChannelError(
                    f"no {kind.upper()} channel found by name among {', '.join(ch_names)}; "
                    f"name it with --{kind.replace('_', '-')} CH"
                )
        setattr(choice, kind, picked)
    return choice


def _file_state(path: Path | None) -> list[Any] | None:
    if path is None:
        return None
    try:
        if path.is_dir():
            path = Recording(path.name, path).signal_path()
        st = path.stat()
    except (OSError, DreamlinkError):
        return None
    return [st.st_size, st.st_mtime_ns]


def fingerprint(recording: Recording, task: str, options: NightOptions) -> dict[str, Any]:
    """What a finished night's result depends on: task, options, input and expert file state, version."""
    from dreamlink import __version__

    return {
        "task": task,
        "options": options.fingerprint(),
        "input": _file_state(recording.path),
        "expert": [str(recording.expert), _file_state(recording.expert)] if recording.expert else None,
        "dreamlink": __version__,
    }


def _load_expert(path: Path, duration: float):
    """Expert hypnogram on 30-s epochs from time 0, cropped to the recording."""
    from dreamlink.hypnogram import Hypnogram
    from dreamlink.io.hypnogram_formats import read_hypnogram

    hyp = read_hypnogram(path)
    if hyp.epoch_sec != 30.0 or hyp.start != 0.0:
        hyp = hyp.resample(30.0, start=0.0)
    n = int(np.floor(duration / 30.0 + 1e-9))
    if hyp.n_epochs > n:
        hyp = Hypnogram(hyp.stages[:n], 30.0, 0.0)
    return hyp


def _stats_columns(stats: dict[str, float]) -> dict[str, float]:
    return {k: float(v) for k, v in stats.items()}


def _agreement_columns(result) -> dict[str, float]:
    cols = {
        "agreement_accuracy": result.accuracy,
        "agreement_kappa": result.kappa,
        "agreement_macro_f1": result.macro_f1,
        "agreement_epochs": int(result.n_epochs),
        "agreement_minutes": float(result.minutes),
    }
    cols.update({f"agreement_f1_{s}": float(v) for s, v in result.f1.items()})
    return cols


def _stage(recording: Recording, options: NightOptions, out: Path | None, row: dict[str, Any]) -> None:
    from dreamlink.io.edf import read_raw
    from dreamlink.io.hypnogram_formats import write_hypnogram_csv
    from dreamlink.staging import stage_raw
    from dreamlink.staging.agreement import agreement
    from dreamlink.staging.stats import sleep_statistics

    raw = read_raw(recording.signal_path(), preload=False)
    _describe(raw, row)
    ch = pick_channels(list(raw.ch_names), options, need=("eeg",))
    row.update(eeg=ch.eeg, eog=ch.eog, emg=ch.emg)
    hyp = stage_raw(raw, ch.eeg, ch.eog, ch.emg, engine=options.engine)
    del raw
    row["n_epochs"] = hyp.n_epochs
    row.update(_stats_columns(sleep_statistics(hyp)))
    if recording.expert is not None:
        expert = _load_expert(recording.expert, row["duration_min"] * 60.0)
        row.update(_agreement_columns(agreement(expert, hyp)))
    if out is not None:
        path = write_hypnogram_csv(hyp, out / "hypnogram.csv")
        row["output"] = str(Path(path).relative_to(Path(options.out_dir)))


def _report(recording: Recording, options: NightOptions, out: Path | None, row: dict[str, Any]) -> None:
    import tempfile

    from dreamlink.report import make_report

    if out is None:
        tmp = tempfile.TemporaryDirectory(prefix="dreamlink-report-")
        target = Path(tmp.name) / "report.html"
    else:
        tmp, target = None, out / "report.html"
    try:
        result = make_report(
            recording.path,
            target,
            expert=recording.expert,
            engine=options.engine,
            detect=options.detect_in_report,
            save_hypnogram=False,
        )
    finally:
        if tmp is not None:
            tmp.cleanup()
    a = result.analysis
    row["duration_min"] = float(result.recording.duration / 60.0)
    row["sfreq"] = float(result.recording.sfreq)
    row["n_channels"] = len(result.recording.ch_types)
    used = a.staging_channels or {}
    row.update(eeg=used.get("eeg"), eog=used.get("eog"), emg=used.get("emg"))
    row["hypnogram_source"] = a.hypnogram_source
    row["n_epochs"] = a.hypnogram.n_epochs
    row.update(_stats_columns(a.stats))
    if a.agreement is not None:
        row.update(_agreement_columns(a.agreement))
    row["n_rem"] = int(len(a.rem_onsets))
    row["n_arousal"] = int(len(a.arousals))
    if out is not None:
        row["output"] = str(target.relative_to(Path(options.out_dir)))
    if result.notes:
        row["notes"] = " | ".join(result.notes)


def _detect(recording: Recording, options: NightOptions, out: Path | None, row: dict[str, Any]) -> None:
    from collections import Counter

    from dreamlink.detect.pipeline import detect_array, load_channels
    from dreamlink.events import write_events_tsv
    from dreamlink.io.edf import read_raw

    signal = recording.signal_path()
    raw = read_raw(signal, preload=False)
    _describe(raw, row)
    ch = pick_channels(list(raw.ch_names), options, need=("eog",))
    del raw
    row.update(eeg=ch.eeg, eog=ch.eog, eog_right=ch.eog_right, emg=ch.emg)
    chans = list(dict.fromkeys(c for c in (ch.eog, ch.eog_right, ch.emg, ch.eeg) if c))
    data, info, notes = load_channels(signal, chans)
    res = detect_array(data, info, ch.eog, ch.eog_right, ch.emg, ch.eeg)
    del data
    counts = Counter(e.trial_type for e in res.events)
    row["n_events"] = len(res.events)
    row.update({f"n_{k}": int(v) for k, v in sorted(counts.items())})
    row["sweep_swing_uv"] = float(res.calibration.swing * 1e6)
    notes = notes + res.notes + ch.notes
    if notes:
        row["notes"] = " | ".join(notes)
    if out is not None:
        path = write_events_tsv(res.events, out / "events.tsv")
        row["output"] = str(Path(path).relative_to(Path(options.out_dir)))


def _describe(raw, row: dict[str, Any]) -> None:
    sfreq = float(raw.info["sfreq"])
    row["duration_min"] = float(raw.n_times / sfreq / 60.0)
    row["sfreq"] = sfreq
    row["n_channels"] = len(raw.ch_names)


_RUNNERS = {"stage": _stage, "report": _report, "detect": _detect}


def process_night(recording: Recording | str | Path, task: str, options: NightOptions | None = None) -> dict:
    """Run one task on one night and return its summary row; never raises for a bad night.

    Parameters
    ----------
    recording : Recording or str or Path
        The night (a path is wrapped, and its expert hypnogram looked up next to it).
    task : {"stage", "report", "detect"}
        ``stage``: hypnogram (``hypnogram.csv``), sleep statistics, agreement with the expert.
        ``report``: the morning report (``report.html`` + PDF) and its numbers.
        ``detect``: eye signals, messages, REMs and arousals (``events.tsv``) and their counts.
    options : NightOptions | None
        Channels, engine and output folder.

    Returns
    -------
    dict
        The night's summary row (see the module docstring); ``status`` is ``"ok"`` or ``"failed"``.

    Raises
    ------
    ConfigError
        Unknown task (a programming or command-line error, not a bad night).
    """
    if task not in TASKS:
        raise ConfigError(f"unknown batch task {task!r}; choose one of {', '.join(TASKS)}")
    options = options or NightOptions()
    if not isinstance(recording, Recording):
        path = Path(recording)
        recording = Recording(path.stem, path, None if path.is_dir() else find_expert(path))
    t0, c0 = time.perf_counter(), time.process_time()
    row: dict[str, Any] = {
        "name": recording.name,
        "path": str(recording.path),
        "task": task,
        "status": "ok",
        "error": "",
        "expert": str(recording.expert) if recording.expert else "",
    }
    out = options.night_dir(recording.name)
    try:
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
        _RUNNERS[task](recording, options, out, row)
    except DreamlinkError as err:
        row.update(status="failed", error=f"{type(err).__name__}: {err}")
    except Exception as err:  # noqa: BLE001 - one bad night must not stop a batch; the row says why
        last = traceback.extract_tb(err.__traceback__)[-1] if err.__traceback__ else None
        where = f" ({Path(last.filename).name}:{last.lineno})" if last else ""
        row.update(status="failed", error=f"{type(err).__name__}: {err}{where}")
        logger.debug("night %s failed", recording.name, exc_info=True)
    row["elapsed_sec"] = round(time.perf_counter() - t0, 3)
    row["cpu_sec"] = round(time.process_time() - c0, 3)
    row["host"] = socket.gethostname()
    row["pid"] = os.getpid()
    return row
