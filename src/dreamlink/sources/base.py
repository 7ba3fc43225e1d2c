"""The one abstraction for a live stream of multichannel samples.

Every way samples come in — the simulator, file playback, a BrainFlow board, a Lab Streaming Layer
inlet — is a :class:`Source`: it has a :class:`SourceInfo` (channel names and types, sampling rate,
units), is opened and closed (or used as a context manager), and is read in chunks of shape
``(n_channels, n_times)`` in **volts**. Each :class:`Chunk` carries the index of its first sample
since the stream opened, so consumers can prove that no sample was dropped or duplicated, and its
times in seconds on the stream's own monotonic time base.

Sources that generate or replay data (simulator, files) derive from :class:`PacedSource`, which
releases samples at real time × ``speed`` (or as fast as possible with ``speed=None``), scheduled
against target timestamps so that pacing never drifts (the approach of mne-lsl's player).
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import numpy as np

from dreamlink.errors import SourceError

#: Channel types dreamlink knows (MNE's names).
CHANNEL_TYPES: tuple[str, ...] = ("eeg", "eog", "emg", "ecg", "misc", "stim")


@dataclass(frozen=True)
class SourceInfo:
    """Metadata of a stream.

    Parameters
    ----------
    ch_names : tuple of str
        Channel names, in row order of every chunk.
    ch_types : tuple of str
        One of :data:`CHANNEL_TYPES` per channel.
    sfreq : float
        Sampling rate in Hz.
    name : str
        Human-readable name of the source (the source string for most).
    duration : float | None
        Total length in seconds when known in advance (files, simulator), else ``None``.
    meas_date : float | None
        Wall-clock start as a POSIX timestamp (seconds), when known.
    extra : dict
        Anything else a source wants to expose (device serial, file path...).
    """

    ch_names: tuple[str, ...]
    ch_types: tuple[str, ...]
    sfreq: float
    name: str = ""
    duration: float | None = None
    meas_date: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if len(self.ch_names) != len(self.ch_types):
            raise ValueError(
                f"{len(self.ch_names)} channel names but {len(self.ch_types)} channel types"
            )
        bad = sorted(set(self.ch_types) - set(CHANNEL_TYPES))
        if bad:
            raise ValueError(f"unknown channel type(s) {bad}; allowed: {list(CHANNEL_TYPES)}")
        if not self.sfreq > 0:
            raise ValueError(f"sfreq must be positive, got {self.sfreq}")

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return len(self.ch_names)

    @property
    def units(self) -> str:
        """Units of every sample inside dreamlink (always volts)."""
        return "V"

    def picks(self, ch_type: str) -> list[int]:
        """Row indices of channels of type ``ch_type``."""
        return [i for i, t in enumerate(self.ch_types) if t == ch_type]

    def index(self, ch_name: str) -> int:
        """Row index of ``ch_name``; raises :class:`~dreamlink.errors.ChannelError` if absent."""
        from dreamlink.errors import ChannelError

        if ch_name not in self.ch_names:
            raise ChannelError(
                f"channel {ch_name!r} not found; available channels: {', '.join(self.ch_names)}"
            )
        return self.ch_names.index(ch_name)


@dataclass(frozen=True)
class Chunk:
    """A block of consecutive samples.

    Parameters
    ----------
    data : numpy.ndarray
        Samples in volts, shape ``(n_channels, n_times)``.
    first_sample : int
        Index of the first column since the stream opened (0-based).
    sfreq : float
        Sampling rate in Hz.
    t0 : float
        Time of the stream's sample 0, in seconds (usually 0).
    """

    data: np.ndarray
    first_sample: int
    sfreq: float
    t0: float = 0.0

    @property
    def n_times(self) -> int:
        """Number of samples (columns)."""
        return int(self.data.shape[1])

    @property
    def start_time(self) -> float:
        """Time of the first sample, in seconds."""
        return self.t0 + self.first_sample / self.sfreq

    @property
    def end_time(self) -> float:
        """Time just after the last sample, in seconds."""
        return self.t0 + (self.first_sample + self.n_times) / self.sfreq

    @property
    def times(self) -> np.ndarray:
        """Time of every sample in seconds (monotonic)."""
        return self.t0 + (self.first_sample + np.arange(self.n_times)) / self.sfreq


class Source(ABC):
    """A live stream of samples.

    Subclasses implement :meth:`_open`, :meth:`_close` and :meth:`_read`. Use as::

        with open_source("sim:seed=1,hours=0.1") as src:
            for chunk in src.chunks():
                ...
    """

    #: Default chunk length in seconds for :meth:`chunks`.
    default_chunk_sec: float = 0.25

    def __init__(self) -> None:
        self._is_open = False
        self._n_read = 0

    # -- to implement -------------------------------------------------------------------------
    @property
    @abstractmethod
    def info(self) -> SourceInfo:
        """Channel metadata (available before :meth:`open` where the source allows)."""

    @abstractmethod
    def _open(self) -> None: ...

    @abstractmethod
    def _close(self) -> None: ...

    @abstractmethod
    def _read(self, max_samples: int, timeout: float | None) -> np.ndarray | None:
        """Return up to ``max_samples`` new samples (volts), an empty array if none yet, or
        ``None`` once the stream has ended."""

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` has been called and :meth:`close` not yet."""
        return self._is_open

    @property
    def n_read(self) -> int:
        """Samples delivered since :meth:`open`."""
        return self._n_read

    def open(self) -> Source:
        """Start the stream; returns ``self``."""
        if not self._is_open:
            self._open()
            self._is_open = True
            self._n_read = 0
        return self

    def close(self) -> None:
        """Stop the stream and release its resources (idempotent)."""
        if self._is_open:
            self._is_open = False
            self._close()

    def __enter__(self) -> Source:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------------
    def read(self, max_samples: int | None = None, timeout: float | None = None) -> Chunk | None:
        """Read the next chunk.

        Parameters
        ----------
        max_samples : int | None
            Upper bound on the chunk length (default: :attr:`default_chunk_sec` worth).
        timeout : float | None
            Seconds to wait for data; ``None`` lets the source decide (paced sources wait until
            the chunk is due).

        Returns
        -------
        Chunk | None
            The next samples (possibly zero columns when nothing arrived within ``timeout``),
            or ``None`` once the stream has ended.
        """
        if not self._is_open:
            raise SourceError(f"{self.info.name or type(self).__name__} is not open: call open()")
        if max_samples is None:
            max_samples = max(1, int(round(self.default_chunk_sec * self.info.sfreq)))
        data = self._read(int(max_samples), timeout)
        if data is None:
            return None
        chunk = Chunk(np.asarray(data, dtype=np.float64), self._n_read, self.info.sfreq)
        self._n_read += chunk.n_times
        return chunk

    def chunks(self, chunk_sec: float | None = None) -> Iterator[Chunk]:
        """Iterate over non-empty chunks until the stream ends (opens the source if needed)."""
        if not self._is_open:
            self.open()
        n = max(1, int(round((chunk_sec or self.default_chunk_sec) * self.info.sfreq)))
        while True:
            chunk = self.read(n)
            if chunk is None:
                return
            if chunk.n_times:
                yield chunk

    def read_all(self) -> np.ndarray:
        """Read until the end and return everything as one ``(n_channels, n_times)`` array."""
        parts = [c.data for c in self.chunks(chunk_sec=10.0)]
        if not parts:
            return np.zeros((self.info.n_channels, 0))
        return np.concatenate(parts, axis=1)


