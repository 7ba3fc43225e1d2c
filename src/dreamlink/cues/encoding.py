"""Message encoding for the dreamer: text → speech, text → Morse (beeps, flashes, buzzes), numbers → counts.

Everything a cue presents is decided here, as a pure function of the :class:`~dreamlink.cues.base.Cue`
and its approved level (:func:`render_cue`): outputs and file sinks then present exactly this.

- **speech**: eSpeak NG (:mod:`dreamlink.cues.speech`), resampled to 44.1 kHz and scaled so that its
  active RMS level is the approved level.
- **morse-audio / morse-light / morse-vibration**: ITU Morse (ITU-R M.1677-1) keyed at ``unit_ms`` per
  dot (dash 3, inside-letter gap 1, letter gap 3, word gap 7 units), as beeps of ``freq_hz`` or as
  on-intervals of a light or vibration motor. Konkoly et al. (2021, doi:10.1016/j.cub.2021.01.026) asked
  dreamers questions in spoken words, beeps and light flashes; Morse gives those channels an alphabet.
- **tones / flashes / buzzes** with a number ``N``: N counted pulses (on 2 units, off 3 units), the
  "numbers as counted beeps/flashes" of math problems posed to lucid dreamers (Konkoly et al. 2021).
- **tones** with frequencies (``"440 660:200 880"``): a tone sequence, each tone ``ms`` long (default
  4 units) with 1-unit gaps — the kind of short melodic cue used in targeted lucidity reactivation
  (Carr et al. 2020, Psychology of Consciousness, doi:10.1037/cns0000227).
- **wav**: a WAV file, resampled and scaled like speech.
"""

from __future__ import annotations

import re

import numpy as np

from dreamlink.cues import audio as _audio
from dreamlink.cues.base import (
    DEFAULT_SFREQ,
    AudioSignal,
    Cue,
    CueRenderError,
    PulseTrain,
    Rendering,
)
from dreamlink.link import morse

#: Allowed Morse/count unit range, milliseconds.
MIN_UNIT_MS, MAX_UNIT_MS = 20.0, 2000.0
#: Largest number presented as counted pulses.
MAX_COUNT = 20
#: Counted pulse: on and off durations in Morse units.
COUNT_ON_UNITS, COUNT_OFF_UNITS = 2, 3
#: Tone in a tone sequence: default length and gap, in units.
SEQ_TONE_UNITS, SEQ_GAP_UNITS = 4, 1


def _check_unit(unit_ms: float) -> float:
    if not np.isfinite(unit_ms) or not MIN_UNIT_MS <= unit_ms <= MAX_UNIT_MS:
        raise CueRenderError(
            f"unit must be {MIN_UNIT_MS:g}-{MAX_UNIT_MS:g} ms, got {unit_ms:g}; set --unit-ms accordingly"
        )
    return unit_ms / 1000.0


def morse_intervals(text: str, unit_ms: float) -> np.ndarray:
    """On-intervals ``(start, duration)`` in seconds keying ``text`` in ITU Morse.

    Raises
    ------
    CueRenderError
        For empty text, characters without a Morse code, or a unit outside 20–2000 ms.
    """
    unit = _check_unit(unit_ms)
    if not text.strip():
        raise CueRenderError("nothing to send: the Morse text is empty")
    try:
        on = morse.timeline(text, unit)
    except morse.MorseEncodingError as err:
        raise CueRenderError(str(err)) from err
    return np.asarray(on, dtype=float).reshape(-1, 2)


def parse_count(payload: str) -> int | None:
    """The count in ``payload`` if it is a whole number 1–20, else ``None``."""
    text = payload.strip()
    if re.fullmatch(r"\d+", text):
        n = int(text)
        if 1 <= n <= MAX_COUNT:
            return n
        raise CueRenderError(f"counts must be 1-{MAX_COUNT}, got {n}; send larger numbers in Morse")
    return None


def count_intervals(n: int, unit_ms: float) -> np.ndarray:
    """``n`` counted pulses, each on 2 units and off 3 units, as ``(start, duration)`` seconds."""
    unit = _check_unit(unit_ms)
    if not 1 <= n <= MAX_COUNT:
        raise CueRenderError(f"counts must be 1-{MAX_COUNT}, got {n}")
    period = (COUNT_ON_UNITS + COUNT_OFF_UNITS) * unit
    return np.array([[k * period, COUNT_ON_UNITS * unit] for k in range(n)], dtype=float)


