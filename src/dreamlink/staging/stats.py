"""AASM sleep statistics of a hypnogram (minutes, percentages, latencies, efficiency).

Definitions follow the AASM manual and YASA's ``sleep_statistics`` (checked against it in the tests):

- ``TIB`` time in bed: all epochs (minutes).
- ``SPT`` sleep period time: first to last sleep epoch inclusive.
- ``WASO`` wake after sleep onset: wake epochs within the SPT.
- ``TST`` total sleep time: N1+N2+N3+R epochs within the SPT.
- ``W, N1, N2, N3, REM, NREM``: minutes in each stage (over the whole hypnogram; W within TIB).
- ``%N1 ... %NREM``: percentage of TST; ``%W``: percentage of TIB.
- ``SOL`` sleep onset latency: start to the first sleep epoch.
- ``Lat_N1 ... Lat_REM``: start to the first epoch of that stage.
- ``REM_latency``: AASM REM latency, sleep onset to the first REM epoch.
- ``SE`` sleep efficiency ``100·TST/TIB``; ``SME`` sleep maintenance efficiency ``100·TST/SPT``.

Undefined values (no sleep, no REM) are NaN. Unscored epochs (``?``) count in TIB and SPT but in no
stage.

References
----------
Berry RB et al. (2017). AASM Manual for the Scoring of Sleep and Associated Events, v2.4.
Vallat R, Walker MP (2021). eLife 10:e70092. doi:10.7554/eLife.70092 (YASA)
"""

from __future__ import annotations

import numpy as np

from dreamlink.hypnogram import Hypnogram

_SLEEP = ("N1", "N2", "N3", "R")
_NAMES = {"N1": "N1", "N2": "N2", "N3": "N3", "R": "REM"}


def sleep_statistics(hyp: Hypnogram) -> dict[str, float]:
    """AASM sleep statistics of ``hyp`` (durations and latencies in minutes, ratios in %).

    Parameters
    ----------
    hyp : Hypnogram
        Any epoch length; the hypnogram is taken to span lights-off to lights-on.

    Returns
    -------
    dict of str to float
        Keys ``TIB, SPT, WASO, TST, W, N1, N2, N3, REM, NREM, SOL, Lat_N1, Lat_N2, Lat_N3,
        Lat_REM, REM_latency, %W, %N1, %N2, %N3, %REM, %NREM, SE, SME``.
    """
    st = hyp.stages
    ep = hyp.epoch_sec / 60.0
    nan = float("nan")
    asleep = np.isin(st, _SLEEP)
    idx_sleep = np.flatnonzero(asleep)
    has_sleep = idx_sleep.size > 0
    spt = st[idx_sleep[0] : idx_sleep[-1] + 1] if has_sleep else st[:0]
    out: dict[str, float] = {
        "TIB": len(st) * ep,
        "SPT": len(spt) * ep,
        "WASO": float(np.count_nonzero(spt == "W")) * ep if has_sleep else nan,
        "TST": float(np.count_nonzero(np.isin(spt, _SLEEP))) * ep,
        "W": float(np.count_nonzero(st == "W")) * ep,
    }
    for s, name in _NAMES.items():
        out[name] = float(np.count_nonzero(st == s)) * ep
    out["NREM"] = out["N1"] + out["N2"] + out["N3"]
    out["SOL"] = float(idx_sleep[0]) * ep if has_sleep else nan
    for s, name in _NAMES.items():
        idx = np.flatnonzero(st == s)
        out[f"Lat_{name}"] = float(idx[0]) * ep if idx.size else nan
    out["REM_latency"] = out["Lat_REM"] - out["SOL"] if has_sleep else nan
    out["%W"] = 100.0 * out["W"] / out["TIB"] if out["TIB"] else nan
    for name in (*_NAMES.values(), "NREM"):
        out[f"%{name}"] = 100.0 * out[name] / out["TST"] if out["TST"] else nan
    out["SE"] = 100.0 * out["TST"] / out["TIB"] if out["TIB"] else nan
    out["SME"] = 100.0 * out["TST"] / out["SPT"] if has_sleep else nan
    return {k: float(v) for k, v in out.items()}
