"""The real labelled sleep recordings in ``../shared/data``, loaded on one 30-s grid.

Used by the training command, the staging benchmark and the tests. Each recording is returned in
volts, ``(n_channels, n_times)``, with its expert hypnogram on 30-s epochs starting at time 0 of the
returned signal (the DYNAM-O segment is cropped to start on its scoring grid, about 10 s in).

What is here (and what is refused)
----------------------------------
- DREAMS Spindles excerpts 1, 2, 4, 5, 6: 30 min each of one central EEG channel (µV in the file),
  5-s R&K hypnograms re-gridded to 30 s by majority vote. They hold **no REM**.
- DREAMS excerpt 3 is sampled at 50 Hz, below dreamlink's 100-Hz minimum for staging (YASA's
  features need the 16–30 Hz beta band and a 30-Hz low-pass). It is *refused*, not upsampled:
  upsampling cannot restore the missing band, so any number on it would not be honest.
- DYNAM-O (Prerau Lab) segment: 83.8 min of one EEG channel at 100 Hz (µV), change-point stages;
  about 13 min of REM, the only real labelled REM here.

References
----------
Devuyst S et al. (2011). Automatic sleep spindles detection — overview and development of a
standard proposal assessment method. IEEE EMBC 2011:1713-1716. doi:10.1109/IEMBS.2011.6090491
Prerau MJ et al. (2017). Sleep neurophysiological dynamics through the lens of multitaper spectral
analysis. Physiology 32(1):60-92. doi:10.1152/physiol.00062.2015
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamlink.hypnogram import Hypnogram
from dreamlink.io.hypnogram_formats import read_hypnogram

#: Minimum sampling rate (Hz) dreamlink stages at.
MIN_SFREQ = 100.0

#: Default location of the shared real data, relative to this file (repo/src/dreamlink/staging).
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[4] / "shared" / "data"


@dataclass
class LabelledRecording:
    """One real recording with its expert hypnogram on a 30-s grid starting at 0.

    Attributes
    ----------
    name : str
        Short identifier (``dreams-ex1`` ... ``dynamo``).
    data : numpy.ndarray
        Signal in volts, ``(1, n_times)``.
    sfreq : float
        Sampling rate in Hz.
    ch_names : list of str
        Channel names.
    hypnogram : Hypnogram
        Expert stages, 30-s epochs from 0 (``?`` where unscored).
    """

    name: str
    data: np.ndarray
    sfreq: float
    ch_names: list[str]
    hypnogram: Hypnogram

    @property
    def minutes(self) -> float:
        """Minutes of scored (non-``?``) epochs."""
        return float(np.sum(self.hypnogram.stages != "?") * self.hypnogram.epoch_sec / 60.0)


@dataclass
class RefusedRecording:
    """A real recording that dreamlink does not stage, and why."""

    name: str
    reason: str


def _read_dreams_signal(path: Path) -> tuple[np.ndarray, str]:
    with path.open() as fh:
        ch = fh.readline().strip().strip("[]")
    values = np.loadtxt(path, skiprows=1, dtype=np.float64)
    return values * 1e-6, ch


def load_dreams_excerpt(data_dir: Path, n: int) -> LabelledRecording | RefusedRecording:
    """Load DREAMS Spindles excerpt ``n`` (1..6), or the reason it is refused."""
    folder = Path(data_dir) / "dreams-spindles"
    signal, ch = _read_dreams_signal(folder / f"excerpt{n}.txt")
    hyp5 = read_hypnogram(folder / f"Hypnogram_excerpt{n}.txt")
    sfreq = len(signal) / 1800.0
    sfreq = float(round(sfreq / 50.0) * 50.0)  # ex6 has 140 extra samples, as upstream
    if sfreq < MIN_SFREQ:
        return RefusedRecording(
            f"dreams-ex{n}",
            f"sampled at {sfreq:g} Hz, below the {MIN_SFREQ:g} Hz minimum (beta band and 30-Hz "
            "low-pass missing); upsampling would not restore them, so it is not staged",
        )
    hyp = hyp5.resample(30.0)
    n_ep = min(hyp.n_epochs, int(len(signal) // (30 * sfreq)))
    hyp = Hypnogram(hyp.stages[:n_ep], 30.0, 0.0)
    signal = signal[: int(n_ep * 30 * sfreq)]
    return LabelledRecording(f"dreams-ex{n}", signal[None, :], sfreq, [ch], hyp)


def load_dynamo_segment(data_dir: Path) -> LabelledRecording:
    """Load the DYNAM-O example segment, cropped to start on its 30-s scoring grid."""
    folder = Path(data_dir) / "dynamo"
    signal = np.loadtxt(folder / "segment_data.csv", dtype=np.float64) * 1e-6
    sfreq = 100.0
    hyp = read_hypnogram(folder / "segment_stages.csv")
    first = int(round(hyp.start * sfreq))
    signal = signal[first:]
    n_ep = min(hyp.n_epochs, int(len(signal) // (30 * sfreq)))
    hyp = Hypnogram(hyp.stages[:n_ep], 30.0, 0.0)
    signal = signal[: int(n_ep * 30 * sfreq)]
    return LabelledRecording("dynamo", signal[None, :], sfreq, ["EEG"], hyp)


def load_labelled_recordings(
    data_dir: str | Path | None = None,
) -> tuple[list[LabelledRecording], list[RefusedRecording]]:
    """All real labelled recordings usable for staging, plus those refused with their reason.

    Parameters
    ----------
    data_dir : str or Path | None
        The shared data folder (default ``../shared/data`` next to the repository).

    Returns
    -------
    recordings : list of LabelledRecording
    refused : list of RefusedRecording
    """
    data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    recs: list[LabelledRecording] = []
    refused: list[RefusedRecording] = []
    for n in range(1, 7):
        out = load_dreams_excerpt(data_dir, n)
        (recs if isinstance(out, LabelledRecording) else refused).append(out)
    recs.append(load_dynamo_segment(data_dir))
    return recs, refused
