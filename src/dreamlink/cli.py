"""The ``dreamlink`` command line.

One module per command under :mod:`dreamlink.commands`; this module only knows their names and
loads each on demand, so ``dreamlink --help`` stays fast and a command whose optional dependencies
are missing does not break the others. Every :class:`~dreamlink.errors.DreamlinkError` becomes one
line on stderr and a non-zero exit; a traceback reaching a user is a bug.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Any

import click

from dreamlink import __version__
from dreamlink.errors import DreamlinkError

#: command name -> (module under dreamlink.commands, one-line help shown in `dreamlink --help`).
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "Run the guided demo on a simulated night (what `make demo` runs)."),
    "sys-info": ("sys_info", "Print versions of dreamlink and its dependencies, and visible devices."),
    "simulate": ("simulate", "Write a simulated night (EDF+) with its true hypnogram and injections."),
    "play": ("play", "Stream a source and report channels, rate, duration and sample count."),
    "record": ("record", "Record a source for a duration into a recording folder."),
    "recover": ("recover", "Finalise an interrupted recording into a valid EDF+."),
    "stage": ("stage", "Stage a recording (offline or causal) into a 30-s hypnogram CSV."),
    "detect": ("detect", "Detect eye signals, messages, REMs and arousals into an events table."),
    "cue": ("cue", "Render a cue (speech, tones, Morse) to a WAV or on/off CSV."),
    "check": ("check", "Validate a dream-design file."),
    "rehearse": ("rehearse", "Run a dream design against a recorded or simulated night."),
    "report": ("report", "Write the morning report (HTML) of a recording."),
    "serve": ("serve", "Run the session server (REST + WebSocket + dashboard)."),
    "user": ("user", "Manage user accounts of the session server."),
    "rig": ("rig", "Run one dreamer's pipeline and connect it to a session server."),
    "batch": ("batch", "Process a whole dataset of recordings in parallel (Dask)."),
}


class LazyGroup(click.Group):
    """A click group that imports each command's module only when it is used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if self._load(name) is not None]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        module_name, _ = entry
        try:
            module = importlib.import_module(f"dreamlink.commands.{module_name}")
        except ModuleNotFoundError as err:
            if err.name == f"dreamlink.commands.{module_name}":
                return None
            raise
        command = module.command
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dreamlink")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """dreamlink: talk with people while they sleep, and let sleepers talk to each other.

    \b
    Sources are named by one string everywhere:
      sim[:seed=N,hours=H]                 the built-in simulated night (no hardware needed)
      file:PATH                            an EDF / EDF+ / BDF / FIF recording played back
      brainflow:BOARD_ID[:key=value,...]   a BrainFlow board (-1 = synthetic board)
      lsl:STREAM_NAME                      a Lab Streaming Layer stream on the network

    \b
    A first night, without hardware:
      dreamlink simulate --hours 8 --seed 1 --out night.edf
      dreamlink play file:night.edf --speed max
      dreamlink stage night.edf --eeg C4-M1 --out hypno.csv

    Run `dreamlink COMMAND --help` for each command's options and examples.
    """
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    if verbose == 0:
        from dreamlink.sources.lsl import quiet_liblsl

        quiet_liblsl()  # liblsl's INFO lines on stderr would drown the one-line messages


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: run the CLI, turning user errors into one line and exit code 2."""
    try:
        return cli.main(args=argv, prog_name="dreamlink", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except DreamlinkError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
