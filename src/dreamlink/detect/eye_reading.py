"""Reading eye codes back: pure functions from sweeps or the gaze level to a count or eye-Morse text.

The codes are defined in :mod:`dreamlink.link.eye_code`; the streaming decoder that frames messages
live is :mod:`dreamlink.detect.eye_messages`, which calls these readers on each body it frames.

Count answers (LRLR, *n* left-right excursions, LRLR)
    :func:`decode_count` reads the body's sweeps (the number of rightward full swings);
    :func:`decode_count_path` reads the gaze level as a whole (the explicit-duration Viterbi path of
    :mod:`dreamlink.detect.eye_hsmm` through "first rest, left-right pairs, rest") and
    :func:`decode_count_levels` fixation by fixation (the number of fixations at the right).
    :func:`count_of` turns a reading's left-right pairs into the answer: its full pairs, and at most
    one that a natural REM spoiled (counted, as sure as its swing) or made up (dropped).
Eye-Morse (each symbol one full swing between the extremes, framed by centre rests)
    :func:`decode_eye_morse_path` reads the level as a whole (the sequence of centre rests and
    dot/dash elements allowed by the code that best explains the trace),
    :func:`decode_eye_morse_levels` fixation by fixation (a symbol is the level moving from one
    extreme straight across to the other, which natural rapid eye movements, half as large and from
    wherever the eyes are, do not do) and :func:`decode_eye_morse` from the sweeps.
    :func:`decode_eye_morse_framed` also finds a closing frame the sweep detector missed, and
    :func:`decode_eye_morse_across` reads across a frame that turns out to have been inside a body.
Frames in the level
    :func:`level_frame_looks` finds four looks left, right, left, right in a row as they end.
Timing
    :func:`morse_thresholds`, :func:`max_symbol_sec`, :func:`shortest_message_sec` and
    :func:`count_time_limit` turn the sender's hold (s) into the code's pauses and limits.

References
----------
Konkoly KR et al. (2021). Real-time dialogue between experimenters and dreamers during REM sleep.
Curr Biol 31(7):1417-1427. doi:10.1016/j.cub.2021.01.026
Rabiner LR (1989). A tutorial on hidden Markov models and selected applications in speech
recognition. Proc IEEE 77(2):257-286. doi:10.1109/5.18626
Yu SZ (2010). Hidden semi-Markov models. Artificial Intelligence 174(2):215-243.
doi:10.1016/j.artint.2009.11.011
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from dreamlink.detect.decoded import Decoded, least_confidence, spell_morse, unreadable
from dreamlink.detect.eye_hsmm import (
    Segment,
    TraceReading,
    best_path,
    words_reading,
)
from dreamlink.detect.eye_sweeps import Sweep
from dreamlink.link import eye_code


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
            return unreadable(
                kind, f"two sweeps to the {dirs[i]} in a row at {body[i].onset:.2f} s", onset, end
            )
    if dirs[0] != "L":
        return unreadable(kind, "the count does not start with a look to the left", onset, end)
    if dirs[-1] != "L" or len(body) < 3:
        return unreadable(kind, "the count does not return to centre after the last right swing", onset, end)
    half = np.mean([body[0].size, body[-1].size])
    full = np.array([s.size for s in body[1:-1]])
    if np.median(full) < 1.3 * half:
        return unreadable(kind, "the count's swings are not full left-right swings", onset, end)
    symbols = tuple(
        ("1", min(body[i].confidence, body[i + 1].confidence)) for i in range(0, len(body) - 1, 2)
    )
    conf = least_confidence([c for _, c in symbols])
    return Decoded(kind, True, str(len(symbols)), symbols, conf, "", onset, end)


def decode_eye_morse(
    body: Sequence[Sweep], hold_sec: float = 0.5, onset: float = 0.0, end: float = 0.0,
    full: float | None = None,
) -> Decoded:
    """Decode the body of an eye-Morse message from its sweeps (the fallback of the level reading).

    Each element is a half sweep out, a full swing across and a half sweep back
    (:func:`dreamlink.link.eye_code.eye_morse`); the full swing's direction is the symbol
    (rightward = dot, leftward = dash). See :func:`_elements`.

    Parameters
    ----------
    body : sequence of Sweep
        Sweeps between the opening frame's return to centre and the closing frame.
    hold_sec : float
        The sender's fixation time (from the opening frame), which sets the pause thresholds.
    onset, end : float
        Span of the whole message (s).
    full : float, optional
        The sender's full swing (V, from the opening frame); by default the largest sweeps' size.

    Returns
    -------
    Decoded
        ``text`` in letters; ``symbols`` holds each ``.``/``-`` with its confidence and ``" "``
        between letters, ``" / "`` between words.
    """
    kind = "eye_morse"
    if not body:
        return unreadable(kind, "no symbols between the LRLR frames", onset, end)
    if full is None:
        full = float(np.max([s.size for s in body]))
    elements = _elements(body, full)
    if isinstance(elements, str):
        return unreadable(kind, elements, onset, end)
    if not elements:
        return unreadable(kind, "no symbols between the LRLR frames", onset, end)
    letter_thr, word_thr = morse_thresholds(hold_sec)
    words: list[list[str]] = [[""]]
    symbols: list[tuple[str, float]] = []
    prev_end: float | None = None
    for out, across, back, penalty in elements:
        if back.onset - out.end > max_symbol_sec(hold_sec):
            return unreadable(kind, f"excursion at {out.onset:.2f} s stayed out too long", onset, end)
        if prev_end is not None:
            gap = out.onset - prev_end  # centre rest between two elements (~1, 4 or 8 units)
            if gap > word_thr:
                words.append([""])
                symbols.append((" / ", 1.0))
            elif gap > letter_thr:
                words[-1].append("")
                symbols.append((" ", 1.0))
        sym = "." if across.direction == "R" else "-"
        words[-1][-1] += sym
        symbols.append((sym, min(out.confidence, across.confidence, back.confidence) * penalty))
        prev_end = back.end
    return spell_morse(kind, words, symbols, onset, end)


def _elements(body: Sequence[Sweep], full: float) -> list[tuple[Sweep, Sweep, Sweep, float]] | str:
    """Group sweeps into eye-Morse elements (out, across, back), tolerating natural movements.

    A full swing (≥ :data:`~dreamlink.link.eye_code.FULL_SWING_MIN_FRAC` × ``full``) is the heart of
    an element; the nearest opposite sweep before it is the way out and the nearest opposite sweep
    after it the way back. Sweeps smaller than 0.6 × the way out in between (natural REMs riding on
    a fixation) lower the symbol's confidence by 20 % each; other sweeps outside elements (natural
    movements from centre and back) are skipped. A full swing with no way out or no way back, or two
    full swings in a row, makes the message unreadable (the reason is returned as a string).
    """
    thr = eye_code.FULL_SWING_MIN_FRAC * full
    big = [i for i, s in enumerate(body) if s.size >= thr]
    out: list[tuple[Sweep, Sweep, Sweep, float]] = []
    used = -1
    for k, i in enumerate(big):
        across = body[i]
        before = [j for j in range(used + 1, i) if body[j].direction != across.direction]
        nxt = big[k + 1] if k + 1 < len(big) else len(body)
        after = [j for j in range(i + 1, nxt) if body[j].direction != across.direction]
        if not before:
            return f"the full swing at {across.onset:.2f} s did not start from a look to one side"
        if not after:
            return f"the full swing at {across.onset:.2f} s did not return to centre"
        j_out, j_back = before[-1], after[0]
        small = sum(1 for j in range(j_out + 1, j_back) if j != i)
        out.append((body[j_out], across, body[j_back], 0.8**small))
        used = j_back
    return out


#: A gaze level beyond this fraction of the half swing (centre → one side) is "out" (left/right).
LEVEL_OUT_FRAC = 0.5
#: ...and back at centre once within this fraction (hysteresis).
LEVEL_BACK_FRAC = 0.25
#: Count answers: side fixations shorter than this many units (half a hold) are natural movements.
MIN_DWELL_UNITS = 1.0
#: Eye-Morse: side fixations shorter than this many units are natural movements (each side of an
#: element is held :data:`~dreamlink.link.eye_code.SIDE_UNITS` = 1 unit).
MIN_SIDE_UNITS = 0.4
#: A return to centre shorter than this many units between two same-side excursions is a natural
#: movement during one symbol (the code rests 1 unit at centre between elements).
MAX_BLIP_UNITS = 0.5
#: The centre level at each moment is the median of the centre fixations within ± this (s).
BASELINE_HALF_SEC = 4.0
#: Centre level: median of the first / last this many seconds of a message body's gaze trace.
CENTRE_SEC = 0.6


def _classify(x: np.ndarray) -> np.ndarray:
    """+1 (left), −1 (right) or 0 (centre) per block of a level in half-swing units, with hysteresis.

    Out when beyond :data:`LEVEL_OUT_FRAC`; back to centre only when within :data:`LEVEL_BACK_FRAC`.
    """
    state = np.zeros(len(x), dtype=int)
    cur = 0
    for i, v in enumerate(x):
        if cur == 0 or cur * v < LEVEL_BACK_FRAC:
            cur = 1 if v > LEVEL_OUT_FRAC else (-1 if v < -LEVEL_OUT_FRAC else 0)
        state[i] = cur
    return state


def _runs(state: np.ndarray, times: np.ndarray, step: float) -> list[list[float]]:
    """[state, start, end] runs of a state sequence sampled at ``times``."""
    cut = np.flatnonzero(np.diff(state)) + 1
    starts = np.concatenate([[0], cut])
    ends = np.concatenate([cut, [len(state)]])
    return [
        [float(state[a]), float(times[a] - step / 2), float(times[b - 1] + step / 2)]
        for a, b in zip(starts, ends, strict=True)
    ]


def _merge_equal(segs: list[list[float]]) -> list[list[float]]:
    out: list[list[float]] = []
    for seg in segs:
        if out and out[-1][0] == seg[0]:
            out[-1][2] = seg[2]
        else:
            out.append(list(seg))
    return out


def _side_runs(
    times: np.ndarray, levels: np.ndarray, half: float, unit: float
) -> tuple[list[list[float]], np.ndarray] | None:
    """Left/right fixations of an eye-Morse body, as ``[state, start, end, plateau]`` runs.

    Steps 1–3 of :func:`decode_eye_morse_levels`; ``plateau`` is the run's median level in
    half-swing units. Returns ``None`` when the trace is too short.
    """
    found = _level_segments_x(times, levels, half, unit, MIN_SIDE_UNITS, symmetric=True)
    if found is None:
        return None
    segs, x = found
    runs = []
    for seg in segs:
        if seg[0] == 0:
            continue
        sel = (times >= seg[1]) & (times <= seg[2])
        runs.append([seg[0], seg[1], seg[2], float(np.median(x[sel])) if sel.any() else 0.0])
    return runs, x


def _pair_sides(grp: list[list[float]]) -> list[tuple[list[float], list[float], float]]:
    """Consecutive (first, second, swing) pairs of a group of alternating side fixations.

    Two fixations are one element; a longer group is several elements whose centre rest a natural
    movement filled. With an odd number of fixations, the one left over (a natural movement) is
    the first or the last, whichever leaves the larger smallest swing.
    """

    def pairs(seq: list[list[float]]) -> list[tuple[list[float], list[float], float]]:
        return [(seq[i], seq[i + 1], abs(seq[i][3] - seq[i + 1][3])) for i in range(0, len(seq) - 1, 2)]

    if len(grp) % 2 == 0:
        return pairs(grp)
    a, b = pairs(grp[:-1]), pairs(grp[1:])
    return a if min(p[2] for p in a) >= min(p[2] for p in b) else b


#: A centre run shorter than this (s) between two looks is the saccade between them, or a look
#: that a natural REM or drift pulled back towards centre (the code rests at least 0.8 s between
#: elements; the closing test tells rests from looks).
LEVEL_FRAME_MAX_CENTRE_SEC = 0.65
#: The looks of a frame last 0.5–2.2 holds (the closing test, :func:`~dreamlink.detect.eye_hsmm.closing_test`,
#: allows 0.4: in the level alone, a shorter look was more often a natural REM, on 40 draws of
#: ``benchmarks/signals.py``, seeds 101–313).
LEVEL_FRAME_LOOK_HOLDS = (0.5, 2.2)
#: The largest count answer read live: a count message still open after its looks would have ended
#: (:func:`count_time_limit`) is given up.
COUNT_MAX_ANSWER = 10


def last_look_end(times: np.ndarray, levels: np.ndarray, half: float, min_sec: float) -> float | None:
    """End (s) of the last side look of a gaze trace held at least ``min_sec`` (s), or ``None``.

    The trace is centred on its median and scaled to half swings (``half``, V) and classified
    left/centre/right as the level screen does (:func:`_classify`); natural REMs are brief, so a
    run at one side that lasts ``min_sec`` is a look.
    """
    times = np.asarray(times, dtype=float)
    if times.size < 2 or not half > 0:
        return None
    _, runs = _centred_runs(times, levels, half)
    ends = [end for state, start, end in runs if state != 0 and end - start >= min_sec]
    return ends[-1] if ends else None


def _centred_runs(times: np.ndarray, levels: np.ndarray, half: float) -> tuple[np.ndarray, list[list[float]]]:
    """A gaze trace (``times`` at least two) centred on its median and scaled to half swings
    (``half``, V), and its [state, start, end] runs classified left/centre/right (:func:`_classify`)."""
    step = float(np.median(np.diff(times)))
    x = (np.asarray(levels, dtype=float) - float(np.median(levels))) / half
    return x, _runs(_classify(x), times, step)


def level_frame_looks(
    times: np.ndarray, levels: np.ndarray, half: float, hold_sec: float | None = None
) -> list[tuple[float, float, float]] | None:
    """The last four side looks of a gaze trace if they are an LRLR frame: left, right, left, right.

    A cheap screen for a frame the sweep detector missed (natural REMs split or spoil its
    sweeps; the gaze level still holds the looks). The trace, centred on its median and scaled to
    half swings, is classified left/centre/right (:func:`_classify`); the last four side runs must
    alternate starting left, follow each other with no centre rest (centre runs shorter than
    :data:`LEVEL_FRAME_MAX_CENTRE_SEC` are the saccades, or join the two halves of one look), and each last
    :data:`LEVEL_FRAME_LOOK_HOLDS` of the sender's hold (the fourth may still be going on; without
    ``hold_sec``, the median of the first three looks, which must be within :data:`CODE_GAP_RANGE_SEC`).
    Whether they close the message is judged by the closing test
    (:meth:`~dreamlink.detect.eye_messages.EyeMessageDecoder._reads_closed`).

    Returns
    -------
    list of (start, end, level) | None
        Each look's start and end (s) and median level (half swings), or ``None``.
    """
    times = np.asarray(times, dtype=float)
    levels = np.asarray(levels, dtype=float)
    if times.size < 8 or not half > 0:
        return None
    x, runs = _centred_runs(times, levels, half)
    looks: list[list[float]] = []
    for state, start, end in reversed(runs):
        if state == 0:
            if looks and end - start >= LEVEL_FRAME_MAX_CENTRE_SEC:
                break  # a rest before the looks found so far: they start here
            continue
        if looks and looks[0][0] == state and len(looks) < 4:
            looks[0][1] = start  # one look, split by a brief move towards centre
        elif len(looks) == 4:
            break  # (the first look starts after its last split: the frame's start is aligned)
        else:
            looks.insert(0, [state, start, end])
    if len(looks) < 4:
        return None
    if hold_sec is None:
        hold_sec = float(np.median([end - start for _, start, end in looks[:3]]))
        if not CODE_GAP_RANGE_SEC[0] <= hold_sec <= CODE_GAP_RANGE_SEC[1]:
            return None
    lo, hi = (k * hold_sec for k in LEVEL_FRAME_LOOK_HOLDS)
    still_looking = runs[-1][0] != 0
    for i, (state, start, end) in enumerate(looks):
        if state != (1.0 if i % 2 == 0 else -1.0):
            return None
        if end - start > hi or (end - start < lo and not (i == 3 and still_looking)):
            return None
    return [(start, end, float(np.median(x[(times >= start) & (times <= end)]))) for _, start, end in looks]


def decode_eye_morse_levels(
    times: np.ndarray,
    levels: np.ndarray,
    half: float,
    hold_sec: float = 0.5,
    onset: float = 0.0,
    end: float = 0.0,
) -> Decoded:
    """Decode an eye-Morse body from the gaze level itself, not from sweep events.

    Each element of the code (:func:`dreamlink.link.eye_code.eye_morse`) is a fixation at one
    extreme, a full swing straight across, a fixation at the other extreme and a return to centre;
    the order of the two fixations is the symbol (left first = dot, right first = dash). Natural
    rapid eye movements add and split sweeps, but they do not move the gaze *level* from one
    extreme to the other. Steps:

    1. Centre baseline: a line through the median level of the first and of the last
       :data:`CENTRE_SEC` of the body (both are centre fixations in the code), then the median of
       the centre blocks within ± :data:`BASELINE_HALF_SEC` (slow drift).
    2. Each level block is *left*, *right* or *centre* by whether it is beyond
       :data:`LEVEL_OUT_FRAC` × ``half`` from the baseline (and, once out, until it comes back within
       :data:`LEVEL_BACK_FRAC` × ``half``). Centre returns shorter than :data:`MAX_BLIP_UNITS`
       between two fixations at the same side join them; side fixations shorter than
       :data:`MIN_SIDE_UNITS` eye-Morse units (:func:`dreamlink.link.eye_code.morse_unit`) count as
       centre.
    3. Side fixations not separated by a centre rest of :data:`MAX_BLIP_UNITS` form a group. A group
       of two opposite fixations whose plateaus differ by at least
       :data:`~dreamlink.link.eye_code.FULL_SWING_MIN_FRAC` of the full swing is a symbol; a group
       of one side (a look to one side and back: a natural movement) is ignored; a longer group is
       read as consecutive pairs (:func:`_pair_sides`: several elements whose centre rest a
       natural movement filled), at a lower confidence. Groups
       within ``FRAME_REST_SEC / 2`` of either end of the trace belong to a frame (the code rests
       at centre for :data:`~dreamlink.link.eye_code.FRAME_REST_SEC` after and before the frames).
    4. The centre time between two symbols ends a letter or a word by :func:`morse_thresholds`,
       with the unit measured on the body (median side fixation /
       :data:`~dreamlink.link.eye_code.SIDE_UNITS`, within 0.6–1.7 × the unit from ``hold_sec``).

    Parameters
    ----------
    times, levels : numpy.ndarray
        Block times (s) and levels (V, positive = leftward gaze) from the end of the opening
        frame's return to centre to the start of the closing frame.
    half : float
        The sender's centre-to-side excursion (V), half the frame's full swing.
    hold_sec : float
        The sender's fixation time (from the opening frame).
    onset, end : float
        Span of the whole message (s).

    Returns
    -------
    Decoded
        Unreadable (with the reason) when there is no symbol, the gaze stays out far longer than
        an element, or a group is no Morse letter.
    """
    kind = "eye_morse"
    times = np.asarray(times, dtype=float)
    levels = np.asarray(levels, dtype=float)
    unit = eye_code.morse_unit(hold_sec)
    found = _side_runs(times, levels, half, unit) if half > 0 else None
    if found is None:
        return unreadable(kind, "no gaze trace between the LRLR frames", onset, end)
    runs, _x = found
    blip = MAX_BLIP_UNITS * unit
    groups: list[list[list[float]]] = []
    for run in runs:
        if groups and run[1] - groups[-1][-1][2] < blip:
            groups[-1].append(run)
        else:
            groups.append([run])
    max_out = 2.0 * max_symbol_sec(hold_sec)
    min_swing = 2.0 * eye_code.FULL_SWING_MIN_FRAC
    elements: list[tuple[str, float, float, float, float]] = []  # symbol, start, end, conf, side dwell
    edge = 0.5 * eye_code.FRAME_REST_SEC
    for grp in groups:
        if grp[-1][2] > times[-1] - edge or grp[0][1] < times[0] + edge:
            continue  # part of a frame: the code rests at centre after / before the frames
        if grp[-1][2] - grp[0][1] > max_out:
            return unreadable(
                kind, f"the gaze stayed out {grp[-1][2] - grp[0][1]:.1f} s from {grp[0][1]:.2f} s", onset, end
            )
        if len(grp) < 2:
            continue  # one side and back: a natural movement, never a symbol
        for first, second, swing in _pair_sides(grp):
            if swing < min_swing:
                continue  # no full swing: natural movements
            sym = "." if first[3] > second[3] else "-"
            conf = float(np.clip((swing - 1.0) / 0.8, 0.1, 1.0)) * (1.0 if len(grp) == 2 else 0.7)
            dwell = 0.5 * ((first[2] - first[1]) + (second[2] - second[1]))
            elements.append((sym, first[1], second[2], conf, dwell))
    if not elements:
        return unreadable(kind, "no symbols between the LRLR frames", onset, end)
    body_unit = float(np.median([e[4] for e in elements])) / eye_code.SIDE_UNITS
    body_unit = float(np.clip(body_unit, 0.6 * unit, 1.7 * unit))
    letter_thr, word_thr = morse_thresholds(body_unit)
    words: list[list[str]] = [[""]]
    symbols: list[tuple[str, float]] = []
    prev_end: float | None = None
    for sym, start, stop, conf, _dwell in elements:
        if prev_end is not None:
            gap = start - prev_end
            if gap > word_thr:
                words.append([""])
                symbols.append((" / ", 1.0))
            elif gap > letter_thr:
                words[-1].append("")
                symbols.append((" ", 1.0))
        words[-1][-1] += sym
        symbols.append((sym, conf))
        prev_end = stop
    return spell_morse(kind, words, symbols, onset, end)


#: HSMM reading: an element's two side fixations must differ by at least this (half-swing units).
HSMM_MIN_SWING = 1.0
#: ... except one element in a body of at least :data:`HSMM_WEAK_MIN_STRONG` full-swing elements,
#: whose looks differ by at least this: a natural REM that spoils one look of a real element.
#: Bodies of one or two elements that do not swing fully are natural movements between messages
#: (on eight draws of ``benchmarks/signals.py``, seeds 13 and 31–73, real bodies with one spoiled
#: element swung 0.53–0.99; the rejected "messages" of natural movements were single elements).
HSMM_WEAK_SWING, HSMM_WEAK_MIN_STRONG = 0.5, 3
#: Count readings (:func:`count_of`): at most this many left-right pairs may fall short of a full
#: swing, and a spoiled pair (≥ :data:`HSMM_WEAK_SWING`) counts among at least this many full ones.
#: On REM counts of ``benchmarks/signals.py`` (seeds 1–6 and 317–379, 1196 counts) this read 14 more
#: exactly than refusing every short pair, for one more wrong answer (26 against 25); allowing two
#: short pairs read as many but four more wrong: a reading with two is a body it lost its way in.
COUNT_MAX_IRREGULAR, COUNT_SPOILED_MIN_FULL = 1, 2


def decode_eye_morse_path(
    times: np.ndarray,
    levels: np.ndarray,
    half: float,
    hold_sec: float = 0.5,
    onset: float = 0.0,
    end: float = 0.0,
    strict_rests: bool = False,
    spoiled_ok: bool = False,
    timed_edges: bool = False,
    movement_share: bool = False,
) -> Decoded:
    """Decode an eye-Morse body as a whole by explicit-duration Viterbi (:mod:`dreamlink.detect.eye_hsmm`).

    The centre baseline and half-swing scaling are those of :func:`decode_eye_morse_levels` (steps
    1–2); the cheapest sequence of centre rests and dot/dash elements allowed by the code then gives
    the symbols, and the centre rests' duration classes (2, 5 or 10 units) the letter and word
    breaks. Each symbol's confidence is the fit of its two fixations to their levels. Unreadable
    when no element fits, or when an element's two fixations are not a swing apart
    (< :data:`HSMM_MIN_SWING` half swings: natural movements, not a symbol). With ``strict_rests``
    also when the centre rest before the first element or after the last one is far longer than
    the code's (:data:`~dreamlink.link.eye_code.FRAME_REST_SEC` after the opening frame's hold;
    ``max(5 units, FRAME_REST_SEC)`` before the closing frame; +25 % + 0.5 s): a "message" made of
    natural movements between a closing frame and the next message's opening frame. With
    ``timed_edges`` the trace is a whole body between its frames, and those two rests are read as
    lasting about that long (:func:`~dreamlink.detect.eye_hsmm.best_path`), not any time (a window
    cut anywhere in a trace). With ``movement_share`` each segment is timed with the eye movement
    that bounds it (:data:`~dreamlink.detect.eye_hsmm.SWEEP_SHARE_SEC`): for the text of a body
    already framed.
    """
    kind = "eye_morse"
    times = np.asarray(times, dtype=float)
    unit, found = morse_body_blocks(times, levels, half, hold_sec)
    if found is None:
        return unreadable(kind, "no gaze trace between the LRLR frames", onset, end)
    path = best_path(found[1], times, unit, "morse", timed_edges=timed_edges, movement_share=movement_share)
    if path is None:
        return unreadable(kind, "the gaze trace does not follow the eye-Morse code", onset, end)
    segs, u, _cost = path
    if strict_rests and not rests_like_code(segs, hold_sec, u):
        return unreadable(kind, "the centre rests around the body are not the code's", onset, end)
    return path_text(segs, onset, end, spoiled_ok)


def rests_like_code(segs: list, hold_sec: float, unit: float) -> bool:
    """Whether the centre rests before the first element and after the last one are the code's.

    :data:`~dreamlink.link.eye_code.FRAME_REST_SEC` after the opening frame's hold;
    ``max(5 units, FRAME_REST_SEC)`` before the closing frame; +25 % + 0.5 s. Far longer rests mean a
    "message" made of natural movements between a closing frame and the next message's opening frame.
    """
    first_rest = segs[1].end - segs[1].start if segs[0].state == "pre" else segs[0].end - segs[0].start
    last = [seg for seg in segs if seg.state in ("c_last", "c_pre")]
    last_rest = last[0].end - last[0].start if last else 0.0
    return (
        first_rest <= 1.25 * (eye_code.FRAME_REST_SEC + hold_sec) + 0.5
        and last_rest <= 1.25 * eye_code.closing_rest_sec(unit) + 0.5
    )


def morse_body_blocks(times: np.ndarray, levels: np.ndarray, half: float, hold_sec: float):
    """The Morse unit (s) and the centred, half-swing-scaled gaze trace of a body for the HSMM
    readers (:func:`_level_segments_x`; ``None`` when there is none or no half swing)."""
    unit = eye_code.morse_unit(hold_sec)
    found = _level_segments_x(
        np.asarray(times, dtype=float), np.asarray(levels, dtype=float), half, unit, MIN_SIDE_UNITS,
        symmetric=True,
    ) if half > 0 else None
    return unit, found


def count_body_blocks(times: np.ndarray, levels: np.ndarray, half: float, hold_sec: float):
    """The hold (s, ≥ 0.25) and the centred, half-swing-scaled gaze trace of a count body for the
    HSMM readers (:func:`_level_segments_x`, the baseline from centre fixations only: a count body is
    mostly looks; ``None`` when there is none or no half swing)."""
    unit = max(float(hold_sec), 0.25)
    return unit, _level_segments_x(times, levels, half, unit, MIN_DWELL_UNITS * 0.5)


def _element_swings(segs: list) -> list[float]:
    """Per segment of an eye-Morse HSMM path: how far (half swings) an element's second look is from
    its first (at the element's second look; ``inf`` elsewhere)."""
    return [
        abs(segs[i - 1].level - seg.level) if seg.state in ("dot_r", "dash_l") else np.inf
        for i, seg in enumerate(segs)
    ]


def has_spoiled_element(segs: list) -> bool:
    """Whether an element of an eye-Morse HSMM path swings less than :data:`HSMM_MIN_SWING`."""
    return min(_element_swings(segs), default=np.inf) < HSMM_MIN_SWING


def path_text(segs: list, onset: float, end: float, spoiled_ok: bool = False) -> Decoded:
    """Letters and words of an eye-Morse HSMM path (see :func:`decode_eye_morse_path`).

    With ``spoiled_ok`` one element may swing less than :data:`HSMM_MIN_SWING` (see
    :data:`HSMM_WEAK_SWING`): for a body between two frames the detector found.
    """
    kind = "eye_morse"
    words: list[list[str]] = [[""]]
    symbols: list[tuple[str, float]] = []
    swings = _element_swings(segs)
    weak = [i for i, swing in enumerate(swings) if swing < HSMM_MIN_SWING]
    strong = sum(1 for swing in swings if HSMM_MIN_SWING <= swing < np.inf)
    if weak and (
        not spoiled_ok or len(weak) > 1 or swings[weak[0]] < HSMM_WEAK_SWING or strong < HSMM_WEAK_MIN_STRONG
    ):
        return unreadable(kind, f"no full swing across at {segs[weak[0] - 1].start:.2f} s", onset, end)
    for i, seg in enumerate(segs):
        if seg.state not in ("dot_r", "dash_l"):
            continue
        first, gap = segs[i - 1], segs[i - 2]
        # A spoiled element (swing below HSMM_MIN_SWING) is as sure as its swing.
        sure = min(first.fit, seg.fit) * min(1.0, swings[i] / HSMM_MIN_SWING)
        if gap.state == "gap_w":
            words.append([""])
            symbols.append((" / ", 1.0))
        elif gap.state == "gap_l":
            words[-1].append("")
            symbols.append((" ", 1.0))
        sym = "." if seg.state == "dot_r" else "-"
        words[-1][-1] += sym
        symbols.append((sym, float(np.clip(sure, 0.05, 1.0))))
    if not any(s in ".-" for s, _ in symbols):
        return unreadable(kind, "no symbols between the LRLR frames", onset, end)
    return spell_morse(kind, words, symbols, onset, end)


#: A message read as one of a known vocabulary's words (:func:`decode_eye_morse_words`) is as sure
#: as ``1 − exp(−margin / WORD_MARGIN_BLOCKS)``, the margin being how much cheaper the word's reading
#: is than the next word's (blocks of cost, as :data:`~dreamlink.detect.eye_hsmm.LETTER_MAX_EXTRA`).
WORD_MARGIN_BLOCKS = 8.0
#: ... and at most this fraction of its elements may swing less than :data:`HSMM_MIN_SWING` (each
#: at least :data:`HSMM_WEAK_SWING`): more, and natural movements, not the word, fill the trace.
WORD_MAX_WEAK_FRAC = 0.25


def decode_eye_morse_words(
    times: np.ndarray,
    levels: np.ndarray,
    half: float,
    hold_sec: float,
    vocabulary: Sequence[str],
    onset: float | None = 0.0,
    end: float = 0.0,
    min_opening_fit: float = 0.0,
    prior: Mapping[str, float] | None = None,
) -> Decoded:
    """Decode a whole eye-Morse message as the word of a known vocabulary that explains it best.

    For a question whose answers are known (a design's ``choices``): the trace from before the
    opening frame to the closing frame's last look is read as each word
    (:func:`~dreamlink.detect.eye_hsmm.words_reading`). Each symbol's confidence is the fit of its
    two fixations to their levels (scaled down by a swing short of :data:`HSMM_MIN_SWING`), the
    message's the least of those and of the word's margin over the next word
    (:data:`WORD_MARGIN_BLOCKS`). Unreadable when no word fits or when more than
    :data:`WORD_MAX_WEAK_FRAC` of the word's elements do not swing across.

    Parameters
    ----------
    times, levels : numpy.ndarray
        Block times (s) and gaze level (V) of the message and a little before it.
    half : float
        The sender's half swing (V).
    hold_sec : float
        The sender's fixation time (s), from the opening frame.
    vocabulary : sequence of str
        The words the answer is one of.
    onset, end : float
        The message's time span (s), for the result; ``onset=None``: where the reading puts the
        opening frame's first look (its first sweep ends as the look starts).
    min_opening_fit : float
        Unreadable when the reading's four opening looks fit their levels less well than this on
        average (0–1): for a trace whose opening frame the detector did not find.
    prior : mapping of str to float, optional
        Extra cost (blocks) of each word, as in :func:`~dreamlink.detect.eye_hsmm.words_reading`.
    """
    kind = "eye_morse"
    from_reading = onset is None
    onset = float(times[0]) if from_reading and len(times) else float(onset or 0.0)
    unit, found = morse_body_blocks(times, levels, half, hold_sec)
    if found is None:
        return unreadable(kind, "no gaze trace for the message", onset, end)
    readings = words_reading(
        found[1], np.asarray(times, dtype=float), unit, hold_sec, tuple(vocabulary), prior
    )
    if not readings:
        return unreadable(kind, "no word of the vocabulary fits the gaze trace", onset, end)
    best = readings[0]
    margin = readings[1].cost - best.cost if len(readings) > 1 else np.inf
    segs = best.segments
    opening = [seg.fit for seg in segs if seg.state in ("o1", "o2", "o3", "o4")]
    if min_opening_fit > 0 and (len(opening) < 4 or np.mean(opening) < min_opening_fit):
        return unreadable(kind, f"{best.word!r} fits, but no opening frame before it", onset, end)
    if from_reading:
        onset = next((s.start - 0.1 for s in segs if s.state == "o1"), onset)
    swings = _element_swings(segs)
    elements = [i for i, swing in enumerate(swings) if swing < np.inf]
    weak = [i for i in elements if swings[i] < HSMM_MIN_SWING]
    if len(weak) > WORD_MAX_WEAK_FRAC * len(elements) or any(swings[i] < HSMM_WEAK_SWING for i in weak):
        return unreadable(kind, f"{best.word!r} fits, but its looks do not swing across", onset, end)
    symbols: list[tuple[str, float]] = []
    for i in elements:
        gap = segs[i - 2].state
        if gap in ("gap_w", "gap_l"):
            symbols.append((" / " if gap == "gap_w" else " ", 1.0))
        sure = min(segs[i - 1].fit, segs[i].fit) * min(1.0, swings[i] / HSMM_MIN_SWING)
        symbols.append(("." if segs[i].state == "dot_r" else "-", float(np.clip(sure, 0.05, 1.0))))
    word_sure = 1.0 - np.exp(-margin / WORD_MARGIN_BLOCKS)
    conf = least_confidence([c for s, c in symbols if s in ".-"] + [word_sure])
    return Decoded(kind, True, best.word, tuple(symbols), conf, "", onset, end)


#: A closing frame read from the gaze level (:func:`decode_eye_morse_framed`) must fit its four
#: fixations at least this well (0–1) and explain the trace this much better (blocks of cost).
FRAMED_MIN_FIT, FRAMED_MIN_GAIN = 0.6, 8.0


def decode_eye_morse_framed(
    times: np.ndarray,
    levels: np.ndarray,
    half: float,
    hold_sec: float = 0.5,
    onset: float = 0.0,
    end: float = 0.0,
    against_plain: bool = True,
) -> tuple[Decoded, float]:
    """Find a closing LRLR frame *inside* a body's gaze level and decode the eye-Morse before it.

    When the sweep detector missed a message's closing frame (natural REMs split or spoil its
    sweeps), the trace still holds it: four side fixations of one hold each, left, right, left,
    right, after a centre rest. The message is read with the grammar "eye-Morse, rest, frame,
    free rest" (:mod:`dreamlink.detect.eye_hsmm`); it is accepted only when the frame's fixations
    fit (mean ≥ :data:`FRAMED_MIN_FIT`) and, with ``against_plain``, the framed reading explains
    the trace clearly better (by :data:`FRAMED_MIN_GAIN` blocks of cost) than eye-Morse alone
    (without it, e.g. for a message that would otherwise be abandoned as unreadable, the frame's fit
    alone decides: the plain reading explains a frame as extra elements at little cost).

    Returns
    -------
    (Decoded, frame_end) : tuple
        The message (unreadable when no frame was found) and the end (s) of the frame found.
    """
    kind = "eye_morse"
    unit, found = morse_body_blocks(times, levels, half, hold_sec)
    if found is None:
        return unreadable(kind, "no gaze trace between the LRLR frames", onset, end), 0.0
    framed = best_path(found[1], times, unit, "framed", hold=hold_sec)
    plain = best_path(found[1], times, unit, "morse") if against_plain else None
    if framed is None:
        return unreadable(kind, "no closing frame in the gaze trace", onset, end), 0.0
    frame = [seg for seg in framed[0] if seg.state in ("f1", "f2", "f3", "f4")]
    gain = (plain[2] if plain is not None else np.inf) - framed[2]
    if np.mean([seg.fit for seg in frame]) < FRAMED_MIN_FIT or (against_plain and gain < FRAMED_MIN_GAIN):
        return unreadable(kind, "no closing frame in the gaze trace", onset, end), 0.0
    return path_text(framed[0], onset, frame[-1].end), frame[-1].end


def decode_eye_morse_across(
    times: np.ndarray,
    levels: np.ndarray,
    half: float,
    hold_sec: float,
    frame_end: float,
    onset: float = 0.0,
    end: float = 0.0,
) -> tuple[Decoded, float]:
    """Read a message closed at a frame, and the body that followed that frame, as one eye-Morse body.

    A frame that natural REMs and the message's own elements made inside a body ("..", "-.." with
    their centre rests filled: four looks in a row) closes a message early; the rest of it then
    comes as a message of its own, opened by that frame. The code has no message that begins right
    after a closing frame without an opening frame, so once the rest has come the whole trace tells:
    read as one body (:func:`decode_eye_morse_path`), against read as "a body ending in a closing
    frame" (:func:`~dreamlink.detect.eye_hsmm.best_path` ``"framed"``) up to ``frame_end`` plus "a
    body" after it.

    Parameters
    ----------
    times, levels : numpy.ndarray
        Gaze level trace (s, V) from the first message's body to the second's closing frame.
    half : float
        The sender's half swing (V).
    hold_sec : float
        The sender's hold (s).
    frame_end : float
        End (s) of the frame that closed the first message (its fourth sweep).
    onset, end : float
        The span (s) of the message read whole.

    Returns
    -------
    (Decoded, gain) : tuple
        The whole body's reading (unreadable when it does not read, or its rests are not the code's)
        and how much more cheaply it explains the trace than the two messages (blocks of
        :data:`~dreamlink.detect.eye_hsmm.STEP_SEC`; negative when the frame was a frame).
    """
    kind = "eye_morse"
    times = np.asarray(times, dtype=float)
    unit, found = morse_body_blocks(times, levels, half, hold_sec)
    if found is None:
        return unreadable(kind, "no gaze trace between the LRLR frames", onset, end), -np.inf
    x = found[1]
    whole = best_path(x, times, unit, "morse")
    if whole is None:
        return unreadable(kind, "the gaze trace does not follow the eye-Morse code", onset, end), -np.inf
    segs, u, cost = whole
    if not rests_like_code(segs, hold_sec, u):
        return unreadable(kind, "the centre rests around the body are not the code's", onset, end), -np.inf
    # The first message's body ends with its closing frame's fourth look, half of which is its own.
    before = times <= frame_end + 0.5 * hold_sec
    first = best_path(x[before], times[before], unit, "framed", hold=hold_sec)
    rest = best_path(x[~before], times[~before], unit, "morse")
    split_cost = (first[2] if first is not None else np.inf) + (rest[2] if rest is not None else np.inf)
    return path_text(segs, onset, end, spoiled_ok=True), float(split_cost - cost)


def decode_count_path(
    times: np.ndarray,
    levels: np.ndarray,
    half: float,
    hold_sec: float = 0.5,
    onset: float = 0.0,
    end: float = 0.0,
) -> Decoded:
    """Decode a count answer's body as a whole by explicit-duration Viterbi (:mod:`~.eye_hsmm`).

    The body (:func:`dreamlink.link.eye_code.count_answer`) is centre, then left and right
    fixations alternating (each held ``hold_sec``), ending at the right, then centre; the answer is
    the number of right fixations of the cheapest such path. Unreadable when no path fits or its
    left-right pairs do not swing fully (:func:`count_of`).
    """
    kind = "count"
    unit, found = count_body_blocks(times, levels, half, hold_sec)
    if found is None:
        return unreadable(kind, "no gaze trace between the LRLR frames", onset, end)
    path = best_path(found[1], times, unit, "count")
    if path is None:
        return unreadable(kind, "the gaze trace does not follow the count code", onset, end)
    return count_of(path[0], onset, end)


def count_of(segs: Sequence[Segment], onset: float, end: float, zero_ok: bool = False) -> Decoded:
    """The count answer of a count body's segments (:func:`~dreamlink.detect.eye_hsmm.best_path`,
    :func:`~dreamlink.detect.eye_hsmm.count_closing_test`): the number of left-right pairs, each a
    full swing to the right (≥ :data:`HSMM_MIN_SWING` half swings from the left look before it,
    :func:`_pair_swings`). "0" only with ``zero_ok`` (a reading that found the closing frame after
    the code's two rests).

    One pair in a reading may fall short (:data:`COUNT_MAX_IRREGULAR`): one that swings at least
    :data:`HSMM_WEAK_SWING` half swings is a real pair one of whose looks a natural REM spoiled, and
    counts (as sure as its swing) among at least :data:`COUNT_SPOILED_MIN_FULL` full ones; one that
    swings less, or the wrong way, is a natural movement in a rest that the reading took for a pair,
    and does not count. A reading with more such pairs is unreadable: the body did not follow the code.
    """
    kind = "count"
    pairs = _pair_swings(segs)
    short = [(i, swing) for i, swing in pairs if swing < HSMM_MIN_SWING]
    spoiled = [(i, swing) for i, swing in short if swing >= HSMM_WEAK_SWING]
    full = len(pairs) - len(short)
    lost = len(short) > COUNT_MAX_IRREGULAR or (pairs and not full)
    if lost or (spoiled and full < COUNT_SPOILED_MIN_FULL):
        at = ", ".join(f"{segs[i].start:.2f}" for i, _ in short)
        return unreadable(kind, f"no full swing to the right at {at} s", onset, end)
    symbols = [
        ("1", float(np.clip(min(segs[i - 1].fit, segs[i].fit) * min(1.0, swing / HSMM_MIN_SWING), 0.05, 1.0)))
        for i, swing in pairs
        if swing >= HSMM_WEAK_SWING
    ]
    if not symbols:
        if zero_ok:
            return Decoded(kind, True, "0", (), 1.0, "", onset, end)
        return unreadable(kind, "no count between the LRLR frames", onset, end)
    conf = least_confidence([c for _, c in symbols])
    return Decoded(kind, True, str(len(symbols)), tuple(symbols), conf, "", onset, end)


def whole_count(whole: tuple[float, TraceReading], at: float) -> Decoded:
    """A count read back whole (the onset (s) of the opening frame found and the reading, as
    :meth:`~dreamlink.detect.eye_messages.EyeMessageDecoder._count_whole` gives them): from its
    opening to its closing frame's fourth look, read at ``at`` (s)."""
    onset, reading = whole
    return replace(count_of(reading.segments, onset, reading.frame()[3].start, zero_ok=True), detected_at=at)


def _pair_swings(segs: Sequence[Segment]) -> list[tuple[int, float]]:
    """The index of each ``right`` look of a count reading, with how far (half swings) it is to the
    right of the ``left`` look before it: negative when it is not to the right at all."""
    return [(i, segs[i - 1].level - seg.level) for i, seg in enumerate(segs) if seg.state == "right"]


def _level_segments(
    times: np.ndarray, levels: np.ndarray, half: float, unit: float
) -> list[list[float]] | None:
    """Left/centre/right fixations of a body's gaze level (count answers; see :func:`_level_segments_x`)."""
    found = _level_segments_x(times, levels, half, unit, MIN_DWELL_UNITS)
    return None if found is None else found[0]


def _level_segments_x(
    times: np.ndarray, levels: np.ndarray, half: float, unit: float, min_dwell_units: float,
    symmetric: bool = False,
) -> tuple[list[list[float]], np.ndarray] | None:
    """Left/centre/right fixations of a body's gaze level: steps 1–3 of :func:`decode_eye_morse_levels`.

    Returns ``[state, start, end]`` runs (state +1 left, −1 right, 0 centre) and the level in
    half-swing units from the centre baseline, or ``None`` when the trace is too short.
    """
    times = np.asarray(times, dtype=float)
    levels = np.asarray(levels, dtype=float)
    if times.size < 8 or not half > 0:
        return None
    step = float(np.median(np.diff(times)))
    n_c = max(2, int(round(CENTRE_SEC / step)))
    c0, c1 = float(np.median(levels[:n_c])), float(np.median(levels[-n_c:]))
    base = c0 + (c1 - c0) * (times - times[0]) / max(times[-1] - times[0], 1e-9)
    state = _classify((levels - base) / half)
    centre = np.ones(times.size, dtype=bool) if symmetric else state == 0
    if centre.sum() >= n_c:
        tc, lc = times[centre], levels[centre]
        local = np.full(times.size, np.nan)
        # The centre blocks within ±BASELINE_HALF_SEC of each block (the times are increasing).
        lo = np.searchsorted(tc, times - BASELINE_HALF_SEC, side="left")
        hi = np.searchsorted(tc, times + BASELINE_HALF_SEC, side="right")
        for i in np.flatnonzero(hi > lo):
            local[i] = np.median(lc[lo[i] : hi[i]])
        base = np.where(np.isfinite(local), local, base)
    x = (levels - base) / half
    segs = _runs(_classify(x), times, step)
    for i in range(1, len(segs) - 1):
        brief = segs[i][2] - segs[i][1] < MAX_BLIP_UNITS * unit
        if segs[i][0] == 0 and brief and segs[i - 1][0] == segs[i + 1][0] != 0:
            segs[i][0] = segs[i - 1][0]
    segs = _merge_equal(segs)
    for seg in segs:
        if seg[0] != 0 and seg[2] - seg[1] < min_dwell_units * unit:
            seg[0] = 0.0
    return _merge_equal(segs), x


def decode_count_levels(
    times: np.ndarray,
    levels: np.ndarray,
    half: float,
    hold_sec: float = 0.5,
    onset: float = 0.0,
    end: float = 0.0,
) -> Decoded:
    """Decode a count answer's body from the gaze level: the number of fixations at the right.

    A count body (:func:`dreamlink.link.eye_code.count_answer`) goes centre → left → right → left
    … → right → centre; the answer is the number of right fixations. The level is split into
    left/centre/right fixations as for eye-Morse (:func:`decode_eye_morse_levels`, with the
    sender's ``hold`` as the unit and fixations shorter than half a hold ignored), which natural
    rapid eye movements between the deliberate swings cannot turn into extra counts.

    Returns
    -------
    Decoded
        Unreadable when the side fixations do not alternate left/right starting on the left and
        ending on the right.
    """
    kind = "count"
    unit = max(float(hold_sec), 0.25) * 0.5
    segs = _level_segments(times, levels, half, unit)
    if segs is None:
        return unreadable(kind, "no gaze trace between the LRLR frames", onset, end)
    sides = [seg for seg in segs if seg[0] != 0]
    if not sides:
        return Decoded(kind, True, "0", (), 1.0, "", onset, end)
    dirs = ["L" if seg[0] > 0 else "R" for seg in sides]
    for i in range(1, len(dirs)):
        if dirs[i] == dirs[i - 1]:
            where = f"at {sides[i][1]:.2f} s"
            return unreadable(kind, f"two looks to the {dirs[i]} in a row {where}", onset, end)
    if dirs[0] != "L":
        return unreadable(kind, "the count does not start with a look to the left", onset, end)
    if dirs[-1] != "R":
        return unreadable(kind, "the count does not end with a look to the right", onset, end)
    symbols = tuple(
        ("1", 1.0 if seg[2] - seg[1] >= 0.6 * hold_sec else 0.7) for seg in sides if seg[0] < 0
    )
    conf = least_confidence([c for _, c in symbols])
    return Decoded(kind, True, str(len(symbols)), symbols, conf, "", onset, end)


def count_time_limit(hold_sec: float) -> float:
    """How long (s) after its opening frame's end a count message of at most
    :data:`COUNT_MAX_ANSWER` sent with fixations of ``hold_sec`` (s) ends: its rests and looks, +25 %."""
    rests = hold_sec + eye_code.COUNT_FIRST_REST_SEC + eye_code.COUNT_LAST_REST_SEC
    return 1.25 * (rests + (2 * COUNT_MAX_ANSWER + 4) * hold_sec)


def count_over_sec(hold_sec: float) -> float:
    """How long (s) a count message sent with fixations of ``hold_sec`` (s) can go without a look:
    its longest rest (:data:`~dreamlink.link.eye_code.COUNT_LAST_REST_SEC`, +20 %) and two holds
    (a look next to it that natural REMs spoiled). A count that has gone longer is over
    (:func:`last_look_end`)."""
    return 1.2 * eye_code.COUNT_LAST_REST_SEC + 2.0 * hold_sec


def morse_thresholds(hold_sec: float) -> tuple[float, float]:
    """Centre rests (s) that end a letter and a word of eye-Morse sent with fixations of ``hold_sec``.

    :func:`dreamlink.link.eye_code.eye_morse` rests :data:`~dreamlink.link.eye_code.ELEMENT_GAP_UNITS`
    (2) units at centre between the elements of a letter,
    :data:`~dreamlink.link.eye_code.LETTER_GAP_UNITS` (5) between letters and
    :data:`~dreamlink.link.eye_code.WORD_GAP_UNITS` (10) between words, each ±20 % with a real sender;
    the thresholds sit between the longest shorter rest and the shortest longer one (3.2 and 7 units).
    """
    u = eye_code.morse_unit(hold_sec)
    e, lt, w = eye_code.ELEMENT_GAP_UNITS, eye_code.LETTER_GAP_UNITS, eye_code.WORD_GAP_UNITS
    letter_thr = u * (1.2 * e + 0.8 * lt) / 2.0
    word_thr = u * (1.2 * lt + 0.8 * w) / 2.0
    return letter_thr, word_thr


def shortest_message_sec(hold_sec: float) -> float:
    """Shortest time (s) from an opening frame's last sweep to the end of its message's closing frame.

    The one-element message "E" at the code's fastest timing (−20 %,
    :func:`dreamlink.link.eye_code.eye_morse`): the frame's last look and the rest after it, the
    element, the rest before the closing frame and the closing frame's first three looks.
    """
    unit = eye_code.morse_unit(hold_sec)
    rest_before = eye_code.closing_rest_sec(unit)
    return 0.8 * (4 * hold_sec + eye_code.FRAME_REST_SEC + eye_code.SYMBOL_UNITS * unit + rest_before)


def max_symbol_sec(hold_sec: float) -> float:
    """Longest fixation (s) at one side that is still one eye-Morse symbol (twice the code's)."""
    return 2.0 * eye_code.SYMBOL_UNITS * eye_code.morse_unit(hold_sec)


#: Mean fixation (s) between an LRLR frame's sweeps that a sender of the code can have: holds of
#: 0.3–1.2 s (:mod:`dreamlink.link.eye_code`) ±20 %, minus the sweeps' own duration, with margin.
CODE_GAP_RANGE_SEC = (0.15, 1.6)
