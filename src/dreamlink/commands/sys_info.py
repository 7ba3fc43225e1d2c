"""``dreamlink sys-info``: versions, and the devices and streams this machine can see.

Each probe is a small function returning lines of text; a probe that fails prints what failed and why
instead of stopping the others (a missing sound card or library must not hide the rest).
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from collections.abc import Callable
from importlib import metadata

import click

#: Distributions whose versions are printed (import name in parentheses when it differs).
PACKAGES: tuple[str, ...] = (
    "numpy", "scipy", "pandas", "mne", "yasa", "lightgbm", "scikit-learn", "edfio", "mne-bids",
    "brainflow", "mne-lsl", "pylsl", "click", "tqdm", "matplotlib", "pyyaml", "jsonschema", "pyserial",
    "sounddevice",
)
#: Session-server dependencies, printed only when installed.
OPTIONAL_PACKAGES: tuple[str, ...] = (
    "starlette", "fastapi", "uvicorn", "websockets", "httpx", "sqlalchemy", "itsdangerous", "argon2-cffi",
    "bcrypt", "passlib", "dask", "distributed", "mne-realtime",
)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def versions() -> list[str]:
    """Python, dreamlink and dependency versions."""
    from dreamlink import __version__

    lines = [f"python        {sys.version.split()[0]} ({platform.platform()})",
             f"dreamlink     {__version__}"]
    for dist in PACKAGES:
        lines.append(f"{dist:<13} {_version(dist) or 'not installed'}")
    for dist in OPTIONAL_PACKAGES:
        ver = _version(dist)
        if ver:
            lines.append(f"{dist:<13} {ver}")
    return lines


def liblsl_info() -> list[str]:
    """liblsl versions seen by mne-lsl (bundled) and by pylsl."""
    lines = []
    try:
        from mne_lsl.lsl import library_version

        lines.append(f"liblsl (mne-lsl) {library_version() / 100:.2f}")
    except Exception as err:  # noqa: BLE001 - a probe reports, it does not stop sys-info
        lines.append(f"liblsl (mne-lsl) unavailable: {err}")
    lines.extend(pylsl_status())
    return lines


def pylsl_status() -> list[str]:
    """Whether pylsl finds a liblsl (it may not: pylsl does not always ship one)."""
    try:
        import pylsl

        where = getattr(pylsl.lib, "libpath", "")
        return [f"liblsl (pylsl)   {pylsl.library_version() / 100:.2f}" + (f" ({where})" if where else "")]
    except Exception as err:  # noqa: BLE001 - pylsl raises RuntimeError when liblsl is missing
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return [f"liblsl (pylsl)   not found ({first}); install liblsl or use mne-lsl (bundled)"]


def brainflow_boards() -> list[str]:
    """BrainFlow board ids known, and the ones usable without hardware."""
    from brainflow.board_shim import BoardIds, BoardShim

    ids = sorted(int(b.value) for b in BoardIds)
    synthetic = BoardShim.get_board_descr(int(BoardIds.SYNTHETIC_BOARD))
    return [
        f"brainflow     {len(ids)} board ids ({ids[0]}..{ids[-1]}); without hardware: "
        f"-1 synthetic ({len(synthetic['eeg_channels'])} ch, {synthetic['sampling_rate']} Hz), "
        f"-3 playback file (file=...,master_board=ID)"
    ]


def serial_ports() -> list[str]:
    """Serial ports (pyserial ``list_ports``)."""
    from serial.tools import list_ports

    ports = list(list_ports.comports())
    if not ports:
        return ["serial ports  none"]
    return ["serial ports"] + [f"  {p.device}  {p.description}" for p in ports]


def sound_devices() -> list[str]:
    """Sound output devices (sounddevice / PortAudio)."""
    try:
        import sounddevice as sd

        devices = sd.query_devices()
    except Exception as err:  # noqa: BLE001 - PortAudio missing or no device at all
        return [f"sound         no sound card usable ({str(err).splitlines()[0] if str(err) else err!r})"]
    outputs = [d for d in devices if d.get("max_output_channels", 0) > 0]
    if not outputs:
        return ["sound         no sound card (no output device); audio cues can only be written to WAV"]
    return ["sound outputs"] + [
        f"  {d['index']}: {d['name']} ({d['max_output_channels']} ch, {d['default_samplerate']:g} Hz)"
        for d in outputs
    ]


def lsl_streams(timeout: float = 1.0) -> list[str]:
    """LSL streams visible now (resolved for ``timeout`` s)."""
    from mne_lsl.lsl import resolve_streams

    streams = resolve_streams(timeout=timeout)
    if not streams:
        return [f"lsl streams   none visible (looked for {timeout:g} s)"]
    return ["lsl streams"] + [
        f"  {s.name}  type={s.stype}  {s.n_channels} ch  {s.sfreq:g} Hz  on {s.hostname}" for s in streams
    ]


def espeak() -> list[str]:
    """espeak-ng (speech cues) presence and version."""
    path = shutil.which("espeak-ng")
    if path is None:
        return ["espeak-ng     not found (apt-get install espeak-ng) — spoken cues unavailable"]
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=5).stdout
        return [f"espeak-ng     {out.strip().splitlines()[0] if out.strip() else 'present'} ({path})"]
    except (OSError, subprocess.SubprocessError) as err:
        return [f"espeak-ng     present at {path} but did not run ({err})"]


def _probe(fn: Callable[[], list[str]], label: str) -> list[str]:
    try:
        return fn()
    except Exception as err:  # noqa: BLE001 - a failing probe must not hide the others
        return [f"{label:<13} probe failed: {type(err).__name__}: {err}"]


def _quiet_lsl_unless_verbose() -> None:
    """Keep liblsl's own log lines off the terminal unless the user asked for -v."""
    import logging

    if logging.getLogger("dreamlink").getEffectiveLevel() > logging.INFO:
        from dreamlink.sources.lsl import quiet_liblsl

        quiet_liblsl()


@click.command("sys-info")
@click.option("--lsl-timeout", type=float, default=1.0, show_default=True,
              help="Seconds spent looking for LSL streams on the network.")
def command(lsl_timeout: float) -> None:
    """Print versions of dreamlink and its dependencies, and the devices and streams visible now.

    \b
    Example:
      dreamlink sys-info
      dreamlink sys-info --lsl-timeout 3    # look longer for LSL streams
    """
    _quiet_lsl_unless_verbose()
    sections: list[tuple[str, Callable[[], list[str]]]] = [
        ("versions", versions),
        ("liblsl", liblsl_info),
        ("brainflow", brainflow_boards),
        ("serial", serial_ports),
        ("sound", sound_devices),
        ("lsl", lambda: lsl_streams(lsl_timeout)),
        ("espeak-ng", espeak),
    ]
    for label, fn in sections:
        for line in _probe(fn, label):
            click.echo(line)
