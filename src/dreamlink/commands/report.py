"""``dreamlink report DIR_OR_FILE [--expert HYPNO] --out report.html``: the morning report."""

from __future__ import annotations

import click


@click.command(name="report")
@click.argument("target", type=click.Path())
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), metavar="REPORT.html",
              help="HTML file to write; the PDF is written next to it (same name, .pdf).")
@click.option("--expert", type=click.Path(), default=None, metavar="HYPNO",
              help="Expert hypnogram to overlay and compare with (DREAMS, YASA, Sleep-EDF, DYNAM-O, CSV).")
@click.option("--engine", type=click.Choice(["dreamlink", "yasa"]), default="dreamlink", show_default=True,
              help="Staging engine when the recording holds no hypnogram.")
@click.option("--no-detect", is_flag=True,
              help="Do not detect REMs and arousals offline when the recording logged none.")
def command(target: str, out: str, expert: str | None, engine: str, no_detect: bool) -> None:
    """Write the morning report of TARGET (a recording folder or an EDF/BDF/FIF file): hypnogram and
    hypnodensity (against an expert's when given), whole-night multitaper spectrogram, AASM sleep
    statistics, REM density per REM period, arousals, the timeline of cues, signals and messages,
    design-runtime states and the dream journal. One self-contained HTML file plus a PDF.

    \b
    Examples:
      dreamlink report night1 --out night1/report.html
      dreamlink report excerpt.edf --expert Hypnogram_excerpt.txt --out excerpt.html
    """
    from dreamlink.report import make_report

    result = make_report(target, out, expert=expert, engine=engine, detect=not no_detect)
    a = result.analysis
    stats = a.stats
    click.echo(f"report: {result.html_path}")
    click.echo(f"pdf:    {result.pdf_path}")
    click.echo(f"hypnogram: {a.hypnogram.n_epochs} epochs, {a.hypnogram_source}")
    click.echo(f"TST {stats['TST']:.1f} min, SE {stats['SE']:.1f} %, WASO {stats['WASO']:.1f} min, "
               f"REM {stats['REM']:.1f} min")
    if a.agreement is not None:
        click.echo(f"agreement with expert: accuracy {100 * a.agreement.accuracy:.1f} %, "
                   f"kappa {a.agreement.kappa:.2f} over {a.agreement.n_epochs} epochs")
    for note in result.notes:
        click.echo(f"note: {note}")
