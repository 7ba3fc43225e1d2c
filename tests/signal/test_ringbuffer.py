import numpy as np
import pytest

from dreamlink.signal.ringbuffer import BufferOverrunError, BufferReader, RingBuffer


def _counter(start: int, n: int, n_channels: int = 3) -> np.ndarray:
    row = np.arange(start, start + n, dtype=float)
    return np.vstack([row + 1000 * c for c in range(n_channels)])


def test_every_sample_read_exactly_once_across_wraparound():
    buf = RingBuffer(3, capacity=50)
    reader = BufferReader(buf, start=0)
    rng = np.random.default_rng(0)
    got, written = [], 0
    for _ in range(400):
        n = int(rng.integers(0, 40))
        buf.write(_counter(written, n))
        written += n
        first, data = reader.read_new()
        assert first == written - n
        got.append(data)
    out = np.concatenate(got, axis=1)
    np.testing.assert_array_equal(out, _counter(0, written))


def test_chunk_larger_than_capacity_keeps_the_newest():
    buf = RingBuffer(2, capacity=10)
    buf.write(_counter(0, 7, 2))
    buf.write(_counter(7, 25, 2))
    assert buf.n_written == 32 and buf.oldest == 22
    np.testing.assert_array_equal(buf.latest(10), _counter(22, 10, 2))


def test_reader_that_fell_behind_gets_an_explicit_overrun():
    buf = RingBuffer(1, capacity=8)
    reader = BufferReader(buf, start=0)
    buf.write(np.arange(20.0)[None, :])
    with pytest.raises(BufferOverrunError, match="overwritten"):
        reader.read_new()


def test_write_does_not_move_the_stored_data():
    buf = RingBuffer(1, capacity=100)
    storage = buf._data
    before = storage.__array_interface__["data"][0]
    for i in range(30):
        buf.write(np.full((1, 7), float(i)))
    assert buf._data is storage and storage.__array_interface__["data"][0] == before


def test_wrong_shape_is_refused():
    buf = RingBuffer(2, capacity=10)
    with pytest.raises(ValueError, match=r"shape \(2, n_times\)"):
        buf.write(np.zeros((3, 4)))
