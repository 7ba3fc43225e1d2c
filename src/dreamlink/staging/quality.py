"""Input checks before staging: rate, length, units, flat and clipped channels, missing channels.

Every problem that would silently produce a wrong hypnogram raises a :class:`DreamlinkError`
subclass with one line naming the fix. Units are *guessed* from the signal's robust amplitude and
reported: sleep EEG/EOG/EMG in volts has an inter-quartile range of roughly 1 µV to 1 mV; an IQR
above 10 mV (0.01 "V") is almost surely µV passed as volts, and the error says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from dreamlink.errors import ChannelError, InputFileError, SamplingRateError

logger = logging.getLogger("dreamlink.staging")

#: Minimum sampling rate (Hz) for staging.
MIN_SFREQ = 100.0
#: Minimum recording length (s) for staging (YASA: results are unreliable below 5 min).
MIN_DURATION_SEC = 300.0
#: A channel whose inter-quartile range is below this (volts) is flat.
FLAT_IQR_V = 0.1e-6
#: Fraction of samples sitting on the channel's extreme values above which it is clipped.
CLIP_FRACTION = 0.005
#: IQR (volts) above which the data are taken to be in µV rather than volts.
UV_AS_V_IQR = 1e-2
#: IQR (volts) above which the data look like millivolts.
MV_AS_V_IQR = 2e-3


@dataclass
class QualityReport:
    """What the checks found on a set of channels.

    Attributes
    ----------
    units : dict of str to str
        Guessed unit of each channel as passed (``V`` when plausible).
    iqr_uv : dict of str to float
        Inter-quartile range of each channel in µV (as if the data were volts).
    warnings : list of str
        Problems that do not stop staging but lower confidence.
    """

    units: dict[str, str] = field(default_factory=dict)
    iqr_uv: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def check_sfreq(sfreq: float) -> None:
    """Raise :class:`SamplingRateError` if ``sfreq`` is below 100 Hz."""
    if sfreq < MIN_SFREQ:
        raise SamplingRateError(
            f"sampling rate {sfreq:g} Hz is below the {MIN_SFREQ:g} Hz staging needs (the 16-30 Hz "
            "beta band is lost); use a recording sampled at 100 Hz or more (upsampling cannot restore it)"
        )


def check_duration(n_times: int, sfreq: float, min_sec: float = MIN_DURATION_SEC) -> None:
    """Raise :class:`InputFileError` if the recording is shorter than ``min_sec`` seconds."""
    dur = n_times / sfreq
    if dur < min_sec:
        raise InputFileError(
            f"recording is {dur:.0f} s long; staging needs at least {min_sec / 60:g} min of data "
            "(give a longer recording)"
        )


def pick_channels(ch_names: Sequence[str], wanted: dict[str, str | None]) -> dict[str, int]:
    """Indices of the requested channels by type, or a :class:`ChannelError` listing the available ones."""
    out = {}
    for ch_type, name in wanted.items():
        if name is None:
            continue
        if name not in ch_names:
            option = {"eeg": "--eeg", "eog": "--eog", "emg": "--emg"}.get(ch_type, ch_type)
            raise ChannelError(
                f"channel {name!r} ({option}) not found; available channels: {', '.join(ch_names)}"
            )
        out[ch_type] = list(ch_names).index(name)
    return out


def guess_units(iqr: float) -> str:
    """Unit the data were most likely in, from the inter-quartile range of values taken as volts."""
    if iqr > UV_AS_V_IQR:
        return "uV"
    if iqr > MV_AS_V_IQR:
        return "mV"
    return "V"


def check_signals(signals: dict[str, np.ndarray], names: dict[str, str], sfreq: float) -> QualityReport:
    """Check each channel for units, flatness and clipping.

    Parameters
    ----------
    signals : dict of str to numpy.ndarray
        Channel type to a 1-D signal that should be in volts.
    names : dict of str to str
        Channel type to channel name (for messages).
    sfreq : float
        Sampling rate in Hz.

    Raises
    ------
    ChannelError
        A channel is flat, clipped, or not in volts (the guessed unit is named).
    """
    report = QualityReport()
    for ch_type, x in signals.items():
        name = names.get(ch_type, ch_type)
        x = np.asarray(x, dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ChannelError(f"channel {name!r} contains NaN or infinite values; fix or drop them first")
        q1, q3 = np.percentile(x, [25, 75])
        iqr = float(q3 - q1)
        report.iqr_uv[name] = iqr * 1e6
        unit = guess_units(iqr)
        report.units[name] = unit
        if unit != "V":
            factor = {"uV": "1e-6", "mV": "1e-3"}[unit]
            raise ChannelError(
                f"channel {name!r} looks like {unit.replace('u', 'µ')}, not volts (inter-quartile range "
                f"{iqr:.3g} 'V'); multiply the data by {factor} before staging (dreamlink works in volts)"
            )
        if iqr < FLAT_IQR_V:
            raise ChannelError(
                f"channel {name!r} is flat (inter-quartile range {iqr * 1e6:.3f} µV); check the electrode "
                "or choose another channel"
            )
        lo, hi = float(np.min(x)), float(np.max(x))
        tol = 1e-9 * max(abs(lo), abs(hi), 1e-12)
        at_rails = np.count_nonzero(x >= hi - tol) + np.count_nonzero(x <= lo + tol)
        if at_rails / x.size > CLIP_FRACTION:
            raise ChannelError(
                f"channel {name!r} is clipped ({100 * at_rails / x.size:.1f}% of samples at its limits "
                f"{lo * 1e6:.0f}/{hi * 1e6:.0f} µV); lower the amplifier gain or choose another channel"
            )
        if ch_type == "eeg" and iqr > 200e-6:
            msg = (
                f"channel {name!r} has a very large amplitude (IQR {iqr * 1e6:.0f} µV): "
                "staging may be unreliable"
            )
            logger.warning(msg)
            report.warnings.append(msg)
    return report
