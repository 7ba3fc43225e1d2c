"""WebSocket messages between rigs, subscribers and the server, and their validation.

Every frame is one JSON object in a **text** frame with a ``type``. Binary frames, frames larger
than :data:`MAX_FRAME_BYTES`, invalid JSON, unknown types and missing or ill-typed fields each get an
``error`` frame with a stable ``code`` and a one-line ``message`` naming the fix.

Rig → server (on ``/ws/rig/{session_id}``)
    ``hello`` first (protocol version), then data frames, each with a strictly increasing ``seq``
    (1, 2, 3, ... per rig and session, kept across reconnects and restarts by the rig's outbox):
    ``signal`` (a decimated block), ``event`` (one :class:`~dreamlink.events.Event`), ``state``
    (stage and relay readiness), ``relay`` (a decoded message for another dreamer; with ``revises``,
    the text of an earlier relayed message it replaces), ``receipt``
    (the dreamer signalled that a relayed cue was received), ``control_ack`` (an operator control
    was obeyed; :mod:`dreamlink.server.controls`).
Server → rig
    ``welcome`` (``last_seq``: the highest sequence number already stored, so the rig resends only
    what follows), ``ack`` (cumulative: everything ≤ ``seq`` is stored), ``cue`` (a relayed message
    to play; with ``revises``, a correction of the earlier message of that text, already delivered),
    ``relay_ack`` (the recipient confirmed one of our messages), ``relay_expired``,
    ``control`` (an operator's start/pause/abort/wake_alarm/cue, with a ``control_id``; resent on
    reconnect until acknowledged), ``error``.
Subscriber ↔ server (on ``/ws/sessions/{session_id}``)
    The server pushes ``signal``, ``event``, ``state`` and ``relay`` frames of the dreamers the user
    may see; operators may send ``send_message``; anyone may send ``ping``.

Sequence rules (enforced in :mod:`dreamlink.server.app`): ``seq == last_seq + 1`` is stored and
acknowledged; ``seq ≤ last_seq`` is a replay, acknowledged again but not stored twice; a jump
``seq > last_seq + 1`` is refused with ``seq_gap`` naming the expected number.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

PROTOCOL_VERSION = 1
#: Largest accepted frame in bytes (a 1-s decimated block of 32 channels is ~30 kB).
MAX_FRAME_BYTES = 256 * 1024
#: Longest relayed text in characters.
MAX_TEXT = 500


class ProtocolError(Exception):
    """A frame broke the protocol; ``code`` is stable, ``message`` names the fix."""

    def __init__(self, code: str, message: str, seq: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.seq = seq

    def frame(self) -> dict[str, Any]:
        """The ``error`` frame to send back."""
        out: dict[str, Any] = {"type": "error", "code": self.code, "message": self.message}
        if self.seq is not None:
            out["seq"] = self.seq
        return out


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Hello(_Frame):
    type: Literal["hello"]
    protocol: int = PROTOCOL_VERSION
    dreamer: str | None = None
    rig: str | None = Field(None, max_length=128)


class EventBody(_Frame):
    onset: float
    duration: float = 0.0
    trial_type: str = Field(min_length=1, max_length=64)
    value: str | float | int | None = None
    confidence: float | None = None
    source: str = Field("", max_length=128)
    data: dict[str, Any] = Field(default_factory=dict)


class SignalFrame(_Frame):
    type: Literal["signal"]
    seq: int = Field(ge=1)
    src_first: int = Field(ge=0)
    src_n: int = Field(ge=1)
    first: int = Field(ge=0)
    n: int = Field(ge=0)
    sfreq: float = Field(gt=0)
    ch_names: list[str] = Field(min_length=1, max_length=64)
    data: str
    wall: float | None = None


class EventFrame(_Frame):
    type: Literal["event"]
    seq: int = Field(ge=1)
    event: EventBody
    wall: float | None = None


class StateFrame(_Frame):
    type: Literal["state"]
    seq: int = Field(ge=1)
    ready: bool
    stage: str = Field("?", max_length=4)
    wall: float | None = None


class RelayFrame(_Frame):
    """A decoded message for another dreamer.

    ``revises`` (optional) is the text of an earlier message this rig relayed to the same dreamer that
    this one replaces: the detector read the same message again, whole (for example "F", closed early,
    then "FLY"). The server withdraws the earlier one if it was not delivered yet, and otherwise
    delivers this one as a correction (its ``cue`` frame carries ``revises``).
    """

    type: Literal["relay"]
    seq: int = Field(ge=1)
    to: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    ttl: float = Field(1800.0, gt=0, le=24 * 3600)
    revises: str | None = Field(None, min_length=1, max_length=MAX_TEXT)
    wall: float | None = None


class ReceiptFrame(_Frame):
    type: Literal["receipt"]
    seq: int = Field(ge=1)
    relay_id: int = Field(ge=1)
    wall: float | None = None


class ControlAckFrame(_Frame):
    type: Literal["control_ack"]
    seq: int = Field(ge=1)
    control_id: int = Field(ge=1)
    wall: float | None = None


class SendMessage(_Frame):
    type: Literal["send_message"]
    to: str = Field(min_length=1, max_length=64)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    ttl: float = Field(1800.0, gt=0, le=24 * 3600)


class Ping(_Frame):
    type: Literal["ping"]


RigFrame = Annotated[
    Hello | SignalFrame | EventFrame | StateFrame | RelayFrame | ReceiptFrame | ControlAckFrame,
    Field(discriminator="type"),
]
SubscriberFrame = Annotated[SendMessage | Ping, Field(discriminator="type")]
_RIG = TypeAdapter(RigFrame)
_SUB = TypeAdapter(SubscriberFrame)
RIG_TYPES = ("hello", "signal", "event", "state", "relay", "receipt", "control_ack")
SUBSCRIBER_TYPES = ("send_message", "ping")


def _parse(raw: str | bytes | None, adapter: TypeAdapter, allowed: tuple[str, ...]) -> Any:
    if raw is None or isinstance(raw, bytes | bytearray):
        raise ProtocolError("binary_frame", "binary frames are not accepted: send JSON in text frames")
    if len(raw) > MAX_FRAME_BYTES:
        raise ProtocolError(
            "frame_too_large", f"frame of {len(raw)} bytes exceeds {MAX_FRAME_BYTES}: send smaller blocks"
        )
    try:
        obj = json.loads(raw)
    except ValueError as err:
        raise ProtocolError("bad_json", f"frame is not valid JSON ({err.msg} at char {err.pos})") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_frame", "a frame must be a JSON object with a 'type'")
    kind = obj.get("type")
    seq = obj.get("seq") if isinstance(obj.get("seq"), int) else None
    if kind not in allowed:
        raise ProtocolError(
            "unknown_type", f"unknown message type {kind!r}; expected one of: {', '.join(allowed)}", seq
        )
    try:
        return adapter.validate_python(obj)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"][1:]) or "frame"
        raise ProtocolError("invalid_field", f"{kind}: {where}: {first['msg']}", seq) from None


def parse_rig_frame(raw: str | bytes | None) -> Any:
    """Validate one frame from a rig; returns the typed frame or raises :class:`ProtocolError`."""
    frame = _parse(raw, _RIG, RIG_TYPES)
    if isinstance(frame, SignalFrame):
        decode_block(frame)  # validates the payload size against the declared shape
    return frame


def parse_subscriber_frame(raw: str | bytes | None) -> Any:
    """Validate one frame from a subscriber (dashboard, operator tool)."""
    return _parse(raw, _SUB, SUBSCRIBER_TYPES)


def encode_block(data: np.ndarray) -> str:
    """Encode a ``(n_channels, n)`` block as base64 of little-endian float32 (channel-major)."""
    return base64.b64encode(np.ascontiguousarray(data, dtype="<f4").tobytes()).decode("ascii")


def decode_block(frame: SignalFrame) -> np.ndarray:
    """Decode a signal frame's data to a ``(n_channels, n)`` float32 array (volts)."""
    try:
        raw = base64.b64decode(frame.data, validate=True)
    except ValueError:
        raise ProtocolError("invalid_field", "signal: data: not base64", frame.seq) from None
    expected = len(frame.ch_names) * frame.n * 4
    if len(raw) != expected:
        raise ProtocolError(
            "invalid_field",
            f"signal: data holds {len(raw)} bytes but {len(frame.ch_names)} channels × {frame.n} samples "
            f"of float32 need {expected}",
            frame.seq,
        )
    return np.frombuffer(raw, dtype="<f4").reshape(len(frame.ch_names), frame.n)


def dumps(frame: dict[str, Any]) -> str:
    """Serialise an outgoing frame."""
    return json.dumps(frame, separators=(",", ":"), default=str)
