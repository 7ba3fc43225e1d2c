"""``dreamlink detect FILE``: eye signals, messages, REMs and arousals into a BIDS events table."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import click

from dreamlink.errors import InputFileError


@click.command("detect")
@click.argument("file", type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "--eog",
    required=True,
    metavar="CH",
    help="Horizontal EOG channel (E1-E2 already), or the LEFT electrode (E1/LOC) with --eog-right.",
)
@click.option(
    "--eog-right",
    metavar="CH",
    default=None,
    help="Right electrode (E2/ROC): the derivation becomes EOG − EOG-RIGHT (positive = look left).",
)
@click.option("--emg", metavar="CH", default=None, help="Chin/facial EMG channel: twitch codes and arousals.")
@click.option(
    "--eeg", metavar="CH", default=None, help="EEG channel for alpha-intrusion arousals (optional)."
)
@click.option(
    "--calibration",
    "calibration_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Calibration JSON (sweep amplitude); without it the amplitude is estimated from FILE.",
)
@click.option(
    "--calibrate",
    is_flag=True,
    help="FILE is an awake 'look fully left-right 4 times' recording: write its calibration "
    "JSON to --out instead of detecting.",
)
@click.option(
    "--eye-model",
    "eye_model_path",
    type=click.Path(path_type=Path),
    default=None,
    help="The dreamer's learned eye model (.npz from --learn-eye-model): eye messages are read "
    "with it, telling their natural REMs from deliberate looks better.",
)
@click.option(
    "--learn-eye-model",
    is_flag=True,
    help="FILE is REM sleep of this dreamer (e.g. last night): learn their eye model from their own "
    "natural REMs, with eye-Morse messages injected into it, and write it to --out (.npz) instead of "
    "detecting. Takes a minute or two.",
)
@click.option(
    "--learn-messages",
    type=click.IntRange(min=10),
    default=2000,
    show_default=True,
    help="With --learn-eye-model: how many eye-Morse messages to inject and learn from (more: slower, "
    "steadier).",
)
@click.option(
    "--hypnogram",
    "hypnogram_path",
    type=click.Path(path_type=Path),
    default=None,
    help="With --learn-eye-model: learn only from the R epochs of this hypnogram (any format "
    "`dreamlink report` reads); without it all of FILE is taken as REM sleep.",
)
@click.option(
    "--eye-code",
    type=click.Choice(["auto", "count", "morse"]),
    default="auto",
    show_default=True,
    help="Which eye messages to expect between LRLR frames.",
)
@click.option(
    "--words",
    metavar="W1,W2,...",
    default=None,
    help="The words the eye-Morse messages are one of (a question's answers, e.g. YES,NO): each message "
    "is read as the word that fits it best (implies --eye-code morse).",
)
@click.option(
    "--lexicon",
    type=click.Choice(["english"]),
    default=None,
    help="Free-text eye-Morse that spells a non-word is read again as the nearby words of this lexicon "
    "(\"MK\" -> \"OK\": natural REMs spoiled a dash; \"IAM\" -> \"I AM\": they shortened the rest between "
    "words); a word is taken when it fits the eye trace about "
    "as well, and the events' data keep what was spelled. Off by default: codes and call signs stay as sent.",
)
@click.option(
    "--emg-code",
    type=click.Choice(["yes_no", "morse"]),
    default="yes_no",
    show_default=True,
    help="Which EMG code to decode: yes_no = 2 short twitches yes, 3 no, closed by one long "
    "contraction (read at once; without it, after a 2-s pause); morse = short dot, long dash, "
    "ending with the end mark .-.-. (read at once; without it, after a 5-s pause).",
)
@click.option(
    "--emg-gate",
    type=click.Choice(["auto", "stage", "off"]),
    default="auto",
    show_default=True,
    help="When EMG codes are read: auto = only in REM sleep as estimated from the signals (rapid eye "
    "movements + atonic chin); off = always (you know the sleeper is in REM).",
)
@click.option("--no-rem-events", is_flag=True, help="Write REM density per minute only, not every REM.")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(path_type=Path),
    help="Output events table (.tsv), or calibration JSON with --calibrate.",
)
def command(
    file: Path,
    eog: str,
    eog_right: str | None,
    emg: str | None,
    eeg: str | None,
    calibration_path: Path | None,
    calibrate: bool,
    eye_model_path: Path | None,
    learn_eye_model: bool,
    learn_messages: int,
    hypnogram_path: Path | None,
    eye_code: str,
    words: str | None,
    lexicon: str | None,
    emg_code: str,
    emg_gate: str,
    no_rem_events: bool,
    out: Path,
) -> None:
    """Detect eye sweeps, LRLR markers, messages, REMs and arousals in FILE.

    The recording is streamed through the same live pipeline a rig runs. Events go to a BIDS-style
    table (onset, duration, trial_type, value, confidence, source, data) with trial types eye_sweep,
    lrlr, message, rem, rem_density, emg_twitch, arousal, wake. An eye-Morse message that a frame
    inside it closed early is listed again, whole, once the rest has come ("revises" the first
    reading, at the same onset).

    \b
    Examples:
      dreamlink detect night.edf --eog E1-M2 --eog-right E2-M2 --emg EMG --out events.tsv
      dreamlink detect awake_cal.edf --eog E1-M2 --eog-right E2-M2 --calibrate --out cal.json
      dreamlink detect night.edf --eog E1-M2 --eog-right E2-M2 --calibration cal.json --out events.tsv
      dreamlink detect night.edf --eog E1-M2 --eog-right E2-M2 --words YES,NO --out answers.tsv
      dreamlink detect night.edf --eog E1-M2 --eog-right E2-M2 --lexicon english --out text.tsv
      dreamlink detect night1.edf --eog E1-M2 --eog-right E2-M2 --calibration cal.json \
          --learn-eye-model --hypnogram night1_hypno.csv --out eye.npz
      dreamlink detect night2.edf --eog E1-M2 --eog-right E2-M2 --calibration cal.json \
          --eye-model eye.npz --out events.tsv
    """
    from tqdm import tqdm

    from dreamlink.detect.calibration import calibrate as run_calibration
    from dreamlink.detect.calibration import hold_advice, load_calibration
    from dreamlink.detect.eye_emission import load_eye_model
    from dreamlink.detect.pipeline import detect_array, horizontal, load_channels
    from dreamlink.events import write_events_tsv

    if not file.exists():
        raise InputFileError(f"recording not found: {file} (check the path)")
    if calibrate and calibration_path is not None:
        raise click.UsageError("--calibrate writes a calibration; do not also give --calibration")
    if learn_eye_model and (calibrate or eye_model_path is not None):
        raise click.UsageError(
            "--learn-eye-model writes an eye model; do not also give --calibrate or --eye-model"
        )
    if calibrate and out.suffix.lower() != ".json":
        raise click.UsageError("with --calibrate, --out is the calibration file: give a .json path")
    if not calibrate and out.suffix.lower() == ".json":
        raise click.UsageError("--out is an events table: give a .tsv path (or add --calibrate)")
    if learn_eye_model and out.suffix.lower() != ".npz":
        raise click.UsageError("with --learn-eye-model, --out is the eye model: give a .npz path")
    if not learn_eye_model and out.suffix.lower() == ".npz":
        raise click.UsageError("--out is an events table: give a .tsv path (or add --learn-eye-model)")
    if hypnogram_path is not None and not learn_eye_model:
        raise click.UsageError(
            "--hypnogram picks the REM sleep to learn from: it goes with --learn-eye-model"
        )
    vocabulary = _words(words, eye_code)
    if vocabulary and lexicon is not None:
        raise click.UsageError("--lexicon is for free text; --words already lists the answers")
    if eye_code == "count" and lexicon is not None:
        raise click.UsageError("--lexicon is for eye-Morse text; it does not go with --eye-code count")
    if vocabulary:
        eye_code = "morse"
    calib = load_calibration(calibration_path) if calibration_path is not None else None
    eye_model = load_eye_model(eye_model_path) if eye_model_path is not None else None
    channels = [c for c in dict.fromkeys([eog, eog_right, emg, eeg]) if c]
    data, info, notes = load_channels(file, channels)
    for note in notes:
        click.echo(f"note: {note}", err=True)

    if calibrate:
        parts = horizontal(data, info, eog, eog_right)
        result = run_calibration(
            parts[0], info.sfreq, *parts[1:], channels=[c for c in (eog, eog_right) if c]
        )
        result.save(out)
        click.echo(
            f"calibration: full left-right swing {result.swing * 1e6:.0f} µV from {result.n_swings} "
            f"swings (CV {result.cv:.0%}), hold {result.hold:.2f} s at each side -> {out}"
        )
        advice = hold_advice(result)
        if advice is not None:
            click.echo(f"advice: {advice}", err=True)
        return
    if learn_eye_model:
        _learn_eye_model(
            file, data, info, (eog, eog_right), calib, calibration_path, hypnogram_path, learn_messages, out
        )
        return

    duration = data.shape[1] / info.sfreq
    with tqdm(
        total=round(duration, 1),
        unit="s",
        file=sys.stderr,
        leave=False,
        desc="detect",
        disable=not sys.stderr.isatty(),
    ) as bar:
        res = detect_array(
            data,
            info,
            eog,
            eog_right,
            emg,
            eeg,
            calib,
            chunk_sec=1.0,
            eye_code=eye_code,
            vocabulary=vocabulary,
            lexicon=lexicon,
            emg_code=emg_code,
            rem_events=not no_rem_events,
            emg_gate=emg_gate,
            progress=lambda s: bar.update(round(s, 3)),
            eye_model=eye_model,
        )
    if calib is None:
        click.echo(
            f"no --calibration: sweep amplitude ESTIMATED from the recording itself, {res.calibration.note} "
            "(calibrate awake for reliable thresholds)"
        )
    else:
        click.echo(f"sweep amplitude: {calib.swing * 1e6:.0f} µV from {calibration_path}")
    if eye_model is not None:
        minutes = float(eye_model.meta.get("rem_seconds", 0.0)) / 60.0
        source = f", {eye_model.meta['source']}" if eye_model.meta.get("source") else ""
        click.echo(f"eye model: {eye_model_path} (learned from {minutes:.0f} min of REM EOG{source})")
        learned_swing = float(eye_model.meta.get("swing_v", 0.0))
        if learned_swing > 0 and not 0.7 < res.calibration.swing / learned_swing < 1.4:
            click.echo(
                f"note: the eye model was learned for a swing of {learned_swing * 1e6:.0f} µV, this night's "
                f"is {res.calibration.swing * 1e6:.0f} µV: learn it again with this calibration",
                err=True,
            )
    for note in res.notes:
        if "EMG twitches" in note:
            click.echo(f"note: {note}")
    write_events_tsv(res.events, out)
    counts = Counter(e.trial_type for e in res.events)
    summary = ", ".join(f"{counts[k]} {k}" for k in sorted(counts)) or "no events"
    click.echo(f"{duration / 60:.1f} min analysed: {summary} -> {out}")
    for e in res.events:
        if e.trial_type in ("lrlr", "message"):
            extra = f" ({e.data.get('reason')})" if e.value == "unreadable" else ""
            if e.data.get("spelled"):
                extra = f" (spelled {e.data['spelled']!r})"
            if e.data.get("revises") is not None:  # read again whole: a frame inside it closed it early
                extra += f" (revises {e.data['revises']!r})"
            click.echo(f"  {e.onset:9.2f} s  {e.trial_type:8s} {e.value}{extra}  confidence {e.confidence}")


def _learn_eye_model(
    file: Path,
    data,
    info,
    channels: tuple[str, str | None],
    calib,
    calibration_path: Path | None,
    hypnogram_path: Path | None,
    messages: int,
    out: Path,
) -> None:
    """``--learn-eye-model``: the dreamer's eye model from the REM sleep of ``file``, written to ``out``."""
    from tqdm import tqdm

    from dreamlink.detect.calibration import estimate_swing
    from dreamlink.detect.eye_emission import learn_eye_model
    from dreamlink.detect.pipeline import horizontal
    from dreamlink.io.hypnogram_formats import read_hypnogram

    parts = horizontal(data, info, *channels)
    h, fs = parts[0], info.sfreq
    if calib is None:
        calib = estimate_swing(h, fs, *parts[1:], channels=[c for c in channels if c])
        click.echo(
            f"no --calibration: sweep amplitude ESTIMATED from the recording itself, {calib.note} "
            "(the model is learned for this swing: calibrate awake for a reliable one)"
        )
    else:
        click.echo(f"sweep amplitude: {calib.swing * 1e6:.0f} µV from {calibration_path}")
    if hypnogram_path is None:
        stretches = [h]
        where = f"all of {file.name} (taken as REM sleep: give --hypnogram to pick its R epochs)"
    else:
        periods = read_hypnogram(hypnogram_path).periods()
        rem = periods[periods["stage"] == "R"]
        bounds = [(round(r.onset * fs), round((r.onset + r.duration) * fs)) for r in rem.itertuples()]
        stretches = [h[a:b] for a, b in bounds]
        stretches = [s for s in stretches if s.size]
        where = f"{len(stretches)} REM periods of {file.name} ({hypnogram_path.name})"
    click.echo(f"learning the eye model from {where}")
    with tqdm(total=1, unit="pass", file=sys.stderr, leave=False, desc="learn",
              disable=not sys.stderr.isatty()) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        model = learn_eye_model(stretches, fs, calib.swing, messages, progress=progress, source=file.name)
    model.save(out)
    m = model.meta
    click.echo(
        f"eye model: {m['messages']} injected messages in {m['rem_seconds'] / 60:.1f} min of REM EOG; "
        f"held-out blocks read right {m['held_out_accuracy']:.1%} "
        f"(hand-built levels {m['held_out_accuracy_hand']:.1%}) -> {out}"
    )


def _words(words: str | None, eye_code: str) -> tuple[str, ...]:
    """The ``--words`` list as eye-Morse reads it; a usage error for one with no Morse code, or with an
    ``--eye-code`` other than morse (or the default auto)."""
    from dreamlink.detect.eye_messages import vocabulary_of
    from dreamlink.link.morse import MorseEncodingError

    if words is None:
        return ()
    if eye_code == "count":
        raise click.UsageError("--words are eye-Morse words; they do not go with --eye-code count")
    try:
        vocabulary = vocabulary_of([w for w in words.split(",") if w.strip()])
    except MorseEncodingError as exc:
        raise click.UsageError(f"--words: {exc}") from None
    if len(vocabulary) < 2:
        raise click.UsageError("--words needs at least two different words, separated by commas (YES,NO)")
    return vocabulary
