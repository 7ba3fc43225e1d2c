"""``dreamlink recover DIR``: finalise an interrupted recording folder into a valid EDF+."""

from __future__ import annotations

import click


@click.command(name="recover")
@click.argument("folder", type=click.Path())
@click.option("--bids/--no-bids", default=None,
              help="(Re)write the BIDS layout (default: as configured when the recording started).")
def command(folder: str, bids: bool | None) -> None:
    """Finalise the recording folder FOLDER after a crash, power cut or full disk.

    Cuts off the torn last data record (< 1 s), sets the EDF+ header's record count, writes every
    logged event as an EDF+ annotation and rewrites events.tsv and the BIDS layout. Safe to run
    twice; a cleanly finished folder is left as it is.

    \b
    Example:
      dreamlink recover night1
    """
    from dreamlink.record.recover import recover

    summary = recover(folder, bids=bids)
    for line in summary.lines():
        click.echo(line)
