"""BrainFlow source against BrainFlow's real synthetic and playback-file boards (no hardware)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dreamlink.errors import DeviceError, SourceError
from dreamlink.sources.brainflow import BrainFlowSource, board_layout, source_from_uri
from dreamlink.sources.uri import open_source

brainflow = pytest.importorskip("brainflow")


def record_synthetic(seconds: float) -> np.ndarray:
    """Record ``seconds`` of the synthetic board with BrainFlow directly (all rows, µV)."""
    from brainflow.board_shim import BoardShim, BrainFlowInputParams

    BoardShim.disable_board_logger()
    board = BoardShim(-1, BrainFlowInputParams())
    board.prepare_session()
    try:
        board.start_stream()
        time.sleep(seconds)
        board.stop_stream()
        return board.get_board_data()
    finally:
        board.release_session()


def test_layout_from_board_descriptor():
    from brainflow.board_shim import BoardShim

    rows, names, types, sfreq = board_layout(-1)
    descr = BoardShim.get_board_descr(-1)
    assert rows == descr["eeg_channels"]
    assert names == descr["eeg_names"].split(",")
    assert set(types) == {"eeg"}
    assert sfreq == descr["sampling_rate"] == 250
    # The playback board takes its layout from the master board.
    assert board_layout(-3, master_board=-1) == (rows, names, types, sfreq)
    with pytest.raises(SourceError, match="needs master_board"):
        board_layout(-3)


def test_synthetic_board_streams_volts():
    src = open_source("brainflow:-1", picks="Fz;Cz;C4")
    assert src.info.ch_names == ("Fz", "Cz", "C4")
    got = []
    with src:
        t0 = time.monotonic()
        while time.monotonic() - t0 < 0.6:
            chunk = src.read(timeout=0.2)
            got.append(chunk.data)
            assert chunk.first_sample == sum(g.shape[1] for g in got[:-1])
    data = np.concatenate(got, axis=1)
    assert data.shape[0] == 3
    assert data.shape[1] >= 50  # 250 Hz for ~0.6 s
    # BrainFlow's synthetic EEG is tens to hundreds of µV: in volts it must be below 1 mV, above 0.1 µV
    assert 1e-7 < np.abs(data).max() < 1e-3


def test_names_param_infers_types():
    names = ";".join(["F4-M1", "C4-M1", "E1-M2", "E2-M2", "EMG"] + [f"X{i}" for i in range(11)])
    src = source_from_uri("-1", {"names": names})
    assert src.info.ch_types[:5] == ("eeg", "eeg", "eog", "eog", "emg")
    with pytest.raises(SourceError, match="names= gives 2 names"):
        source_from_uri("-1", {"names": "A;B"})


def test_playback_board_replays_a_recorded_file_exactly(tmp_path):
    from brainflow.data_filter import DataFilter

    data = record_synthetic(0.8)
    n = data.shape[1]
    assert n > 50
    data[1] = np.arange(n)  # row 1 (first EEG row) becomes a sample counter, in µV
    path = tmp_path / "synthetic.csv"
    DataFilter.write_file(data, str(path), "w")
    src = open_source(f"brainflow:-3:file={path},master_board=-1", stall_timeout=0.5)
    with src:
        parts = []
        while (chunk := src.read(timeout=0.2)) is not None:
            parts.append(chunk.data)
    played = np.concatenate(parts, axis=1)
    counter = np.round(played[0] * 1e6).astype(int)
    np.testing.assert_array_equal(counter, np.arange(n))  # no sample dropped, repeated or reordered
    np.testing.assert_allclose(played[1:], data[2:17] * 1e-6, atol=1e-11)  # µV → V, 6 decimals in file


def test_board_not_connected_is_a_device_error():
    src = open_source("brainflow:0:serial_port=/dev/ttyDOESNOTEXIST")
    expected = r"did not open .*check that the board is powered on.*ttyDOESNOTEXIST"
    with pytest.raises(DeviceError, match=expected):
        src.open()
    assert not src.is_open


def test_device_that_stops_sending_raises_instead_of_hanging():
    src = BrainFlowSource(-1, stall_timeout=0.3)
    with src:
        assert src.read(timeout=1.0).n_times > 0
        src._board.stop_stream()  # the device stops delivering (as when a battery dies)
        src._pending = np.zeros((src.info.n_channels, 0))
        t0 = time.monotonic()
        with pytest.raises(DeviceError, match="sent no data for 0.3 s"):
            while True:
                src.read(timeout=0.1)
        assert time.monotonic() - t0 < 5


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("brainflow:abc", "board id must be an integer"),
        ("brainflow:-1:colour=red", "unknown BrainFlow parameter 'colour'"),
        ("brainflow:-1:ip_port=eighty", "ip_port must be an integer"),
        ("brainflow:123456", "unknown BrainFlow board id"),
    ],
)
def test_bad_brainflow_strings(uri, message):
    with pytest.raises(SourceError, match=message):
        open_source(uri)