class PacedSource(Source):
    """A source whose samples exist in advance (generated or stored) and are released on a clock.

    Parameters
    ----------
    speed : float | None
        Real time × ``speed``; ``None`` (or ``"max"`` on the command line) as fast as possible.

    Subclasses implement :meth:`_generate` (return the next ``n`` samples, fewer at the end) and
    :attr:`n_total` (total samples, or ``None`` for endless).
    """

    def __init__(self, speed: float | None = 1.0) -> None:
        super().__init__()
        if speed is not None and not speed > 0:
            raise SourceError(f"speed must be positive or 'max', got {speed}")
        self.speed = speed
        self._t_start = 0.0
        self._position = 0

    @property
    @abstractmethod
    def n_total(self) -> int | None:
        """Total number of samples, or ``None`` if endless."""

    @abstractmethod
    def _generate(self, start: int, n: int) -> np.ndarray:
        """Return samples ``start .. start+n`` (volts, ``(n_channels, n)``)."""

    def _open(self) -> None:
        self._t_start = time.monotonic()
        self._position = 0

    def _close(self) -> None:
        pass

    def _due(self) -> int:
        """Number of samples whose release time has passed."""
        if self.speed is None:
            return np.iinfo(np.int64).max
        elapsed = time.monotonic() - self._t_start
        return int(elapsed * self.info.sfreq * self.speed)

    def _read(self, max_samples: int, timeout: float | None) -> np.ndarray | None:
        total = self.n_total
        if total is not None and self._position >= total:
            return None
        target = self._position + max_samples
        if total is not None:
            target = min(target, total)
        if self.speed is not None:
            # Wait until the last sample of this chunk is due (scheduled against the start, so
            # rounding errors never accumulate), but not longer than the timeout.
            release = self._t_start + target / (self.info.sfreq * self.speed)
            wait = release - time.monotonic()
            if timeout is not None:
                wait = min(wait, timeout)
            if wait > 0:
                time.sleep(wait)
            target = min(target, max(self._due(), self._position))
        n = target - self._position
        if n <= 0:
            return np.zeros((self.info.n_channels, 0))
        data = self._generate(self._position, n)
        self._position += data.shape[1]
        return data


def parse_speed(value: str | float | None) -> float | None:
    """A pacing factor from the command line: a positive number (× real time), or ``max``/``inf``/``none``
    (or ``None``) for as fast as possible.

    Raises
    ------
    SourceError
        For anything else, with the accepted forms in the message.
    """
    if value is None or str(value).strip().lower() in ("max", "inf", "none"):
        return None
    try:
        speed = float(value)
    except ValueError as err:
        raise SourceError(f"--speed must be a number or 'max', got {value!r}") from err
    if not speed > 0:
        raise SourceError(f"--speed must be positive or 'max', got {value!r}")
    return speed


def check_channels(info: SourceInfo, wanted: Sequence[str]) -> list[int]:
    """Row indices of ``wanted`` channels, raising a fix-it error naming any missing one."""
    return [info.index(name) for name in wanted]
