"""Bad inputs each give one clear DreamlinkError."""

from __future__ import annotations

import numpy as np
import pytest

from dreamlink.errors import ChannelError, InputFileError, SamplingRateError
from dreamlink.staging import CausalStager, stage_array
from dreamlink.staging.datasets import load_dreams_excerpt
from tests.conftest import real_file


def _ten_min(rec):
    return rec.data[:, : int(600 * rec.sfreq)].copy()


def test_too_short(dreams_ex2):
    x = dreams_ex2.data[:, : int(60 * dreams_ex2.sfreq)]
    with pytest.raises(InputFileError, match="at least 5 min"):
        stage_array(x, dreams_ex2.sfreq, dreams_ex2.ch_names, eeg=dreams_ex2.ch_names[0])


def test_flat_channel(dreams_ex2):
    x = np.zeros((1, int(600 * dreams_ex2.sfreq))) + 1e-5
    with pytest.raises(ChannelError, match="flat"):
        stage_array(x, dreams_ex2.sfreq, ["EEG"], eeg="EEG")


def test_clipped_channel(dreams_ex2):
    x = _ten_min(dreams_ex2)
    lim = np.percentile(np.abs(x), 90)
    with pytest.raises(ChannelError, match="clipped"):
        stage_array(np.clip(x, -lim, lim), dreams_ex2.sfreq, dreams_ex2.ch_names, eeg=dreams_ex2.ch_names[0])


def test_microvolts_passed_as_volts_is_detected(dreams_ex2):
    x = _ten_min(dreams_ex2) * 1e6  # the file's µV values, not converted
    with pytest.raises(ChannelError, match="looks like µV.*1e-6"):
        stage_array(x, dreams_ex2.sfreq, dreams_ex2.ch_names, eeg=dreams_ex2.ch_names[0])


def test_missing_channel_lists_available(dreams_ex2):
    with pytest.raises(ChannelError, match="'C4-M1' \\(--eeg\\) not found; available channels: CZ-A1"):
        stage_array(_ten_min(dreams_ex2), dreams_ex2.sfreq, dreams_ex2.ch_names, eeg="C4-M1")
    with pytest.raises(ChannelError, match="--eog"):
        stage_array(_ten_min(dreams_ex2), dreams_ex2.sfreq, dreams_ex2.ch_names, eeg="CZ-A1", eog="E1")


def test_50hz_excerpt_is_refused(shared_data):
    real_file(shared_data, "dreams-spindles/excerpt3.txt")
    out = load_dreams_excerpt(shared_data, 3)
    assert "50 Hz" in out.reason and "100 Hz" in out.reason
    x = np.loadtxt(shared_data / "dreams-spindles" / "excerpt3.txt", skiprows=1)[None, :] * 1e-6
    with pytest.raises(SamplingRateError, match="50 Hz is below the 100 Hz"):
        stage_array(x, 50.0, ["C3-A1"], eeg="C3-A1")
    with pytest.raises(SamplingRateError):
        CausalStager(50.0, ["eeg"])
