"""What deliberate eye movements mean: dreamlink's eye-signal protocol.

A lucid dreamer in REM can move their eyes at will while the body is paralysed (LaBerge et al.
1981). In a horizontal EOG a look to the left and a look to the right are *sweeps*: steps of
opposite polarity. dreamlink's protocol, all built from full left/right sweeps:

``LRLR`` (the marker: "I am lucid / ready", and the frame around every answer)
    Four alternating full sweeps, left-right-left-right, each sweep 0.3–1.2 s apart, then back to
    centre (LaBerge et al. 1981; Konkoly et al. 2021 used the same signal).
Count answer
    After an LRLR frame, *n* excursions (look left then right, "LR" = one count), then a closing
    LRLR. "4" is four LR pairs (Konkoly et al. 2021 asked "8 − 4?" and got four LR movements).
Eye-Morse
    Each Morse element is one excursion from centre: look **left** and back = dot, look **right**
    and back = dash. A pause of ≥ :data:`LETTER_PAUSE_SEC` ends a letter, ≥ :data:`WORD_PAUSE_SEC`
    ends a word; the message is framed by LRLR before and after. Direction, not duration, carries the
    symbol, because direction is what a horizontal EOG measures most reliably in sleep.

This module defines the code only, as gesture sequences; the detector and decoders live in
:mod:`dreamlink.detect`, the simulator injects these gestures.

References
----------
LaBerge SP, Nagel LE, Dement WC, Zarcone VP (1981). Lucid dreaming verified by volitional
communication during REM sleep. Percept Mot Skills 52(3):727-732. doi:10.2466/pms.1981.52.3.727
Konkoly KR et al. (2021). Real-time dialogue between experimenters and dreamers during REM sleep.
Curr Biol 31(7):1417-1427. doi:10.1016/j.cub.2021.01.026
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dreamlink.link import morse

Direction = Literal["L", "R"]

#: Pause between letters of eye-Morse (seconds of fixation at centre).
LETTER_PAUSE_SEC = 1.5
#: Pause between words of eye-Morse.
WORD_PAUSE_SEC = 3.5
#: The marker's sweep directions.
LRLR: tuple[Direction, ...] = ("L", "R", "L", "R")


@dataclass(frozen=True)
class Gesture:
    """One gaze target in a deliberate sequence.

    Parameters
    ----------
    gaze : float
        Where the eyes go, as a fraction of a full sweep: -1 full left, +1 full right, 0 centre.
    hold : float
        Seconds the eyes stay there before the next gesture.
    """

    gaze: float
    hold: float


def lrlr(hold: float = 0.5) -> list[Gesture]:
    """Gestures of one LRLR marker starting and ending at centre."""
    return [Gesture(-1, hold), Gesture(1, hold), Gesture(-1, hold), Gesture(1, hold), Gesture(0, hold)]


def count_answer(n: int, hold: float = 0.5) -> list[Gesture]:
    """LRLR, ``n`` left-right excursions, LRLR."""
    if n < 0:
        raise ValueError(f"a count answer must be ≥ 0, got {n}")
    body: list[Gesture] = []
    for _ in range(n):
        body += [Gesture(-1, hold), Gesture(1, hold)]
    body.append(Gesture(0, 1.5))
    return lrlr(hold) + [Gesture(0, 1.0)] + body + lrlr(hold)


def eye_morse(text: str, hold: float = 0.5) -> list[Gesture]:
    """LRLR, the text in eye-Morse (left = dot, right = dash), LRLR."""
    body: list[Gesture] = [Gesture(0, 1.5)]
    for w, word in enumerate(morse.encode(text)):
        if w:
            body[-1] = Gesture(0, WORD_PAUSE_SEC + 0.5)
        for letter in word.split(" "):
            for symbol in letter:
                body.append(Gesture(-1 if symbol == "." else 1, hold))
                body.append(Gesture(0, hold))
            body[-1] = Gesture(0, LETTER_PAUSE_SEC + 0.5)
    return lrlr(hold) + body + lrlr(hold)
