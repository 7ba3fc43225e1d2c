"""Offline staging engines behind one interface: YASA's own pipeline and dreamlink's.

Both take the same input (one 1-D signal in volts per channel type, at one sampling rate) and return
one stage and one probability row per 30-s epoch from the start.

``yasa``
    :class:`yasa.SleepStaging` exactly as published (Vallat & Walker 2021): the baseline.
``dreamlink``
    dreamlink's vectorised feature pipeline (:mod:`dreamlink.staging.features`, the same features
    computed for all epochs at once), classified by YASA's pretrained LightGBM for the channel
    combination given (shipped in YASA's wheel, loaded once per process; its trees evaluated by
    :mod:`dreamlink.staging.forest`, the same probabilities ~10× faster), then dreamlink's
    per-stage calibration (:mod:`dreamlink.staging.calibration`) learnt on the real labelled data
    (leave-one-recording-out in the benchmark).
``dreamlink-fast``
    dreamlink's fast spectral features (:mod:`dreamlink.staging.fastfeatures`) and its own small
    softmax model distilled from YASA's classifier (:mod:`dreamlink.staging.student`), plus its own
    calibration: > 10× faster than YASA but less accurate on the real data (see the benchmark).

References
----------
Vallat R, Walker MP (2021). An open-source, high-performance tool for automated sleep staging.
eLife 10:e70092. doi:10.7554/eLife.70092
"""

from __future__ import annotations

import functools
import logging
import os
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from dreamlink.errors import ConfigError
from dreamlink.hypnogram import STAGES
from dreamlink.staging import features as feat

logger = logging.getLogger("dreamlink.staging")

#: Engines known to :func:`get_engine`.
ENGINES = ("dreamlink", "yasa", "dreamlink-fast")
#: Channel types in the order YASA names its classifiers.
CH_TYPES = ("eeg", "eog", "emg")


def classifier_name(ch_types: tuple[str, ...]) -> str:
    """YASA classifier file stem for a channel combination, e.g. ``clf_eeg+eog``."""
    return "clf_" + "+".join(t for t in CH_TYPES if t in ch_types)


@functools.lru_cache(maxsize=8)
def load_yasa_classifier(ch_types: tuple[str, ...]):
    """Load (once per process) YASA's pretrained LightGBM for ``ch_types`` from YASA's wheel."""
    import joblib
    import yasa

    path = os.path.join(
        os.path.dirname(yasa.__file__), "classifiers", classifier_name(ch_types) + "_lgb_0.5.0.joblib"
    )
    with warnings.catch_warnings():  # the pickled label encoder was made by an older sklearn
        warnings.simplefilter("ignore")
        clf = joblib.load(path)
    logger.info("loaded YASA classifier %s", path)
    return clf


@functools.lru_cache(maxsize=8)
def load_yasa_forest(ch_types: tuple[str, ...]):
    """YASA's pretrained model for ``ch_types`` as a :class:`~dreamlink.staging.forest.Forest` (cached)."""
    from dreamlink.staging.forest import forest_from_booster

    return forest_from_booster(load_yasa_classifier(tuple(ch_types)).booster_)


def predict_proba_yasa_model(table: pd.DataFrame, ch_types: tuple[str, ...]) -> np.ndarray:
    """Probabilities ``(n_epochs, 5)`` in :data:`STAGES` order from YASA's pretrained model.

    Parameters
    ----------
    table : pandas.DataFrame
        Feature table with (at least) the classifier's feature columns.
    ch_types : tuple of str
        The channel types present.
    """
    return predict_proba_yasa_matrix(table.to_numpy(np.float64), list(table.columns), ch_types)


def predict_proba_yasa_matrix(matrix: np.ndarray, names: list[str], ch_types: tuple[str, ...]) -> np.ndarray:
    """:func:`predict_proba_yasa_model` on a feature matrix whose columns are called ``names``."""
    clf = load_yasa_classifier(tuple(ch_types))
    forest = load_yasa_forest(tuple(ch_types))
    pos = {n: i for i, n in enumerate(names)}
    X = matrix[:, [pos[n] for n in forest.feature_names]].astype(np.float64)
    order = [list(clf.classes_).index(s) for s in STAGES]
    return forest.predict(X)[:, order]  # == clf.booster_.predict(X), faster (see forest.py)


