"""``dreamlink rehearse DESIGN --on FILE|--simulate``: run a design against a night, write its timeline."""

from __future__ import annotations

import click

from dreamlink.errors import DreamlinkError


@click.command(name="rehearse")
@click.argument("design", type=click.Path(dir_okay=False))
@click.option("--on", "on_file", type=click.Path(dir_okay=False), default=None,
              help="A recorded night (EDF/EDF+/BDF/FIF). Staged with YASA unless it has stage:X annotations "
                   "or --hypnogram is given; its EDF+ annotations (lrlr, message:HI...) are events.")
@click.option("--simulate", is_flag=True, help="Rehearse on a simulated night (ground truth, no signal).")
@click.option("--seed", type=int, default=0, show_default=True, help="Simulator seed (partner: seed+1).")
@click.option("--hours", type=float, default=8.0, show_default=True, help="Length of the simulated night.")
@click.option("--inject", "injections", multiple=True,
              help="Injection spec for the simulated night (e.g. lrlr@rem1+60, count:4@2000); repeatable. "
                   "Default: LRLR, a count of 4, an LRLR pair 12 s apart and 'HI' in eye-Morse in each REM "
                   "period of at least 5.5 min.")
@click.option("--hypnogram", type=click.Path(dir_okay=False), default=None,
              help="Hypnogram of the --on recording (DREAMS, YASA, Sleep-EDF, DYNAM-O or dreamlink CSV).")
@click.option("--detect", is_flag=True,
              help="With --on: also run dreamlink's detectors (LRLR, messages, arousals) on the EOG/EMG.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True,
              help="Folder for timeline.csv and timeline.png.")
def command(design: str, on_file: str | None, simulate: bool, seed: int, hours: float,
            injections: tuple[str, ...], hypnogram: str | None, detect: bool, out_dir: str) -> None:
    """Run DESIGN against a recorded or simulated night as fast as possible.

    Writes OUT/timeline.csv (every trigger and action with its time, state and stage) and
    OUT/timeline.png (them over the hypnogram), and prints the counts.

    \b
    Examples:
      dreamlink rehearse examples/designs/tmr_n3.yaml --simulate --seed 1 --out rehearsal/
      dreamlink rehearse examples/designs/carr_tlr.yaml --on night.edf --out rehearsal/
      dreamlink rehearse examples/designs/konkoly_dialogue.yaml --on night.edf --detect --out r/
    """
    from dreamlink.designs.rehearse import (
        night_from_recording,
        night_from_simulation,
        rehearse,
        write_outputs,
    )
    from dreamlink.designs.validate import load_design

    if (on_file is None) == (not simulate):
        raise DreamlinkError("give exactly one night: --on FILE or --simulate")
    if detect and simulate:
        raise DreamlinkError("--detect works with --on FILE (a simulated night is rehearsed on its "
                             "ground truth)")
    if simulate and not hours > 0:
        raise DreamlinkError(f"--hours must be positive, got {hours}")
    loaded = load_design(design)
    if simulate:
        night = night_from_simulation(seed, hours, list(injections) if injections else None)
        partner = night_from_simulation(seed + 1, hours, list(injections) if injections else None) \
            if loaded.linked else None
    else:
        night = night_from_recording(on_file, hypnogram, detect=detect)  # type: ignore[arg-type]
        partner = None
    result = rehearse(loaded, night, partner)
    csv_path, png_path = write_outputs(result, out_dir)
    for line in result.summary_lines():
        click.echo(line)
    click.echo(f"wrote {csv_path} and {png_path}")
