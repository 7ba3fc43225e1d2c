"""What deliberate facial/chin muscle twitches mean: dreamlink's EMG code.

In REM sleep the chin EMG is atonic, so a deliberate contraction (a smile, a frown, clenching the
jaw) stands out as a burst (Konkoly et al. 2021 used facial EMG answers; REMspace's EMG "language"
is built from short and long contractions).

Twitch
    A burst of ≥ 0.1 s. **Short** < :data:`LONG_TWITCH_SEC`, **long** ≥ it.
Yes / no
    Two short twitches = yes, three short twitches = no, within :data:`GROUP_SEC` seconds, closed
    by one long contraction (:data:`CLOSE_SEC`): the decoder reads the answer as soon as it ends.
    An answer sent without it is read after a pause
    (:data:`dreamlink.detect.emg_messages.EMG_GROUP_END_SEC`): a count is only known once no
    more twitches come.
EMG-Morse
    short = dot, long = dash, a pause of :data:`LETTER_PAUSE_SEC` (on top of the gap between
    twitches) ends a letter, twice that a word (:func:`emg_morse`). A message ends with the end
    mark :data:`END_MARK`, Morse's cross sign ``.-.-.`` (the telegraphers' prosign AR, "end of
    message"), keyed as one more letter: the decoder reads the message as soon as the mark's last
    twitch ends. A message sent without it is read after a longer pause
    (:data:`dreamlink.detect.emg_messages.EMG_MESSAGE_END_SEC`); a last letter one Morse edit
    from the mark is then taken for a spoiled mark and dropped (so such a message that really ends
    in C, F, L or P needs its mark). The mark leaves out two characters of Morse: ``+`` (it is the
    mark) and ``.`` (``.-.-.-`` begins with the mark).

References
----------
ITU-R M.1677-1 (2009). International Morse code (the cross sign ``.-.-.``, also the signal that
ends a telegram).
Konkoly KR et al. (2021). Real-time dialogue between experimenters and dreamers during REM sleep.
Curr Biol 31(7):1417-1427. doi:10.1016/j.cub.2021.01.026
"""

from __future__ import annotations

from dataclasses import dataclass

from dreamlink.link import morse

#: Contractions at least this long (s) are "long".
LONG_TWITCH_SEC = 0.6
#: Twitches of one yes/no answer fall within this window (s).
GROUP_SEC = 4.0
#: Pause (s) ending a letter of EMG-Morse.
LETTER_PAUSE_SEC = 1.5
#: Short twitch counts meaning yes and no.
YES_TWITCHES, NO_TWITCHES = 2, 3
#: Nominal length (s) of the long contraction that closes a yes/no answer.
CLOSE_SEC = 0.9
#: Morse letter that ends an EMG-Morse message (``+``, the prosign AR).
END_MARK = ".-.-."


@dataclass(frozen=True)
class Twitch:
    """One deliberate contraction: ``start`` offset (s) from the code's start, ``duration`` (s)."""

    start: float
    duration: float


def yes_no(
    answer: bool, short_sec: float = 0.25, gap_sec: float = 0.5, close_sec: float | None = CLOSE_SEC
) -> list[Twitch]:
    """Twitches of a yes (2 short) or no (3 short) answer, ``gap_sec`` apart, closed by a long
    contraction of ``close_sec`` (none when it is ``None``)."""
    n = YES_TWITCHES if answer else NO_TWITCHES
    out = [Twitch(i * (short_sec + gap_sec), short_sec) for i in range(n)]
    if close_sec is not None:
        out.append(Twitch(n * (short_sec + gap_sec), close_sec))
    return out


def emg_morse(
    text: str,
    short_sec: float = 0.25,
    long_sec: float = 0.9,
    gap_sec: float = 0.4,
    end_mark: bool = True,
) -> list[Twitch]:
    """Twitches keying ``text`` in EMG-Morse, ending with the :data:`END_MARK` unless ``end_mark``
    is false.

    Between the twitches of a letter: ``gap_sec``; between letters (and before the end mark):
    ``gap_sec`` + :data:`LETTER_PAUSE_SEC`; between words: ``gap_sec`` + 2 ×
    :data:`LETTER_PAUSE_SEC` (shorter than the pause that ends a message).

    Raises
    ------
    dreamlink.link.morse.MorseEncodingError
        For characters without a Morse code, and for ``+`` and ``.``, which the end mark takes.
    """
    taken = sorted({c for c in str(text) if c in "+."})
    if taken:
        raise morse.MorseEncodingError(
            f"EMG-Morse cannot send {''.join(taken)!r}: '.-.-.' ('+') ends a message"
        )
    words = [word.split(" ") for word in morse.encode(text)]
    if not words:
        raise morse.MorseEncodingError("nothing to send: the text is empty")
    if end_mark:
        words[-1].append(END_MARK)
    out: list[Twitch] = []
    t = 0.0
    for w, letters in enumerate(words):
        if w:
            t += LETTER_PAUSE_SEC  # on top of the letter pause: a word pause is twice a letter pause
        for letter in letters:
            for symbol in letter:
                d = short_sec if symbol == "." else long_sec
                out.append(Twitch(t, d))
                t += d + gap_sec
            t += LETTER_PAUSE_SEC
    return out