def _proba_frame(proba: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(proba, columns=[f"p_{s}" for s in STAGES])


class StagingEngine:
    """Interface: ``predict(signals, sfreq) -> (stages, proba)``, one row per 30-s epoch."""

    name: str = ""

    def predict(self, signals: Mapping[str, np.ndarray], sfreq: float) -> tuple[np.ndarray, pd.DataFrame]:
        """Stage signals.

        Parameters
        ----------
        signals : mapping of str to numpy.ndarray
            Channel type (``eeg`` required, ``eog``, ``emg`` optional) to a 1-D signal in volts.
        sfreq : float
            Sampling rate in Hz.

        Returns
        -------
        stages : numpy.ndarray of str
        proba : pandas.DataFrame
            Columns ``p_W, p_N1, p_N2, p_N3, p_R``.
        """
        raise NotImplementedError


class YasaEngine(StagingEngine):
    """YASA's :class:`yasa.SleepStaging`, unchanged (the baseline)."""

    name = "yasa"

    def predict(self, signals: Mapping[str, np.ndarray], sfreq: float) -> tuple[np.ndarray, pd.DataFrame]:
        import mne
        import yasa

        types = [t for t in CH_TYPES if t in signals]
        data = np.vstack([np.asarray(signals[t], dtype=np.float64) for t in types])
        info = mne.create_info([f"{t.upper()}" for t in types], float(sfreq), types)
        raw = mne.io.RawArray(data, info, verbose=False)
        names = dict(zip(types, info.ch_names, strict=True))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sls = yasa.SleepStaging(
                raw, names["eeg"], eog_name=names.get("eog"), emg_name=names.get("emg")
            )
            hyp = sls.predict()
        proba = hyp.proba.rename(columns={"WAKE": "W", "REM": "R"})[list(STAGES)].to_numpy()
        stages = np.asarray(STAGES)[proba.argmax(axis=1)]
        return stages, _proba_frame(proba)


class DreamlinkEngine(StagingEngine):
    """dreamlink's vectorised features + YASA's pretrained LightGBM + dreamlink's calibration.

    Parameters
    ----------
    hmm : bool
        Also smooth with the stage-transition HMM (forward-backward). Off by default: with the
        calibration it lowered κ on the real data (0.644 vs 0.690, leave-one-recording-out).
    calibration : StageCalibration | "auto" | None
        Per-stage prior shift (:mod:`dreamlink.staging.calibration`); ``"auto"`` = shipped one.
    """

    name = "dreamlink"

    def __init__(self, hmm: bool = False, calibration="auto") -> None:
        from dreamlink.staging.calibration import load_default_calibration

        self.hmm = hmm
        if isinstance(calibration, str):
            calibration = load_default_calibration().get("offline")
        self.calibration = calibration

    def feature_table(self, signals: Mapping[str, np.ndarray], sfreq: float) -> pd.DataFrame:
        """The offline feature table (YASA's columns) of ``signals``."""
        types = [t for t in CH_TYPES if t in signals]
        data = np.vstack([np.asarray(signals[t], dtype=np.float64) for t in types])
        x = feat.bandpass_resample(data, sfreq)
        return feat.offline_feature_table(feat.raw_features(list(x), types))

    def predict(self, signals: Mapping[str, np.ndarray], sfreq: float) -> tuple[np.ndarray, pd.DataFrame]:
        types = tuple(t for t in CH_TYPES if t in signals)
        # float32 from the start: the band-pass works in float32 anyway (same numbers, one copy fewer)
        data = np.vstack([np.asarray(signals[t], dtype=np.float32) for t in types])
        x = feat.bandpass_resample(data, sfreq)
        matrix, names = feat.offline_feature_matrix(*feat.raw_feature_arrays(list(x), types))
        proba = predict_proba_yasa_matrix(matrix, names, types)
        if self.calibration is not None:
            proba = self.calibration.apply(proba)
        if self.hmm:
            from dreamlink.staging.hmm import forward_backward, load_transitions

            trans = load_transitions()
            if trans is not None:
                proba = forward_backward(proba, trans)
        stages = np.asarray(STAGES)[proba.argmax(axis=1)]
        return stages, _proba_frame(proba)


class FastEngine(StagingEngine):
    """Fast spectral features + dreamlink's distilled softmax model + calibration.

    Parameters
    ----------
    calibration : StageCalibration | "auto" | None
        Per-stage prior shift; ``"auto"`` = the shipped ``fast`` one.
    student : SoftmaxStudent | None
        The model; ``None`` loads the shipped one for the channel combination.
    """

    name = "dreamlink-fast"

    def __init__(self, calibration="auto", student=None) -> None:
        from dreamlink.staging.calibration import load_default_calibration

        if isinstance(calibration, str):
            calibration = load_default_calibration().get("fast")
        self.calibration = calibration
        self.student = student

    def predict(self, signals: Mapping[str, np.ndarray], sfreq: float) -> tuple[np.ndarray, pd.DataFrame]:
        from dreamlink.staging import fastfeatures
        from dreamlink.staging.student import default_student_path, load_student

        types = tuple(t for t in CH_TYPES if t in signals)
        model = self.student if self.student is not None else load_student(types)
        if model is None:
            raise ConfigError(
                f"no distilled model for channels {'+'.join(types)} ({default_student_path(types).name}); "
                "use --engine dreamlink or give the EEG channel only"
            )
        X = fastfeatures.feature_matrix(signals, sfreq, types)
        proba = model.predict_proba(X)
        if self.calibration is not None:
            proba = self.calibration.apply(proba)
        stages = np.asarray(STAGES)[proba.argmax(axis=1)]
        return stages, _proba_frame(proba)


def get_engine(name: str) -> StagingEngine:
    """Return the engine called ``name`` (``dreamlink``, ``yasa`` or ``dreamlink-fast``)."""
    if name == "yasa":
        return YasaEngine()
    if name == "dreamlink":
        return DreamlinkEngine()
    if name == "dreamlink-fast":
        return FastEngine()
    raise ConfigError(f"unknown staging engine {name!r}; use one of {list(ENGINES)} (--engine)")
