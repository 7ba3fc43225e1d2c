"""From detected sweeps and twitches to messages: LRLR marker, count answers, eye-Morse, EMG codes.

The codes are defined in :mod:`dreamlink.link.eye_code` and :mod:`dreamlink.link.emg_code`; this
module reads them back. Every decoder returns a :class:`Decoded`: either the message with a
confidence per symbol, or an explicit *unreadable* result with the reason. A decoder never guesses:
anything that does not follow the code (sweeps in the same direction twice, an excursion that does
not return, a dot/dash group that is no Morse letter, a twitch count that is neither yes nor no) is
unreadable.

Eye messages (:class:`EyeMessageDecoder`, streaming)
    An LRLR marker opens a message. The fixation time between the marker's sweeps is the sender's
    *hold*; it sets the pause thresholds for the rest of the message (:func:`morse_thresholds`:
    a letter ends after a fixation longer than ``0.6 × hold + 0.8 s``, a word after 2.8 s: the
    midpoints between what :func:`dreamlink.link.eye_code.eye_morse` produces at ±20 % jitter).

    * Count answer: LRLR, *n* excursions (left then right: a half sweep to the left, *n* full swings
      to the right with full swings back between them, a half sweep back to centre), LRLR. The
      answer is the number of rightward swings. The closing LRLR of a count looks like the body of
      a "2", so a count is decoded once the eyes have rested ``2 + 1.5 × hold`` seconds after a
      closing marker.
    * Eye-Morse: LRLR, then each symbol is one excursion from centre and back (left = dot, right =
      dash, both half sweeps), LRLR. A Morse message is decoded as soon as its closing marker is
      seen (the marker's swings are full, the symbols' are half).
    * Inside a message, sweeps smaller than :data:`SMALL_SWEEP_FRAC` of the opening frame's first
      (half) sweep are natural REMs and are ignored.
    * An LRLR marker followed by nothing for ``2.5 + 1.5 × hold`` s (``3.5 + ...`` when a count is
      expected) was a lone marker, not the start of a message; two markers in a row with nothing
      between are two markers (a count of 0 is only read when ``mode="count"``).
    * ``mode="auto"`` tells the two apart by the first excursion after the opening marker (a count
      starts with a half sweep left followed by a *full* swing right).

EMG messages (:class:`EmgMessageDecoder`, streaming)
    Twitches (:mod:`dreamlink.detect.emg`) are grouped by pauses: yes = 2 short, no = 3 short within
    :data:`~dreamlink.link.emg_code.GROUP_SEC`, evenly spaced (gaps ≤ :data:`YES_NO_MAX_GAP_SEC`,
    longest ≤ 3 × shortest: spontaneous bursts are irregular); EMG-Morse short = dot, long = dash, a pause of
    :data:`~dreamlink.link.emg_code.LETTER_PAUSE_SEC` ends a letter, twice that a word, and a pause
    of :data:`EMG_MESSAGE_END_SEC` the message. A lone twitch is not a message (phasic twitches
    are common in REM sleep), so the streaming decoder ignores groups of one.

References
----------
Konkoly KR et al. (2021). Real-time dialogue between experimenters and dreamers during REM sleep.
Curr Biol 31(7):1417-1427. doi:10.1016/j.cub.2021.01.026
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from dreamlink.detect.eye_sweeps import EyeSettings, Sweep, find_lrlr, lrlr_check
from dreamlink.events import Event
from dreamlink.link import emg_code, eye_code, morse

#: A pause this long (s) after the last twitch ends an EMG-Morse message.
EMG_MESSAGE_END_SEC = 5.0
#: Fewest twitches read as an EMG message (a lone twitch is ignored: REM sleep has phasic twitches).
MIN_EMG_MESSAGE_TWITCHES = 2
#: Largest gap (s) between the twitches of a yes/no answer (the code keys them ~0.5 s apart).
YES_NO_MAX_GAP_SEC = 1.5
#: Pause (s) that closes a yes/no group.
EMG_GROUP_END_SEC = 2.0
#: Inside a message, sweeps smaller than this fraction of the opening frame's first (half) sweep
#: are natural REMs and are ignored (the code's smallest sweeps are half sweeps, ±20 %).
SMALL_SWEEP_FRAC = 0.4
#: A closing frame's full swings are at least this fraction of the opening frame's.
CLOSING_FULL_FRAC = 0.7
#: An eye message with no sweep for this long (s) is abandoned as unreadable.
EYE_MAX_PAUSE_SEC = 9.0

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
            },
        )


def _unreadable(kind: str, reason: str, onset: float, end: float, at: float = 0.0) -> Decoded:
    return Decoded(kind, False, None, (), 0.0, reason, onset, end, at)


def _combine(conf: Sequence[float]) -> float:
    return float(np.clip(np.min(conf) if len(conf) else 1.0, 0.0, 1.0))


# -- eye: pure decoders ------------------------------------------------------------------------
def decode_count(body: Sequence[Sweep], onset: float = 0.0, end: float = 0.0) -> Decoded:
    """Decode the body of a count answer (the sweeps between the two LRLR frames).

    Parameters
    ----------
    body : sequence of Sweep
        Sweeps after the opening frame's return to centre and before the closing frame.
    onset, end : float
        Span of the whole message (s).

    Returns
    -------
    Decoded
        ``text`` is the count; unreadable if the sweeps do not alternate, start to the left and
        end back at centre.
    """
    kind = "count"
    if not body:
        return Decoded(kind, True, "0", (), 1.0, "", onset, end)
    dirs = [s.direction for s in body]
    for i in range(1, len(dirs)):
        if dirs[i] == dirs[i - 1]:
            return _unreadable(
                kind, f"two sweeps to the {dirs[i]} in a row at {body[i].onset:.2f} s", onset, end
            )
    if dirs[0] != "L":
        return _unreadable(kind, "the count does not start with a look to the left", onset, end)
    if dirs[-1] != "L" or len(body) < 3:
        return _unreadable(kind, "the count does not return to centre after the last right swing", onset, end)
    half = np.mean([body[0].size, body[-1].size])
    full = np.array([s.size for s in body[1:-1]])
    if np.median(full) < 1.3 * half:
        return _unreadable(kind, "the count's swings are not full left-right swings", onset, end)
    symbols = tuple(
        ("1", min(body[i].confidence, body[i + 1].confidence)) for i in range(0, len(body) - 1, 2)
    )
    conf = _combine([c for _, c in symbols])
    return Decoded(kind, True, str(len(symbols)), symbols, conf, "", onset, end)


def decode_eye_morse(
    body: Sequence[Sweep], hold_sec: float = 0.5, onset: float = 0.0, end: float = 0.0
) -> Decoded:
    """Decode the body of an eye-Morse message.

    Parameters
    ----------
    body : sequence of Sweep
        Sweeps between the opening frame's return to centre and the closing frame.
    hold_sec : float
        The sender's fixation time (from the opening frame), which sets the pause thresholds.
    onset, end : float
        Span of the whole message (s).

    Returns
    -------
    Decoded
        ``text`` in letters; ``symbols`` holds each ``.``/``-`` with its confidence and ``" "``
        between letters, ``" / "`` between words.
    """
    kind = "eye_morse"
    if not body:
        return _unreadable(kind, "no symbols between the LRLR frames", onset, end)
    pairs = _pair_excursions(body)
    if isinstance(pairs, str):
        return _unreadable(kind, pairs, onset, end)
    letter_thr, word_thr = morse_thresholds(hold_sec)
    words: list[list[str]] = [[""]]
    symbols: list[tuple[str, float]] = []
    prev_end: float | None = None
    for out, back, penalty in pairs:
        if back.onset - out.end > letter_thr:
            return _unreadable(kind, f"excursion at {out.onset:.2f} s stayed out too long", onset, end)
        if prev_end is not None:
            gap = out.onset - prev_end
            if gap > word_thr:
                words.append([""])
                symbols.append((" / ", 1.0))
            elif gap > letter_thr:
                words[-1].append("")
                symbols.append((" ", 1.0))
        sym = "." if out.direction == "L" else "-"
        words[-1][-1] += sym
        symbols.append((sym, min(out.confidence, back.confidence) * penalty))
        prev_end = back.end
    text_words = []
    for word in words:
        letters = []
        for code in word:
            letter = morse.decode_letter(code)
            if letter is None:
                return _unreadable(kind, f"{code!r} is not a Morse letter", onset, end)
            letters.append(letter)
        text_words.append("".join(letters))
    conf = _combine([c for s, c in symbols if s in ".-"])
    return Decoded(kind, True, " ".join(text_words), tuple(symbols), conf, "", onset, end)


def _pair_excursions(body: Sequence[Sweep]) -> list[tuple[Sweep, Sweep, float]] | str:
    """Pair sweeps into (out, back) excursions, tolerating small natural movements in between.

    From centre, a sweep goes out; the next sweep in the opposite direction of a similar size
    (0.5–2 ×) brings the eyes back. Smaller sweeps while out (< 0.6 × the excursion, natural
    REMs riding on the fixation) are skipped and lower that symbol's confidence by 20 % each;
    a large sweep in the same direction, or an excursion that never returns, makes the message
    unreadable (the reason is returned as a string).
    """
    pairs: list[tuple[Sweep, Sweep, float]] = []
    out: Sweep | None = None
    penalty = 1.0
    for sw in body:
        if out is None:
            out, penalty = sw, 1.0
            continue
        ratio = sw.size / out.size
        if sw.direction != out.direction and 0.5 <= ratio <= 2.0:
            pairs.append((out, sw, penalty))
            out = None
        elif ratio < 0.6:
            penalty *= 0.8  # a natural movement during the excursion's fixation
        elif sw.direction == out.direction:
            return f"excursion at {out.onset:.2f} s did not come back"
        else:
            return f"excursion at {out.onset:.2f} s came back to a different place"
    if out is not None:
        return f"the excursion at {out.onset:.2f} s did not return to centre (symbols need out and back)"
    return pairs


def morse_thresholds(hold_sec: float) -> tuple[float, float]:
    """Fixations (s) that end a letter and a word of eye-Morse sent with fixations of ``hold_sec``.

    :func:`dreamlink.link.eye_code.eye_morse` holds ``hold`` between the symbols of a letter, 2.0 s
    between letters (``LETTER_PAUSE_SEC + 0.5``) and 4.0 s between words, each ±20 % with a real
    sender. The thresholds sit halfway between the longest shorter pause and the shortest longer one.
    """
    letter = eye_code.LETTER_PAUSE_SEC + 0.5
    word = eye_code.WORD_PAUSE_SEC + 0.5
    letter_thr = (1.2 * hold_sec + 0.8 * letter) / 2.0
    word_thr = (1.2 * letter + 0.8 * word) / 2.0
    return letter_thr, word_thr


def _count_like(body: Sequence[Sweep]) -> bool:
    return len(body) >= 2 and body[0].direction == "L" and body[1].size >= 1.4 * body[0].size


# -- eye: streaming ----------------------------------------------------------------------------
@dataclass
class EyeMessageDecoder:
    """Streaming decoder of eye messages framed by LRLR markers.

    Parameters
    ----------
    swing : float
        Calibrated full swing (V).
    mode : str
        ``"auto"``, ``"count"`` or ``"morse"`` (what the question asked for).
    settings : EyeSettings
        The detector's thresholds (used for the frames).
    """

    swing: float
    mode: str = "auto"
    settings: EyeSettings = field(default_factory=EyeSettings)

    def __post_init__(self) -> None:
        if self.mode not in ("auto", "count", "morse"):
            raise ValueError(f"mode must be 'auto', 'count' or 'morse', got {self.mode!r}")
        self._recent: list[Sweep] = []
        self._open: list[Sweep] | None = None  # opening frame
        self._body: list[Sweep] = []
        self._hold = 0.5
        self._full = self.swing
        self._half = 0.5 * self.swing
        self._expect_return = False
        self._last_end = 0.0

    @property
    def active(self) -> bool:
        """Whether a message is being received."""
        return self._open is not None

    def update(self, sweeps: Sequence[Sweep], now: float) -> list[Decoded]:
        """Feed new sweeps (in time order) and the current stream time; returns finished messages."""
        out: list[Decoded] = []
        for sweep in sweeps:
            res = self._on_sweep(sweep)
            if res is not None:
                out.append(res)
        res = self._on_time(now)
        if res is not None:
            out.append(res)
        return out

    def _start(self, frame: list[Sweep]) -> None:
        self._open = frame
        self._body = []
        gaps = [b.onset - a.end for a, b in zip(frame[:-1], frame[1:], strict=True)]
        self._hold = float(np.mean(gaps))
        self._full = float(np.median([s.size for s in frame[1:]]))
        self._half = frame[0].size
        self._expect_return = True
        self._last_end = frame[-1].end

    def _is_return(self, sweep: Sweep) -> bool:
        return (
            sweep.direction == "L"
            and sweep.size <= 0.9 * self._full
            and sweep.onset - self._last_end <= self._hold + 1.5
        )

    def _closing(self) -> tuple[int, int] | None:
        """(start, stop) of a closing frame at the end of the body, allowing a trailing return."""
        b = self._body
        for stop in (len(b), len(b) - 1):
            if stop - 4 < 0:
                continue
            if stop == len(b) - 1 and not (b[-1].direction == "L" and b[-1].size <= 0.9 * self._full):
                continue
            cand = b[stop - 4 : stop]
            ok, _, _ = lrlr_check(cand, self.swing, self.settings)
            # The closing frame's swings are full, like the opening frame's (same sender, same gain);
            # the symbols' sweeps are half as large.
            if ok and np.median([s.size for s in cand[1:]]) >= CLOSING_FULL_FRAC * self._full:
                return stop - 4, stop
        return None

    def _on_sweep(self, sweep: Sweep) -> Decoded | None:
        if self._open is None:
            horizon = 4 * (self.settings.max_gap_sec + self.settings.max_movement_sec)
            self._recent = [s for s in self._recent + [sweep] if sweep.end - s.onset <= horizon]
            found = find_lrlr(self._recent, self.swing, self.settings)
            if found is not None:
                self._start(found[0])
                self._recent = []
            return None
        if sweep.size < SMALL_SWEEP_FRAC * self._half:
            return None  # a natural REM during the message: smaller than any symbol of the code
        if self._expect_return:
            self._expect_return = False
            if self._is_return(sweep):
                self._last_end = sweep.end
                return None
        self._body.append(sweep)
        self._last_end = sweep.end
        if self.mode == "count":
            return None
        close = self._closing()
        if close is None or close[1] != len(self._body):
            return None
        inner = self._body[: close[0]]
        if not inner or (self.mode == "auto" and _count_like(inner)):
            return None  # could be a count (its closing frame looks like a "2"): wait for the pause
        return self._finish(decode_eye_morse, inner, sweep.movement.detected_at)

    def _on_time(self, now: float) -> Decoded | None:
        if self._open is None:
            return None
        quiet = now - self._last_end
        if not self._body:
            # A lone LRLR marker: nothing followed within the pause a message leaves after its frame.
            lone = (3.5 if self.mode == "count" else 2.5) + 1.5 * self._hold
            if quiet >= lone:
                self._open = None
            return None
        if self.mode != "morse" and quiet >= 2.0 + 1.5 * self._hold:
            close = self._closing()
            if close is not None:
                inner = self._body[: close[0]]
                if self.mode == "count" or (inner and _count_like(inner)):
                    return self._finish(decode_count, inner, now)
                if not inner:  # two LRLR markers in a row: markers, not a message
                    self._open = None
                    self._body = []
                    return None
        if quiet >= EYE_MAX_PAUSE_SEC:
            onset = self._open[0].onset
            self._open = None
            kind = "count" if self.mode == "count" else "eye_morse"
            return _unreadable(kind, "no closing LRLR frame", onset, self._last_end, now)
        return None

    def _finish(self, fn: Callable[..., Decoded], inner: list[Sweep], at: float) -> Decoded:
        assert self._open is not None
        onset = self._open[0].onset
        end = self._body[-1].end
        if fn is decode_eye_morse:
            res = decode_eye_morse(inner, self._hold, onset, end)
        else:
            res = decode_count(inner, onset, end)
        self._open = None
        self._body = []
        return Decoded(res.kind, res.ok, res.text, res.symbols, res.confidence, res.reason, onset, end, at)


# -- EMG ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Twitch:
    """A detected contraction: ``onset``/``duration`` (s), ``confidence`` (0–1), ``detected_at`` (s)."""

    onset: float
    duration: float
    confidence: float = 1.0
    detected_at: float = 0.0

    @property
    def end(self) -> float:
        """End (s)."""
        return self.onset + self.duration

    @property
    def long(self) -> bool:
        """Whether this is a long twitch (≥ :data:`~dreamlink.link.emg_code.LONG_TWITCH_SEC`)."""
        return self.duration >= emg_code.LONG_TWITCH_SEC


def decode_yes_no(twitches: Sequence[Twitch]) -> Decoded:
    """Yes (2 short twitches) or no (3 short) from one group of twitches."""
    kind = "emg_yes_no"
    if not twitches:
        return _unreadable(kind, "no twitches", 0.0, 0.0)
    onset, end = twitches[0].onset, twitches[-1].end
    if end - onset > emg_code.GROUP_SEC:
        return _unreadable(
            kind, f"twitches spread over {end - onset:.1f} s (> {emg_code.GROUP_SEC:g} s)", onset, end
        )
    if any(t.long for t in twitches):
        return _unreadable(kind, "a long contraction: yes/no uses short twitches only", onset, end)
    n = len(twitches)
    if n not in (emg_code.YES_TWITCHES, emg_code.NO_TWITCHES):
        return _unreadable(
            kind, f"{n} twitches: yes is {emg_code.YES_TWITCHES}, no is {emg_code.NO_TWITCHES}", onset, end
        )
    gaps = [b.onset - a.end for a, b in zip(twitches[:-1], twitches[1:], strict=True)]
    if max(gaps) > YES_NO_MAX_GAP_SEC or max(gaps) > 3.0 * max(min(gaps), 0.1):
        return _unreadable(kind, f"irregular twitches (gaps {min(gaps):.2f}-{max(gaps):.2f} s)", onset, end)
    text = "yes" if n == emg_code.YES_TWITCHES else "no"
    symbols = tuple(("1", t.confidence) for t in twitches)
    return Decoded(kind, True, text, symbols, _combine([t.confidence for t in twitches]), "", onset, end)


def decode_emg_morse(twitches: Sequence[Twitch]) -> Decoded:
    """EMG-Morse: short = dot, long = dash; pauses end letters and words."""
    kind = "emg_morse"
    if not twitches:
        return _unreadable(kind, "no twitches", 0.0, 0.0)
    onset, end = twitches[0].onset, twitches[-1].end
    letter_thr = 0.75 * emg_code.LETTER_PAUSE_SEC
    word_thr = 2.0 * emg_code.LETTER_PAUSE_SEC + 0.25
    words: list[list[str]] = [[""]]
    symbols: list[tuple[str, float]] = []
    for i, t in enumerate(twitches):
        if i:
            gap = t.onset - twitches[i - 1].end
            if gap > word_thr:
                words.append([""])
                symbols.append((" / ", 1.0))
            elif gap > letter_thr:
                words[-1].append("")
                symbols.append((" ", 1.0))
        sym = "-" if t.long else "."
        words[-1][-1] += sym
        symbols.append((sym, t.confidence))
    out = []
    for word in words:
        letters = []
        for code in word:
            letter = morse.decode_letter(code)
            if letter is None:
                return _unreadable(kind, f"{code!r} is not a Morse letter", onset, end)
            letters.append(letter)
        out.append("".join(letters))
    conf = _combine([c for s, c in symbols if s in ".-"])
    return Decoded(kind, True, " ".join(out), tuple(symbols), conf, "", onset, end)


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
            if now - self._group[-1].end >= end_pause and len(self._group) < MIN_EMG_MESSAGE_TWITCHES:
                self._group = []  # a lone twitch: phasic REM twitches are common, not a message
            elif now - self._group[-1].end >= end_pause:
                fn = decode_yes_no if self.mode == "yes_no" else decode_emg_morse
                res = fn(self._group)
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
