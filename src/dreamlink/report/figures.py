"""Figures of the morning report (matplotlib, Agg backend), each with units and a caption.

Stage colours come from the Okabe–Ito palette, distinguishable with the common colour-vision
deficiencies: W orange, N1 sky blue, N2 blue, N3 bluish green, REM vermillion.

The whole-night spectrogram is a multitaper spectrogram computed with ``lspopt`` (the Hansson-Sandsten
multitaper method YASA's ``plot_spectrogram`` uses, 30-s windows), shown in dB re 1 µV²/Hz.

References
----------
Okabe M, Ito K (2008). Color universal design (CUD): how to make figures and presentations that are
friendly to colorblind people. https://jfly.uni-koeln.de/color/ ; Wong B (2011). Points of view:
Color blindness. Nat Methods 8:441. doi:10.1038/nmeth.1618
Hansson-Sandsten M (2011). Optimal multitaper Wigner spectrum estimation of a class of locally
stationary processes using Hermite functions. EURASIP J Adv Signal Process 2011:980805.
doi:10.1155/2011/980805
Prerau MJ et al. (2017). Sleep neurophysiological dynamics through the lens of multitaper spectral
analysis. Physiology 32(1):60-92. doi:10.1152/physiol.00062.2015
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from dreamlink.hypnogram import STAGES, Hypnogram

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from dreamlink.report.data import Analysis, RecordingData

#: Okabe–Ito colours per stage.
STAGE_COLORS: dict[str, str] = {
    "W": "#E69F00",
    "N1": "#56B4E9",
    "N2": "#0072B2",
    "N3": "#009E73",
    "R": "#D55E00",
    "?": "#BBBBBB",
}
#: Vertical order of the hypnogram (top to bottom).
_LEVEL = {"W": 4, "R": 3, "N1": 2, "N2": 1, "N3": 0}
_STAGE_LABEL = {"W": "W", "R": "REM", "N1": "N1", "N2": "N2", "N3": "N3"}


@dataclass
class ReportFigure:
    """A figure with its caption, ready for HTML (PNG) and PDF."""

    key: str
    title: str
    caption: str
    figure: Figure


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 9, "axes.spines.top": False, "axes.spines.right": False,
                         "savefig.dpi": 150})
    return plt


def time_axis(duration_sec: float) -> tuple[float, str]:
    """Divisor and label of the time axis: hours for nights, minutes for naps."""
    return (3600.0, "Time since recording start (h)") if duration_sec > 2 * 3600 else (
        60.0, "Time since recording start (min)")


def _draw_hypnogram(ax: Any, hyp: Hypnogram, scale: float, label: str) -> None:
    t = hyp.onsets / scale
    levels = np.array([_LEVEL.get(s, np.nan) for s in hyp.stages], dtype=float)
    ax.step(np.append(t, hyp.end / scale), np.append(levels, levels[-1] if len(levels) else np.nan),
            where="post", color="#555555", lw=0.7)
    for s, lvl in _LEVEL.items():
        mask = hyp.stages == s
        if mask.any():
            ax.hlines(np.full(mask.sum(), lvl), t[mask], t[mask] + hyp.epoch_sec / scale,
                      colors=STAGE_COLORS[s], lw=4.5)
    ax.set_yticks(list(_LEVEL.values()), [_STAGE_LABEL[s] for s in _LEVEL])
    ax.set_ylim(-0.6, 4.6)
    ax.set_ylabel(label)


def hypnogram_figure(analysis: Analysis, duration: float) -> ReportFigure:
    """Hypnogram (with the expert's above it and agreement strip), and the hypnodensity."""
    plt = _plt()
    hyp = analysis.hypnogram
    scale, xlabel = time_axis(max(duration, hyp.end))
    expert = analysis.expert if analysis.agreement is not None else None
    has_proba = hyp.proba is not None
    heights = ([1.0, 0.12] if expert is not None else []) + [1.0] + ([0.8] if has_proba else [])
    fig, axes = plt.subplots(len(heights), 1, figsize=(10, 1.2 + 1.4 * sum(heights)), sharex=True,
                             gridspec_kw={"height_ratios": heights})
    axes = np.atleast_1d(axes)
    i = 0
    if expert is not None:
        _draw_hypnogram(axes[0], expert, scale, "Expert")
        strip = axes[1]
        ref = {round(o, 3): s for o, s in zip(expert.onsets, expert.stages, strict=True)}
        for o, s in zip(hyp.onsets, hyp.stages, strict=True):
            r = ref.get(round(o, 3))
            if r is None or r == "?" or s == "?":
                continue
            strip.axvspan(o / scale, (o + hyp.epoch_sec) / scale, color="#DDDDDD" if r == s else "#000000",
                          lw=0)
        strip.set_yticks([])
        strip.set_ylabel("agree", rotation=0, ha="right", va="center")
        i = 2
    _draw_hypnogram(axes[i], hyp, scale, "dreamlink" if expert is not None else "Stage")
    if has_proba:
        ax = axes[i + 1]
        proba = hyp.proba.to_numpy().T
        t = np.append(hyp.onsets, hyp.end) / scale
        ax.stackplot(np.repeat(t, 2)[1:-1], np.repeat(proba, 2, axis=1),
                     colors=[STAGE_COLORS[s] for s in STAGES], labels=[_STAGE_LABEL[s] for s in STAGES],
                     lw=0)
        ax.set_ylim(0, 1)
        ax.set_ylabel("Probability")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize=8)
    axes[-1].set_xlabel(xlabel)
    axes[-1].set_xlim(0, max(duration, hyp.end) / scale)
    fig.tight_layout()
    caption = (f"Hypnogram in 30-s epochs ({analysis.hypnogram_source}).")
    if expert is not None:
        a = analysis.agreement
        caption += (f" Top: expert scoring; strip: epochs where dreamlink agrees (grey) or disagrees (black)"
                    f" with it; accuracy {100 * a.accuracy:.1f} %, Cohen's κ = {a.kappa:.2f} over "
                    f"{a.n_epochs} epochs ({a.minutes:.0f} min).")
    if has_proba:
        caption += " Bottom: hypnodensity, the probability of each stage per epoch (stacked, sums to 1)."
    caption += " Colours: Okabe–Ito, colour-blind safe."
    return ReportFigure("hypnogram", "Hypnogram and hypnodensity", caption, fig)


