"""International Morse code (ITU-R M.1677-1): text ↔ dots and dashes, and standard timing.

Timing, in units of one dot: dash = 3, gap inside a letter = 1, between letters = 3, between
words = 7. Used by the cue layer (beeps, flashes, vibration) and by the eye-Morse decoder.

References
----------
ITU-R M.1677-1 (2009). International Morse code.
"""

from __future__ import annotations

MORSE: dict[str, str] = {
    "A": ".-", "B": "-...", "C": "-.-.", "D": "-..", "E": ".", "F": "..-.", "G": "--.",
    "H": "....", "I": "..", "J": ".---", "K": "-.-", "L": ".-..", "M": "--", "N": "-.",
    "O": "---", "P": ".--.", "Q": "--.-", "R": ".-.", "S": "...", "T": "-", "U": "..-",
    "V": "...-", "W": ".--", "X": "-..-", "Y": "-.--", "Z": "--..",
    "0": "-----", "1": ".----", "2": "..---", "3": "...--", "4": "....-", "5": ".....",
    "6": "-....", "7": "--...", "8": "---..", "9": "----.",
    ".": ".-.-.-", ",": "--..--", "?": "..--..", "/": "-..-.", "=": "-...-", "+": ".-.-.",
    "-": "-....-", "'": ".----.", "!": "-.-.--", "@": ".--.-.",
}  # fmt: skip
_REVERSE: dict[str, str] = {code: char for char, code in MORSE.items()}

#: Durations in dot units.
DOT, DASH, SYMBOL_GAP, LETTER_GAP, WORD_GAP = 1, 3, 1, 3, 7


class MorseEncodingError(ValueError):
    """Text holds a character with no Morse code."""


def plain(text: object) -> str:
    """Text as Morse spells it back: upper case, words separated by single spaces (``"go  up"`` →
    ``"GO UP"``), so that a decoded message compares equal to the words it was expected among."""
    return " ".join(str(text).upper().split())


def encode(text: str) -> list[str]:
    """Encode text as a list of words, each a list of letter codes joined by spaces.

    Returns
    -------
    list of str
        One string per word, letters separated by single spaces, e.g. ``["... --- ..."]``.

    Raises
    ------
    MorseEncodingError
        For characters without a code (the message names them).
    """
    words = plain(text).split()
    bad = sorted({c for w in words for c in w if c not in MORSE})
    if bad:
        raise MorseEncodingError(
            f"no Morse code for {''.join(bad)!r}; use letters A-Z, digits and . , ? / = + - ' ! @"
        )
    return [" ".join(MORSE[c] for c in word) for word in words]


def code_string(text: str) -> str:
    """``text`` spelled as one Morse string: ``.`` and ``-``, ``" "`` between letters, ``"/"``
    between words (e.g. ``"GO UP"`` → ``"--. ---/..- .--."``). A text's code string begins another's
    exactly when its Morse is the beginning of the other's.

    Raises
    ------
    MorseEncodingError
        For characters without a Morse code.
    """
    return "/".join(encode(text))


def decode_letter(code: str) -> str | None:
    """Letter of a dot/dash string, or ``None`` if it is not a valid code."""
    return _REVERSE.get(code)


def timeline(text: str, unit_sec: float) -> list[tuple[float, float]]:
    """On-intervals ``(start, duration)`` in seconds for keying ``text`` at ``unit_sec`` per dot."""
    out: list[tuple[float, float]] = []
    t = 0.0
    for w, word in enumerate(encode(text)):
        if w:
            t += (WORD_GAP - SYMBOL_GAP) * unit_sec
        for li, letter in enumerate(word.split(" ")):
            if li:
                t += (LETTER_GAP - SYMBOL_GAP) * unit_sec
            for symbol in letter:
                length = (DOT if symbol == "." else DASH) * unit_sec
                out.append((t, length))
                t += length + SYMBOL_GAP * unit_sec
    return out
