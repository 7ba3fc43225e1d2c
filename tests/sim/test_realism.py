"""The simulated EEG/EOG/EMG resembles real sleep recordings, stage by stage.

Reference ranges come from the real labelled EEG in shared/data: DREAMS Spindles excerpts 1, 2, 4, 5, 6
(central EEG, 30 min each; excerpt 3 is sampled at 50 Hz, too low for the beta band, so it is left out)
and the DYNAM-O example segment (83.8 min). That is 2.5 h of real scored EEG, but only 13 min of REM
(DYNAM-O alone), so the REM range rests on one recording.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yasa

from dreamlink.hypnogram import Hypnogram
from dreamlink.sim.night import simulate_night
from dreamlink.sim.realism import BANDS, read_dreams_excerpt, read_dynamo_segment, stage_band_powers
from dreamlink.sim.synthesis import C4, E1, E2, EMG, F4, O2
from tests.conftest import real_file

SF = 256.0
#: A compact test night: 10 epochs (5 min) of every stage.
STAGES = np.repeat(["W", "N1", "N2", "N3", "R"], 10)
#: Minimum epochs of a stage for a recording to count towards the reference range.
MIN_EPOCHS = 3


@pytest.fixture(scope="module")
def night():
    return simulate_night(None, seed=11, hypnogram=Hypnogram(STAGES))


@pytest.fixture(scope="module")
def data(night):
    return night.get_data() * 1e6  # µV


def _dreams(shared_data, i: int):
    return read_dreams_excerpt(
        real_file(shared_data, f"dreams-spindles/excerpt{i}.txt"),
        real_file(shared_data, f"dreams-spindles/Hypnogram_excerpt{i}.txt"),
    )


def _dynamo(shared_data):
    return read_dynamo_segment(
        real_file(shared_data, "dynamo/segment_data.csv"),
        real_file(shared_data, "dynamo/segment_stages.csv"),
    )


@pytest.fixture(scope="module")
def real_ranges(shared_data) -> dict[str, pd.DataFrame]:
    """Per stage: min and max over recordings of the median relative band power."""
    tables = []
    recordings = [_dreams(shared_data, i) for i in (1, 2, 4, 5, 6)] + [_dynamo(shared_data)]
    for x, sf, labels in recordings:
        bp = stage_band_powers(x, sf, labels)
        tables.append(bp[bp["n_epochs"] >= MIN_EPOCHS])
    allp = pd.concat(tables)
    return {"min": allp.groupby(level=0).min(), "max": allp.groupby(level=0).max()}


def test_relative_band_powers_within_real_ranges(data, real_ranges):
    sim = stage_band_powers(data[C4], SF, STAGES)
    lo, hi = real_ranges["min"], real_ranges["max"]
    assert set(lo.index) == {"W", "N1", "N2", "N3", "R"}
    failures = []
    for stage in lo.index:
        for band in BANDS:
            # Margin: 25 % of the value plus 0.01 absolute (REM rests on one recording).
            a = lo.loc[stage, band] * 0.75 - 0.01
            b = hi.loc[stage, band] * 1.25 + 0.01
            value = sim.loc[stage, band]
            if not a <= value <= b:
                failures.append(f"{stage} {band}: sim {value:.3f} outside real [{a:.3f}, {b:.3f}]")
    assert not failures, failures


def test_absolute_power_within_real_ranges(data, real_ranges):
    """Total 0.5-30 Hz power per stage within a factor 2 of the real recordings' range."""
    sim = stage_band_powers(data[C4], SF, STAGES)
    for stage in ("N1", "N2", "N3", "R"):
        lo, hi = real_ranges["min"].loc[stage, "total"], real_ranges["max"].loc[stage, "total"]
        assert lo / 2 <= sim.loc[stage, "total"] <= hi * 2, stage


def test_n3_slow_waves_reach_75_uv_frontal_dominant(data):
    hyp = np.repeat(Hypnogram(STAGES).as_ints(), int(30 * SF))
    sw = yasa.sw_detect(data[F4], SF, hypno=hyp, include=(3,), amp_ptp=(75, 500))
    summary = sw.summary()
    # AASM: N3 when >= 20 % of the epoch holds 0.5-2 Hz waves >= 75 µV peak-to-peak.
    assert summary["Duration"].sum() >= 0.2 * 10 * 30
    assert summary["PTP"].median() >= 75
    n3 = STAGES == "N3"
    epochs = data[:3].reshape(3, len(STAGES), -1)[:, n3]
    rms = np.sqrt(np.mean(epochs**2, axis=(1, 2)))
    assert rms[0] > rms[1] > rms[2]  # frontal > central > occipital