def spectrogram_figure(rec: RecordingData, analysis: Analysis, channel: str) -> ReportFigure:
    """Whole-night multitaper spectrogram of one EEG channel (dB re 1 µV²/Hz), 0.5–25 Hz."""
    from lspopt import spectrogram_lspopt

    plt = _plt()
    data_uv = rec.raw.get_data(picks=[channel])[0] * 1e6
    sf = rec.sfreq
    win = min(30.0, max(2.0, data_uv.size / sf / 4))
    nperseg = int(win * sf)
    f, t, sxx = spectrogram_lspopt(data_uv, sf, nperseg=nperseg, noverlap=0)
    keep = (f >= 0.5) & (f <= min(25.0, sf / 2))
    db = 10 * np.log10(np.maximum(sxx[keep], 1e-12))
    vmin, vmax = np.percentile(db, [2.5, 97.5])
    scale, xlabel = time_axis(rec.duration)
    fig, ax = plt.subplots(figsize=(10, 3.2))
    mesh = ax.pcolormesh(t / scale, f[keep], db, shading="auto", cmap="viridis", vmin=vmin, vmax=vmax,
                         rasterized=True)
    cbar = fig.colorbar(mesh, ax=ax, pad=0.01)
    cbar.set_label("Power (dB re 1 µV²/Hz)")
    ax.set_ylabel("Frequency (Hz)")
    ax.set_xlabel(xlabel)
    ax.set_xlim(0, rec.duration / scale)
    fig.tight_layout()
    caption = (f"Whole-night multitaper spectrogram of {channel} ({sf:g} Hz): lspopt multitaper estimate "
               f"in {win:g}-s windows, 0.5–{min(25.0, sf / 2):g} Hz, power in dB re 1 µV²/Hz; "
               "colour scale clipped to the 2.5–97.5th "
               "percentiles. Slow-wave sleep shows as power below 4 Hz, spindles as a 11–16 Hz band.")
    return ReportFigure("spectrogram", "Whole-night spectrogram", caption, fig)


def rem_density_figure(analysis: Analysis) -> ReportFigure | None:
    """REM density (REMs per minute of REM sleep) per REM period."""
    periods = analysis.rem_periods
    if periods is None or periods.empty:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 2.6))
    ax.bar(periods["period"].astype(str), periods["density"], color=STAGE_COLORS["R"])
    for _, p in periods.iterrows():
        ax.text(str(int(p["period"])), (p["density"] if np.isfinite(p["density"]) else 0) + 0.02,
                f"{int(p['n_rems'])} REMs\n{p['rem_minutes']:.1f} min", ha="center", va="bottom", fontsize=7)
    ax.set_xlabel("REM period")
    ax.set_ylabel("REM density (REMs/min)")
    top = np.nanmax(periods["density"].to_numpy()) if periods["density"].notna().any() else 1.0
    ax.set_ylim(0, max(1.0, top * 1.4))
    fig.tight_layout()
    caption = ("REM density per REM period: rapid eye movements per minute of REM sleep. REM periods are "
               "REM runs merged across gaps shorter than 15 min (Feinberg & Floyd 1979).")
    return ReportFigure("rem_density", "REM density per REM period", caption, fig)


