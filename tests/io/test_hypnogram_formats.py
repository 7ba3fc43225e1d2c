import numpy as np
import pytest

from dreamlink.errors import InputFileError
from dreamlink.hypnogram import Hypnogram
from dreamlink.io.hypnogram_formats import (
    read_hypnogram,
    write_hypnogram_csv,
)
from tests.conftest import real_file


def test_dreams_5s_codes_map_rk_to_aasm(shared_data):
    hyp = read_hypnogram(real_file(shared_data, "dreams-spindles/Hypnogram_excerpt1.txt"))
    assert hyp.epoch_sec == 5.0 and hyp.n_epochs == 360  # 1800 s
    assert set(hyp.stages) <= {"W", "N1", "N2", "N3", "R"}
    thirty = hyp.resample(30.0)
    assert thirty.n_epochs == 60
    assert thirty.stages[0] == "W"


def test_yasa_integer_and_string_files(shared_data):
    ints = read_hypnogram(real_file(shared_data, "yasa/data_full_6hrs_100Hz_hypno_30s.txt"))
    assert ints.n_epochs == 720 and (ints.stages == "R").sum() == 155
    text = read_hypnogram(real_file(shared_data, "yasa/sub-02_hypno_30s.txt"))
    assert text.n_epochs == 98 and text.stages[0] == "W"


def test_sleep_edf_annotations_merge_s3_s4(shared_data):
    hyp = read_hypnogram(real_file(shared_data, "sleep-edf/SC4001EC-Hypnogram.edf"))
    counts = dict(zip(*np.unique(hyp.stages, return_counts=True), strict=True))
    assert counts["N3"] == 220 and counts["R"] == 125  # S3 + S4 = N3


def test_dynamo_change_points_keep_their_offset_grid(shared_data):
    hyp = read_hypnogram(real_file(shared_data, "dynamo/segment_stages.csv"))
    assert hyp.start == pytest.approx(10.01)
    assert hyp.epoch_sec == 30.0
    # change point 4270.01 -> R: epoch starting there is R, the one before is N2
    i = int(round((4270.01 - hyp.start) / 30))
    assert hyp.stages[i] == "R" and hyp.stages[i - 1] == "N2"


def test_csv_round_trip_with_hypnodensity(tmp_path):
    import pandas as pd

    proba = pd.DataFrame(
        np.eye(5)[[0, 1, 2, 3, 4, 2]], columns=["p_W", "p_N1", "p_N2", "p_N3", "p_R"]
    )
    hyp = Hypnogram(np.array(["W", "N1", "N2", "N3", "R", "N2"]), proba=proba)
    path = write_hypnogram_csv(hyp, tmp_path / "h.csv")
    back = read_hypnogram(path)
    assert list(back.stages) == list(hyp.stages)
    np.testing.assert_allclose(back.proba.to_numpy(), proba.to_numpy())
    header = path.read_text().splitlines()[0]
    assert header == "onset,duration,stage,confidence,p_W,p_N1,p_N2,p_N3,p_R"


def test_bad_files_give_located_errors(tmp_path):
    with pytest.raises(InputFileError, match="not found"):
        read_hypnogram(tmp_path / "nope.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text("W\nN2\nbanana\n")
    with pytest.raises(InputFileError, match=r"bad.txt:3: .*'banana'"):
        read_hypnogram(bad)
