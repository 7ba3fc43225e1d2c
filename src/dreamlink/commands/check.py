"""``dreamlink check DESIGN...``: validate dream-design files and print every problem, located."""

from __future__ import annotations

import sys

import click

from dreamlink.designs.validate import check_file


@click.command(name="check")
@click.argument("designs", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. a state that idles forever) as errors.")
def command(designs: tuple[str, ...], strict: bool) -> None:
    """Validate dream-design files (YAML).

    Prints one line per problem as FILE:LINE:COL: FIELD: MESSAGE (did you mean ...?) and exits with
    status 1 if any design has an error, 0 if all are valid. The design language is described by the
    published JSON Schema src/dreamlink/designs/design.schema.json.

    \b
    Example:
      dreamlink check examples/designs/konkoly_dialogue.yaml
    """
    failed = False
    for path in designs:
        issues = check_file(path)
        errors = [i for i in issues if i.severity == "error" or strict]
        for issue in issues:
            click.echo(str(issue), err=True)
        if errors:
            failed = True
            click.echo(f"{path}: {len(errors)} error(s)", err=True)
        else:
            warn = len(issues)
            click.echo(f"{path}: ok" + (f" ({warn} warning(s))" if warn else ""))
    if failed:
        sys.exit(1)
