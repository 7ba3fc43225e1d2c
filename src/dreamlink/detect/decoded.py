"""A decoded message: its text with a confidence per symbol, or an explicit *unreadable* result.

Every message decoder (:mod:`~dreamlink.detect.eye_reading`, :mod:`~dreamlink.detect.eye_messages`,
:mod:`~dreamlink.detect.emg_messages`) returns a :class:`Decoded`. A decoder never guesses: anything
that does not follow the code (sweeps in the same direction twice, an excursion that does not return,
a dot/dash group that is no Morse letter, a twitch count that is neither yes nor no) is unreadable,
with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dreamlink.events import Event
from dreamlink.link import morse

SOURCE = "detect.decode"


@dataclass(frozen=True)
class Decoded:
    """A decoded message, or an explicit unreadable result.

    Parameters
    ----------
    kind : str
        ``"count"``, ``"eye_morse"``, ``"emg_yes_no"`` or ``"emg_morse"``.
    ok : bool
        Whether the input followed the code.
    text : str | None
        The message (``"4"``, ``"SOS"``, ``"yes"``) when ``ok``.
    symbols : tuple of (str, float)
        Each decoded symbol (a count unit ``"1"``, a ``"."``/``"-"``, a letter separator ``" "``)
        with its confidence.
    confidence : float
        Confidence of the whole message (0 when unreadable).
    reason : str
        Why it is unreadable (empty when ``ok``).
    onset, end : float
        Time span of the message (s).
    detected_at : float
        When it was decoded (s, stream time).
    spelled : str
        When the message was read as a lexicon word instead of the non-word its elements spelled
        (:meth:`~dreamlink.detect.eye_messages.EyeMessageDecoder._in_lexicon`): that non-word.
    revises : str | None
        When this message replaces an earlier reading with the same onset, which a frame inside its
        body closed early (:meth:`~dreamlink.detect.eye_messages.EyeMessageDecoder._revised`): what
        that reading said (its text, or ``"unreadable"``). ``None`` for a first reading.
    """

    kind: str
    ok: bool
    text: str | None
    symbols: tuple[tuple[str, float], ...] = ()
    confidence: float = 0.0
    reason: str = ""
    onset: float = 0.0
    end: float = 0.0
    detected_at: float = 0.0
    spelled: str = ""
    revises: str | None = None

    def to_event(self) -> Event:
        """The ``message`` event (value ``"unreadable"`` with the reason when not ``ok``)."""
        return Event(
            onset=round(self.onset, 4),
            duration=round(max(0.0, self.end - self.onset), 4),
            trial_type="message",
            value=self.text if self.ok else "unreadable",
            confidence=round(self.confidence, 3) if self.ok else 0.0,
            source=SOURCE,
            data={
                "kind": self.kind,
                "symbols": [[s, round(c, 3)] for s, c in self.symbols],
                "reason": self.reason,
                "detected_at": round(self.detected_at, 4),
            }
            | ({"spelled": self.spelled} if self.spelled else {})
            | ({"revises": self.revises} if self.revises is not None else {}),
        )


def unreadable(kind: str, reason: str, onset: float, end: float, at: float = 0.0) -> Decoded:
    return Decoded(kind, False, None, (), 0.0, reason, onset, end, at)


def spell_morse(
    kind: str, words: list[list[str]], symbols: list[tuple[str, float]], onset: float, end: float
) -> Decoded:
    """Decode Morse ``words`` (lists of dot/dash codes) into text; unreadable if a code is no letter.

    The message confidence combines the per-element (dot/dash) confidences of ``symbols``.
    """
    text_words = []
    for word in words:
        letters = []
        for code in word:
            letter = morse.decode_letter(code)
            if letter is None:
                return unreadable(kind, f"{code!r} is not a Morse letter", onset, end)
            letters.append(letter)
        text_words.append("".join(letters))
    conf = least_confidence([c for s, c in symbols if s in ".-"])
    return Decoded(kind, True, " ".join(text_words), tuple(symbols), conf, "", onset, end)


def least_confidence(conf: Sequence[float]) -> float:
    return float(np.clip(np.min(conf) if len(conf) else 1.0, 0.0, 1.0))

