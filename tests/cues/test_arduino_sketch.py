"""The shipped Arduino sketch, compiled for the host with a small Arduino shim, driven over a pty.

The sketch's PWM writes are logged with their times, so the test checks what the LED and the motor
would really do: the Morse is decoded back from the device-side on/off times.
"""

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from dreamlink.cues.base import Cue
from dreamlink.cues.encoding import render_cue
from dreamlink.cues.serial_device import SerialCueOutput, format_pulse
from dreamlink.errors import DeviceError
from tests.cues.analysis import decode_morse_runs

HERE = Path(__file__).parent
SKETCH = HERE.parents[1] / "examples" / "arduino" / "dreamlink_cue" / "dreamlink_cue.ino"


@pytest.fixture(scope="module")
def sketch_binary(tmp_path_factory):
    if shutil.which("g++") is None:
        pytest.skip("g++ is not installed (apt-get install g++)")
    assert SKETCH.is_file()
    exe = tmp_path_factory.mktemp("sketch") / "dreamlink_cue"
    subprocess.run(
        ["g++", "-std=c++17", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{HERE / 'arduino_host'}",
         str(HERE / "arduino_host" / "main.cpp"), "-o", str(exe)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return exe


def _pwm_runs(log: str, pin: int) -> np.ndarray:
    """(on, off) seconds of a pin from the sketch's PWM log."""
    runs, on_at = [], None
    for line in log.splitlines():
        _, p, level, us = line.split()
        if int(p) != pin:
            continue
        t = int(us) / 1e6
        if int(level) > 0 and on_at is None:
            on_at = t
        elif int(level) == 0 and on_at is not None:
            runs.append((on_at, t))
            on_at = None
    return np.array(runs)


def test_sketch_keys_morse_on_the_led_and_motor(sketch_binary, tmp_path):
    master, slave = os.openpty()
    err = open(tmp_path / "pwm.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sketch_binary], stdin=master, stdout=master, stderr=err)
    try:
        with SerialCueOutput(os.ttyname(slave), reply_timeout=2.0) as out:
            assert out.capabilities == "LV"
            out.deliver(render_cue(Cue("morse-light", "SOS", unit_ms=60), -6.0), 0.0)
            out.wait(timeout=5)
            out.deliver(render_cue(Cue("morse-vibration", "OK", unit_ms=60), -20.0), 0.0)
            out.wait(timeout=5)
            with pytest.raises(DeviceError, match="ERR level out of range"):
                out.command(b"L 999 10\n")
            with pytest.raises(DeviceError, match="ERR bad command"):
                out.command(b"HELLO\n")
            out.command(format_pulse("light", 200, 5000))
            out.abort(0.0)  # X: the 5-s pulse must stop now
            import time

            time.sleep(0.4)
    finally:
        os.close(slave)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(master)
        err.close()
    log = (tmp_path / "pwm.log").read_text()
    light, motor = _pwm_runs(log, 9), _pwm_runs(log, 10)
    assert decode_morse_runs(light[:9]) == "SOS"
    assert decode_morse_runs(motor) == "OK"
    # pulse lengths are timed by the sketch's millis() loop (here a host process on a shared, loaded
    # machine, so the bound is generous; on a microcontroller it is ~1 ms)
    durs = np.diff(light[:9], axis=1).ravel()
    assert durs == pytest.approx([0.06] * 3 + [0.18] * 3 + [0.06] * 3, abs=0.015)
    levels = {int(line.split()[2]) for line in log.splitlines() if line.split()[1] == "9"} - {0}
    assert int(255 * 10 ** (-6 / 20)) in levels
    # the abort cut the 5-second pulse short
    assert len(light) == 10 and light[9, 1] - light[9, 0] < 0.5
