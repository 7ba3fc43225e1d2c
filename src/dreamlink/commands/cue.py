"""``dreamlink cue``: render a cue exactly as it would be delivered, to a WAV or an on/off CSV."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from dreamlink.cues.base import DEFAULT_FREQ_HZ, DEFAULT_UNIT_MS, KIND_MODALITY, Cue
from dreamlink.cues.safety import DEFAULT_REFERENCE_DBFS, Calibration, SafetyGovernor
from dreamlink.cues.scheduler import CueScheduler
from dreamlink.cues.sinks import CsvSink, WavSink
from dreamlink.errors import ConfigError

_EXT = {"audio": ".wav", "light": ".csv", "vibration": ".csv"}


@click.command(
    "cue",
    epilog="""\b
Examples:
  dreamlink cue "you are dreaming" --as speech --level-db 10 --out prompt.wav
  dreamlink cue "SOS" --as morse-audio --unit-ms 80 --out sos.wav
  dreamlink cue "3" --as tones --out three_beeps.wav
  dreamlink cue "440 660 880" --as tones --out melody.wav
  dreamlink cue "LUCID" --as morse-light --unit-ms 250 --out lucid_flashes.csv
  dreamlink cue "4" --as buzzes --out four_buzzes.csv
""",
)
@click.argument("text")
@click.option(
    "--as",
    "kind",
    type=click.Choice(list(KIND_MODALITY)),
    default="speech",
    show_default=True,
    help='How to present TEXT. tones/flashes/buzzes take a count ("3"); tones also take '
    'frequencies ("440 660:200 880", Hz[:ms]); wav takes a WAV file path.',
)
@click.option(
    "--unit-ms",
    type=float,
    default=DEFAULT_UNIT_MS,
    show_default=True,
    help="Morse dot length in ms (dash 3, letter gap 3, word gap 7 units; 100 ms = 12 wpm); "
    "counted pulses are on 2 units, off 3.",
)
@click.option(
    "--level-db",
    type=float,
    default=0.0,
    show_default=True,
    help="Level in dB re the sleeper's calibrated threshold (--calibration). Without calibration 0 dB is "
    f"the default reference: audio {DEFAULT_REFERENCE_DBFS['audio']:g} dBFS RMS, light/vibration "
    f"{DEFAULT_REFERENCE_DBFS['light']:g} dB of full drive. Levels above the hard cap are refused.",
)
@click.option(
    "--freq-hz", type=float, default=DEFAULT_FREQ_HZ, show_default=True, help="Beep frequency (Hz)."
)
@click.option("--voice", default="en", show_default=True, help="espeak-ng voice for speech.")
@click.option("--rate-wpm", type=int, default=150, show_default=True, help="Speaking rate (words/min).")
@click.option(
    "--calibration",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help='JSON file of the sleeper\'s thresholds ({"thresholds_dbfs": {"audio": -52.0}}).',
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Output file: .wav for audio cues, .csv (on/off times) for light and vibration.",
)
@click.option("--play", is_flag=True, help="Also play audio cues on the sound card.")
@click.option(
    "--serial", "serial_port", default=None, help="Also send light/vibration cues to this serial port."
)
def command(
    text: str,
    kind: str,
    unit_ms: float,
    level_db: float,
    freq_hz: float,
    voice: str,
    rate_wpm: int,
    calibration: Path | None,
    out: Path,
    play: bool,
    serial_port: str | None,
) -> None:
    """Render TEXT as a cue (speech, tones, Morse beeps/flashes/buzzes) exactly as it would be delivered.

    Audio cues go to a WAV (44.1 kHz, 16-bit); light and vibration cues to a CSV of on/off times
    (on_sec, off_sec, modality, level_255, ...). The level is checked by the same safety layer as in a
    session: a level above the hard cap is refused with an error and nothing is written.
    """
    modality = KIND_MODALITY[kind]
    safety_log = logging.getLogger("dreamlink.cues.safety")
    old_level = safety_log.level
    if not logging.getLogger("dreamlink").isEnabledFor(logging.INFO):
        safety_log.setLevel(logging.ERROR)  # a refusal is printed once, as `error: refused: ...`
    try:
        _render(
            text,
            kind,
            modality,
            unit_ms,
            level_db,
            freq_hz,
            voice,
            rate_wpm,
            calibration,
            out,
            play,
            serial_port,
        )
    finally:
        safety_log.setLevel(old_level)


def _render(
    text: str,
    kind: str,
    modality: str,
    unit_ms: float,
    level_db: float,
    freq_hz: float,
    voice: str,
    rate_wpm: int,
    calibration: Path | None,
    out: Path,
    play: bool,
    serial_port: str | None,
) -> None:
    if out.suffix.lower() != _EXT[modality]:
        raise ConfigError(
            f"--out {out.name}: {kind} cues are written as {_EXT[modality]} "
            f"({'audio WAV' if modality == 'audio' else 'on/off times CSV'}); change the file name"
        )
    cue = Cue(
        kind,
        text,
        level_db=level_db,
        unit_ms=unit_ms,
        freq_hz=freq_hz,
        requester="operator",
        voice=voice,
        rate_wpm=rate_wpm,
    )
    governor = SafetyGovernor(Calibration.load(calibration) if calibration else None, clock=lambda: 0.0)
    sink = WavSink(out) if modality == "audio" else CsvSink(out)
    scheduler = CueScheduler([sink], governor, clock=lambda: 0.0)
    rendering = scheduler.prepare(cue)  # refusals raise CueSafetyError -> "error: refused: ..."
    sink.deliver(rendering, 0.0)
    sink.close()
    click.echo(
        f"wrote {out}: {kind} {text!r}, {rendering.duration:.2f} s at {level_db:+.1f} dB re threshold "
        f"({rendering.level_dbfs:.1f} dBFS)"
    )
    if play and modality == "audio":
        from dreamlink.cues.audio import SoundDeviceOutput

        with SoundDeviceOutput() as speaker:
            speaker.deliver(rendering, 0.0)
            import sounddevice as sd

            sd.wait()
    if serial_port and modality != "audio":
        from dreamlink.cues.serial_device import SerialCueOutput

        with SerialCueOutput(serial_port) as device:
            device.deliver(rendering, 0.0)
            device.wait(timeout=rendering.duration + 5)