def _sigma_excess(x: np.ndarray, sf: float, labels, stage: str) -> float | None:
    """Height of the 11-16 Hz spectral bump above the 1/f trend (log10 units).

    Median Welch PSD of the stage's 30-s epochs; the trend is a straight line in log-log
    coordinates fitted on 4-8 and 18-30 Hz; the excess is the mean log10 distance above it in 11-16 Hz.
    """
    from scipy.signal import welch

    n = int(30 * sf)
    lab = np.asarray(labels)[: len(x) // n]
    epochs = x[: len(lab) * n].reshape(len(lab), n)[lab == stage]
    if len(epochs) < MIN_EPOCHS:
        return None
    f, p = welch(epochs, sf, nperseg=int(4 * sf))
    p = np.median(p, axis=0)
    fit = ((f >= 4) & (f < 8)) | ((f >= 18) & (f < 30))
    coef = np.polyfit(np.log10(f[fit]), np.log10(p[fit]), 1)
    band = (f >= 11) & (f <= 16)
    return float(np.mean(np.log10(p[band]) - np.polyval(coef, np.log10(f[band]))))


def test_spindles_give_a_sigma_bump_in_n2_like_real_n2(data, shared_data):
    recordings = [_dreams(shared_data, i) for i in (1, 2, 4, 5, 6)] + [_dynamo(shared_data)]
    real = [_sigma_excess(x, sf, labels, "N2") for x, sf, labels in recordings]
    real = [r for r in real if r is not None]
    sim = {s: _sigma_excess(data[C4], SF, STAGES, s) for s in ("N1", "N2", "R")}
    assert min(real) - 0.05 <= sim["N2"] <= max(real) + 0.05, (sim["N2"], real)  # real: 0.29-0.56
    assert sim["N2"] > sim["N1"] + 0.15 and sim["N2"] > sim["R"] + 0.15
    hyp = np.repeat(Hypnogram(STAGES).as_ints(), int(30 * SF))
    sp = yasa.spindles_detect(data[C4], SF, hypno=hyp, include=(2,))
    n = len(sp.summary())
    assert 5 <= n <= 40  # 1-8 per minute over 5 min of N2
    assert 11.0 <= sp.summary()["Frequency"].median() <= 16.0


def test_occipital_alpha_in_wake(data):
    bands = {ch: stage_band_powers(data[ch], SF, STAGES) for ch in (F4, C4, O2)}
    assert bands[O2].loc["W", "alpha"] > bands[C4].loc["W", "alpha"] > bands[F4].loc["W", "alpha"]
    assert bands[O2].loc["W", "alpha"] > 2 * bands[O2].loc["N2", "alpha"]


def test_chin_emg_high_in_wake_atonic_in_rem(data):
    per_epoch = np.sqrt(np.mean(data[EMG].reshape(len(STAGES), -1) ** 2, axis=1))
    med = {stage: np.median(per_epoch[np.asarray(STAGES) == stage]) for stage in ("W", "N2", "R")}
    assert med["R"] < med["N2"] < med["W"]
    assert med["R"] < 0.5 * med["N2"]


def test_rem_eog_holds_rapid_eye_movements_found_by_yasa(data, night):
    hyp = np.repeat(Hypnogram(STAGES).as_ints(), int(30 * SF))
    rem = yasa.rem_detect(data[E1], data[E2], SF, hypno=hyp, include=4)
    assert rem is not None
    detected = rem.summary()
    truth = night.natural_events(["rem"])
    assert len(truth) >= 10
    assert len(detected) >= 0.3 * len(truth)
    # Detected REMs sit on true eye movements (within 0.5 s).
    onsets = np.array([e.onset for e in truth])
    hits = [np.min(np.abs(onsets - p)) <= 0.5 for p in detected["Peak"]]
    assert np.mean(hits) >= 0.8
    # Opposite polarity on E1/E2 during REMs; in-phase (EEG leak) otherwise.
    r_mask = np.repeat(STAGES == "R", int(30 * SF))
    assert np.corrcoef(data[E1, r_mask], data[E2, r_mask])[0, 1] < 0
    n3_mask = np.repeat(STAGES == "N3", int(30 * SF))
    assert np.corrcoef(data[E1, n3_mask], data[E2, n3_mask])[0, 1] > 0.3


def test_slow_rolling_eye_movements_at_sleep_onset(data):
    from scipy.signal import butter, sosfiltfilt

    sos = butter(2, [0.1, 0.6], btype="band", fs=SF, output="sos")
    horiz = sosfiltfilt(sos, data[E1] - data[E2])
    per_epoch = np.sqrt(np.mean(horiz.reshape(len(STAGES), -1) ** 2, axis=1))
    assert np.median(per_epoch[STAGES == "N1"]) > 2 * np.median(per_epoch[STAGES == "N2"])


def test_finite_reproducible_and_seed_dependent(night):
    a = night.get_data(0, 120)
    assert np.isfinite(a).all()
    again = simulate_night(None, seed=11, hypnogram=Hypnogram(STAGES)).get_data(0, 120)
    other = simulate_night(None, seed=12, hypnogram=Hypnogram(STAGES)).get_data(0, 120)
    assert np.array_equal(a, again)
    assert not np.allclose(a, other)


def test_no_jumps_at_epoch_boundaries(data):
    """Stage changes and epoch seams produce no discontinuity larger than ordinary sample steps."""
    n = int(30 * SF)
    steps = np.abs(np.diff(data[:3], axis=1))
    seams = np.arange(n, data.shape[1], n) - 1
    inside = np.percentile(steps, 99.9, axis=1)
    assert (steps[:, seams].max(axis=1) <= inside).all()


def test_mains_option_adds_a_line(night):
    hum = simulate_night(None, seed=11, hypnogram=Hypnogram(STAGES[:4]), mains=50)
    x = hum.get_data()[C4] * 1e6
    f = np.fft.rfftfreq(len(x), 1 / SF)
    spec = np.abs(np.fft.rfft(x))
    peak = spec[np.argmin(np.abs(f - 50))]
    assert peak > 20 * np.median(spec[(f > 40) & (f < 60)])


def test_rem_density_within_expert_scored_real_nights(shared_data):
    """Natural rapid eye movements per minute of REM fall within the DREAMS REMs database's range.

    Real reference: expert-scored REMs of the DREAMS REMs excerpts holding >= 5 min of REM
    (6 excerpts, 108 min of REM; densities 1.0-8.8 per minute).
    """
    from dreamlink.io.hypnogram_formats import read_hypnogram

    densities = []
    for i in range(1, 10):
        h = read_hypnogram(real_file(shared_data, f"dreams-rems/Hypnogram_excerpt{i}.txt"))
        rem_min = np.sum(h.stages == "R") * h.epoch_sec / 60
        if rem_min < 5:
            continue
        path = real_file(shared_data, f"dreams-rems/Visual_scoring1_excerpt{i}.txt")
        onsets = np.loadtxt(path, skiprows=1, ndmin=2)[:, 0]
        densities.append(sum(h.stage_at(t) == "R" for t in onsets) / rem_min)
    assert len(densities) >= 4
    night = simulate_night(None, seed=3, hypnogram=Hypnogram(np.repeat(["R"], 40)))
    sim = len(night.natural_events(["rem"])) / 20.0
    assert min(densities) <= sim <= max(densities), (sim, densities)


def test_k_complexes_like_expert_scored_real_ones(shared_data):
    """K-complex durations and the 0.3-4 Hz peak-to-peak of epochs holding one match DREAMS K-complexes.

    Real reference: 272 expert-scored K-complexes (DREAMS K-complex database, scorer 1) and the five
    real 30-s CZ-A1 epochs holding a K-complex (2.5 min of EEG).
    """
    import glob

    import scipy.io
    from scipy.signal import butter, sosfiltfilt

    folder = real_file(shared_data, "dreams-kcomplexes")
    durations = np.concatenate([
        np.loadtxt(f, skiprows=1, ndmin=2)[:, 1]
        for f in sorted(glob.glob(str(folder / "Visual_scoring1_excerpt*.txt")))
    ])
    real_ptp = []
    for f in sorted(glob.glob(str(folder / "epochs" / "*kcomplex.mat"))):
        m = scipy.io.loadmat(f)
        fs = float(m["fs"].ravel()[0])
        sos = butter(2, [0.3, 4.0], btype="band", fs=fs, output="sos")
        real_ptp.append(np.ptp(sosfiltfilt(sos, m["x_in"].ravel())))
    assert len(durations) > 100 and len(real_ptp) >= 3

    night = simulate_night(None, seed=1, hypnogram=Hypnogram(np.repeat(["N2"], 40)))
    kcs = night.natural_events(["k_complex"])
    assert len(kcs) >= 10
    sim_durations = np.array([e.duration for e in kcs])
    lo, hi = np.percentile(durations, [5, 95])
    assert lo - 0.1 <= np.median(sim_durations) <= hi + 0.1
    sos = butter(2, [0.3, 4.0], btype="band", fs=SF, output="sos")
    y = sosfiltfilt(sos, night.get_data()[C4] * 1e6).reshape(40, -1)
    with_kc = sorted({int(e.onset // 30) for e in kcs})
    ptp = np.median(np.ptp(y[with_kc], axis=1))
    assert 0.75 * min(real_ptp) <= ptp <= 1.25 * max(real_ptp), (ptp, real_ptp)
