"""Write the morning report: one self-contained HTML file (PNG figures inlined as base64) and a PDF.

The HTML carries its numbers in machine-readable form as well: each sleep statistic is a table row
``<tr data-stat="TST" data-value="...">`` and the hypnogram is embedded as JSON in
``<script type="application/json" id="dreamlink-hypnogram">``, so that tests and other tools can check
the report against the hypnogram it shows.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import math
from pathlib import Path
from typing import Any

from dreamlink import __version__
from dreamlink.report.data import Analysis, RecordingData
from dreamlink.report.figures import STAGE_COLORS, ReportFigure

#: Sleep statistics: key -> (description, unit).
STAT_INFO: dict[str, tuple[str, str]] = {
    "TIB": ("Time in bed (whole recording)", "min"),
    "SPT": ("Sleep period time: first to last sleep epoch", "min"),
    "TST": ("Total sleep time (N1+N2+N3+REM within the SPT)", "min"),
    "WASO": ("Wake after sleep onset", "min"),
    "SE": ("Sleep efficiency, TST/TIB", "%"),
    "SME": ("Sleep maintenance efficiency, TST/SPT", "%"),
    "SOL": ("Sleep onset latency", "min"),
    "REM_latency": ("REM latency from sleep onset", "min"),
    "W": ("Wake", "min"),
    "N1": ("Stage N1", "min"),
    "N2": ("Stage N2", "min"),
    "N3": ("Stage N3", "min"),
    "REM": ("Stage REM", "min"),
    "NREM": ("NREM (N1+N2+N3)", "min"),
    "%W": ("Wake, share of TIB", "%"),
    "%N1": ("N1, share of TST", "%"),
    "%N2": ("N2, share of TST", "%"),
    "%N3": ("N3, share of TST", "%"),
    "%REM": ("REM, share of TST", "%"),
    "%NREM": ("NREM, share of TST", "%"),
    "Lat_N1": ("Latency to N1 from the start", "min"),
    "Lat_N2": ("Latency to N2 from the start", "min"),
    "Lat_N3": ("Latency to N3 from the start", "min"),
    "Lat_REM": ("Latency to REM from the start", "min"),
}

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;
margin-top:2em}
table{border-collapse:collapse;font-size:.88em;margin:.6em 0}th,td{border:1px solid #ddd;padding:3px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:
tabular-nums}
figure{margin:1em 0}figure img{max-width:100%;height:auto}figcaption{font-size:.85em;color:#444}
.meta td:first-child{font-weight:600}.note{background:#fff8e1;border-left:4px solid #E69F00;padding:.4em .8em;
margin:.4em 0;font-size:.9em}.journal{background:#f5f9ff;border-left:4px solid #0072B2;padding:.6em 1em}
.swatch{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:middle}
"""


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _fmt_num(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _clock(seconds: float) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    tenths = int(round(seconds * 10))
    s, frac = divmod(tenths, 10)
    text = f"{s // 3600:d}:{s // 60 % 60:02d}:{s % 60:02d}"
    return f"{text}.{frac}" if frac else text


def _png(fig: ReportFigure) -> str:
    buf = io.BytesIO()
    fig.figure.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), attrs=None) -> str:
    out = ["<table><thead><tr>", *[f"<th>{_esc(h)}</th>" for h in header], "</tr></thead><tbody>"]
    for i, row in enumerate(rows):
        extra = attrs[i] if attrs else ""
        cells = "".join(f"<td class='num'>{c}</td>" if j in numeric else f"<td>{c}</td>"
                        for j, c in enumerate(row))
        out.append(f"<tr{extra}>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def stats_rows(stats: dict[str, float]) -> list[tuple[str, str, str, float]]:
    """(key, description, formatted value with unit, raw value) for the statistics table."""
    rows = []
    for key in list(STAT_INFO) + [k for k in stats if k not in STAT_INFO]:
        if key not in stats:
            continue
        desc, unit = STAT_INFO.get(key, (key, ""))
        value = stats[key]
        rows.append((key, desc, f"{_fmt_num(value)} {unit}".strip() if _fmt_num(value) != "n/a" else "n/a",
                     value))
    return rows


def _recording_meta(rec: RecordingData) -> list[tuple[str, str]]:
    meas = rec.raw.info.get("meas_date")
    rows = [
        ("Recording", str(rec.path)),
        ("Signal file", rec.signal_path.name),
        ("Start (UTC)", meas.strftime("%Y-%m-%d %H:%M:%S") if meas else "unknown"),
        ("Duration", f"{rec.duration / 60:.1f} min ({_clock(rec.duration)})"),
        ("Channels", ", ".join(f"{n} ({t})" for n, t in rec.ch_types.items())),
        ("Sampling rate", f"{rec.sfreq:g} Hz"),
    ]
    if rec.manifest:
        rows.append(("Source", str(rec.manifest.get("source", ""))))
        rows.append(("State", f"{rec.manifest.get('state')} ({rec.manifest.get('format_reason', '')})"))
    return rows


def write_html(path: Path, rec: RecordingData, analysis: Analysis, figures: dict[str, ReportFigure]) -> Path:
    """Write the self-contained HTML report."""
    parts: list[str] = []
    add = parts.append
    add("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>")
    add(f"<title>dreamlink morning report: {_esc(rec.path.name)}</title><style>{_CSS}</style></head><body>")
    add(f"<h1>Morning report: {_esc(rec.path.name)}</h1>")
    add(f"<p>Generated {_dt.datetime.now(_dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} by dreamlink "
        f"{_esc(__version__)}.</p>")
    add("<table class='meta'>" + "".join(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>"
                                         for k, v in _recording_meta(rec)) + "</table>")
    for note in analysis.notes:
        add(f"<div class='note'>{_esc(note)}</div>")

    def fig(key: str) -> None:
        f = figures.get(key)
        if f is not None:
            add(f"<figure id='fig-{key}'><img alt='{_esc(f.title)}' src='data:image/png;base64,{_png(f)}'>"
                f"<figcaption><b>{_esc(f.title)}.</b> {_esc(f.caption)}</figcaption></figure>")

    add("<h2 id='hypnogram'>Hypnogram and hypnodensity</h2>")
    swatches = " ".join(f"<span class='swatch' style='background:{STAGE_COLORS[s]}'></span>{s}"
                        for s in ("W", "N1", "N2", "N3", "R"))
    add(f"<p>Stages: {swatches}. Source: {_esc(analysis.hypnogram_source)}.</p>")
    fig("hypnogram")
    if analysis.agreement is not None:
        a = analysis.agreement
        rows = [["Epochs compared", f"{a.n_epochs} ({a.minutes:.0f} min)"],
                ["Accuracy", f"{100 * a.accuracy:.1f} %"], ["Cohen's κ", f"{a.kappa:.3f}"],
                ["Macro F1", f"{a.macro_f1:.3f}"]]
        rows += [[f"F1 {s}", _fmt_num(v, 3)] for s, v in a.f1.items()]
        add("<h3>Agreement with the expert hypnogram</h3>")
        add(f"<div id='agreement'>{_table(['Measure', 'Value'], rows)}</div>")
        fig("confusion")

    add("<h2 id='sleep-statistics'>Sleep statistics (AASM)</h2>")
    srows = stats_rows(analysis.stats)
    attrs = [f" data-stat='{_esc(k)}' data-value='{'nan' if not math.isfinite(v) else repr(float(v))}'"
             for k, _, _, v in srows]
    add("<div id='sleep-stats'>" + _table(["Statistic", "Definition", "Value"],
                                            [[_esc(k), _esc(d), _esc(f)] for k, d, f, _ in srows], {2},
                                            attrs) + "</div>")
    add("<p>Durations in minutes of 30-s epochs; percentages of stages are of total sleep time (AASM "
        "manual v2.4; definitions as in YASA's <code>sleep_statistics</code>).</p>")

    add("<h2 id='spectrogram'>Whole-night spectrogram</h2>")
    fig("spectrogram")

    add("<h2 id='rem'>REM periods and REM density</h2>")
    periods = analysis.rem_periods
    if periods is None or periods.empty:
        add("<p>No REM sleep in this recording.</p>")
    else:
        add(_table(["Period", "Start", "End", "REM sleep (min)", "REMs", "Density (REMs/min)"],
                   [[str(int(p.period)), _clock(p.onset), _clock(p.end), _fmt_num(p.rem_minutes),
                     str(int(p.n_rems)), _fmt_num(p.density, 2)] for p in periods.itertuples()],
                   {3, 4, 5}))
        fig("rem_density")

    add("<h2 id='arousals'>Arousals</h2>")
    tst_h = analysis.stats.get("TST", float("nan")) / 60
    ar = [e for e in analysis.arousals if e.trial_type == "arousal"]
    index = len(ar) / tst_h if tst_h and math.isfinite(tst_h) and tst_h > 0 else float("nan")
    add(f"<p>{len(ar)} arousal(s); arousal index {_fmt_num(index)} per hour of sleep; "
        f"{sum(e.trial_type == 'wake' for e in analysis.arousals)} awakening event(s).</p>")
    if analysis.arousals:
        add(_table(["Time", "Kind", "Duration (s)", "Stage", "Cause", "Source"],
                   [[_clock(e.onset), _esc(e.trial_type), _fmt_num(e.duration),
                     _esc(analysis.hypnogram.stage_at(e.onset)), _esc(e.value), _esc(e.source)]
                    for e in analysis.arousals], {2}))

    add("<h2 id='timeline'>Cues, signals and messages</h2>")
    fig("timeline")
    tl = analysis.timeline
    if tl is None or tl.empty:
        add("<p>No cues, signals or messages were logged in this recording.</p>")
    else:
        add("<div id='timeline-table'>" + _table(
            ["Time", "Kind", "From", "To", "What", "Requested at", "Delivered at", "Acknowledged"],
            [[_clock(r.time), _esc(r.kind), _esc(r.sender), _esc(r.to), _esc(r.what),
              _clock(r.requested), _clock(r.delivered), _esc(r.acknowledged)] for r in tl.itertuples()],
        ) + "</div>")
        add("<p>Times are h:mm:ss from the recording start. For cues, <i>requested at</i> is when the design "
            "asked for the cue and <i>time</i> when it was played.</p>")

    add("<h2 id='design'>Dream-design runtime</h2>")
    ds = analysis.design
    if ds is None or ds.empty:
        add("<p>No dream design ran during this recording.</p>")
    else:
        add(_table(["Time", "Event", "State", "Detail"],
                   [[_clock(r.time), _esc(r.kind), _esc(r.state), _esc(r.detail)] for r in ds.itertuples()]))

    add("<h2 id='journal'>Dream journal</h2>")
    if not rec.journal:
        add("<p>No dream report was written for this recording.</p>")
    for entry in rec.journal:
        add("<div class='journal'>"
            f"<p><b>{_esc(entry.author.capitalize())}</b>, written {_esc(entry.written_at)}"
            + (f", awakening at {_clock(entry.awakening)}" if entry.awakening is not None else "") + "</p>"
            f"<p>{_esc(entry.text)}</p>"
            f"<p>Cue appeared in the dream: <b>{_esc(entry.cue_appeared)}</b>"
            + (f" ({_esc(entry.cue_description)})" if entry.cue_description else "")
            + f". Lucidity: <b>{entry.lucidity}/4</b> ({_esc(entry.lucidity_label)}).</p></div>")

    hyp = analysis.hypnogram
    payload = {"epoch_sec": hyp.epoch_sec, "start": hyp.start, "stages": [str(s) for s in hyp.stages],
               "source": analysis.hypnogram_source}
    add("<script type='application/json' id='dreamlink-hypnogram'>"
        + json.dumps(payload).replace("</", "<\\/") + "</script>")
    add("</body></html>")
    path.write_text("".join(parts), encoding="utf-8")
    return path


def _text_page(pdf: Any, title: str, lines: list[str]) -> None:
    import matplotlib.pyplot as plt

    per_page = 58
    for start in range(0, max(len(lines), 1), per_page):
        fig = plt.figure(figsize=(8.27, 11.69))
        fig.text(0.06, 0.96, title + (" (continued)" if start else ""), fontsize=13, weight="bold", va="top")
        fig.text(0.06, 0.93, "\n".join(lines[start:start + per_page]), fontsize=7.5, va="top",
                 family="monospace")
        pdf.savefig(fig)
        plt.close(fig)


def write_pdf(path: Path, rec: RecordingData, analysis: Analysis, figures: dict[str, ReportFigure]) -> Path:
    """Write the PDF report: summary and statistics, every figure with its caption, tables, journal."""
    import textwrap

    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(path) as pdf:
        lines = [f"{k:<14} {v}" for k, v in _recording_meta(rec)]
        lines += ["", *[textwrap.fill("NOTE: " + n, 110) for n in analysis.notes], "",
                  f"Hypnogram: {analysis.hypnogram_source}", "", "Sleep statistics (AASM)"]
        lines += [f"  {k:<12} {f:>12}   {d}" for k, d, f, _ in stats_rows(analysis.stats)]
        if analysis.agreement is not None:
            a = analysis.agreement
            lines += ["", f"Agreement with expert: accuracy {100 * a.accuracy:.1f} %, kappa {a.kappa:.3f}, "
                          f"macro-F1 {a.macro_f1:.3f} over {a.n_epochs} epochs"]
        _text_page(pdf, f"dreamlink morning report: {rec.path.name}", lines)
        for f in figures.values():
            fig = f.figure
            fig.suptitle(f.title, fontsize=11, weight="bold", y=1.02)
            fig.text(0.01, -0.02, textwrap.fill(f.caption, 150), fontsize=7, va="top")
            pdf.savefig(fig, bbox_inches="tight")
        rows = []
        if analysis.rem_periods is not None and not analysis.rem_periods.empty:
            head = f"  {'#':<3}{'start':>9}{'end':>9}{'REM min':>9}{'REMs':>6}{'REMs/min':>10}"
            rows += ["REM periods", head]
            rows += [f"  {int(p.period):<3}{_clock(p.onset):>9}{_clock(p.end):>9}{p.rem_minutes:>9.1f}"
                     f"{int(p.n_rems):>6}{_fmt_num(p.density, 2):>10}"
                     for p in analysis.rem_periods.itertuples()]
            rows.append("")
        rows += [f"Arousals: {sum(e.trial_type == 'arousal' for e in analysis.arousals)}"]
        rows += [f"  {_clock(e.onset):>8}  {e.trial_type:<8} {e.duration:5.1f} s  {e.value or ''}"
                 for e in analysis.arousals[:40]]
        tl = analysis.timeline
        rows += ["", "Cues, signals and messages"]
        if tl is None or tl.empty:
            rows.append("  none logged")
        else:
            rows += [f"  {_clock(r.time):>8}  {r.kind:<16} {str(r.sender)[:14]:<14} "
                     f"{str(r.what)[:40]:<40} ack: {r.acknowledged}" for r in tl.itertuples()]
        ds = analysis.design
        if ds is not None and not ds.empty:
            rows += ["", "Dream-design runtime"]
            rows += [f"  {_clock(r.time):>8}  {r.kind:<14} {r.state:<16} {str(r.detail)[:50]}"
                     for r in ds.itertuples()]
        rows += ["", "Dream journal"]
        if not rec.journal:
            rows.append("  no entry")
        for e in rec.journal:
            rows += [f"  {e.author}, {e.written_at}: cue appeared: {e.cue_appeared}; lucidity "
                     f"{e.lucidity}/4 ({e.lucidity_label})"]
            rows += ["    " + line for line in textwrap.wrap(e.text, 100)]
        _text_page(pdf, "Events and dream journal", rows)
        info = pdf.infodict()
        info["Title"] = f"dreamlink morning report: {rec.path.name}"
        info["Creator"] = f"dreamlink {__version__}"
    for f in figures.values():
        plt.close(f.figure)
    return path

