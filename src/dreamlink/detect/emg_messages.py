"""EMG messages: yes/no and EMG-Morse read from chin or facial twitches as they come.

The codes are defined in :mod:`dreamlink.link.emg_code`; the twitches come from
:mod:`dreamlink.detect.emg`. Every message is a :class:`~dreamlink.detect.decoded.Decoded`.

In :class:`EmgMessageDecoder` twitches are grouped by pauses: yes = 2 short, no = 3 short within
:data:`~dreamlink.link.emg_code.GROUP_SEC`, evenly spaced (gaps ≤ :data:`YES_NO_MAX_GAP_SEC`,
longest ≤ 3 × shortest: spontaneous bursts are irregular), read as soon as the long contraction
that closes the answer ends (:func:`closed_yes_no`) and otherwise after a pause of
:data:`EMG_GROUP_END_SEC`; EMG-Morse short = dot, long = dash, a
pause of :data:`~dreamlink.link.emg_code.LETTER_PAUSE_SEC` ends a letter, twice that a word; the
end mark (:data:`~dreamlink.link.emg_code.END_MARK`, ``.-.-.`` keyed as a letter after at least one
other) ends the message as soon as its last twitch is detected (:func:`ends_with_mark`), and
otherwise a pause of :data:`EMG_MESSAGE_END_SEC` does. A lone twitch is not a message (phasic twitches
are common in REM sleep), so the streaming decoder ignores groups of one. One sender keys a message
with contractions of similar strength: twitches weaker than :data:`EMG_LEVEL_FRAC` × the group's
median level are background next to the message and dropped (:func:`consistent_twitches`), and a
group whose twitches are no stronger than :data:`EMG_MIN_MESSAGE_LEVEL` × the chin's background is
not a message at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz.distance import Levenshtein

from dreamlink.detect.decoded import Decoded, least_confidence, spell_morse, unreadable
from dreamlink.link import emg_code

#: A pause this long (s) after the last twitch ends an EMG-Morse message.
EMG_MESSAGE_END_SEC = 5.0
#: Fewest twitches read as an EMG message (a lone twitch is ignored: REM sleep has phasic twitches).
MIN_EMG_MESSAGE_TWITCHES = 2
#: Twitches weaker than this fraction of their group's median level (RMS ratio) are background.
EMG_LEVEL_FRAC = 0.5
#: A message's twitches must reach this median level (RMS × the chin's background): a deliberate
#: contraction against atonic REM chin EMG is several times the background, while the
#: background's own transients that cross the twitch threshold mostly stay just above it.
EMG_MIN_MESSAGE_LEVEL = 4.5
#: Largest gap (s) between the twitches of a yes/no answer (the code keys them ~0.5 s apart).
YES_NO_MAX_GAP_SEC = 1.5
#: Pause (s) that closes a yes/no group.
EMG_GROUP_END_SEC = 2.0
#: Pauses (s) between twitches above which a letter (a word) has ended: halfway between the gap
#: inside a letter and a letter (two letter) pause(s) on top of it.
LETTER_END_SEC = 0.75 * emg_code.LETTER_PAUSE_SEC
WORD_END_SEC = 1.75 * emg_code.LETTER_PAUSE_SEC
#: A message's last letter at most this many Morse edits from the end mark is a spoiled end mark.
SPOILED_MARK_EDITS = 1


@dataclass(frozen=True)
class Twitch:
    """A detected contraction: ``onset``/``duration`` (s), ``confidence`` (0–1), ``detected_at`` (s).

    ``level`` is its RMS relative to the chin's background (0 when unknown).
    """

    onset: float
    duration: float
    confidence: float = 1.0
    detected_at: float = 0.0
    level: float = 0.0

    @property
    def end(self) -> float:
        """End (s)."""
        return self.onset + self.duration

    @property
    def long(self) -> bool:
        """Whether this is a long twitch (≥ :data:`~dreamlink.link.emg_code.LONG_TWITCH_SEC`)."""
        return self.duration >= emg_code.LONG_TWITCH_SEC


def consistent_twitches(twitches: Sequence[Twitch], frac: float | None = None) -> list[Twitch]:
    """The twitches of a group that are as strong as a deliberate contraction of the group.

    One sender keys one message with contractions of similar strength, while the spontaneous
    bursts that fall next to it (phasic REM twitches, background transients) are mostly weak: a
    twitch whose level is below ``frac`` (default :data:`EMG_LEVEL_FRAC`) × the group's median
    level is dropped. Twitches of unknown level (0) are kept.
    """
    frac = EMG_LEVEL_FRAC if frac is None else frac
    levels = [t.level for t in twitches if t.level > 0]
    if not levels:
        return list(twitches)
    floor = frac * float(np.median(levels))
    return [t for t in twitches if t.level <= 0 or t.level >= floor]


def _strong(twitches: Sequence[Twitch]) -> bool:
    """Whether a group's twitches are as strong as deliberate contractions (unknown level: yes)."""
    levels = [t.level for t in twitches if t.level > 0]
    return not levels or float(np.median(levels)) >= EMG_MIN_MESSAGE_LEVEL


