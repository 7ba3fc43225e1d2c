"""LSL inlet source and outlets against real liblsl outlets/inlets on loopback (unique stream names)."""

from __future__ import annotations

import threading
import time
import uuid

import numpy as np
import pytest

from dreamlink.errors import SourceError, StreamTimeoutError
from dreamlink.events import Event
from dreamlink.sources.base import SourceInfo
from dreamlink.sources.file import FileSource
from dreamlink.sources.lsl import EventInlet, LSLSource, unit_scale
from dreamlink.sources.lsl_outlet import EventOutlet, SignalOutlet, publish
from dreamlink.sources.uri import open_source
from tests.sources.test_file import assert_consecutive, counter_values, write_counter_edf

pytest.importorskip("mne_lsl")


def unique(prefix: str) -> str:
    return f"dreamlink-test-{prefix}-{uuid.uuid4().hex[:12]}"


def read_n(src: LSLSource, n: int, timeout: float = 10.0, stamps: list | None = None) -> np.ndarray:
    parts, have = [], 0
    deadline = time.monotonic() + timeout
    while have < n:
        assert time.monotonic() < deadline, f"only {have} of {n} samples arrived"
        chunk = src.read(int(np.random.default_rng(have).integers(1, 400)), timeout=0.5)
        assert chunk.first_sample == have
        parts.append(chunk.data)
        have += chunk.n_times
        if stamps is not None:
            stamps.extend(src.last_timestamps)
    return np.concatenate(parts, axis=1)


def test_outlet_to_inlet_metadata_and_volts():
    from mne_lsl.lsl import local_clock

    name = unique("meta")
    info = SourceInfo(("C4-M1", "E1-M2", "EMG"), ("eeg", "eog", "emg"), 256.0)
    with SignalOutlet(info, name) as outlet:
        src = open_source(f"lsl:{name}:timeout=5")
        with src:
            assert src.info.ch_names == info.ch_names
            assert src.info.ch_types == info.ch_types
            assert src.info.sfreq == 256.0
            assert src.info.extra["units"] == ["microvolts"] * 3
            outlet.wait_for_consumers(5)
            x = np.random.default_rng(0).normal(0, 30e-6, (3, 512))
            t_start = local_clock()
            # sender timestamps of the last sample of each chunk, on a regular 256-Hz grid
            outlet.push(x[:, :200], timestamp=t_start + 199 / 256)
            outlet.push(x[:, 200:], timestamp=t_start + 511 / 256)
            stamps: list[float] = []
            got = read_n(src, 512, stamps=stamps)
    np.testing.assert_allclose(got, x, rtol=1e-12, atol=1e-18)  # µV on the wire, volts back
    # seconds from the first sample, monotonic, on the sender's grid (loopback: clock offset ~0)
    np.testing.assert_allclose(stamps, np.arange(512) / 256, atol=1e-3)


def test_counter_through_outlet_and_inlet_no_drop_no_duplicate(tmp_path):
    """A file with a counter channel → publish() in a thread → LSL → LSLSource: counter intact."""
    path = tmp_path / "counter.edf"
    counter = write_counter_edf(path, int(20 * 256))
    name = unique("counter")
    stop = threading.Event()
    sender = threading.Thread(
        target=publish,
        args=(FileSource(path, speed=50.0), name),
        kwargs={"stop": stop, "wait_for_consumer": 5.0, "linger": 5.0, "chunk_sec": 0.02},
        daemon=True,
    )
    sender.start()
    try:
        with LSLSource(name, timeout=5) as src:
            got = read_n(src, counter.size, timeout=20)
    finally:
        stop.set()
        sender.join(10)
    values = counter_values(got[0])
    assert values.size == counter.size
    assert_consecutive(values)
    np.testing.assert_array_equal(values, counter)


def test_event_markers_round_trip():
    name = unique("events")
    events = [
        Event(12.5, 1.0, "lrlr", "yes", 0.9, "detect.eye", {"n": 2}),
        Event(30.0, 0.0, "cue", "tone 440 Hz", None, "cue.sound"),
        Event(31.0, 0.0, "stage", "R", 0.8, "staging.causal"),
    ]
    with EventOutlet(name) as outlet:
        inlet = EventInlet(name, timeout=5)
        outlet.wait_for_consumers(5)
        for event in events:
            outlet.push(event)
        got: list[Event] = []
        deadline = time.monotonic() + 5
        while len(got) < len(events) and time.monotonic() < deadline:
            got.extend(inlet.pull(timeout=0.5))
        inlet.close()
    assert got == events


def test_stream_that_never_appears_times_out():
    name = unique("absent")
    t0 = time.monotonic()
    expected = rf"no LSL stream named '{name}' appeared within 0.3 s; check"
    with pytest.raises(StreamTimeoutError, match=expected):
        open_source(f"lsl:{name}:timeout=0.3").open()
    assert time.monotonic() - t0 < 3


def test_sender_that_stops_raises():
    name = unique("stall")
    info = SourceInfo(("Cz",), ("eeg",), 100.0)
    outlet = SignalOutlet(info, name)
    with LSLSource(name, timeout=5, stall_timeout=0.4) as src:
        outlet.wait_for_consumers(5)
        outlet.push(np.zeros((1, 10)))
        read_n(src, 10)
        with pytest.raises(StreamTimeoutError, match="sent nothing for 0.4 s"):
            for _ in range(20):
                src.read(timeout=0.2)
    outlet.close()


