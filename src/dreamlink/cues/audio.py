"""Audio cues: tone synthesis, WAV files, level measurement and real playback through the sound card.

Tones are sines (or harmonic complexes) with raised-cosine on/off ramps so that beeps do not click;
levels are set and measured as RMS in dB re full scale (dBFS; a full-scale sine is −3 dBFS). Playback
goes through PortAudio with :mod:`sounddevice`; on a machine without a sound card, opening
:class:`SoundDeviceOutput` raises a :class:`~dreamlink.errors.DeviceError` saying so and pointing to the
file sink.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from math import gcd
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

from dreamlink.cues.base import DEFAULT_SFREQ, AudioSignal, CueOutput, CueRenderError, Rendering
from dreamlink.errors import DeviceError, InputFileError, RecordingError

logger = logging.getLogger("dreamlink.cues.audio")

#: On/off ramp of every keyed tone, in seconds (raised cosine).
DEFAULT_RAMP_SEC = 0.005
#: Frames used by :func:`active_rms_dbfs`, in seconds, and how far below the loudest frame still counts.
ACTIVE_FRAME_SEC = 0.02
ACTIVE_RANGE_DB = 30.0


def db_to_amplitude(db: float) -> float:
    """Linear factor of ``db`` decibels (20·log10 convention)."""
    return float(10.0 ** (db / 20.0))


def amplitude_to_db(x: float) -> float:
    """Decibels of a linear amplitude (−inf for 0)."""
    return float(20.0 * np.log10(x)) if x > 0 else float("-inf")


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS of ``samples`` in dB re full scale (−inf for silence)."""
    samples = np.asarray(samples, dtype=float)
    if samples.size == 0:
        return float("-inf")
    return amplitude_to_db(float(np.sqrt(np.mean(samples**2))))


def active_rms_dbfs(samples: np.ndarray, sfreq: float) -> float:
    """RMS level while the signal is sounding, in dBFS.

    The signal is cut into 20-ms frames; frames within 30 dB of the loudest frame count as active and
    their pooled RMS is the level. For a keyed tone this is the tone's steady RMS (pauses excluded); for
    speech it is a simplified active speech level in the spirit of ITU-T P.56.

    Parameters
    ----------
    samples : ndarray, shape (n_times,)
        Audio in full-scale units.
    sfreq : float
        Sampling rate in Hz.
    """
    samples = np.asarray(samples, dtype=float)
    n = max(1, int(round(ACTIVE_FRAME_SEC * sfreq)))
    n_frames = samples.size // n
    if n_frames == 0:
        return rms_dbfs(samples)
    frames = samples[: n_frames * n].reshape(n_frames, n)
    power = np.mean(frames**2, axis=1)
    if not np.any(power > 0):
        return float("-inf")
    active = power >= power.max() * 10 ** (-ACTIVE_RANGE_DB / 10)
    return amplitude_to_db(float(np.sqrt(np.mean(power[active]))))


