"""A fixed-capacity ring buffer of multichannel samples that moves an index, not the data.

Writing a chunk copies it into at most two slices of a preallocated array and advances a write
index; nothing is shifted (no ``np.roll``). Every sample has an absolute index (samples written
since creation), so a reader asking for data the writer has already overwritten gets an explicit
:class:`BufferOverrunError` instead of silently wrong samples.
"""

from __future__ import annotations

import threading

import numpy as np


class BufferOverrunError(RuntimeError):
    """The requested samples were overwritten before they were read (the reader fell behind)."""


class RingBuffer:
    """Multichannel ring buffer, shape ``(n_channels, capacity)``, safe for one writer thread
    and any number of reader threads.

    Parameters
    ----------
    n_channels : int
        Number of rows.
    capacity : int
        Number of samples kept (the window readers can look back over).
    dtype : numpy dtype
        Storage type (float64 by default).
    """

    def __init__(self, n_channels: int, capacity: int, dtype: np.dtype | type = np.float64) -> None:
        if n_channels < 1 or capacity < 1:
            raise ValueError(f"need n_channels ≥ 1 and capacity ≥ 1, got {n_channels}, {capacity}")
        self._data = np.zeros((n_channels, capacity), dtype=dtype)
        self._capacity = capacity
        self._n_written = 0
        self._lock = threading.Lock()

    @property
    def capacity(self) -> int:
        """Samples kept."""
        return self._capacity

    @property
    def n_channels(self) -> int:
        """Rows."""
        return int(self._data.shape[0])

    @property
    def n_written(self) -> int:
        """Total samples written since creation (the absolute index of the next sample)."""
        return self._n_written

    @property
    def oldest(self) -> int:
        """Absolute index of the oldest sample still held."""
        return max(0, self._n_written - self._capacity)

    def write(self, chunk: np.ndarray) -> None:
        """Append ``chunk`` of shape ``(n_channels, n)``; the oldest samples are overwritten."""
        chunk = np.asarray(chunk)
        if chunk.ndim != 2 or chunk.shape[0] != self.n_channels:
            raise ValueError(
                f"chunk must have shape ({self.n_channels}, n_times), got {chunk.shape}"
            )
        n = chunk.shape[1]
        if n == 0:
            return
        with self._lock:
            if n >= self._capacity:
                # Only the last `capacity` samples can be kept.
                start = (self._n_written + n - self._capacity) % self._capacity
                tail = chunk[:, -self._capacity :]
                first = self._capacity - start
                self._data[:, start:] = tail[:, :first]
                self._data[:, :start] = tail[:, first:]
            else:
                start = self._n_written % self._capacity
                first = min(n, self._capacity - start)
                self._data[:, start : start + first] = chunk[:, :first]
                if first < n:
                    self._data[:, : n - first] = chunk[:, first:]
            self._n_written += n

    def read(self, start: int, stop: int | None = None) -> np.ndarray:
        """Copy of absolute samples ``[start, stop)`` (``stop`` defaults to the newest).

        Raises
        ------
        BufferOverrunError
            If ``start`` has already been overwritten.
        ValueError
            If ``stop`` lies in the future or before ``start``.
        """
        with self._lock:
            stop = self._n_written if stop is None else stop
            if stop > self._n_written or stop < start:
                raise ValueError(
                    f"cannot read [{start}, {stop}): {self._n_written} samples written so far"
                )
            if start < self.oldest:
                raise BufferOverrunError(
                    f"samples from {start} were overwritten (oldest held is {self.oldest}); "
                    "read more often or enlarge the buffer"
                )
            n = stop - start
            a = start % self._capacity
            if a + n <= self._capacity:
                return self._data[:, a : a + n].copy()
            first = self._capacity - a
            return np.concatenate([self._data[:, a:], self._data[:, : n - first]], axis=1)

    def latest(self, n: int) -> np.ndarray:
        """Copy of the newest ``min(n, held)`` samples."""
        with self._lock:
            stop = self._n_written
        return self.read(max(self.oldest, stop - n), stop)


class BufferReader:
    """A cursor over a :class:`RingBuffer` that returns each sample exactly once.

    Parameters
    ----------
    buffer : RingBuffer
        The buffer to follow.
    start : int | None
        Absolute index to start from (default: the next sample to be written).
    """

    def __init__(self, buffer: RingBuffer, start: int | None = None) -> None:
        self.buffer = buffer
        self.position = buffer.n_written if start is None else start

    def read_new(self) -> tuple[int, np.ndarray]:
        """Return ``(first_sample, data)`` for everything written since the last call."""
        stop = self.buffer.n_written
        first = self.position
        data = self.buffer.read(first, stop)
        self.position = stop
        return first, data
