"""What deliberate eye movements mean: dreamlink's eye-signal protocol.

A lucid dreamer in REM can move their eyes at will while the body is paralysed (LaBerge et al.
1981). In a horizontal EOG a look to the left and a look to the right are *sweeps*: steps of
opposite polarity. Gaze is written in units of a full lateral look: −1 far left, 0 centre, +1 far
right; a *full swing* is far left ↔ far right (2 units), a *half sweep* centre ↔ one side (1 unit).
``hold`` (seconds, the argument of every function here) is the sender's fixation time.

``LRLR`` (the marker: "I am lucid / ready", and the frame around every answer)
    From centre: far left, far right, far left, far right, each held ``hold`` (0.3–1.2 s), then back
    to centre. One half sweep and three full swings (LaBerge et al. 1981; Konkoly et al. 2021 used
    the same signal). The half/full structure is part of the marker: the detector checks it.
Count answer
    LRLR, ``n`` left-right excursions ("LR" = one count: far left then far right, so all but the
    first sweep are full swings), back to centre, a pause of 1.5 s, LRLR. "4" is four LR pairs
    (Konkoly et al. 2021 asked "8 − 4?" and got four LR movements).
Eye-Morse (full-swing elements; ITU-R M.1677-1 Morse letters)
    LRLR, a pause at centre, the text, a pause at centre, LRLR. Each Morse element is one **full
    swing** between the extremes, framed by centre rests; the *direction* of the swing is the
    symbol:

    * dot  = centre → far **left** → far **right** → centre (the full swing goes rightward);
    * dash = centre → far **right** → far **left** → centre (the full swing goes leftward).

    Each extreme is held :data:`SIDE_UNITS` (1) unit, so an element is out for
    :data:`SYMBOL_UNITS` (2) units. The unit is ``u = max(hold, MIN_UNIT_SEC)`` (≥ 0.5 s). Between
    the elements of a letter the eyes rest at centre for :data:`ELEMENT_GAP_UNITS` (2) units,
    between letters :data:`LETTER_GAP_UNITS` (5) units, between words :data:`WORD_GAP_UNITS` (10)
    units. The rest between elements is long enough (≥ 0.8 s) that the half sweep back to centre
    and the next half sweep out are never taken for one split full swing. As horizontal-EOG sweeps
    (E1 − E2 positive = leftward gaze) a dot is L (half), R (full), L (half) and a dash R (half),
    L (full), R (half); "E" in eye-Morse is the body of a count of 1, so a one-element message is
    only read as Morse when Morse is expected.

    Why this shape. Natural rapid eye movements of REM sleep start from wherever the eyes are and
    are about as large as a half sweep (centre ↔ one side) but brief: a saccade and a few hundred
    ms of fixation (Takahashi & Atsumi 1997). A full swing is twice that size, so the decoder
    reads a symbol only where the gaze level moves from one extreme *straight across* to the other
    (≥ :data:`FULL_SWING_MIN_FRAC` of the sender's own full swing, measured on the opening LRLR),
    each side held; a natural excursion to one side and back is never a symbol, whatever its
    size or duration. Direction is what a horizontal EOG measures most reliably, and a swing's
    direction is carried by the order of two fixations, not by their duration. An element never
    contains two full swings in a row, so no run of elements looks like the LRLR marker (one half
    sweep and three full swings). Gaps are in units of the sender's own ``hold`` (measured by the
    decoder from the opening LRLR and the body), so slow and fast senders both decode.

This module defines the code only, as gesture sequences; the detector and decoders live in
:mod:`dreamlink.detect`, the simulator injects these gestures.

References
----------
LaBerge SP, Nagel LE, Dement WC, Zarcone VP (1981). Lucid dreaming verified by volitional
communication during REM sleep. Percept Mot Skills 52(3):727-732. doi:10.2466/pms.1981.52.3.727
Konkoly KR et al. (2021). Real-time dialogue between experimenters and dreamers during REM sleep.
Curr Biol 31(7):1417-1427. doi:10.1016/j.cub.2021.01.026
Takahashi K, Atsumi Y (1997). Precise measurement of individual rapid eye movements in REM sleep of
humans. Sleep 20(9):743-752. doi:10.1093/sleep/20.9.743
ITU-R Recommendation M.1677-1 (2009). International Morse code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dreamlink.link import morse

Direction = Literal["L", "R"]

#: Shortest eye-Morse unit (s): the unit is ``max(hold, MIN_UNIT_SEC)``.
MIN_UNIT_SEC = 0.5
#: Each extreme of an eye-Morse element is held this many units.
SIDE_UNITS = 1.0
#: An eye-Morse element (dot = left then right, dash = right then left) is out this many units.
SYMBOL_UNITS = 2.0 * SIDE_UNITS
#: A symbol's swing between its two fixations is at least this fraction of the sender's full swing
#: (a natural rapid eye movement is about half of it).
FULL_SWING_MIN_FRAC = 0.6
#: Centre rest between the elements of a letter, between letters and between words (units).
ELEMENT_GAP_UNITS, LETTER_GAP_UNITS, WORD_GAP_UNITS = 2.0, 5.0, 10.0
#: Centre rest (s) after the opening frame and before the closing frame of an eye-Morse message.
FRAME_REST_SEC = 2.0
#: Pause between letters of eye-Morse at the shortest unit (s; kept for reference).
LETTER_PAUSE_SEC = LETTER_GAP_UNITS * MIN_UNIT_SEC
#: Pause between words of eye-Morse at the shortest unit (s).
WORD_PAUSE_SEC = WORD_GAP_UNITS * MIN_UNIT_SEC
#: Centre rest (s) after the opening frame of a count answer, and before its closing frame.
COUNT_FIRST_REST_SEC, COUNT_LAST_REST_SEC = 1.0, 1.5
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
    body.append(Gesture(0, COUNT_LAST_REST_SEC))
    return lrlr(hold) + [Gesture(0, COUNT_FIRST_REST_SEC)] + body + lrlr(hold)


def morse_unit(hold: float) -> float:
    """The eye-Morse time unit (s) of a sender whose fixations last ``hold`` seconds."""
    return max(float(hold), MIN_UNIT_SEC)


def closing_rest_sec(unit: float) -> float:
    """Centre rest (s) before an eye-Morse message's closing frame at the Morse ``unit`` (s): a letter
    gap, and at least :data:`FRAME_REST_SEC`."""
    return max(LETTER_GAP_UNITS * unit, FRAME_REST_SEC)


def eye_morse(text: str, hold: float = 0.5) -> list[Gesture]:
    """LRLR, the text in eye-Morse (dot = full swing left → right, dash = right → left), LRLR.

    See the module docstring for the code and its timing; ``hold`` is the sender's fixation time (s).
    """
    u = morse_unit(hold)
    body: list[Gesture] = [Gesture(0, FRAME_REST_SEC)]
    for w, word in enumerate(morse.encode(text)):
        if w:
            body[-1] = Gesture(0, WORD_GAP_UNITS * u)
        for letter in word.split(" "):
            for symbol in letter:
                first = -1 if symbol == "." else 1
                body.append(Gesture(first, SIDE_UNITS * u))
                body.append(Gesture(-first, SIDE_UNITS * u))
                body.append(Gesture(0, ELEMENT_GAP_UNITS * u))
            body[-1] = Gesture(0, LETTER_GAP_UNITS * u)
    body[-1] = Gesture(0, closing_rest_sec(u))
    return lrlr(hold) + body + lrlr(hold)
