"""A generative model of a night's sleep architecture, reproducible from a seed.

The model follows the textbook shape of a healthy adult night (Carskadon & Dement 2017; Ohayon et al.
2004 for the normative ranges):

- wake until sleep onset after a latency of about 5–25 min, then a few minutes of N1;
- ~90-min NREM/REM cycles (70–115 min): N2, then N3 (long in the first cycle, shorter in the
  second, rare after that), back to N2, often a short N1 transition, then REM;
- REM periods lengthen towards morning (≈ 5–10 min in the first cycle, 20–40 min in the last);
- brief awakenings (30–90 s), most often at the end of a REM period, followed by N1;
- a few minutes of wake at the end of the night.

The result is a :class:`~dreamlink.hypnogram.Hypnogram` on 30-s epochs aligned to time 0. Everything
is drawn from one :class:`numpy.random.Generator` seeded from ``seed``, so a seed names a night.

:func:`night_statistics` computes the figures the model is checked against (sleep-onset latency, REM
latency, percentage of each stage, N3 front-loading, REM period lengths) for generated and real
hypnograms alike.

References
----------
Carskadon MA, Dement WC (2017). Normal human sleep: an overview. In Principles and Practice of Sleep
Medicine, 6th ed., ch. 2. doi:10.1016/B978-0-323-24288-2.00002-7
Ohayon MM, Carskadon MA, Guilleminault C, Vitiello MV (2004). Meta-analysis of quantitative sleep
parameters from childhood to old age in healthy individuals. Sleep 27(7):1255-1273.
doi:10.1093/sleep/27.7.1255
Feinberg I, Floyd TC (1979). Systematic trends across the night in human sleep cycles.
Psychophysiology 16(3):283-291. doi:10.1111/j.1469-8986.1979.tb02991.x
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dreamlink.hypnogram import EPOCH_SEC, Hypnogram

#: Mean N3 minutes per cycle (cycle 1, 2, 3, ...); later cycles have none (Feinberg & Floyd 1979).
_N3_MINUTES = (45.0, 26.0, 9.0, 2.0)
#: Seed salt of the hypnogram model (keeps its random stream apart from the signal's).
_SALT = 0x48595047


@dataclass(frozen=True)
class HypnogramModel:
    """Parameters of the night-architecture model (minutes unless stated).

    Parameters
    ----------
    sol_range : tuple of float
        Uniform range of the sleep-onset latency (minutes of wake before the first N1).
    n1_onset_range : tuple of float
        Uniform range of the N1 period at sleep onset.
    cycle_mean, cycle_sd : float
        Mean and SD of the NREM/REM cycle length.
    rem_first, rem_step : float
        Mean REM period of the first cycle and its lengthening per cycle.
    rem_max : float
        Longest REM period.
    p_wake_after_rem : float
        Probability of a brief awakening at the end of a REM period.
    p_wake_per_epoch : float
        Probability of a brief awakening in any N2 epoch.
    final_wake_range : tuple of float
        Uniform range of the wake period at the end of the night.
    """

    sol_range: tuple[float, float] = (5.0, 25.0)
    n1_onset_range: tuple[float, float] = (1.5, 6.0)
    cycle_mean: float = 92.0
    cycle_sd: float = 9.0
    rem_first: float = 8.0
    rem_step: float = 6.5
    rem_max: float = 40.0
    p_wake_after_rem: float = 0.45
    p_wake_per_epoch: float = 0.02
    final_wake_range: tuple[float, float] = (1.0, 8.0)


def generate_hypnogram(
    hours: float = 8.0,
    seed: int = 0,
    model: HypnogramModel | None = None,
    epoch_sec: float = EPOCH_SEC,
) -> Hypnogram:
    """Draw a night's hypnogram.

    Parameters
    ----------
    hours : float
        Time in bed (hours); the hypnogram covers ``round(hours * 3600 / epoch_sec)`` epochs.
    seed : int
        Seed; the same seed and parameters give the same night.
    model : HypnogramModel | None
        Architecture parameters (defaults: a healthy adult).
    epoch_sec : float
        Epoch length in seconds.

    Returns
    -------
    Hypnogram
        Stages on epochs aligned to time 0.
    """
    if not hours > 0:
        raise ValueError(f"hours must be positive, got {hours}")
    model = model or HypnogramModel()
    rng = np.random.default_rng([_SALT, int(seed) & 0xFFFFFFFF])
    per_min = 60.0 / epoch_sec
    n_total = max(1, int(round(hours * 3600.0 / epoch_sec)))

    def ep(minutes: float, minimum: int = 1) -> int:
        return max(minimum, int(round(minutes * per_min)))

    out: list[str] = []
    out += ["W"] * ep(rng.uniform(*model.sol_range))
    out += ["N1"] * ep(rng.uniform(*model.n1_onset_range))
    cycle = 0
    final_wake = ep(rng.uniform(*model.final_wake_range))
    while len(out) < n_total:
        length = float(np.clip(rng.normal(model.cycle_mean, model.cycle_sd), 70.0, 115.0))
        rem = float(np.clip(model.rem_first + model.rem_step * cycle + rng.normal(0, 3.0), 3.0,
                            model.rem_max))
        n3_mean = _N3_MINUTES[cycle] if cycle < len(_N3_MINUTES) else 0.0
        n3 = max(0.0, rng.normal(n3_mean, 0.2 * n3_mean + 0.5)) if n3_mean else 0.0
        n1 = rng.uniform(1.0, 4.0) if rng.random() < 0.7 else 0.0
        n2_total = max(10.0, length - rem - n3 - n1)
        n2_before = min(n2_total - 3.0, rng.uniform(6.0, 14.0)) if n3 else n2_total * 0.6
        n2_after = n2_total - n2_before
        # N2 descent, N3 with brief lightenings, N2, an N1 transition, REM.
        _append_n2(out, ep(n2_before), rng, model)
        if n3:
            block = ["N3"] * ep(n3)
            for i in range(1, len(block) - 1):
                if rng.random() < 0.04:
                    block[i] = "N2"
            out += block
        _append_n2(out, ep(n2_after), rng, model)
        if n1:
            out += ["N1"] * ep(n1)
        rem_block = ["R"] * ep(rem)
        for i in range(2, len(rem_block) - 2):
            if rng.random() < 0.01:
                rem_block[i] = "W" if rng.random() < 0.5 else "N1"
        out += rem_block
        if rng.random() < model.p_wake_after_rem:
            out += ["W"] * int(rng.integers(1, 4))
            out += ["N1"] * int(rng.integers(1, 5))
        cycle += 1
    stages = np.asarray(out[:n_total], dtype="<U2")
    if n_total > final_wake + 2 * ep(60.0):
        stages[-final_wake:] = "W"
    return Hypnogram(stages, epoch_sec=epoch_sec, start=0.0)


def _append_n2(out: list[str], n: int, rng: np.random.Generator, model: HypnogramModel) -> None:
    """Append ``n`` N2 epochs, sprinkled with brief awakenings followed by N1."""
    i = 0
    while i < n:
        if rng.random() < model.p_wake_per_epoch and i < n - 3:
            out += ["W"] * int(rng.integers(1, 3))
            out += ["N1"] * int(rng.integers(1, 4))
            i += 4
            continue
        out.append("N2")
        i += 1


@dataclass(frozen=True)
class NightStatistics:
    """Architecture figures of one night.

    Attributes
    ----------
    sol_min : float
        Sleep-onset latency: minutes from the start to the first non-wake epoch.
    rem_latency_min : float
        Minutes from sleep onset to the first REM epoch (NaN without REM).
    tst_min : float
        Total sleep time (minutes of N1+N2+N3+R).
    percent : dict
        Percentage of total sleep time in N1, N2, N3 and R.
    n3_first_third : float
        Fraction of all N3 that falls in the first third of the sleep period (NaN without N3).
    rem_periods_min : list of float
        Durations of the REM periods (R runs merged across interruptions ≤ 5 min), in minutes.
    n_awakenings : int
        Number of wake runs between sleep onset and the final awakening.
    """

    sol_min: float
    rem_latency_min: float
    tst_min: float
    percent: dict[str, float]
    n3_first_third: float
    rem_periods_min: list[float]
    n_awakenings: int


def rem_periods(hypnogram: Hypnogram, merge_gap_sec: float = 300.0) -> list[tuple[float, float]]:
    """REM periods as ``(onset, end)`` in seconds: runs of R merged across gaps ≤ ``merge_gap_sec``.

    A REM period is commonly defined as REM epochs separated by no more than a short interruption
    (≤ 15 min in Feinberg & Floyd 1979; dreamlink uses 5 min so that REM-relative injections land
    in the period a listener would call "the second REM period").
    """
    runs = hypnogram.periods()
    runs = runs[runs["stage"] == "R"]
    out: list[tuple[float, float]] = []
    for onset, duration in zip(runs["onset"], runs["duration"], strict=True):
        if out and onset - out[-1][1] <= merge_gap_sec:
            out[-1] = (out[-1][0], float(onset + duration))
        else:
            out.append((float(onset), float(onset + duration)))
    return out


def night_statistics(hypnogram: Hypnogram) -> NightStatistics:
    """Compute :class:`NightStatistics` for a hypnogram (unscored epochs count as wake).

    Sleep-onset latency, REM latency, TST and stage percentages are computed with
    :func:`yasa.sleep_statistics` (Vallat & Walker 2021, doi:10.7554/eLife.70092).
    """
    import yasa

    codes = hypnogram.as_ints()
    codes = np.where(codes < 0, 0, codes)
    epoch_min = hypnogram.epoch_sec / 60.0
    names = np.array(["WAKE", "N1", "N2", "N3", "REM"])[codes]
    stats = yasa.Hypnogram(list(names), n_stages=5, freq=f"{int(hypnogram.epoch_sec)}s").sleep_statistics()
    percent = {s: float(stats[f"%{s}"]) for s in ("N1", "N2", "N3")}
    percent["R"] = float(stats["%REM"])
    asleep = np.flatnonzero(codes > 0)
    third = np.nan
    n_awake = 0
    if len(asleep):
        a, b = asleep[0], asleep[-1] + 1
        n3 = codes[a:b] == 3
        if n3.any():
            third = float(n3[: (b - a) // 3].sum() / n3.sum())
        awake = (codes[a:b] == 0).astype(int)
        n_awake = int(np.sum(np.diff(awake) == 1))
    periods = [(e - o) / 60.0 for o, e in rem_periods(hypnogram)]
    return NightStatistics(
        sol_min=float(stats["SOL"]),
        rem_latency_min=float(stats["Lat_REM"]) if np.isfinite(stats["Lat_REM"]) else float("nan"),
        tst_min=float((codes > 0).sum() * epoch_min),
        percent=percent,
        n3_first_third=third,
        rem_periods_min=periods,
        n_awakenings=n_awake,
    )
