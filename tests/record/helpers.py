"""A sample-counter source for recorder tests (channel 0 counts samples, 1 µV per sample)."""

from __future__ import annotations

import numpy as np

from dreamlink.sources.base import PacedSource, SourceInfo


class CounterSource(PacedSource):
    """Channel ``count`` = sample index wrapped to ±32767, × 0.1 µV (exactly EDF's digital steps);
    channel ``sine`` = a 10-Hz, 50-µV sine; ``n_total`` samples, or endless when ``None``."""

    def __init__(self, sfreq: float = 256.0, n_total: int | None = None, speed: float | None = None,
                 extra: dict | None = None) -> None:
        super().__init__(speed=speed)
        self._info = SourceInfo(("count", "sine"), ("misc", "eeg"), sfreq, name="counter",
                                extra=extra or {})
        self._n_total = n_total

    @property
    def info(self) -> SourceInfo:
        return self._info

    @property
    def n_total(self) -> int | None:
        return self._n_total

    def _generate(self, start: int, n: int) -> np.ndarray:
        if self._n_total is not None:
            n = min(n, self._n_total - start)
        idx = np.arange(start, start + n)
        sf = self._info.sfreq
        return np.vstack([code(idx) * 1e-7, 50e-6 * np.sin(2 * np.pi * 10 * idx / sf)])


def code(idx: np.ndarray) -> np.ndarray:
    """Sample index wrapped into the 16-bit range [-32767, 32767]."""
    return (np.asarray(idx) + 32767) % 65535 - 32767


def counts(raw) -> np.ndarray:
    """The counter channel of a raw read back, as integers (compare with ``code(np.arange(n))``)."""
    return np.rint(raw.get_data(picks="count")[0] * 1e7).astype(int)


def intact(raw, n: int | None = None) -> bool:
    """Whether the first ``n`` (default all) counter samples are 0, 1, 2, ... without gap or repeat."""
    got = counts(raw)
    n = len(got) if n is None else n
    return len(got) >= n and bool(np.array_equal(got[:n], code(np.arange(n))))
