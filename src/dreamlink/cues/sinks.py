"""Sinks for headless machines: files that hold exactly what would have been presented, and a null sink.

- :class:`WavSink` keeps a session-long audio track: each audio cue is placed at the session time it was
  dispatched (sample index / sfreq = session seconds, or seconds from ``origin``), overlapping cues add,
  and an abort cuts every cue still sounding at the abort time — as the sound card would.
- :class:`CsvSink` writes the light and vibration pulses as on/off times, one row per pulse:
  ``on_sec, off_sec, modality, level_255, intensity, level_dbfs, kind, payload``; an abort ends the pulses
  still on at the abort time and drops later ones.
- :class:`NullSink` accepts everything and only counts.
"""

from __future__ import annotations

import csv
import logging
import threading
from pathlib import Path

import numpy as np

from dreamlink.cues.audio import write_wav
from dreamlink.cues.base import DEFAULT_SFREQ, MODALITIES, AudioSignal, CueOutput, Rendering
from dreamlink.cues.safety import enforce_hard_cap
from dreamlink.errors import RecordingError

logger = logging.getLogger("dreamlink.cues.sinks")

#: Columns of the pulse CSV written by :class:`CsvSink`.
PULSE_COLUMNS = ("on_sec", "off_sec", "modality", "level_255", "intensity", "level_dbfs", "kind", "payload")


class WavSink(CueOutput):
    """Render audio cues into one WAV track on the session time base.

    Parameters
    ----------
    path : str or Path
        The ``.wav`` file written on :meth:`close` (or :meth:`flush`).
    sfreq : float
        Sampling rate in Hz.
    origin : float
        Session time (s) of the first sample.
    """

    name = "wav-file"
    modalities = frozenset({"audio"})

    def __init__(self, path: str | Path, sfreq: float = DEFAULT_SFREQ, origin: float = 0.0) -> None:
        super().__init__()
        self.path = Path(path)
        self.sfreq = float(sfreq)
        self.origin = float(origin)
        self._clips: list[list] = []  # [onset_sec, samples, stop_sec]
        self._lock = threading.Lock()
        if self.path.suffix.lower() != ".wav":
            raise RecordingError(f"audio cues are written as WAV: use a .wav file name, not {self.path.name}")

    def deliver(self, rendering: Rendering, onset: float) -> None:
        if rendering.audio is None:
            return
        enforce_hard_cap(rendering)
        with self._lock:
            self._clips.append([float(onset), rendering.audio, np.inf])

    def abort(self, at: float) -> None:
        with self._lock:
            for clip in self._clips:
                if clip[0] <= at < clip[0] + clip[1].duration:
                    clip[2] = min(clip[2], at)

    def track(self) -> AudioSignal:
        """The mixed track so far (what the loudspeaker played)."""
        with self._lock:
            clips = [(o, a, s) for o, a, s in self._clips]
        if not clips:
            return AudioSignal(np.zeros(0), self.sfreq)
        end = max(o + a.duration for o, a, _ in clips)
        out = np.zeros(int(np.ceil((end - self.origin) * self.sfreq)) + 1)
        for onset, signal, stop in clips:
            if signal.sfreq != self.sfreq:
                raise RecordingError(f"cue audio at {signal.sfreq} Hz in a {self.sfreq} Hz track")
            x = signal.samples
            if np.isfinite(stop):
                x = x[: max(0, int(round((stop - onset) * self.sfreq)))]
            i0 = int(round((onset - self.origin) * self.sfreq))
            if i0 < 0:
                x, i0 = x[-i0:], 0
            out[i0 : i0 + x.size] += x[: out.size - i0]
        return AudioSignal(out, self.sfreq)

    def flush(self) -> Path:
        """Write the track now."""
        return write_wav(self.path, self.track())

    def close(self) -> None:
        self.flush()


class CsvSink(CueOutput):
    """Write light and vibration pulses as on/off times (seconds on the session time base).

    Parameters
    ----------
    path : str or Path
        The ``.csv`` file written on :meth:`close` (or :meth:`flush`).
    modalities : iterable of str
        Which of ``light``/``vibration`` to accept (default both).
    """

    name = "csv-file"

    def __init__(self, path: str | Path, modalities: tuple[str, ...] = ("light", "vibration")) -> None:
        super().__init__()
        self.path = Path(path)
        self.modalities = frozenset(modalities)
        self._rows: list[list] = []
        self._lock = threading.Lock()
        if self.path.suffix.lower() != ".csv":
            raise RecordingError(
                f"light/vibration cues are written as CSV: use a .csv name, not {self.path.name}"
            )

    def deliver(self, rendering: Rendering, onset: float) -> None:
        p = rendering.pulses
        if p is None:
            return
        enforce_hard_cap(rendering)
        with self._lock:
            for start, dur in p.intervals:
                self._rows.append(
                    [
                        onset + float(start),
                        onset + float(start + dur),
                        p.modality,
                        p.level_255,
                        round(p.intensity, 6),
                        round(rendering.level_dbfs, 3),
                        rendering.cue.kind,
                        rendering.cue.payload,
                    ]
                )

    def abort(self, at: float) -> None:
        with self._lock:
            kept = []
            for row in self._rows:
                if row[0] >= at:
                    continue  # not yet started: never presented
                row[1] = min(row[1], at)
                kept.append(row)
            self._rows = kept

    def rows(self) -> list[dict]:
        """The pulses so far, sorted by on time."""
        with self._lock:
            rows = sorted(self._rows, key=lambda r: r[0])
        return [dict(zip(PULSE_COLUMNS, r, strict=True)) for r in rows]

    def flush(self) -> Path:
        """Write the CSV now."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(PULSE_COLUMNS)
                for row in self.rows():
                    r = dict(row)
                    r["on_sec"], r["off_sec"] = f"{r['on_sec']:.6f}", f"{r['off_sec']:.6f}"
                    writer.writerow([r[c] for c in PULSE_COLUMNS])
        except OSError as err:
            raise RecordingError(
                f"cannot write {self.path} ({err.strerror}); choose a writable folder"
            ) from err
        return self.path

    def close(self) -> None:
        self.flush()


class NullSink(CueOutput):
    """Accept every cue and drop it (counts deliveries); for dry runs and benchmarks."""

    name = "null"
    modalities = frozenset(MODALITIES)

    def __init__(self) -> None:
        super().__init__()
        self.delivered = 0
        self.aborted = 0

    def deliver(self, rendering: Rendering, onset: float) -> None:
        self.delivered += 1

    def abort(self, at: float) -> None:
        self.aborted += 1


def file_sink_for(path: str | Path) -> CueOutput:
    """A :class:`WavSink` for ``*.wav`` or a :class:`CsvSink` for ``*.csv``.

    Raises
    ------
    RecordingError
        For any other extension.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".wav":
        return WavSink(path)
    if suffix == ".csv":
        return CsvSink(path)
    raise RecordingError(
        f"cannot tell the sink from {Path(path).name!r}: use a .wav (audio) or .csv (light/vibration)"
    )