def test_marker_stream_is_refused_as_signal():
    name = unique("marker")
    with EventOutlet(name), pytest.raises(SourceError, match="irregular"):
        LSLSource(name, timeout=5).open()


def test_bad_lsl_strings():
    with pytest.raises(SourceError, match="needs a target"):
        open_source("lsl:")
    with pytest.raises(SourceError, match="unknown LSL source option"):
        open_source("lsl:X:colour=red")
    with pytest.raises(SourceError, match="timeouts must be numbers"):
        open_source("lsl:X:timeout=soon")


def test_unit_scale():
    assert unit_scale("microvolts") == 1e-6
    assert unit_scale("uV") == 1e-6
    assert unit_scale("V") == 1.0
    assert unit_scale("-3") == 1e-3
    assert unit_scale(None) == 1e-6


def _pylsl_or_skip():
    try:
        import pylsl

        pylsl.library_version()
    except Exception as err:  # noqa: BLE001 - pylsl raises RuntimeError when it finds no liblsl
        pytest.skip(f"pylsl cannot load its liblsl here: {err}")
    return pylsl


def test_pylsl_outlet_to_dreamlink_inlet():
    """Interoperability: a plain pylsl outlet (another lab tool) is read by dreamlink's mne-lsl inlet."""
    pylsl = _pylsl_or_skip()
    name = unique("pylsl")
    info = pylsl.StreamInfo(name, "EEG", 2, 200.0, "double64", name)
    chans = info.desc().append_child("channels")
    for label, unit in (("LOC", "microvolts"), ("Cz", "microvolts")):
        ch = chans.append_child("channel")
        ch.append_child_value("label", label)
        ch.append_child_value("unit", unit)
    outlet = pylsl.StreamOutlet(info)
    with LSLSource(name, timeout=5) as src:
        assert src.info.ch_names == ("LOC", "Cz")
        assert src.info.ch_types == ("eog", "eeg")  # no types in the description: inferred from names
        outlet.wait_for_consumers(5)
        x = np.vstack([np.arange(300.0), -np.arange(300.0)])  # µV
        outlet.push_chunk(x.T.tolist())
        got = read_n(src, 300)
    del outlet
    np.testing.assert_allclose(got * 1e6, x, atol=1e-9)


def test_dreamlink_outlet_to_pylsl_inlet():
    pylsl = _pylsl_or_skip()
    name = unique("pylsl-in")
    info = SourceInfo(("C4-M1", "E1-M2"), ("eeg", "eog"), 128.0)
    with SignalOutlet(info, name) as outlet:
        found = pylsl.resolve_byprop("name", name, timeout=5)
        assert found, "pylsl did not see the dreamlink outlet"
        inlet = pylsl.StreamInlet(found[0])
        desc = inlet.info(timeout=5).desc().child("channels").child("channel")
        assert desc.child_value("label") == "C4-M1"
        assert desc.child_value("unit") == "microvolts"
        inlet.open_stream(timeout=5)
        outlet.wait_for_consumers(5)
        outlet.push(np.full((2, 64), 10e-6))
        samples, _ = inlet.pull_chunk(timeout=2.0, max_samples=64)
        while len(samples) < 64:
            more, _ = inlet.pull_chunk(timeout=1.0, max_samples=64 - len(samples))
            assert more, "pylsl inlet stopped receiving"
            samples += more
        inlet.close_stream()
    np.testing.assert_allclose(np.array(samples), 10.0)


def test_resolve_by_type():
    name = unique("bytype")
    stype = f"EEG-{uuid.uuid4().hex[:8]}"  # unique, so other streams on this network cannot match
    info = SourceInfo(("Cz",), ("eeg",), 100.0)
    with SignalOutlet(info, name, stype=stype) as outlet, open_source(f"lsl:*:type={stype},timeout=5") as src:
        assert src.info.name == f"lsl:{name}"
        assert src.info.extra["stype"] == stype
        outlet.wait_for_consumers(5)
        outlet.push(np.full((1, 20), 5e-6))
        np.testing.assert_allclose(read_n(src, 20), 5e-6)
    with pytest.raises(SourceError, match="needs a stream name or type"):
        open_source("lsl:*")


_SENDER = """
import sys
from dreamlink.sources.file import FileSource
from dreamlink.sources.lsl import quiet_liblsl
from dreamlink.sources.lsl_outlet import publish
quiet_liblsl()
n = publish(FileSource(sys.argv[1], speed=100.0), sys.argv[2], wait_for_consumer=20.0, linger=2.0)
print(n)
"""


def test_counter_from_a_sender_in_another_process(tmp_path):
    """A separate process plays a counter file onto LSL (as another lab machine would)."""
    import subprocess
    import sys

    path = tmp_path / "counter.edf"
    counter = write_counter_edf(path, int(10 * 256))
    name = unique("subprocess")
    proc = subprocess.Popen([sys.executable, "-c", _SENDER, str(path), name],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with LSLSource(name, timeout=30) as src:
            got = read_n(src, counter.size, timeout=30)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert int(out.strip()) == counter.size
    np.testing.assert_array_equal(counter_values(got[0]), counter)
