"""The morning report: a self-contained HTML file and a PDF for one recording.

Use :func:`make_report`; the parts are :mod:`~dreamlink.report.data` (loading and numbers),
:mod:`~dreamlink.report.figures` (matplotlib figures) and :mod:`~dreamlink.report.render` (HTML, PDF).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dreamlink.errors import InputFileError
from dreamlink.report.data import Analysis, RecordingData, analyse, load_recording


@dataclass
class ReportResult:
    """Files written and what they rest on."""

    html_path: Path
    pdf_path: Path
    analysis: Analysis
    recording: RecordingData
    notes: list[str] = field(default_factory=list)


def make_report(
    target: str | Path,
    out: str | Path,
    expert: str | Path | None = None,
    engine: str = "dreamlink",
    detect: bool = True,
    save_hypnogram: bool = True,
) -> ReportResult:
    """Write ``out`` (HTML) and the PDF next to it for a recording folder or an EDF/BDF/FIF file.

    Parameters
    ----------
    target : str or Path
        A dreamlink recording folder or a plain recording file.
    out : str or Path
        The ``.html`` file to write; the PDF gets the same name with ``.pdf``.
    expert : str or Path | None
        An expert hypnogram (any format :func:`dreamlink.io.hypnogram_formats.read_hypnogram` reads)
        to overlay and compare with.
    engine : {"dreamlink", "yasa"}
        Staging engine, used when the recording holds no hypnogram.
    detect : bool
        Detect REMs and arousals offline when the recording has none logged.
    save_hypnogram : bool
        Store the staged hypnogram as ``hypnogram.csv`` in a recording folder that had none.

    Raises
    ------
    InputFileError
        Missing or unreadable recording, or an output path that is not ``.html``.
    """
    from dreamlink.report import figures as figs
    from dreamlink.report.render import write_html, write_pdf

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputFileError(f"--out must name an .html file (the PDF is written next to it), got {out}")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputFileError(f"cannot create the folder of {out}: {err.strerror}") from err
    rec = load_recording(target)
    analysis = analyse(rec, expert=expert, engine=engine, detect=detect)
    if save_hypnogram and rec.manifest is not None and rec.hypnogram is None and analysis.expert is not \
            analysis.hypnogram:
        from dreamlink.io.hypnogram_formats import write_hypnogram_csv
        from dreamlink.record.folder import RecordingFolder

        try:
            write_hypnogram_csv(analysis.hypnogram, RecordingFolder(rec.path).hypnogram_path)
        except OSError:
            analysis.notes.append("could not store hypnogram.csv in the (read-only?) recording folder")
    figures = {}
    figures["hypnogram"] = figs.hypnogram_figure(analysis, rec.duration)
    conf = figs.confusion_figure(analysis)
    if conf is not None:
        figures["confusion"] = conf
    eeg = analysis.staging_channels.get("eeg") or rec.pick("eeg", ("C4", "C3", "Cz", "F4", "F3"))
    if eeg is not None:
        figures["spectrogram"] = figs.spectrogram_figure(rec, analysis, eeg)
    rem = figs.rem_density_figure(analysis)
    if rem is not None:
        figures["rem_density"] = rem
    figures["timeline"] = figs.timeline_figure(rec, analysis)
    html_path = write_html(out, rec, analysis, figures)
    pdf_path = write_pdf(out.with_suffix(".pdf"), rec, analysis, figures)
    return ReportResult(html_path, pdf_path, analysis, rec, analysis.notes)


__all__ = ["ReportResult", "make_report"]
