"""Light and vibration cues over a serial line: a tiny text protocol any Arduino or ESP32 can speak.

Protocol (version 1). ASCII lines ending in ``\\n``, 115 200 baud 8N1; the host sends one command per
line and the device answers every line with ``OK`` or ``ERR <reason>``:

==============================  ===========================================================
``?``                           identify; reply ``OK DREAMLINK-CUE 1 <capabilities>`` (e.g. ``LV``)
``L <level> <ms>``              light on at ``level`` (0–255 PWM) for ``ms`` milliseconds (1–10000)
``V <level> <ms>``              vibration on at ``level`` (0–255 PWM) for ``ms`` milliseconds (1–10000)
``X``                           abort: everything off now
==============================  ===========================================================

``L``/``V`` return at once (the device times the pulse with ``millis()``), so the host keys Morse by
sending one command at each pulse onset; a new command for the same actuator replaces the running
pulse, ``level 0`` switches it off. A device must refuse (``ERR``) levels above its own hardware limit.
The example sketch is ``examples/arduino/dreamlink_cue/dreamlink_cue.ino``.

pyserial opens the port (``/dev/ttyUSB0``, ``COM3``, or any pyserial URL such as ``loop://``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass

from dreamlink.cues.base import CueOutput, Rendering
from dreamlink.cues.safety import enforce_hard_cap
from dreamlink.errors import DeviceError

logger = logging.getLogger("dreamlink.cues.serial")

#: Protocol version and default line speed.
PROTOCOL_VERSION = 1
DEFAULT_BAUDRATE = 115200
#: Longest single pulse the protocol allows, milliseconds.
MAX_PULSE_MS = 10000
_LETTER = {"light": "L", "vibration": "V"}
_COMMAND_RE = re.compile(r"^(?:(\?)|(X)|([LV]) (\d{1,3}) (\d{1,5}))$")


@dataclass(frozen=True)
class Command:
    """One parsed protocol line: ``op`` is ``?``, ``X``, ``L`` or ``V``."""

    op: str
    level: int = 0
    ms: int = 0


def format_pulse(modality: str, level: int, ms: int) -> bytes:
    """Encode one ``L``/``V`` command line (validated)."""
    if modality not in _LETTER:
        raise DeviceError(f"serial cue devices drive light or vibration, not {modality!r}")
    if not 0 <= level <= 255 or not 1 <= ms <= MAX_PULSE_MS:
        raise DeviceError(f"pulse out of range (level {level}, {ms} ms); level 0-255, 1-{MAX_PULSE_MS} ms")
    return f"{_LETTER[modality]} {int(level)} {int(ms)}\n".encode("ascii")


def parse_command(line: str) -> Command:
    """Parse a protocol line (without the newline) as a device would.

    Raises
    ------
    ValueError
        With the ``ERR`` reason for malformed or out-of-range lines.
    """
    m = _COMMAND_RE.match(line.strip())
    if not m:
        raise ValueError("bad command")
    if m.group(1):
        return Command("?")
    if m.group(2):
        return Command("X")
    level, ms = int(m.group(4)), int(m.group(5))
    if level > 255:
        raise ValueError("level out of range")
    if not 1 <= ms <= MAX_PULSE_MS:
        raise ValueError("duration out of range")
    return Command(m.group(3), level, ms)


class SerialCueOutput(CueOutput):
    """Present light and vibration cues on a serial device speaking the dreamlink cue protocol.

    Parameters
    ----------
    port : str
        Serial port or pyserial URL.
    baudrate : int
        Line speed.
    reply_timeout : float
        Seconds to wait for ``OK``/``ERR``.
    handshake : bool
        Send ``?`` on open and require a dreamlink device.

    Raises
    ------
    DeviceError
        If the port cannot be opened, the device does not answer, or answers ``ERR``.
    """

    name = "serial"
    modalities = frozenset({"light", "vibration"})

    def __init__(
        self,
        port: str,
        baudrate: int = DEFAULT_BAUDRATE,
        *,
        reply_timeout: float = 1.0,
        handshake: bool = True,
    ) -> None:
        super().__init__()
        self.port = port
        self.baudrate = baudrate
        self.reply_timeout = reply_timeout
        self.handshake = handshake
        self.capabilities = ""
        self._serial = None
        self._io_lock = threading.Lock()
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None
        self._end_time = 0.0

    def open(self) -> SerialCueOutput:
        import serial

        try:
            self._serial = serial.serial_for_url(
                self.port, baudrate=self.baudrate, timeout=self.reply_timeout
            )
        except (serial.SerialException, ValueError) as err:
            raise DeviceError(
                f"cannot open serial cue device {self.port!r} ({err}); plug it in and check the port name"
            ) from err
        if self.handshake:
            reply = self.command(b"?\n")
            if "DREAMLINK-CUE" not in reply:
                self.close()
                raise DeviceError(
                    f"{self.port} answered {reply!r}, not a dreamlink cue device; flash dreamlink_cue.ino"
                )
            self.capabilities = reply.split()[-1] if len(reply.split()) >= 4 else ""
        return self

    def command(self, line: bytes) -> str:
        """Send one line and return the reply (``OK ...``); raises :class:`DeviceError` on ``ERR``/silence."""
        if self._serial is None:
            raise DeviceError(f"serial cue device {self.port} is not open; call open() first")
        with self._io_lock:
            self._serial.write(line)
            self._serial.flush()
            raw = self._serial.readline()
        reply = raw.decode("ascii", "replace").strip()
        if not raw.endswith(b"\n"):
            raise DeviceError(
                f"no reply from the cue device on {self.port} within {self.reply_timeout:g} s; "
                "check the cable, the baud rate and that the sketch is running"
            )
        if not reply.startswith("OK"):
            raise DeviceError(f"cue device refused {line.decode().strip()!r}: {reply}")
        return reply

    def deliver(self, rendering: Rendering, onset: float) -> None:
        pulses = rendering.pulses
        if pulses is None:
            return
        enforce_hard_cap(rendering)
        if self._worker is not None and self._worker.is_alive():
            self._stop.set()
            self._worker.join()
        self._stop.clear()
        commands = [
            (float(start), format_pulse(pulses.modality, pulses.level_255, max(1, round(dur * 1000))))
            for start, dur in pulses.intervals
        ]
        self._end_time = time.monotonic() + pulses.duration
        self._worker = threading.Thread(
            target=self._key, args=(commands,), name="dreamlink-serial", daemon=True
        )
        self._worker.start()

    def _key(self, commands: list[tuple[float, bytes]]) -> None:
        t0 = time.monotonic()
        for start, line in commands:
            while not self._stop.is_set():
                left = t0 + start - time.monotonic()
                if left <= 0:
                    break
                self._stop.wait(min(left, 0.002) if left < 0.004 else left - 0.002)
            if self._stop.is_set():
                return
            try:
                self.command(line)
            except DeviceError as err:
                logger.error("%s", err)
                return

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the current cue has been presented (commands sent and the last pulse over)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._worker is not None:
            self._worker.join(timeout)
        end = self._end_time if deadline is None else min(self._end_time, deadline)
        while not self._stop.is_set() and time.monotonic() < end:
            self._stop.wait(end - time.monotonic())

    def abort(self, at: float) -> None:
        self._stop.set()
        if self._serial is not None:
            self.command(b"X\n")

    def close(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=2)
        if self._serial is not None:
            self._serial.close()
            self._serial = None