def _ramp(n_total: int, n_ramp: int) -> np.ndarray:
    env = np.ones(n_total)
    n_ramp = min(n_ramp, n_total // 2)
    if n_ramp > 0:
        r = 0.5 - 0.5 * np.cos(np.pi * np.arange(n_ramp) / n_ramp)
        env[:n_ramp] = r
        env[n_total - n_ramp :] = r[::-1]
    return env


def tone(
    freq_hz: float,
    duration_sec: float,
    *,
    sfreq: float = DEFAULT_SFREQ,
    rms: float = 0.1,
    ramp_sec: float = DEFAULT_RAMP_SEC,
) -> np.ndarray:
    """A sine tone with raised-cosine ramps.

    Parameters
    ----------
    freq_hz : float
        Frequency in Hz (below Nyquist).
    duration_sec : float
        Length in seconds.
    sfreq : float
        Sampling rate in Hz.
    rms : float
        Steady-state RMS in full-scale units (amplitude = rms·√2).
    ramp_sec : float
        Rise and fall time in seconds.
    """
    return complex_tone([freq_hz], duration_sec, sfreq=sfreq, rms=rms, ramp_sec=ramp_sec)


def complex_tone(
    freqs_hz: Sequence[float],
    duration_sec: float,
    *,
    weights: Sequence[float] | None = None,
    sfreq: float = DEFAULT_SFREQ,
    rms: float = 0.1,
    ramp_sec: float = DEFAULT_RAMP_SEC,
) -> np.ndarray:
    """A sum of sines (e.g. a harmonic complex ``[f0, 2 f0, 3 f0]``) with one steady RMS.

    Parameters
    ----------
    freqs_hz : sequence of float
        Component frequencies in Hz.
    duration_sec : float
        Length in seconds.
    weights : sequence of float | None
        Relative amplitudes (default ``1/k`` for the k-th component).
    sfreq, rms, ramp_sec
        As in :func:`tone`.
    """
    freqs = np.asarray(freqs_hz, dtype=float)
    if freqs.size == 0 or np.any(freqs <= 0) or np.any(freqs >= sfreq / 2):
        raise CueRenderError(
            f"tone frequencies must be between 0 and {sfreq / 2:g} Hz (Nyquist), got {list(freqs)}"
        )
    if not duration_sec > 0:
        raise CueRenderError(f"tone duration must be positive, got {duration_sec} s")
    w = np.asarray(weights, dtype=float) if weights is not None else 1.0 / np.arange(1, freqs.size + 1)
    n = int(round(duration_sec * sfreq))
    t = np.arange(n) / sfreq
    x = np.sum(w[:, None] * np.sin(2 * np.pi * freqs[:, None] * t[None, :]), axis=0)
    steady_rms = np.sqrt(np.sum(w**2) / 2.0)  # distinct frequencies: powers add
    return x * (rms / steady_rms) * _ramp(n, int(round(ramp_sec * sfreq)))


def keyed_tone(
    intervals: Sequence[tuple[float, float]],
    freq_hz: float | Sequence[float],
    *,
    sfreq: float = DEFAULT_SFREQ,
    rms: float = 0.1,
    ramp_sec: float = DEFAULT_RAMP_SEC,
    tail_sec: float = 0.0,
) -> np.ndarray:
    """Beeps at ``(start, duration)`` intervals (seconds) — Morse keying, counted beeps, tone sequences.

    Each beep is lengthened by its ramp time so that it is at half amplitude exactly ``duration``
    apart (the usual way keying is timed); the whole cue is therefore delayed by half a ramp (≤ 2.5 ms).

    Parameters
    ----------
    intervals : sequence of (float, float)
        Onsets and durations in seconds.
    freq_hz : float or sequence of float
        One frequency for all beeps, or one per beep (Hz).
    sfreq, rms, ramp_sec
        As in :func:`tone`; the ramp is shortened to a quarter of the shortest beep if needed.
    tail_sec : float
        Silence appended after the last beep, seconds.
    """
    if len(intervals) == 0:
        raise CueRenderError("nothing to key: the cue has no beeps")
    intervals = np.asarray(intervals, dtype=float).reshape(-1, 2)
    freqs = np.broadcast_to(np.asarray(freq_hz, dtype=float), (len(intervals),))
    ramp = min(ramp_sec, float(intervals[:, 1].min()) / 4)
    end = float(np.max(intervals[:, 0] + intervals[:, 1])) + ramp + tail_sec
    out = np.zeros(int(round(end * sfreq)) + 1)
    for (start, dur), f in zip(intervals, freqs, strict=True):
        beep = tone(f, dur + ramp, sfreq=sfreq, rms=rms, ramp_sec=ramp)
        i0 = int(round(start * sfreq))
        out[i0 : i0 + beep.size] += beep[: out.size - i0]
    return out


def resample(signal: AudioSignal, sfreq: float = DEFAULT_SFREQ) -> AudioSignal:
    """Resample to ``sfreq`` Hz with a polyphase filter (no-op if already there)."""
    if signal.sfreq == sfreq:
        return signal
    a, b = int(round(sfreq)), int(round(signal.sfreq))
    g = gcd(a, b)
    return AudioSignal(resample_poly(signal.samples, a // g, b // g), float(sfreq))


def read_wav(path: str | Path) -> AudioSignal:
    """Read a WAV file as mono full-scale float audio (channels averaged).

    Raises
    ------
    InputFileError
        If the file is missing or not a readable WAV.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"WAV file not found: {path} (check the path)")
    try:
        sfreq, data = wavfile.read(path)
    except (ValueError, OSError) as err:
        raise InputFileError(f"{path} is not a readable WAV file ({err}); convert it to PCM WAV") from err
    data = np.asarray(data)
    if data.dtype.kind == "i":
        x = data.astype(float) / float(np.iinfo(data.dtype).max + 1)
    elif data.dtype.kind == "u":
        info = np.iinfo(data.dtype)
        x = (data.astype(float) - (info.max + 1) / 2) / ((info.max + 1) / 2)
    else:
        x = data.astype(float)
    if x.ndim == 2:
        x = x.mean(axis=1)
    return AudioSignal(x, float(sfreq))


def write_wav(path: str | Path, signal: AudioSignal) -> Path:
    """Write mono 16-bit PCM WAV (the most widely playable format); values are clipped to ±1.

    Raises
    ------
    RecordingError
        If the file cannot be written.
    """
    path = Path(path)
    pcm = np.clip(np.round(signal.samples * 32767.0), -32768, 32767).astype(np.int16)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        wavfile.write(path, int(round(signal.sfreq)), pcm)
    except OSError as err:
        raise RecordingError(f"cannot write {path} ({err.strerror}); choose a writable folder") from err
    return path


def scale_to_level(samples: np.ndarray, sfreq: float, level_dbfs: float) -> np.ndarray:
    """Scale audio so that its :func:`active_rms_dbfs` equals ``level_dbfs``."""
    current = active_rms_dbfs(samples, sfreq)
    if not np.isfinite(current):
        raise CueRenderError("the audio is silent; nothing to present")
    return samples * db_to_amplitude(level_dbfs - current)


class SoundDeviceOutput(CueOutput):
    """Real playback on the default (or a named) sound card through PortAudio (:mod:`sounddevice`).

    Parameters
    ----------
    device : int | str | None
        PortAudio device index or name substring; ``None`` = the default output.

    Raises
    ------
    DeviceError
        On :meth:`open` when PortAudio finds no output device (headless machine, no sound card).
    """

    name = "sounddevice"
    modalities = frozenset({"audio"})

    def __init__(self, device: int | str | None = None) -> None:
        super().__init__()
        self.device = device
        self._sd = None

    def open(self) -> SoundDeviceOutput:
        try:
            import sounddevice as sd
        except OSError as err:  # PortAudio library itself missing
            raise DeviceError(
                f"PortAudio is not available ({err}); install libportaudio2, or render to a file with --out"
            ) from err
        try:
            info = sd.query_devices(self.device, kind="output")
        except (sd.PortAudioError, ValueError) as err:
            raise DeviceError(
                "no sound output device found (PortAudio: "
                f"{err}); connect a sound card or render the cue to a WAV file with --out FILE"
            ) from err
        logger.info("audio output: %s", info.get("name"))
        self._sd = sd
        return self

    def deliver(self, rendering: Rendering, onset: float) -> None:
        if self._sd is None:
            self.open()
        if rendering.audio is None:
            raise CueRenderError(f"{self.name} plays audio cues only, not {rendering.modality}")
        from dreamlink.cues.safety import enforce_hard_cap

        enforce_hard_cap(rendering)
        self._sd.play(rendering.audio.samples.astype(np.float32), rendering.audio.sfreq, device=self.device)

    def abort(self, at: float) -> None:
        if self._sd is not None:
            self._sd.stop()

    def close(self) -> None:
        if self._sd is not None:
            self._sd.stop()
            self._sd = None