def parse_tone_sequence(payload: str, unit_ms: float) -> list[tuple[float, float]]:
    """Parse ``"440 660:200 880"`` into ``(freq_hz, duration_sec)`` pairs.

    Raises
    ------
    CueRenderError
        If a token is not ``FREQ`` or ``FREQ:MS`` with 20 Hz ≤ FREQ ≤ 20 kHz and 10 ≤ MS ≤ 5000.
    """
    unit = _check_unit(unit_ms)
    out = []
    for token in payload.replace(",", " ").split():
        m = re.fullmatch(r"(\d+(?:\.\d+)?)(?::(\d+(?:\.\d+)?))?", token)
        if not m:
            raise CueRenderError(
                f'cannot read tone {token!r}: tones are a count ("3") or frequencies in Hz with '
                'optional milliseconds, e.g. "440 660:200 880"'
            )
        f = float(m.group(1))
        d = float(m.group(2)) / 1000.0 if m.group(2) else SEQ_TONE_UNITS * unit
        if not 20.0 <= f <= 20000.0:
            raise CueRenderError(f"tone frequency must be 20-20000 Hz, got {f:g}")
        if not 0.01 <= d <= 5.0:
            raise CueRenderError(f"tone length must be 10-5000 ms, got {d * 1000:g}")
        out.append((f, d))
    if not out:
        raise CueRenderError('no tones given: pass a count ("3") or frequencies ("440 660 880")')
    return out


def _check_level(level_dbfs: float) -> None:
    if not np.isfinite(level_dbfs) or level_dbfs > 0:
        raise CueRenderError(f"level must be a finite dBFS value <= 0, got {level_dbfs}")


def render_audio(cue: Cue, level_dbfs: float, sfreq: float = DEFAULT_SFREQ) -> AudioSignal:
    """Audio of an audio cue at ``level_dbfs`` (RMS while sounding, dB re full scale)."""
    _check_level(level_dbfs)
    rms = _audio.db_to_amplitude(level_dbfs)
    unit = _check_unit(cue.unit_ms)
    if cue.kind == "morse-audio":
        x = _audio.keyed_tone(morse_intervals(cue.payload, cue.unit_ms), cue.freq_hz, sfreq=sfreq, rms=rms)
    elif cue.kind == "tones":
        n = parse_count(cue.payload)
        if n is not None:
            x = _audio.keyed_tone(count_intervals(n, cue.unit_ms), cue.freq_hz, sfreq=sfreq, rms=rms)
        else:
            intervals, freqs, t = [], [], 0.0
            for f, d in parse_tone_sequence(cue.payload, cue.unit_ms):
                intervals.append((t, d))
                freqs.append(f)
                t += d + SEQ_GAP_UNITS * unit
            x = _audio.keyed_tone(intervals, freqs, sfreq=sfreq, rms=rms)
    elif cue.kind in ("speech", "wav"):
        if cue.kind == "speech":
            from dreamlink.cues.speech import synthesize

            src = synthesize(cue.payload, voice=cue.voice, rate_wpm=cue.rate_wpm)
        else:
            src = _audio.read_wav(cue.payload)
        x = _audio.scale_to_level(_audio.resample(src, sfreq).samples, sfreq, level_dbfs)
    else:
        raise CueRenderError(f"{cue.kind!r} is not an audio cue")
    return AudioSignal(x, float(sfreq))


def render_pulses(cue: Cue, level_dbfs: float) -> PulseTrain:
    """On-intervals of a light or vibration cue, at drive ``level_dbfs`` (dB re full PWM duty)."""
    _check_level(level_dbfs)
    if cue.kind in ("morse-light", "morse-vibration"):
        intervals = morse_intervals(cue.payload, cue.unit_ms)
    elif cue.kind in ("flashes", "buzzes"):
        n = parse_count(cue.payload)
        if n is None:
            raise CueRenderError(f"{cue.kind} need a count 1-{MAX_COUNT}, got {cue.payload!r}")
        intervals = count_intervals(n, cue.unit_ms)
    else:
        raise CueRenderError(f"{cue.kind!r} is not a light or vibration cue")
    return PulseTrain(cue.modality, intervals, _audio.db_to_amplitude(level_dbfs))


def render_cue(cue: Cue, level_dbfs: float, sfreq: float = DEFAULT_SFREQ) -> Rendering:
    """Render ``cue`` at the approved ``level_dbfs``: exactly what an output will present.

    Parameters
    ----------
    cue : Cue
        The request.
    level_dbfs : float
        Approved level, dB re full scale (from :meth:`dreamlink.cues.safety.SafetyGovernor.approve`).
    sfreq : float
        Audio sampling rate in Hz.

    Raises
    ------
    CueRenderError
        If the cue cannot be rendered (bad text, unit, count, WAV).
    """
    if cue.modality == "audio":
        return Rendering(cue, level_dbfs, audio=render_audio(cue, level_dbfs, sfreq))
    return Rendering(cue, level_dbfs, pulses=render_pulses(cue, level_dbfs))
