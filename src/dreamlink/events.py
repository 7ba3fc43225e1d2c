"""The one event type shared by every part of dreamlink.

An :class:`Event` matches a row of a BIDS ``_events.tsv`` table: ``onset`` and ``duration`` in seconds
from the session's (or recording's) start, a short snake_case ``trial_type`` (``stage``, ``rem_entry``,
``eye_sweep``, ``lrlr``, ``message``, ``arousal``, ``wake``, ``cue``, ``cue_refused``, ``relay_sent``,
``relay_delivered``, ``relay_ack``, ``note``, ...), a ``value`` (text or number), a ``confidence``
(0–1 or ``None``), the ``source`` component that produced it, and an optional ``data`` mapping.

Detectors emit events, designs react to them, cues and relays produce them, the recorder writes them,
the server forwards them and the report reads them.
"""

from __future__ import annotations

import csv
import json
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamlink.errors import InputFileError

#: Column order of an events table (BIDS columns first, dreamlink's after).
EVENT_COLUMNS: tuple[str, ...] = (
    "onset",
    "duration",
    "trial_type",
    "value",
    "confidence",
    "source",
    "data",
)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened at a time, in the shared time base.

    Parameters
    ----------
    onset : float
        Start, in seconds from the session's or recording's start.
    duration : float
        Length in seconds (0 for instantaneous events).
    trial_type : str
        Short snake_case kind, e.g. ``"lrlr"`` or ``"cue"``.
    value : str | float | int | None
        The event's payload in one value (a stage, a decoded message, a cue text...).
    confidence : float | None
        0–1, or ``None`` when not applicable.
    source : str
        The component that produced it (``"detect.eye"``, ``"staging.causal"``...).
    data : Mapping[str, Any]
        Anything else, JSON-serialisable.
    """

    onset: float
    duration: float = 0.0
    trial_type: str = ""
    value: str | float | int | None = None
    confidence: float | None = None
    source: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def end(self) -> float:
        """Onset plus duration, in seconds."""
        return self.onset + self.duration

    def to_row(self) -> dict[str, Any]:
        """Return a flat dict with :data:`EVENT_COLUMNS` keys (``data`` as a JSON string)."""
        return {
            "onset": self.onset,
            "duration": self.duration,
            "trial_type": self.trial_type,
            "value": self.value,
            "confidence": self.confidence,
            "source": self.source,
            "data": json.dumps(dict(self.data), sort_keys=True) if self.data else "",
        }

    def to_json(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``data`` kept as a mapping)."""
        row = self.to_row()
        row["data"] = dict(self.data)
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Event:
        """Build an event from a row as written by :meth:`to_row` or a BIDS events table."""
        data = row.get("data") or {}
        if isinstance(data, str):
            data = json.loads(data) if data.strip() not in ("", "n/a") else {}
        return cls(
            onset=float(row["onset"]),
            duration=_float_or(row.get("duration"), 0.0),
            trial_type=str(row.get("trial_type") or ""),
            value=_parse_value(row.get("value")),
            confidence=_float_or(row.get("confidence"), None),
            source=str(row.get("source") or ""),
            data=data,
        )


def _float_or(value: Any, default: float | None) -> float | None:
    if value is None:
        return default
    if isinstance(value, str) and value.strip() in ("", "n/a", "nan", "None"):
        return default
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return default if math.isnan(out) else out


def _parse_value(value: Any) -> str | float | int | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else value
    text = str(value)
    if text in ("", "n/a", "None"):
        return None
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _cell(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return repr(round(value, 6))
    text = str(value)
    return text.replace("\t", " ").replace("\n", " ") if text else "n/a"


def write_events_tsv(events: Iterable[Event], path: str | Path) -> Path:
    """Write events to a BIDS-style tab-separated table, sorted by onset.

    Parameters
    ----------
    events : iterable of Event
        The events to write.
    path : str or Path
        Destination ``.tsv`` file; parent folders are created.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(events, key=lambda e: (e.onset, e.trial_type))
    with path.open("w", newline="", encoding="utf-8") as fh:
        fh.write("\t".join(EVENT_COLUMNS) + "\n")
        for event in rows:
            row = event.to_row()
            fh.write("\t".join(_cell(row[c]) for c in EVENT_COLUMNS) + "\n")
    return path


def read_events_tsv(path: str | Path) -> list[Event]:
    """Read an events table written by :func:`write_events_tsv` (or any BIDS events file).

    Raises
    ------
    InputFileError
        If the file is missing or has no ``onset`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"events file not found: {path} (check the path)")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        if reader.fieldnames is None or "onset" not in reader.fieldnames:
            raise InputFileError(
                f"{path} is not an events table: it needs a header row with an 'onset' column"
            )
        return [Event.from_row(row) for row in reader]


EventCallback = Callable[[Event], None]


class EventBus:
    """Synchronous publish/subscribe hub for :class:`Event` objects inside one rig.

    Subscribers are called in subscription order, in the publisher's thread. A subscriber that
    raises does not stop the others; the exception is logged.
    """

    def __init__(self) -> None:
        self._subscribers: list[tuple[frozenset[str] | None, EventCallback]] = []
        self._lock = threading.Lock()

    def subscribe(self, callback: EventCallback, kinds: Iterable[str] | None = None) -> None:
        """Call ``callback(event)`` for every published event (or only those of ``kinds``)."""
        with self._lock:
            self._subscribers.append((frozenset(kinds) if kinds is not None else None, callback))

    def unsubscribe(self, callback: EventCallback) -> None:
        """Stop calling ``callback``."""
        with self._lock:
            self._subscribers = [(k, c) for k, c in self._subscribers if c is not callback]

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every interested subscriber."""
        import logging

        with self._lock:
            subscribers = list(self._subscribers)
        for kinds, callback in subscribers:
            if kinds is None or event.trial_type in kinds:
                try:
                    callback(event)
                except Exception:  # noqa: BLE001 - one bad subscriber must not stop the others
                    logging.getLogger("dreamlink.events").exception(
                        "event subscriber %r failed on %s", callback, event.trial_type
                    )
