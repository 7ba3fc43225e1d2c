"""The serial protocol against a real pseudo-terminal pair, with a device emulated on the master side."""

import os
import re
import select
import threading
import time

import numpy as np
import pytest

from dreamlink.cues.base import Cue
from dreamlink.cues.encoding import render_cue
from dreamlink.cues.serial_device import SerialCueOutput, format_pulse, parse_command
from dreamlink.errors import DeviceError
from tests.cues.analysis import decode_morse_runs

LINE = re.compile(rb"^([LV]) (\d+) (\d+)$|^X$|^\?$")


class FakeDevice:
    """Reads protocol lines from the pty master, answers like the Arduino sketch, logs arrival times."""

    def __init__(self, reply=b"OK\n", hello=b"OK DREAMLINK-CUE 1 LV\n", silent=False):
        self.master, self.slave = os.openpty()
        self.port = os.ttyname(self.slave)
        self.reply, self.hello, self.silent = reply, hello, silent
        self.lines: list[tuple[float, bytes]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        buf = b""
        while not self._stop.is_set():
            r, _, _ = select.select([self.master], [], [], 0.05)
            if not r:
                continue
            try:
                buf += os.read(self.master, 1024)
            except OSError:
                return
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                line = line.rstrip(b"\r")
                self.lines.append((time.monotonic(), line))
                if self.silent:
                    continue
                if not LINE.match(line):
                    os.write(self.master, b"ERR bad command\n")
                elif line == b"?":
                    os.write(self.master, self.hello)
                else:
                    os.write(self.master, self.reply)

    def close(self):
        self._stop.set()
        self._thread.join()
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def device():
    dev = FakeDevice()
    yield dev
    dev.close()


def test_morse_flashes_reach_the_device_with_timing(device):
    rendering = render_cue(Cue("morse-light", "SOS", unit_ms=100), -6.0)
    with SerialCueOutput(device.port, reply_timeout=1.0) as out:
        assert out.capabilities == "LV"
        t0 = time.monotonic()
        out.deliver(rendering, 0.0)
        out.wait(timeout=5)
    pulses = [(t, ln) for t, ln in device.lines if ln.startswith(b"L")]
    level = int(255 * 10 ** (-6 / 20))
    expected_ms = [100] * 3 + [300] * 3 + [100] * 3
    assert [ln for _, ln in pulses] == [f"L {level} {ms}".encode() for ms in expected_ms]
    # rebuild on/off times from arrival times and commanded durations, decode them back
    runs = np.array([[t - t0, t - t0 + int(ln.split()[2]) / 1000] for t, ln in pulses])
    assert decode_morse_runs(runs) == "SOS"
    # onsets follow the rendering (a generous correctness bound: this machine's 2 cores are shared by
    # several test runs; the host-side keying timer itself is ~1 ms)
    assert np.max(np.abs((runs[:, 0] - runs[0, 0]) - rendering.pulses.intervals[:, 0])) < 0.08


def test_vibration_and_abort(device):
    rendering = render_cue(Cue("morse-vibration", "TTTTT", unit_ms=100), -20.0)
    with SerialCueOutput(device.port) as out:
        out.deliver(rendering, 0.0)
        time.sleep(0.5)
        out.abort(0.5)
        out.wait(timeout=2)
        time.sleep(0.6)  # any pulse still scheduled would have been sent by now
    lines = [ln for _, ln in device.lines]
    assert lines[0] == b"?"
    assert b"X" in lines
    after_abort = lines[lines.index(b"X") + 1 :]
    assert not any(ln.startswith(b"V") for ln in after_abort)
    sent = [ln for ln in lines if ln.startswith(b"V")]
    assert 1 <= len(sent) < 5 and sent[0] == b"V 25 300"


def test_device_errors_are_clear():
    dev = FakeDevice(reply=b"ERR level above device limit\n")
    try:
        with (
            SerialCueOutput(dev.port) as out,
            pytest.raises(DeviceError, match="refused 'L 255 100': ERR level above device limit"),
        ):
            out.command(format_pulse("light", 255, 100))
    finally:
        dev.close()
    dev = FakeDevice(silent=True)
    try:
        with pytest.raises(DeviceError, match="no reply from the cue device"):
            SerialCueOutput(dev.port, reply_timeout=0.2).open()
    finally:
        dev.close()
    dev = FakeDevice(hello=b"OK SOMETHING-ELSE\n")
    try:
        with pytest.raises(DeviceError, match="not a dreamlink cue device"):
            SerialCueOutput(dev.port, reply_timeout=0.5).open()
    finally:
        dev.close()
    with pytest.raises(DeviceError, match="cannot open serial cue device.*plug it in"):
        SerialCueOutput("/dev/does-not-exist-42").open()


def test_protocol_parser_and_formatter_agree():
    assert parse_command(format_pulse("vibration", 7, 250).decode().strip()).ms == 250
    assert parse_command("X").op == "X" and parse_command("?").op == "?"
    for bad in ("L 256 10", "L 10 0", "L 10 20000", "Z 1 1", "L10 10"):
        with pytest.raises(ValueError):
            parse_command(bad)
    with pytest.raises(DeviceError, match="level 0-255"):
        format_pulse("light", 300, 10)
    with pytest.raises(DeviceError, match="light or vibration"):
        format_pulse("audio", 3, 10)