def closed_yes_no(twitches: Sequence[Twitch]) -> bool:
    """Whether a group of twitches ends with the long contraction that closes a yes/no answer,
    after at least one short twitch."""
    return len(twitches) > 1 and twitches[-1].long and not twitches[-2].long


def decode_yes_no(twitches: Sequence[Twitch]) -> Decoded:
    """Yes (2 short twitches) or no (3 short) from one group of twitches, which may end with the
    long contraction that closes the answer (:func:`closed_yes_no`)."""
    kind = "emg_yes_no"
    if not twitches:
        return unreadable(kind, "no twitches", 0.0, 0.0)
    onset, end = twitches[0].onset, twitches[-1].end
    closed = closed_yes_no(twitches)
    shorts = list(twitches[:-1] if closed else twitches)
    spread = shorts[-1].end - onset
    if spread > emg_code.GROUP_SEC:
        return unreadable(
            kind, f"twitches spread over {spread:.1f} s (> {emg_code.GROUP_SEC:g} s)", onset, end
        )
    if any(t.long for t in shorts):
        return unreadable(
            kind, "a long contraction before the last: yes/no counts short twitches only", onset, end
        )
    pause = twitches[-1].onset - shorts[-1].end if closed else 0.0
    if pause > YES_NO_MAX_GAP_SEC:
        return unreadable(kind, f"the closing contraction came {pause:.1f} s after the twitches", onset, end)
    n = len(shorts)
    if n not in (emg_code.YES_TWITCHES, emg_code.NO_TWITCHES):
        return unreadable(
            kind, f"{n} twitches: yes is {emg_code.YES_TWITCHES}, no is {emg_code.NO_TWITCHES}", onset, end
        )
    gaps = [b.onset - a.end for a, b in zip(shorts[:-1], shorts[1:], strict=True)]
    if max(gaps) > YES_NO_MAX_GAP_SEC or max(gaps) > 3.0 * max(min(gaps), 0.1):
        return unreadable(kind, f"irregular twitches (gaps {min(gaps):.2f}-{max(gaps):.2f} s)", onset, end)
    text = "yes" if n == emg_code.YES_TWITCHES else "no"
    symbols = tuple(("1", t.confidence) for t in shorts)
    conf = least_confidence([t.confidence for t in twitches])
    return Decoded(kind, True, text, symbols, conf, "", onset, end)


def ends_with_mark(twitches: Sequence[Twitch]) -> bool:
    """Whether a group of twitches ends with the end mark after at least one letter: its last letter
    (twitches with no letter pause, :data:`LETTER_END_SEC`, between them) is short, long, short,
    long, short."""
    letters = _letters(twitches)
    return len(letters) > 1 and _code(letters[-1][1]) == emg_code.END_MARK


