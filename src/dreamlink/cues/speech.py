"""Spoken cues: text → speech with the eSpeak NG engine (Debian package ``espeak-ng``).

dreamlink runs the ``espeak-ng`` binary with ``--stdout`` and reads the WAV it writes (16-bit mono,
22 050 Hz), so no Python binding is needed and the voice is the same on every Debian/Ubuntu rig.
Spoken prompts at sleep onset follow Dormio; spoken questions in REM sleep follow Konkoly et al. 2021.

References
----------
Haar Horowitz, A., Cunningham, T. J., Maes, P., Stickgold, R. (2020). Dormio: a targeted dream incubation
device. Consciousness and Cognition 83, 102938. doi:10.1016/j.concog.2020.102938
Konkoly, K. R. et al. (2021). Real-time dialogue between experimenters and dreamers during REM sleep.
Current Biology 31, 1417-1427. doi:10.1016/j.cub.2021.01.026
"""

from __future__ import annotations

import logging
import shutil
import struct
import subprocess

import numpy as np

from dreamlink.cues.base import AudioSignal, CueRenderError
from dreamlink.errors import DeviceError

logger = logging.getLogger("dreamlink.cues.speech")

#: Default voice (eSpeak NG language/voice name) and speaking rate in words per minute.
DEFAULT_VOICE = "en"
DEFAULT_RATE_WPM = 150


class SpeechEngineError(DeviceError):
    """The text-to-speech engine is missing or failed."""


def find_espeak() -> str:
    """Path of the ``espeak-ng`` (or ``espeak``) binary.

    Raises
    ------
    SpeechEngineError
        If neither is installed.
    """
    for name in ("espeak-ng", "espeak"):
        path = shutil.which(name)
        if path:
            return path
    raise SpeechEngineError(
        "text-to-speech engine espeak-ng not found; install it with `apt-get install espeak-ng`"
    )


def _parse_wav_stream(raw: bytes) -> AudioSignal:
    """Parse the WAV espeak-ng streams to stdout (its size fields are placeholders)."""
    if len(raw) < 44 or raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise SpeechEngineError("espeak-ng did not return WAV audio; check `espeak-ng --version`")
    pos, sfreq, bits, n_ch = 12, None, 16, 1
    while pos + 8 <= len(raw):
        cid, size = raw[pos : pos + 4], struct.unpack("<I", raw[pos + 4 : pos + 8])[0]
        if cid == b"fmt ":
            _fmt, n_ch, sfreq, _br, _ba, bits = struct.unpack("<HHIIHH", raw[pos + 8 : pos + 24])
        elif cid == b"data":
            data = raw[pos + 8 :]
            break
        pos += 8 + size
    else:
        raise SpeechEngineError("espeak-ng WAV output has no data chunk")
    if sfreq is None or bits != 16:
        raise SpeechEngineError(f"unexpected espeak-ng WAV format ({bits}-bit); expected 16-bit PCM")
    data = data[: len(data) // (2 * n_ch) * 2 * n_ch]
    x = np.frombuffer(data, dtype="<i2").astype(float) / 32768.0
    if n_ch > 1:
        x = x.reshape(-1, n_ch).mean(axis=1)
    return AudioSignal(x, float(sfreq))


def synthesize(
    text: str,
    *,
    voice: str = DEFAULT_VOICE,
    rate_wpm: int = DEFAULT_RATE_WPM,
    pitch: int = 50,
    timeout: float = 20.0,
) -> AudioSignal:
    """Speak ``text`` with eSpeak NG and return the audio (native rate, usually 22 050 Hz).

    Parameters
    ----------
    text : str
        What to say.
    voice : str
        eSpeak NG voice, e.g. ``en``, ``en-us``, ``de``, ``fr``.
    rate_wpm : int
        Speaking rate in words per minute (80–450).
    pitch : int
        Pitch 0–99.
    timeout : float
        Seconds before giving up on the engine.

    Raises
    ------
    CueRenderError
        For empty text or out-of-range options.
    SpeechEngineError
        If espeak-ng is missing, rejects the voice or fails.
    """
    text = " ".join(text.split())
    if not text:
        raise CueRenderError("nothing to say: the speech text is empty")
    if not 80 <= rate_wpm <= 450:
        raise CueRenderError(f"speech rate must be 80-450 words per minute, got {rate_wpm}")
    if not 0 <= pitch <= 99:
        raise CueRenderError(f"speech pitch must be 0-99, got {pitch}")
    exe = find_espeak()
    cmd = [exe, "--stdout", "-v", voice, "-s", str(int(rate_wpm)), "-p", str(int(pitch))]
    try:
        proc = subprocess.run(  # noqa: S603 - fixed binary, text passed on stdin
            cmd, input=text.encode("utf-8"), capture_output=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as err:
        raise SpeechEngineError(f"espeak-ng did not finish within {timeout:g} s; try a shorter text") from err
    stderr = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or (not proc.stdout and stderr):
        raise SpeechEngineError(
            f"espeak-ng failed for voice {voice!r}: {stderr or 'exit ' + str(proc.returncode)}; "
            "list voices with `espeak-ng --voices`"
        )
    audio = _parse_wav_stream(proc.stdout)
    if audio.samples.size == 0 or not np.any(audio.samples):
        raise SpeechEngineError(f"espeak-ng produced silence for {text!r} (voice {voice!r})")
    logger.debug("spoke %r: %.2f s at %g Hz", text, audio.duration, audio.sfreq)
    return audio
