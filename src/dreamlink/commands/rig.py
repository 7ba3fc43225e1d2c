"""``dreamlink rig SOURCE``: run one dreamer's pipeline and connect it to a session server."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import click

from dreamlink.errors import ConfigError


def _speed(value: str) -> float | None:
    if value.lower() == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number or 'max'") from None
    if speed <= 0:
        raise click.BadParameter("must be positive (or 'max')")
    return speed


#: ``--relay-codes`` choice → message kinds relayed without a design.
RELAY_CODES: dict[str, tuple[str, ...] | None] = {
    "eye": ("eye_morse", "count"),
    "emg": ("emg_yes_no", "emg_morse"),
    "all": None,
}


@click.command("rig")
@click.argument("source")
@click.option(
    "--design",
    "design",
    type=click.Path(dir_okay=False),
    default=None,
    help="Dream-design file: the design runtime decides what to relay to --partner, how a relayed message "
    "is presented and when it is acknowledged. Without it every decoded message goes to --partner, "
    "relayed messages are cued as they arrive and the dreamer's next LRLR confirms them.",
)
@click.option(
    "--server",
    default=None,
    metavar="URL",
    help="Session server, e.g. http://127.0.0.1:8700. Without it the rig runs offline and only records.",
)
@click.option("--token", default=None, help="The dreamer's login token (env DREAMLINK_TOKEN).")
@click.option("--session", "session", default=None, metavar="ID", help="Session id (env DREAMLINK_SESSION).")
@click.option("--dreamer", default=None, help="Dreamer name; checked against the token's owner.")
@click.option(
    "--out",
    "out",
    default="rig-out",
    show_default=True,
    type=click.Path(file_okay=False),
    help="Folder for the outbox (resume state) and the local recordings. Re-use it to resume.",
)
@click.option(
    "--speed", default="1", show_default=True, help="Pace of a simulated/file source: ×real time or 'max'."
)
@click.option("--partner", default=None, help="Linked dreamer who receives this dreamer's decoded messages.")
@click.option(
    "--relay-codes",
    "relay_codes",
    type=click.Choice(["eye", "emg", "all"]),
    default="eye",
    show_default=True,
    help="Without --design, which decoded messages go to --partner: eye codes (eye-Morse, counts), EMG "
    "codes (twitch yes/no, EMG-Morse) or both. EMG is off by default: natural REM twitches can mimic it.",
)
@click.option(
    "--events",
    "events_mode",
    default="truth",
    show_default=True,
    type=click.Choice(["truth", "stager", "detect", "none"]),
    help="Where events come from: 'truth' replays a simulated night's ground truth (stages and "
    "injected eye signals); 'stager' runs the causal stager (+ simulated injections); 'detect' runs "
    "the real causal stager and eye/EMG detectors; 'none'.",
)
@click.option(
    "--calibration",
    type=click.Path(dir_okay=False),
    default=None,
    help="The dreamer's eye-swing calibration (JSON from the detect calibration) for --events detect.",
)
@click.option(
    "--eye-model",
    type=click.Path(dir_okay=False),
    default=None,
    help="The dreamer's learned eye model (.npz from `dreamlink detect --learn-eye-model`) for --events "
    "detect: eye messages are read with it.",
)
@click.option(
    "--ready-after",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Seconds of continuous REM before relayed messages are delivered.",
)
@click.option("--require-signal", is_flag=True, help="Also require an LRLR 'ready' signal in the REM period.")
@click.option(
    "--receipt",
    default="lrlr",
    show_default=True,
    type=click.Choice(["lrlr", "cue"]),
    help="What confirms receipt of a relayed cue: the dreamer's next LRLR, or the cue being played.",
)
@click.option(
    "--block-sec",
    default=1.0,
    show_default=True,
    type=click.FloatRange(min=0.05),
    help="Seconds of signal per processed chunk and per block streamed to the server.",
)
@click.option(
    "--decimate",
    default=64.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Rate (Hz) of the signal streamed to the server.",
)
@click.option("--no-record", is_flag=True, help="Do not write the local EDF+ recording.")
@click.option(
    "--linger",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="After the source ends, wait up to this many seconds for the server to acknowledge "
    "everything and for sent messages to be acknowledged.",
)
@click.option(
    "--cue-output",
    default="file",
    show_default=True,
    metavar="null|file|audio|serial:PORT",
    help="Where cues go. 'file' writes exactly what would have been presented into --out: a WAV track "
    "(cues-runNN.wav, first sample at the run's start time, see cues-runNN.json) and a CSV of light/"
    "vibration on/off times (cues-runNN.csv). 'audio' plays on the sound card, 'serial:/dev/ttyACM0' "
    "drives a light/vibration device, 'null' presents nothing. Every cue passes the safety governor. "
    "(The WAV is a full-length track: 8 h at 8 kHz is about 460 MB.)",
)
@click.option(
    "--cue-clock",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "sample", "wall"]),
    help="Clock of the cue scheduler: 'sample' follows the processed samples (needed when --speed is "
    "not 1), 'wall' the real clock; 'auto' picks wall for --speed 1 and live devices.",
)
@click.option(
    "--cue-calibration",
    type=click.Path(dir_okay=False),
    default=None,
    help="The sleeper's cue thresholds (JSON written by the cue calibration); default references otherwise.",
)
@click.option(
    "--relay-cue",
    default="speech",
    show_default=True,
    type=click.Choice(["speech", "morse-audio", "morse-light", "morse-vibration"]),
    help="How a relayed message is presented when no --design decides it.",
)
@click.option(
    "--cue-wav-rate",
    default=8000.0,
    show_default=True,
    type=click.FloatRange(min=4000, max=48000),
    help="Sampling rate (Hz) of the WAV cue track written by --cue-output file.",
)
def command(
    source: str,
    design: str | None,
    server: str | None,
    token: str | None,
    session: str | None,
    dreamer: str | None,
    out: str,
    speed: str,
    partner: str | None,
    relay_codes: str,
    events_mode: str,
    calibration: str | None,
    eye_model: str | None,
    ready_after: float,
    require_signal: bool,
    receipt: str,
    block_sec: float,
    decimate: float,
    no_record: bool,
    linger: float,
    cue_output: str,
    cue_clock: str,
    cue_calibration: str | None,
    relay_cue: str,
    cue_wav_rate: float,
) -> None:
    """Run one dreamer's pipeline on SOURCE and link it to a session server.

    The rig keeps working and recording when the server is unreachable: everything it must send
    goes to a durable outbox in --out first and is delivered, exactly once, when the link is back.
    Restarting with the same --out resumes where the rig stopped.

    \b
    Example (two dreamers on simulated nights, linked through a local server):
      dreamlink rig "sim:seed=11,hours=2,inject=morse:HI@rem1+30" --server http://127.0.0.1:8700 \\
          --token $TOKEN_A --session $SID --partner bob --out rig-alice --speed 600
      dreamlink rig "sim:seed=2,hours=2,inject=lrlr@rem1+150" --server http://127.0.0.1:8700 \\
          --token $TOKEN_B --session $SID --out rig-bob --speed 600

    Operator controls from the dashboard (start, pause, abort, wake alarm, cue) are obeyed and
    recorded; cues (design, relayed, operator) pass the safety governor and, with --cue-output file,
    land in rig-*/cues-run01.wav at their session time.
    """
    from dreamlink.rig.client import Outbox, RigLink
    from dreamlink.rig.pipeline import RelayPolicy, RigPipeline
    from dreamlink.sources.uri import open_source

    token = token or os.environ.get("DREAMLINK_TOKEN")
    session = session or os.environ.get("DREAMLINK_SESSION")
    if server and not token:
        raise ConfigError("--server needs --token TOKEN (or DREAMLINK_TOKEN): log in to get one")
    if server and not session:
        raise ConfigError("--server needs --session ID (or DREAMLINK_SESSION)")
    loaded_design = _load_design(design) if design else None
    pace = _speed(speed)
    swing = None
    if calibration:
        from dreamlink.detect.calibration import hold_advice, load_calibration

        eye_calibration = load_calibration(calibration)
        swing = eye_calibration.swing
        advice = hold_advice(eye_calibration)
        if advice is not None:  # for the operator, before the dreamer falls asleep
            click.echo(f"note: the dreamer's calibration: {advice}", err=True)
    learned_eye = None
    if eye_model:
        if events_mode != "detect":
            raise ConfigError("--eye-model is read by the detectors: it goes with --events detect")
        from dreamlink.detect.eye_emission import load_eye_model

        learned_eye = load_eye_model(eye_model)
    cue_cal = None
    if cue_calibration:
        from dreamlink.cues.safety import Calibration

        cue_cal = Calibration.load(cue_calibration)
    if cue_output not in ("null", "file", "audio") and not (
        cue_output.startswith("serial:") and len(cue_output) > len("serial:")
    ):
        raise ConfigError(f"unknown --cue-output {cue_output!r}; use null, file, audio or serial:PORT")
    src = open_source(source, speed=pace)
    out_dir = Path(out)
    outbox = Outbox(out_dir / "outbox.sqlite")
    link = None
    if server:
        link = RigLink(outbox, server, session or "", token or "", dreamer).start()
    policy = RelayPolicy(
        partner=partner,
        ready_after_sec=ready_after,
        require_signal=require_signal,
        receipt=receipt,
        relay_codes=RELAY_CODES[relay_codes],
    )
    pipeline = RigPipeline(
        src,
        outbox,
        link,
        events_mode=events_mode,
        policy=policy,
        block_sec=block_sec,
        decimate_to=decimate,
        record_dir=None if no_record else out_dir,
        linger_sec=linger if server else 0.0,
        swing=swing,
        eye_model=learned_eye,
        design=loaded_design,
        cue_output=cue_output,
        cue_clock=cue_clock,
        calibration=cue_cal,
        relay_cue=relay_cue,
        wav_rate=cue_wav_rate,
    )
    signal.signal(signal.SIGTERM, lambda *_: pipeline.stop())
    try:
        summary = pipeline.run()
        if link is not None:
            if not link.drain(linger):
                click.echo(
                    f"warning: {outbox.last_seq - outbox.acked_seq} frames not yet acknowledged by the "
                    f"server; they stay in {outbox.path} and are sent on the next run",
                    err=True,
                )
            if link.fatal:
                click.echo(f"warning: {link.fatal}", err=True)
    finally:
        if link is not None:
            link.stop()
        outbox.close()
    for line in summary.lines():
        click.echo(line)


def _load_design(path: str):
    from dreamlink.designs import load_design

    return load_design(path)