def _letters(twitches: Sequence[Twitch]) -> list[tuple[bool, list[Twitch]]]:
    """The twitches of a message cut into letters at letter pauses: (whether the letter begins a
    new word, its twitches)."""
    letters: list[tuple[bool, list[Twitch]]] = []
    for i, t in enumerate(twitches):
        gap = t.onset - twitches[i - 1].end if i else np.inf
        if i and gap <= LETTER_END_SEC:
            letters[-1][1].append(t)
        else:
            letters.append((bool(i) and gap > WORD_END_SEC, [t]))
    return letters


def _symbol(twitch: Twitch) -> str:
    return "-" if twitch.long else "."


def _code(twitches: Sequence[Twitch]) -> str:
    return "".join(map(_symbol, twitches))


def decode_emg_morse(twitches: Sequence[Twitch]) -> Decoded:
    """EMG-Morse: short = dot, long = dash; pauses end letters and words.

    A last letter that is the end mark (:data:`~dreamlink.link.emg_code.END_MARK`), or one Morse
    edit from it after other letters (a twitch of the mark lost, added or read the wrong length:
    the message then closed on the pause after it), is not part of the text.
    """
    kind = "emg_morse"
    if not twitches:
        return unreadable(kind, "no twitches", 0.0, 0.0)
    onset, end = twitches[0].onset, twitches[-1].end
    letters = _letters(twitches)
    last = _code(letters[-1][1])
    if last == emg_code.END_MARK or (
        len(letters) > 1 and Levenshtein.distance(last, emg_code.END_MARK) <= SPOILED_MARK_EDITS
    ):
        letters = letters[:-1]
    if not letters:
        return unreadable(kind, "only the end mark (.-.-.), no letters", onset, end)
    words: list[list[str]] = []
    symbols: list[tuple[str, float]] = []
    for new_word, letter in letters:
        if not words or new_word:
            if words:
                symbols.append((" / ", 1.0))
            words.append([])
        elif words[-1]:
            symbols.append((" ", 1.0))
        words[-1].append(_code(letter))
        symbols += [(_symbol(t), t.confidence) for t in letter]
    return spell_morse(kind, words, symbols, onset, end)


@dataclass
class EmgMessageDecoder:
    """Streaming EMG decoder: groups twitches by pauses, then decodes yes/no or EMG-Morse.

    Parameters
    ----------
    mode : str
        ``"yes_no"`` or ``"morse"``.
    """

    mode: str = "yes_no"

    def __post_init__(self) -> None:
        if self.mode not in ("yes_no", "morse"):
            raise ValueError(f"mode must be 'yes_no' or 'morse', got {self.mode!r}")
        self._group: list[Twitch] = []

    def update(self, twitches: Sequence[Twitch], now: float) -> list[Decoded]:
        """Feed new twitches and the current time; returns finished messages."""
        out: list[Decoded] = []
        self._group.extend(twitches)
        if self._group:
            end_pause = EMG_GROUP_END_SEC if self.mode == "yes_no" else EMG_MESSAGE_END_SEC
            group = consistent_twitches(self._group)
            ends = ends_with_mark if self.mode == "morse" else closed_yes_no
            marked = bool(twitches) and ends(group)
            if now - self._group[-1].end >= end_pause and len(self._group) < MIN_EMG_MESSAGE_TWITCHES:
                self._group = []  # a lone twitch: phasic REM twitches are common, not a message
            elif marked or now - self._group[-1].end >= end_pause:
                fn = decode_yes_no if self.mode == "yes_no" else decode_emg_morse
                if len(group) < MIN_EMG_MESSAGE_TWITCHES or not _strong(group):
                    # one deliberate-looking twitch, or only background-strength ones: not a message
                    self._group = []
                    return out
                res = fn(group)
                out.append(
                    Decoded(
                        res.kind,
                        res.ok,
                        res.text,
                        res.symbols,
                        res.confidence,
                        res.reason,
                        res.onset,
                        res.end,
                        now,
                    )
                )
                self._group = []
        return out
