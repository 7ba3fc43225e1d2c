"""Sleep staging: offline (two engines) and causal (real time), with statistics and agreement.

Public API
----------
- :func:`stage_raw` / :func:`stage_array`: stage a whole recording into a :class:`Hypnogram` with a
  hypnodensity (``.proba``), engine ``dreamlink`` (default), ``yasa`` or ``dreamlink-fast`` (a
  distilled model on spectral features: > 10× faster than YASA, less accurate).
- :class:`CausalStager`: the real-time stager (``update(chunk) -> list[Event]``).
- :func:`stage_causal`: run the causal stager over a whole recording.
- :func:`dreamlink.staging.stats.sleep_statistics`, :func:`dreamlink.staging.agreement.agreement`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from dreamlink.hypnogram import Hypnogram
from dreamlink.staging.agreement import AgreementResult, agreement
from dreamlink.staging.causal import CausalStager, stage_causal
from dreamlink.staging.engines import ENGINES, get_engine
from dreamlink.staging.quality import check_duration, check_sfreq, check_signals, pick_channels
from dreamlink.staging.stats import sleep_statistics

if TYPE_CHECKING:
    import mne

__all__ = [
    "ENGINES",
    "AgreementResult",
    "CausalStager",
    "agreement",
    "prepare_signals",
    "sleep_statistics",
    "stage_array",
    "stage_causal",
    "stage_raw",
]


def prepare_signals(
    data_volts: np.ndarray,
    sfreq: float,
    ch_names: Sequence[str],
    eeg: str,
    eog: str | None = None,
    emg: str | None = None,
    min_duration: float | None = None,
) -> dict[str, np.ndarray]:
    """Pick and check the staging channels; returns channel type → 1-D signal in volts.

    Raises
    ------
    SamplingRateError, ChannelError, InputFileError
        Rate below 100 Hz, missing/flat/clipped/wrong-unit channel, recording too short.
    """
    check_sfreq(sfreq)
    data = np.asarray(data_volts)
    if data.ndim != 2 or data.shape[0] != len(ch_names):
        raise ValueError(f"data must be (n_channels={len(ch_names)}, n_times), got {data.shape}")
    wanted = {"eeg": eeg, "eog": eog, "emg": emg}
    idx = pick_channels(list(ch_names), wanted)
    if min_duration is None:
        check_duration(data.shape[1], sfreq)
    else:
        check_duration(data.shape[1], sfreq, min_duration)
    signals = {t: np.asarray(data[i], dtype=np.float64) for t, i in idx.items()}
    check_signals(signals, {t: wanted[t] for t in idx}, sfreq)
    return signals


def stage_array(
    data_volts: np.ndarray,
    sfreq: float,
    ch_names: Sequence[str],
    eeg: str,
    eog: str | None = None,
    emg: str | None = None,
    engine: str = "dreamlink",
) -> Hypnogram:
    """Stage a whole recording given as an array.

    Parameters
    ----------
    data_volts : numpy.ndarray
        ``(n_channels, n_times)`` in volts.
    sfreq : float
        Sampling rate in Hz (≥ 100).
    ch_names : sequence of str
        Channel names of the rows.
    eeg : str
        Name of the EEG channel (frontal or central, referenced to a mastoid if possible).
    eog, emg : str | None
        Optional EOG and chin-EMG channel names.
    engine : {"dreamlink", "yasa", "dreamlink-fast"}
        Staging engine.

    Returns
    -------
    Hypnogram
        One 30-s epoch per row from time 0, with the hypnodensity in ``.proba``.
    """
    eng = get_engine(engine)
    signals = prepare_signals(data_volts, sfreq, ch_names, eeg, eog, emg)
    stages, proba = eng.predict(signals, sfreq)
    return Hypnogram(stages, 30.0, 0.0, proba)


def stage_raw(
    raw: mne.io.BaseRaw,
    eeg: str,
    eog: str | None = None,
    emg: str | None = None,
    engine: str = "dreamlink",
) -> Hypnogram:
    """Stage an MNE :class:`~mne.io.BaseRaw` (volts); see :func:`stage_array`."""
    picks = [c for c in (eeg, eog, emg) if c is not None]
    pick_channels(raw.ch_names, {"eeg": eeg, "eog": eog, "emg": emg})
    data = raw.get_data(picks=picks)
    return stage_array(data, raw.info["sfreq"], picks, eeg, eog, emg, engine=engine)
