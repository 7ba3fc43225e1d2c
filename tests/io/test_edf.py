import numpy as np
import pytest

from dreamlink.errors import InputFileError
from dreamlink.events import Event
from dreamlink.io.edf import read_raw, write_edf
from tests.conftest import real_file


def test_write_read_round_trip_within_quantisation(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(0, 30e-6, (2, 256 * 20))
    path = write_edf(tmp_path / "r.edf", data, 256, ["C4-M1", "E1-M2"], ["eeg", "eog"],
                     events=[Event(2.0, 1.0, "lrlr", "LRLR")])
    raw = read_raw(path, preload=True)
    step = 2 * 500e-6 / 65535  # ±500 µV physical range over 16 bits
    assert np.abs(raw.get_data() - data).max() <= step
    assert list(raw.annotations.description) == ["lrlr:LRLR"]


@pytest.mark.parametrize("preload", [False, True])
def test_uppercase_uv_units_are_converted_to_volts(tmp_path, preload):
    import edfio

    x = np.sin(np.arange(2560) / 10) * 50.0  # µV
    edf = edfio.Edf([edfio.EdfSignal(x, 256, label="C3-A1", physical_dimension="UV",
                                     physical_range=(-100, 100))])
    edf.write(tmp_path / "upper.edf")
    raw = read_raw(tmp_path / "upper.edf", preload=preload)
    assert np.abs(raw.get_data()).max() == pytest.approx(50e-6, rel=0.01)


def test_dreams_excerpt_with_uv_units_reads_in_volts(shared_data):
    raw = read_raw(real_file(shared_data, "dreams-spindles/excerpt3.edf"))
    eeg = raw.get_data(picks=["C3-A1"], stop=50 * 60)
    assert 1e-6 < np.median(np.abs(eeg)) < 1e-4  # tens of µV, not tens of volts


def test_truncated_and_foreign_files_are_named(tmp_path):
    data = np.zeros((1, 2560))
    path = write_edf(tmp_path / "ok.edf", data, 256, ["C4-M1"], ["eeg"])
    cut = tmp_path / "cut.edf"
    cut.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(InputFileError, match="truncated EDF"):
        read_raw(cut)
    text = tmp_path / "notes.edf"
    text.write_text("hello, this is not a recording\n" * 20)
    with pytest.raises(InputFileError, match="not an EDF/BDF file"):
        read_raw(text)
    with pytest.raises(InputFileError, match="not found"):
        read_raw(tmp_path / "missing.edf")