_ROWS = [
    ("Design", ("design_state", "design_start", "design_end", "state", "mark")),
    ("Cues", ("cue", "cue_played", "alarm")),
    ("Refused cues", ("cue_refused",)),
    ("Dreamer signals", ("lrlr", "message", "emg_code", "yes_no", "count", "answer", "eye_morse",
                         "emg_morse")),
    ("Messages (relay)", ("relay_sent", "relay_delivered", "relay_ack", "relay_in", "operator_message")),
    ("Arousals", ("arousal", "wake")),
    ("REMs", ("rem",)),
    ("Notes", ("note", "recording_warning")),
]
_MARKERS = {"relay_sent": ">", "relay_delivered": "s", "relay_ack": "*", "cue_refused": "x"}


def timeline_figure(rec: RecordingData, analysis: Analysis) -> ReportFigure:
    """Events over the night, one row per kind, over the hypnogram's colour band."""
    plt = _plt()
    scale, xlabel = time_axis(rec.duration)
    events = analysis.timeline_events
    rows = [(name, kinds) for name, kinds in _ROWS if any(e.trial_type in kinds for e in events)]
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.38 * (len(rows) + 1)))
    hyp = analysis.hypnogram
    for o, s in zip(hyp.onsets, hyp.stages, strict=True):
        ax.axvspan(o / scale, (o + hyp.epoch_sec) / scale, ymin=0, ymax=1 / (len(rows) + 1),
                   color=STAGE_COLORS.get(str(s), "#BBBBBB"), lw=0)
    for i, (_name, kinds) in enumerate(rows, start=1):
        sel = [e for e in events if e.trial_type in kinds]
        for kind in sorted({e.trial_type for e in sel}):
            t = np.array([e.onset for e in sel if e.trial_type == kind]) / scale
            ax.plot(t, np.full(t.size, i), _MARKERS.get(kind, "|"), ms=9 if kind != "rem" else 6,
                    color="#000000" if kind != "cue_refused" else "#D55E00", mew=1.4)
    ax.set_yticks([0.5 * 0 + 0] + list(range(1, len(rows) + 1)), ["Stage"] + [r[0] for r in rows])
    ax.set_ylim(-0.5, len(rows) + 0.6)
    ax.set_xlim(0, rec.duration / scale)
    ax.set_xlabel(xlabel)
    handles = [plt.Rectangle((0, 0), 1, 1, color=STAGE_COLORS[s]) for s in STAGES]
    ax.legend(handles, [_STAGE_LABEL[s] for s in STAGES], loc="upper left", bbox_to_anchor=(1.0, 1.0),
              frameon=False, fontsize=8, title="Stage")
    fig.tight_layout()
    caption = ("Timeline of the night: design-runtime events, cues (× refused by the safety layer), "
               "signals the dreamer sent (eye and EMG codes, decoded messages), relayed messages (▶ sent, "
               "■ delivered, ★ acknowledged), arousals, rapid eye movements and notes; the bottom band is "
               "the hypnogram.")
    return ReportFigure("timeline", "Timeline of cues, signals and messages", caption, fig)


def confusion_figure(analysis: Analysis) -> ReportFigure | None:
    """Confusion matrix of dreamlink against the expert (row-normalised, counts annotated)."""
    if analysis.agreement is None:
        return None
    plt = _plt()
    cm = analysis.agreement.confusion
    counts = cm.to_numpy().astype(float)
    rows = counts.sum(axis=1, keepdims=True)
    frac = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    im = ax.imshow(frac, cmap="Greys", vmin=0, vmax=1)
    labels = [_STAGE_LABEL.get(str(s), str(s)) for s in cm.columns]
    ax.set_xticks(range(len(labels)), labels)
    ax.set_yticks(range(len(labels)), [_STAGE_LABEL.get(str(s), str(s)) for s in cm.index])
    for (r, c), n in np.ndenumerate(counts):
        ax.text(c, r, f"{int(n)}", ha="center", va="center", fontsize=8,
                color="white" if frac[r, c] > 0.5 else "black")
    ax.set_xlabel("dreamlink")
    ax.set_ylabel("Expert")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04).set_label("Fraction of expert epochs")
    fig.tight_layout()
    caption = ("Confusion matrix (epochs): rows expert stage, columns dreamlink; shading = fraction of "
               "the row.")
    return ReportFigure("confusion", "Agreement with the expert", caption, fig)
