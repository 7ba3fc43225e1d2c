"""Reading an eye message's body as a whole: explicit-duration (semi-Markov) Viterbi on the gaze level.

An eye-Morse body (:func:`dreamlink.link.eye_code.eye_morse`) is a sequence of *segments* of the
gaze level: centre rests and side fixations, each with a known level (centre 0, left +1, right −1
in units of the sender's half swing) and a known duration in units of the sender's hold: a side
is held 1 unit, the centre 2 units between the elements of a letter, 5 between letters, 10
between words (each ±20 % with a real sender). Natural rapid eye movements of REM sleep ride on
this: they add brief excursions and can split or fill a fixation, which breaks a reading that
goes sweep by sweep or fixation by fixation. A hidden semi-Markov model (HSMM) instead asks
which *whole* sequence of segments allowed by the code best explains the trace: each block costs
its squared distance from its segment's level (capped, so a natural REM spike costs little more
than a mismatch), each segment a log-normal penalty on its duration, and the Viterbi algorithm
finds the cheapest sequence exactly (Rabiner 1989; explicit durations: Yu 2010). A brief natural
movement cannot become a symbol (it is far shorter than two 1-unit fixations) and cannot delete
one (a 1-unit fixation at a side costs a lot as centre). A decoder may score blocks with a dreamer's
learned emission instead (:mod:`dreamlink.detect.eye_emission`): every reading made inside
:func:`reading_with` uses it.

The grammar of an eye-Morse body, as segment states::

    [right (the frame's last look, optional)] centre(free)
    ( dot: left, right | dash: right, left ) ( centre 2u | centre 5u | centre 10u ) ...
    ( dot | dash ) centre(free)

and the elements must spell Morse letters: the element states are copied once per prefix of a
Morse code (a letter tree, :func:`_spelled`), so a letter or word break follows only a complete
letter. A natural REM that spoils one element then costs a letter, not the whole message as a
code that is no letter ("..--"); a code keyed cleanly that is no letter is still read as keyed
(:data:`LETTER_MAX_EXTRA`), and is unreadable.

A count body (:func:`dreamlink.link.eye_code.count_answer`) is ``centre, left, (right, left)*,
right, centre``, each side held 1 hold.

The same machinery frames a message on real REM EOG, where natural REMs and Morse elements often
make what a sweep detector takes for an LRLR marker:

* :func:`closing_test`: does a body's trace end in a closing frame (four side looks of the
  sender's hold in a row, after a centre rest) or go on with elements? Both readings are made and
  their costs compared.
* :func:`whole_message`: a trace that ends in a closing frame read as a whole message, to find an
  opening frame the detector missed (its four looks before the body's first rest).
* :func:`best_path` with ``"framed"``: a closing frame the detector missed, inside a body's trace.
* :func:`count_closing_test`: the same for a count answer, whose body is made of the frame's own
  looks: the code's rests before the body and before the closing frame tell them apart.

The recursion runs in a numba kernel (:func:`_viterbi_kernel`): a message of several minutes is
read in tens of milliseconds.

References
----------
Rabiner LR (1989). A tutorial on hidden Markov models and selected applications in speech
recognition. Proc IEEE 77(2):257-286. doi:10.1109/5.18626
Yu SZ (2010). Hidden semi-Markov models. Artificial Intelligence 174(2):215-243.
doi:10.1016/j.artint.2009.11.011
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

import numba
import numpy as np

from dreamlink.link import eye_code, morse

#: Cap of the per-block squared level error (half-swing units²): an outlier block costs at most this.
EMISSION_CAP = 1.0
#: Weight of a segment's duration penalty (in blocks of full mismatch per squared log-sd).
DURATION_WEIGHT = 2.0
#: Log-normal spread of segment durations around their nominal value (the code's ±20 % timing plus
#: where natural REMs blur a segment's edges; 0.3 read real REM EOG with injected messages better
#: than 0.2, 0.25, 0.35 or 0.45 on six tuning seeds of ``benchmarks/signals.py``).
DURATION_SIGMA = 0.3
#: What a segment of the gaze level lasts beyond its keyed time (s), when a framed body's letter and
#: word gaps are read again (:func:`best_path` with ``movement_share``). A look or a rest runs from
#: the middle of the eye movement into it to the middle of the one out of it, so it lasts its keyed
#: time plus about one movement: a half sweep (30°) takes about 90 ms, a full swing (60°) about
#: 150 ms (main sequence, Bahill et al. 1975). Without it the short side looks read long, the unit
#: search takes the sender for slower than they are, and a word gap reads as a letter gap ("GOUP",
#: "IAM"). Body reader alone (seeds 200–239 of ``benchmarks/signals.py``, 5816 characters): 0 → 126
#: character errors, 0.03 → 133, 0.06 → 107, 0.09 → 101, 0.12 → 132. Used everywhere, it closed
#: more messages early on the benchmark's draws (frames made of natural REMs and elements read
#: better against the body going on), so only the gaps of a body already framed use it
#: (:meth:`~dreamlink.detect.eye_messages.EyeMessageDecoder._text_of_framed`).
SWEEP_SHARE_SEC = 0.09
#: Shortest first centre rest of a body read by :func:`closing_test`, as a fraction of the code's
#: :data:`~dreamlink.link.eye_code.FRAME_REST_SEC` (the code keys it ±20 %).
FIRST_REST_LO = 0.5
#: Block length (s) of the search: finer level traces are averaged down to it.
STEP_SEC = 0.0625
#: Longest rest before a count's closing frame, as a multiple of the code's
#: :data:`~dreamlink.link.eye_code.COUNT_LAST_REST_SEC` (a sender may pause before the frame). Longer,
#: a count opened on a stray marker swallows the next count's frames: on REM counts of
#: ``benchmarks/signals.py`` 4 read 93.8 % exact on seeds 1–6 and 91.4 % on seeds 317–379 where 12 read
#: 93.4 % and 90.7 %, with half the false messages; the nap and 50-Hz night read the same.
COUNT_LAST_REST_MAX = 4.0
#: Candidate units, relative to the unit from the opening frame's fixations (natural REMs can
#: lengthen or shorten a frame's fixations; five scales read the tuning draws of
#: ``benchmarks/signals.py`` with a CER of 3.7 % where (0.85, 1.0, 1.18) read 4.1 %).
UNIT_SCALES = (0.75, 0.85, 1.0, 1.18, 1.33)


@dataclass(frozen=True)
class _State:
    name: str
    level: float  # expected level in half-swing units
    nominal: float | None  # nominal duration in units (None = free)
    lo: float = 0.0  # allowed durations, as fractions of nominal
    hi: float = 0.0
    long_ok: bool = False  # no duration penalty above nominal (a rest that may last longer)
    kind: str = ""  # the grammar state this one spells out (see :func:`_spelled`); "" = its name


@dataclass(frozen=True)
class Segment:
    """One segment of the best path: state name, start and end (s), median level (half swings), fit (0–1)."""

    state: str
    start: float
    end: float
    level: float
    fit: float


_MORSE_STATES = (
    _State("pre", -1.0, None),
    _State("c_first", 0.0, None),
    _State("dot_l", 1.0, eye_code.SIDE_UNITS, 0.4, 2.2),
    _State("dot_r", -1.0, eye_code.SIDE_UNITS, 0.4, 2.2),
    _State("dash_r", -1.0, eye_code.SIDE_UNITS, 0.4, 2.2),
    _State("dash_l", 1.0, eye_code.SIDE_UNITS, 0.4, 2.2),
    _State("gap_e", 0.0, eye_code.ELEMENT_GAP_UNITS, 0.4, 1.6),
    _State("gap_l", 0.0, eye_code.LETTER_GAP_UNITS, 0.6, 1.5),
    _State("gap_w", 0.0, eye_code.WORD_GAP_UNITS, 0.65, 1.6),
    _State("c_last", 0.0, None),
)
_MORSE_NEXT = {
    "start": ("pre", "c_first"),
    "pre": ("c_first",),
    "c_first": ("dot_l", "dash_r"),
    "dot_l": ("dot_r",),
    "dash_r": ("dash_l",),
    "dot_r": ("gap_e", "gap_l", "gap_w", "c_last"),
    "dash_l": ("gap_e", "gap_l", "gap_w", "c_last"),
    "gap_e": ("dot_l", "dash_r"),
    "gap_l": ("dot_l", "dash_r"),
    "gap_w": ("dot_l", "dash_r"),
}

#: The same, ending with a closing LRLR frame (four side fixations of one hold each) and a free rest:
#: for a message whose closing frame the sweep detector missed (:func:`framed_path`).
_FRAME_NEXT = dict(
    _MORSE_NEXT,
    dot_r=("gap_e", "gap_l", "gap_w", "c_pre"),
    dash_l=("gap_e", "gap_l", "gap_w", "c_pre"),
    c_pre=("f1",),
    f1=("f2",),
    f2=("f3",),
    f3=("f4",),
    f4=("c_last",),
)


def _framed_states(hold_units: float) -> tuple[_State, ...]:
    return _MORSE_STATES[:-1] + (
        _State("c_pre", 0.0, eye_code.LETTER_GAP_UNITS, 0.3, 2.5),
        _State("f1", 1.0, hold_units, 0.4, 2.2),
        _State("f2", -1.0, hold_units, 0.4, 2.2),
        _State("f3", 1.0, hold_units, 0.4, 2.2),
        _State("f4", -1.0, hold_units, 0.4, 2.2),
        _MORSE_STATES[-1],
    )


_COUNT_STATES = (
    _State("pre", -1.0, None),
    _State("c_first", 0.0, None),
    _State("left", 1.0, 1.0, 0.4, 2.5),
    _State("right", -1.0, 1.0, 0.4, 2.5),
    _State("c_last", 0.0, None),
)
_COUNT_NEXT = {
    "start": ("pre", "c_first"),
    "pre": ("c_first",),
    "c_first": ("left",),
    "left": ("right",),
    "right": ("left", "c_last"),
}


def _closing_states(hold_units: float) -> tuple[_State, ...]:
    # The rest before a closing frame: at least most of the code's 5 units, possibly much longer (a
    # sender who pauses, or a closing frame the detector missed before the next opening frame).
    framed = _framed_states(hold_units)
    rest = _State("c_pre", 0.0, eye_code.LETTER_GAP_UNITS, 0.5, 12.0, long_ok=True)
    return framed[:-6] + (rest,) + framed[-5:-2] + (_State("f4", -1.0, None), _MORSE_STATES[-1])


#: A trace that ends in the middle of an eye-Morse body: its last segment may be cut short, so it is
#: one of these free-duration *tail* states (a side look or a centre rest in progress).
_TAIL_STATES = (_State("tail_l", 1.0, None), _State("tail_r", -1.0, None), _State("tail_c", 0.0, None))
_OPEN_STATES = _MORSE_STATES[:-1] + _TAIL_STATES
_OPEN_NEXT = dict(
    _MORSE_NEXT,
    c_first=("dot_l", "dash_r", "tail_l", "tail_r"),
    dot_l=("dot_r", "tail_r"),
    dash_r=("dash_l", "tail_l"),
    dot_r=("gap_e", "gap_l", "gap_w", "tail_c"),
    dash_l=("gap_e", "gap_l", "gap_w", "tail_c"),
    gap_e=("dot_l", "dash_r", "tail_l", "tail_r"),
    gap_l=("dot_l", "dash_r", "tail_l", "tail_r"),
    gap_w=("dot_l", "dash_r", "tail_l", "tail_r"),
)


#: Read eye-Morse bodies letter by letter: only element sequences that spell Morse letters
#: (:data:`dreamlink.link.morse.MORSE`) may end at a letter or word break (:func:`_spelled`).
LETTER_GRAMMAR = True
#: :func:`best_path` keeps a body's letter-by-letter reading only while it costs at most this much
#: more (blocks of :data:`STEP_SEC`, squared half-swing units) than the reading that lets any
#: elements form a letter. Natural REMs that spoil an element cost the letters 1–4 blocks on two
#: draws of ``benchmarks/signals.py`` (seeds 13 and 47); a cleanly keyed code that is no letter
#: ("..--", seven dots) costs 15–24, and is read as keyed, so that it stays unreadable, not guessed.
LETTER_MAX_EXTRA = 8.0
#: The element states of the eye-Morse grammars: a dot's or a dash's two looks, the rest between them.
_ELEMENT_KINDS = ("dot_l", "dot_r", "dash_r", "dash_l", "gap_e")
_LETTER_CODES = frozenset(morse.MORSE.values())
_CODE_PREFIXES = tuple(sorted({code[:k] for code in _LETTER_CODES for k in range(1, len(code) + 1)}))


def _spelled(
    states: tuple[_State, ...], nxt_items: tuple[tuple[str, tuple[str, ...]], ...]
) -> tuple[tuple[_State, ...], dict[str, tuple[str, ...]]]:
    """An eye-Morse grammar whose elements spell Morse letters only.

    The grammars above let any sequence of dots and dashes form a letter, so a reading can end in
    a code that is no letter ("..--"), and the whole message is unreadable. Here the element states
    are copied once per *prefix* of a Morse code (a letter tree: "", ".", "..", ".-", …): an
    element's looks and the rest after it know which letter so far they belong to, and a letter or
    word break (or the body's end) may follow only a complete letter. The copies keep their
    grammar state as ``kind``, so a path reads as in the plain grammar. Grammars without element
    states (counts) are returned as they are.
    """
    if not any(s.name == "dot_l" for s in states):
        return states, dict(nxt_items)
    copies, spelled = _letter_tree(tuple(s for s in states if s.name in _ELEMENT_KINDS), nxt_items)
    return tuple(s for s in states if s.name not in _ELEMENT_KINDS) + copies, spelled


@functools.lru_cache(maxsize=32)
def _letter_tree(
    elements: tuple[_State, ...], nxt_items: tuple[tuple[str, tuple[str, ...]], ...]
) -> tuple[tuple[_State, ...], dict[str, tuple[str, ...]]]:
    """The element states' copies of :func:`_spelled`, one per Morse code prefix, and the spelt
    transitions of the whole grammar. Cached: a grammar's other states (rests, frame looks, timed
    to the sender's unit) change with every reading, its elements and transitions do not."""
    nxt = dict(nxt_items)
    by_name = {s.name: s for s in elements}
    prefixes = set(_CODE_PREFIXES)

    def spell(dst: str, prefix: str) -> list[str]:
        """A successor state as spelt after ``prefix``: an element's first look extends it."""
        sym = {"dot_l": ".", "dash_r": "-"}.get(dst)
        if sym is None:
            return [dst]
        return [f"{dst}{prefix}{sym}"] if prefix + sym in prefixes else []

    out: list[_State] = []
    spelled = {
        src: tuple(d for dst in dsts for d in spell(dst, ""))
        for src, dsts in nxt.items()
        if src not in _ELEMENT_KINDS
    }
    for prefix in _CODE_PREFIXES:
        first, second = ("dot_l", "dot_r") if prefix[-1] == "." else ("dash_r", "dash_l")
        goes_on = any(p != prefix and p.startswith(prefix) for p in prefixes)
        out += [replace(by_name[k], name=f"{k}{prefix}", kind=k) for k in (first, second)]
        spelled[f"{first}{prefix}"] = tuple(f"{second}{prefix}" if d == second else d for d in nxt[first])
        after: list[str] = []
        for d in nxt[second]:
            if d == "gap_e":
                if goes_on:
                    after.append(f"gap_e{prefix}")
            elif d.startswith("tail_") or prefix in _LETTER_CODES:
                after.append(d)
        spelled[f"{second}{prefix}"] = tuple(after)
        if goes_on:
            out.append(replace(by_name["gap_e"], name=f"gap_e{prefix}", kind="gap_e"))
            spelled[f"gap_e{prefix}"] = tuple(d for dst in nxt["gap_e"] for d in spell(dst, prefix))
    return tuple(out), spelled


def _spells_letters(path: list[tuple[str, int, int]]) -> bool:
    """Whether the elements of an eye-Morse path (``(state, first, end)`` segments) spell Morse
    letters only."""
    code = ""
    for state, _, _ in path:
        if state in ("dot_r", "dash_l"):
            code += "." if state == "dot_r" else "-"
        elif state != "gap_e" and code and state not in ("dot_l", "dash_r"):
            if code not in _LETTER_CODES:
                return False
            code = ""
    return not code or code in _LETTER_CODES


def level_costs(x: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The emission cost of each block of a gaze trace at each level of the grammar.

    Parameters
    ----------
    x : numpy.ndarray
        The trace's blocks, in half-swing units from centre (positive = left), shape ``(n,)``.
    levels : numpy.ndarray
        The grammar's distinct levels (half-swing units), shape ``(k,)``.

    Returns
    -------
    numpy.ndarray
        ``(k, n)``: the squared distance of each block from each level, capped at
        :data:`EMISSION_CAP` (a natural REM spike costs little more than a mismatch).
    """
    return np.minimum((x[None, :] - levels[:, None]) ** 2, EMISSION_CAP)


#: An emission: ``costs(x, levels)`` → ``(k, n)`` cost of each block at each level (as :func:`level_costs`).
Emission = Callable[[np.ndarray, np.ndarray], np.ndarray]
#: The emission of the readings made in this context (``None``: :func:`level_costs`); set by
#: :func:`reading_with`, so that each decoder reads with its own (a dreamer's learned one,
#: :mod:`dreamlink.detect.eye_emission`) without passing it through every reading.
_EMISSION: contextvars.ContextVar[Emission | None] = contextvars.ContextVar("eye_hsmm_emission", default=None)


@contextlib.contextmanager
def reading_with(emission: Emission | None) -> Iterator[None]:
    """Make every HSMM reading inside the ``with`` block score blocks with ``emission``
    (``None``: the hand-built :func:`level_costs`)."""
    token = _EMISSION.set(emission)
    try:
        yield
    finally:
        _EMISSION.reset(token)


def emission_costs(x: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """The costs of the emission in use (:func:`reading_with`; by default :func:`level_costs`)."""
    emission = _EMISSION.get()
    return level_costs(x, levels) if emission is None else emission(x, levels)


@numba.njit(cache=True, nogil=True)
def _viterbi_kernel(
    csum: np.ndarray,
    free: np.ndarray,
    d_lo: np.ndarray,
    d_hi: np.ndarray,
    pen: np.ndarray,
    pred_ptr: np.ndarray,
    pred_idx: np.ndarray,
    is_start: np.ndarray,
    tail_from: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Explicit-duration Viterbi recursion (see :func:`_viterbi`).

    ``csum[i, t]``: cumulative emission cost of state ``i`` over blocks ``< t``; ``free[i]``: no
    duration model; ``d_lo``/``d_hi``/``pen[i, d − d_lo]``: allowed durations (blocks) and their
    penalties; ``pred_idx[pred_ptr[j]:pred_ptr[j + 1]]``: the states ``j`` may follow, ascending;
    ``is_start``: first states. Returns ``delta[t, i]`` (best cost of a path whose last segment, of
    state ``i``, ends at ``t``) and ``back[t, i] = (start block, previous state)``.

    ``tail_from[i] >= 0`` marks a state without penalty or bound from that duration (blocks) on (a
    rest that may last longer): those durations share a running minimum, as free states do, so a
    long trace costs no search over every duration.
    """
    n_states, n1 = csum.shape
    delta = np.full((n1, n_states), np.inf)
    back = np.zeros((n1, n_states, 2), dtype=np.int64)
    entry = np.full((n1, n_states), np.inf)  # best cost of a path that can start state i at block t
    entry_from = np.full((n1, n_states), -1, dtype=np.int64)
    for i in range(n_states):
        if is_start[i]:
            entry[0, i] = 0.0
    run_min = np.full(n_states, np.inf)  # free states: min over a ≤ t of entry[a] − csum[a]
    run_arg = np.zeros(n_states, dtype=np.int64)
    tail_min = np.full(n_states, np.inf)  # states with a tail: min over a ≤ t − tail_from of the same
    tail_arg = np.zeros(n_states, dtype=np.int64)
    for t in range(n1):
        if t > 0:
            for i in range(n_states):
                if free[i]:
                    if run_min[i] < np.inf:
                        delta[t, i] = run_min[i] + csum[i, t]
                        a = run_arg[i]
                        back[t, i, 0] = a
                        back[t, i, 1] = entry_from[a, i]
                    continue
                if t < d_lo[i]:
                    continue
                best, best_a = np.inf, -1
                d_top = min(d_hi[i], t) if tail_from[i] < 0 else min(tail_from[i] - 1, t)
                for d in range(d_lo[i], d_top + 1):
                    a = t - d
                    cost = entry[a, i] + (csum[i, t] - csum[i, a]) + pen[i, d - d_lo[i]]
                    if cost < best:
                        best, best_a = cost, a
                if 0 <= tail_from[i] <= t:
                    a = t - tail_from[i]
                    if entry[a, i] - csum[i, a] <= tail_min[i]:  # ties: the shorter duration
                        tail_min[i] = entry[a, i] - csum[i, a]
                        tail_arg[i] = a
                    if tail_min[i] + csum[i, t] < best:
                        best, best_a = tail_min[i] + csum[i, t], tail_arg[i]
                if best_a >= 0:
                    delta[t, i] = best
                    back[t, i, 0] = best_a
                    back[t, i, 1] = entry_from[best_a, i]
            for j in range(n_states):
                for k in range(pred_ptr[j], pred_ptr[j + 1]):
                    i = pred_idx[k]
                    if delta[t, i] < entry[t, j]:
                        entry[t, j] = delta[t, i]
                        entry_from[t, j] = i
        for i in range(n_states):
            if free[i] and entry[t, i] < np.inf and entry[t, i] - csum[i, t] < run_min[i]:
                run_min[i] = entry[t, i] - csum[i, t]
                run_arg[i] = t
    return delta, back


def _viterbi(
    x: np.ndarray, step: float, unit: float, states: tuple[_State, ...], nxt: dict[str, tuple[str, ...]],
    final: str | tuple[str, ...] = "c_last", level_scale: float = 1.0, spell: bool = True,
    share: float = 0.0,
) -> tuple[float, list[tuple[str, int, int]]] | None:
    """Cheapest segmentation of ``x`` (half-swing units, one value per ``step`` s) by the grammar.

    The states' levels are multiplied by ``level_scale``. The path ends in ``final`` (or the cheapest
    of several final states). With ``spell`` (and :data:`LETTER_GRAMMAR`) eye-Morse elements must
    spell Morse letters (:func:`_spelled`). Returns ``(cost, [(state, first_block, end_block), ...])``
    or ``None`` when no path fits. Each timed segment lasts its nominal units plus ``share`` s
    (:data:`SWEEP_SHARE_SEC`).
    """
    n = x.size
    if spell and LETTER_GRAMMAR:
        states, nxt = _spelled(states, tuple(sorted(nxt.items())))
    names = [s.name for s in states]
    kinds = [s.kind or s.name for s in states]
    idx = {name: i for i, name in enumerate(names)}
    prev: dict[int, list[int]] = {i: [] for i in range(len(states))}
    starts = set()
    for src, dsts in nxt.items():
        for d in dsts:
            if src == "start":
                starts.add(idx[d])
            else:
                prev[idx[d]].append(idx[src])
    n_states = len(states)
    # Grammars have many states (a letter tree) but few levels: one cumulative cost per level.
    distinct, level_of = np.unique([s.level * level_scale for s in states], return_inverse=True)
    by_level = np.zeros((distinct.size, n + 1))
    by_level[:, 1:] = np.cumsum(emission_costs(x, distinct), axis=1)
    csum = by_level[level_of]
    free = np.array([s.nominal is None for s in states])
    tail_from = np.full(n_states, -1, dtype=np.int64)
    d_lo = np.ones(n_states, dtype=np.int64)
    d_hi = np.ones(n_states, dtype=np.int64)
    pens = []
    for i, s in enumerate(states):
        if s.nominal is None:
            pens.append(np.zeros(1))
            continue
        nom = (s.nominal * unit + share) / step
        # A segment lasts at most the whole trace (states may have no upper bound).
        d_lo[i], d_hi[i] = max(1, int(np.floor(s.lo * nom))), max(2, int(np.ceil(min(s.hi * nom, n + 1))))
        log_ratio = np.log(np.arange(d_lo[i], d_hi[i] + 1) / nom)
        if s.long_ok:
            log_ratio = np.minimum(log_ratio, 0.0)
            if d_hi[i] >= n:  # no bound within the trace: no penalty from the nominal duration on
                tail_from[i] = max(d_lo[i], int(np.ceil(nom)))
        pens.append(DURATION_WEIGHT * (log_ratio / DURATION_SIGMA) ** 2)
    pen = np.full((n_states, max(p.size for p in pens)), np.inf)
    for i, p in enumerate(pens):
        pen[i, : p.size] = p
    # The states each state may follow, ascending, as compressed rows (grammars are sparse).
    pred_ptr = np.zeros(n_states + 1, dtype=np.int64)
    pred_ptr[1:] = np.cumsum([len(set(prev[j])) for j in range(n_states)])
    pred_idx = np.array([i for j in range(n_states) for i in sorted(set(prev[j]))], dtype=np.int64)
    is_start = np.zeros(n_states, dtype=np.bool_)
    is_start[list(starts)] = True
    delta, back = _viterbi_kernel(csum, free, d_lo, d_hi, pen, pred_ptr, pred_idx, is_start, tail_from)
    finals = (final,) if isinstance(final, str) else final
    fi = min((idx[f] for f in finals), key=lambda i: delta[n, i])
    if not np.isfinite(delta[n, fi]):
        return None
    path: list[tuple[str, int, int]] = []
    t, i = n, fi
    while i >= 0 and t > 0:
        a, p = back[t, i]
        path.append((kinds[i], int(a), t))
        t, i = int(a), int(p)
    return float(delta[n, fi]), path[::-1]


def _segments(
    x: np.ndarray,
    times: np.ndarray,
    step: float,
    path: list[tuple[str, int, int]],
    states: tuple[_State, ...],
) -> list[Segment]:
    level = {s.name: s.level for s in states}
    out = []
    for name, a, b in path:
        seg = x[a:b]
        err = np.minimum((seg - level[name]) ** 2, EMISSION_CAP)
        out.append(
            Segment(
                name,
                float(times[a] - step / 2),
                float(times[b - 1] + step / 2),
                float(np.median(seg)),
                float(1.0 - np.mean(err) / EMISSION_CAP),
            )
        )
    return out


def _blocks(x: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """The trace averaged down to blocks of about :data:`STEP_SEC` (s): the segments last ≥ 0.25 s,
    and the search is k² times cheaper. Returns the blocks, their centres (s) and their length (s)."""
    step = float(np.median(np.diff(times))) if times.size > 1 else STEP_SEC
    k = int(max(1, np.floor(STEP_SEC / step + 1e-9)))
    if k > 1:
        n = x.size // k * k
        x, times, step = x[:n].reshape(-1, k).mean(axis=1), times[:n].reshape(-1, k).mean(axis=1), step * k
    return x, times, step


def best_path(
    x: np.ndarray,
    times: np.ndarray,
    unit: float,
    kind: str = "morse",
    hold: float | None = None,
    timed_edges: bool = False,
    movement_share: bool = False,
) -> tuple[list[Segment], float, float] | None:
    """The best segmentation of a body's level trace, over a few candidate units.

    Parameters
    ----------
    x : numpy.ndarray
        Gaze level relative to centre, in half-swing units (positive = left).
    times : numpy.ndarray
        Block centres (s), evenly spaced.
    unit : float
        The sender's unit (s): the eye-Morse unit, or the hold of a count.
    kind : str
        ``"morse"``, ``"count"``, or ``"framed"`` (eye-Morse followed by a closing LRLR frame whose
        fixations last ``hold`` seconds, then a free rest).
    hold : float, optional
        The sender's fixation time (s) for the frame of ``"framed"`` (default: ``unit``).
    timed_edges : bool
        For ``"morse"``: the trace is a whole body between its frames, so its first centre rest lasts
        about the code's rest after the opening frame (:func:`_timed_first_rest`) and its last one
        about the code's rest before the closing frame (:func:`_timed_last_rest`), instead of any
        time (a window of a trace, where they may be cut anywhere).
    movement_share : bool
        Each segment lasts its keyed time plus the eye movement that bounds it
        (:data:`SWEEP_SHARE_SEC`): for reading the text of a body already framed.

    Returns
    -------
    (segments, unit, cost) | None
        The segments of the cheapest path, the unit (s) it was read with and its cost (blocks of
        :data:`STEP_SEC`, in squared half-swing units plus duration penalties).
    """
    x = np.asarray(x, dtype=float)
    times = np.asarray(times, dtype=float)
    if x.size < 8:
        return None
    x, times, step = _blocks(x, times)
    share = SWEEP_SHARE_SEC if movement_share else 0.0

    def grammar(u: float) -> tuple[tuple[_State, ...], dict[str, tuple[str, ...]]]:
        if kind == "framed":
            return _framed_states((hold or unit) / u), _FRAME_NEXT
        if kind == "count":
            return _COUNT_STATES, _COUNT_NEXT
        if timed_edges:
            return _timed_last_rest(_timed_first_rest(_MORSE_STATES, u), u), _MORSE_NEXT
        return _MORSE_STATES, _MORSE_NEXT

    def cheapest(spell: bool) -> tuple[float, list[tuple[str, int, int]], float] | None:
        best: tuple[float, list[tuple[str, int, int]], float] | None = None
        for scale in UNIT_SCALES:
            states, nxt = grammar(unit * scale)
            found = _viterbi(x, step, unit * scale, states, nxt, spell=spell, share=share)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], found[1], unit * scale)
        return best

    if kind == "count" or not LETTER_GRAMMAR:
        best = cheapest(spell=False)
    else:
        # The letters' grammar allows fewer paths than the free one: when the free reading spells
        # letters, it is the letters' reading too. Otherwise a code keyed cleanly that is no letter
        # is read as keyed (and is unreadable), not guessed.
        free = best = cheapest(spell=False)
        if free is not None and not _spells_letters(free[1]):
            best = cheapest(spell=True)
            if best is None or best[0] - free[0] > LETTER_MAX_EXTRA:
                best = free
    if best is None:
        return None
    return _segments(x, times, step, best[1], grammar(best[2])[0]), best[2], best[0]


@dataclass(frozen=True)
class TraceReading:
    """A gaze trace read by one grammar, and how much better than by a rival grammar.

    Made by :func:`closing_test` (a body ending in a closing frame, against the body going on) and
    :func:`whole_message` (a whole message with its opening frame, against the same without it).

    Attributes
    ----------
    segments : list of Segment
        The cheapest reading's segments.
    unit : float
        The eye-Morse unit (s) of that reading.
    gain : float
        Cost of the rival's best reading minus this reading's (blocks of :data:`STEP_SEC`, squared
        half-swing units): large when the trace is what this grammar says, negative when it is
        what the rival says.
    """

    segments: list[Segment]
    unit: float
    gain: float

    def looks(self, prefix: str) -> list[Segment]:
        """The four looks of a frame: ``"f"`` for the closing frame, ``"o"`` for the opening frame."""
        return [s for s in self.segments if s.state in tuple(f"{prefix}{k}" for k in range(1, 5))]

    def frame(self) -> list[Segment]:
        """The closing frame's four looks (``f1`` … ``f4``)."""
        return self.looks("f")

    def opening(self) -> list[Segment]:
        """The opening frame's four looks (``o1`` … ``o4``)."""
        return self.looks("o")


def closing_test(x: np.ndarray, times: np.ndarray, unit: float, hold: float) -> TraceReading | None:
    """Read a body's gaze trace that ends inside a candidate closing frame.

    The reading is "eye-Morse body, centre rest, frame" (the frame's fourth look ``f4`` still in
    progress at the trace's end); its rival, the body still going on. The gain is large when the
    trace's last looks are a frame (four side looks in a row, no centre rest between them) and
    negative when they are elements. In both, the body's first centre rest lasts about the code's
    rest after an opening frame (:func:`_timed_first_rest`).

    Parameters
    ----------
    x, times : numpy.ndarray
        Gaze level in half-swing units (positive = left) and block centres (s), from the body's first
        centre rest to the candidate frame's fourth look.
    unit : float
        The sender's eye-Morse unit (s).
    hold : float
        The sender's fixation time (s): the frame's looks last this long.

    Returns
    -------
    TraceReading | None
        ``None`` when the trace cannot be read as a body followed by a frame.
    """
    x, times, step = _blocks(np.asarray(x, dtype=float), np.asarray(times, dtype=float))
    if x.size < 8:
        return None
    found = _reading_and_rival(
        x, times, step, unit,
        lambda u: (_timed_first_rest(_closing_states(hold / u), u), _FRAME_NEXT, ("f4", "c_last")),
        lambda u: (_timed_first_rest(_OPEN_STATES, u), _OPEN_NEXT, ("tail_l", "tail_r", "tail_c", "c_first")),
    )
    return None if found is None else TraceReading(*found)


#: A count answer's body ending in its closing frame (:func:`count_closing_test`): the opening frame's
#: last look (optional), the timed first rest, left and right looks in pairs, the rest before the
#: closing frame, its four looks (the fourth still going on) and a free rest.
_COUNT_CLOSED_NEXT = {
    "start": ("pre", "c_first"),
    "pre": ("c_first",),
    "c_first": ("left", "c_pre"),
    "left": ("right",),
    "right": ("left", "c_pre"),
    "c_pre": ("f1",),
    "f1": ("f2",),
    "f2": ("f3",),
    "f3": ("f4",),
    "f4": ("c_last",),
}
#: Its rival: the count's looks still going on (the trace ends inside a look or a rest).
_COUNT_OPEN_NEXT = {
    "start": ("pre", "c_first"),
    "pre": ("c_first",),
    "c_first": ("left", "tail_l", "tail_c"),
    "left": ("right", "tail_r"),
    "right": ("left", "tail_l", "tail_c"),
}


def _count_states(unit: float, hold: float) -> tuple[_State, ...]:
    """The states of both count grammars read with a unit of ``unit`` seconds (each look lasts one),
    for a sender whose hold is ``hold`` seconds: the rests timed by the code (the opening frame's
    hold and :data:`~dreamlink.link.eye_code.COUNT_FIRST_REST_SEC`, not much longer: a longer first
    rest is the "0" answer's two rests; :data:`~dreamlink.link.eye_code.COUNT_LAST_REST_SEC`, possibly
    longer, up to :data:`COUNT_LAST_REST_MAX` times: a sender who pauses before the closing frame)."""
    looks = tuple(_State(f"f{k}", 1.0 if k % 2 else -1.0, 1.0, 0.4, 2.2) for k in range(1, 4))
    return (
        _COUNT_STATES[0],
        _State("c_first", 0.0, (hold + eye_code.COUNT_FIRST_REST_SEC) / unit, 0.4, 2.0),
        *_COUNT_STATES[2:4],
        _State("c_pre", 0.0, eye_code.COUNT_LAST_REST_SEC / unit, 0.5, COUNT_LAST_REST_MAX, long_ok=True),
        *looks,
        # The fourth look is still going on: at least a quarter hold of it is in the trace (no
        # penalty from there on).
        _State("f4", -1.0, 0.25, 1.0, 48.0, long_ok=True),
        _COUNT_STATES[-1],
        *_TAIL_STATES,
    )


def count_closing_test(x: np.ndarray, times: np.ndarray, hold: float) -> TraceReading | None:
    """Read a count answer's gaze trace that ends inside a candidate closing frame.

    A count body (:func:`dreamlink.link.eye_code.count_answer`) is made of the same looks as its
    frames: a "2" is an LRLR itself. What tells the closing frame is the code's rests: a hold and 1 s
    at centre after the opening frame, then the looks in pairs, 1.5 s at centre, then the closing
    frame. The reading is "first rest, left-right pairs, rest, frame" (the frame's fourth look
    ``f4`` still in progress at the trace's end); its rival, the pairs still going on. The gain is
    large when the last four looks follow a rest that the body's looks do not leave, and negative
    when they are the body's own (a "2" or the pairs of a larger count, after the first rest only).

    Parameters
    ----------
    x, times : numpy.ndarray
        Gaze level in half-swing units (positive = left) and block centres (s), from the body's
        start (0.3 s after the opening frame's last sweep) to the candidate frame's fourth look.
    hold : float
        The sender's fixation time (s): each look of the body and of the frame lasts this long.

    Returns
    -------
    TraceReading | None
        ``None`` when the trace cannot be read as a count followed by a frame; the reading's unit is
        the hold it was read with.
    """
    x, times, step = _blocks(np.asarray(x, dtype=float), np.asarray(times, dtype=float))
    if x.size < 8:
        return None
    found = _reading_and_rival(
        x, times, step, max(float(hold), 0.25),
        lambda u: (_count_states(u, hold), _COUNT_CLOSED_NEXT, ("f4", "c_last")),
        lambda u: (_count_states(u, hold), _COUNT_OPEN_NEXT, ("tail_l", "tail_r", "tail_c", "c_first")),
    )
    return None if found is None else TraceReading(*found)


def _read_back(grammar: dict[str, tuple[str, ...]]) -> tuple[dict[str, tuple[str, ...]], ...]:
    """A body's grammar (from its first rest ``c_first``) read back from before its opening frame,
    for an opening frame the sweep detector missed or misplaced: natural movements (``junk``, a free
    rest), the opening frame's four looks ``o1`` … ``o4``, then the body; and its rival, the same
    without the opening frame (:func:`whole_message`, :func:`count_whole_test`)."""
    body = {k: v for k, v in grammar.items() if k not in ("start", "pre")}
    opening = dict(body, start=("junk",), junk=("o1",), o1=("o2",), o2=("o3",), o3=("o4",), o4=("c_first",))
    return opening, dict(body, start=("junk",), junk=("c_first",))


def _opening_looks(hold_units: float) -> tuple[_State, ...]:
    """The opening frame's four looks (left, right, left, right), each ``hold_units`` long."""
    return tuple(_State(f"o{k}", 1.0 if k % 2 else -1.0, hold_units, 0.4, 2.2) for k in range(1, 5))


#: A whole count answer read back from its closing frame (:func:`count_whole_test`), and its rival.
_COUNT_WHOLE_NEXT, _COUNT_NO_OPENING_NEXT = _read_back(_COUNT_CLOSED_NEXT)


def count_whole_test(x: np.ndarray, times: np.ndarray, hold: float) -> TraceReading | None:
    """Read a trace that ends inside a count's closing frame as a whole count answer.

    A count's body is made of the same looks as its frames, so when natural REMs spoil the opening
    frame's sweeps the detector may open the message on the body's own looks (a "4" then reads as a
    "1" or a "2"). The gaze level still holds the opening frame: four looks of the sender's hold,
    left, right, left, right, then the code's first rest. The reading is "natural movements, opening
    frame, first rest, left-right pairs, rest, closing frame" (:func:`count_closing_test`'s, with the
    opening before it); its rival, the same without the opening frame, so the gain is how much the
    four opening looks explain.

    Parameters
    ----------
    x, times : numpy.ndarray
        Gaze level in half-swing units (positive = left) and block centres (s), from before the
        message to the closing frame's fourth look.
    hold : float
        The sender's fixation time (s), from the closing frame.

    Returns
    -------
    TraceReading | None
        ``None`` when the trace cannot be read as a whole count.
    """
    x, times, step = _blocks(np.asarray(x, dtype=float), np.asarray(times, dtype=float))
    if x.size < 16:
        return None

    def states(u: float) -> tuple[_State, ...]:
        return (_State("junk", 0.0, None), *_opening_looks(1.0), *_count_states(u, hold))

    found = _reading_and_rival(
        x, times, step, max(float(hold), 0.25),
        lambda u: (states(u), _COUNT_WHOLE_NEXT, ("f4", "c_last")),
        lambda u: (states(u), _COUNT_NO_OPENING_NEXT, ("f4", "c_last")),
    )
    return None if found is None else TraceReading(*found)


def _timed_first_rest(states: tuple[_State, ...], unit: float) -> tuple[_State, ...]:
    """The grammar with the body's first centre rest timed: :data:`~dreamlink.link.eye_code.FRAME_REST_SEC`
    after the opening frame, possibly longer (a sender who pauses), not much shorter (down to
    :data:`FIRST_REST_LO` of it at most). Free, the rest let natural REMs in it read as an extra first
    element ("CED" for RED, "LREA" for DREA on draws of ``benchmarks/signals.py``)."""
    return _timed_rest(states, "c_first", eye_code.FRAME_REST_SEC / unit)


def _timed_last_rest(states: tuple[_State, ...], unit: float) -> tuple[_State, ...]:
    """The grammar with the body's last centre rest timed: the code's rest before the closing frame,
    ``max(5 units, FRAME_REST_SEC)``, possibly longer, not much shorter (down to
    :data:`FIRST_REST_LO` of it). Free, both edge rests let natural REMs in them read as an extra
    element, or a spoiled first or last element read as rest, at no cost in duration: first and last
    letters were most of the body reader's errors on real REM EOG ("HOS" for SOS, "DREAG" for DREAM),
    and timing the two rests cut its character errors by a quarter (169 to 126 of 5816 on seeds
    200–239 of ``benchmarks/signals.py``)."""
    return _timed_rest(states, "c_last", eye_code.closing_rest_sec(unit) / unit)


def _timed_rest(states: tuple[_State, ...], name: str, nominal: float) -> tuple[_State, ...]:
    """The grammar with its centre rest ``name`` lasting about ``nominal`` units: possibly longer,
    down to :data:`FIRST_REST_LO` of it."""
    rest = _State(name, 0.0, nominal, FIRST_REST_LO, np.inf, long_ok=True)
    return tuple(rest if st.name == name else st for st in states)


_Grammar = tuple[tuple[_State, ...], dict[str, tuple[str, ...]], tuple[str, ...]]


def _reading_and_rival(
    x: np.ndarray,
    times: np.ndarray,
    step: float,
    unit: float,
    reading: Callable[[float], _Grammar],
    rival: Callable[[float], _Grammar],
) -> tuple[list[Segment], float, float] | None:
    """The cheapest path of one grammar and how much cheaper it is than the cheapest of another.

    ``reading(u)`` and ``rival(u)`` give a grammar's states, transitions and final states for the unit
    ``u`` (s); both are searched over the :data:`UNIT_SCALES`. Returns the reading's segments, its unit
    and the gain (rival's cost minus the reading's, blocks), or ``None`` when the reading fits nowhere.
    """
    best: tuple[float, list[tuple[str, int, int]], float, tuple[_State, ...]] | None = None
    rival_cost = np.inf
    for scale in UNIT_SCALES:
        u = unit * scale
        states, nxt, finals = reading(u)
        found = _viterbi(x, step, u, states, nxt, final=finals)
        if found is not None and (best is None or found[0] < best[0]):
            best = (found[0], found[1], u, states)
        states, nxt, finals = rival(u)
        other = _viterbi(x, step, u, states, nxt, final=finals)
        if other is not None:
            rival_cost = min(rival_cost, other[0])
    if best is None:
        return None
    return _segments(x, times, step, best[1], best[3]), best[2], float(rival_cost - best[0])


#: A whole message read backwards from its closing frame (:func:`whole_message`), and its rival.
_WHOLE_NEXT, _NO_OPENING_NEXT = _read_back(_FRAME_NEXT)


def _whole_states(hold_units: float, rest_units: float) -> tuple[_State, ...]:
    looks = _opening_looks(hold_units)
    # After the opening frame the eyes rest at centre for the frame's hold and FRAME_REST_SEC.
    first_rest = _State("c_first", 0.0, rest_units, 0.6, 3.0, long_ok=True)
    return (_State("junk", 0.0, None),) + looks + (first_rest,) + _closing_states(hold_units)[2:]


def whole_message(x: np.ndarray, times: np.ndarray, unit: float, hold: float) -> TraceReading | None:
    """Read a trace that ends in a closing frame's last look as a whole eye-Morse message.

    Used when a closing frame comes while no message is open: the detector may have missed the
    message's opening frame (natural REMs split or spoil its sweeps), and the gaze level still holds
    it: four side looks of the sender's hold, left, right, left, right, before the body's first rest.
    The reading is "rest, opening frame, rest, body, rest, closing frame"; its rival, the same without
    the opening frame, so the gain is how much the four opening looks explain.

    Parameters
    ----------
    x, times : numpy.ndarray
        Gaze level in half-swing units (positive = left) and block centres (s), from well before the
        message to the closing frame's fourth look.
    unit, hold : float
        The sender's eye-Morse unit and fixation time (s), from the closing frame.

    Returns
    -------
    TraceReading | None
        ``None`` when the trace cannot be read as a whole message.
    """
    x, times, step = _blocks(np.asarray(x, dtype=float), np.asarray(times, dtype=float))
    if x.size < 16:
        return None
    rest = hold + eye_code.FRAME_REST_SEC
    found = _reading_and_rival(
        x, times, step, unit,
        lambda u: (_whole_states(hold / u, rest / u), _WHOLE_NEXT, ("f4", "c_last")),
        lambda u: (_whole_states(hold / u, rest / u), _NO_OPENING_NEXT, ("f4", "c_last")),
    )
    return None if found is None else TraceReading(*found)


def _word_grammar(
    word: str, hold_units: float, rest_units: float
) -> tuple[tuple[_State, ...], dict[str, tuple[str, ...]]]:
    """The whole-message grammar of one known word (:func:`words_reading`).

    "Natural movements (``junk``), the opening frame's four looks, the first rest, the word's
    elements in order with the code's rests between them, then the closing frame (a rest, four
    looks) or the end of the trace (a message given up without one)". Each element's looks and
    the rest before it are copies of the plain grammar's states, numbered along the word, whose
    ``kind`` is the plain state's name, so a path reads as in the plain grammar.
    """
    whole = {s.name: s for s in _whole_states(hold_units, rest_units)}
    plain = {s.name: s for s in _MORSE_STATES}
    states = [whole[k] for k in ("junk", "o1", "o2", "o3", "o4", "c_first")]
    nxt: dict[str, tuple[str, ...]] = {"start": ("junk",), "junk": ("o1",), "o1": ("o2",), "o2": ("o3",)}
    nxt.update(o3=("o4",), o4=("c_first",))
    last, k = "c_first", 0
    for code_word in morse.encode(word):
        for li, letter in enumerate(code_word.split(" ")):
            for ei, sym in enumerate(letter):
                looks = ("dot_l", "dot_r") if sym == "." else ("dash_r", "dash_l")
                rest = ("gap_e" if ei else "gap_l" if li else "gap_w") if k else None
                for kind in ((rest,) if rest else ()) + looks:
                    name = f"{kind}{k}"
                    states.append(replace(plain[kind], name=name, kind=kind))
                    nxt[last], last = (name,), name
                k += 1
    states += [whole[k] for k in ("c_pre", "f1", "f2", "f3", "f4", "c_last")]
    nxt.update({last: ("c_pre", "c_last"), "c_pre": ("f1",), "f1": ("f2",), "f2": ("f3",), "f3": ("f4",)})
    nxt["f4"] = ("c_last",)
    return tuple(states), nxt


@dataclass(frozen=True)
class WordReading:
    """A whole message's gaze trace read as one known word (:func:`words_reading`).

    Attributes
    ----------
    word : str
        The word.
    cost : float
        Cost of the word's cheapest reading (blocks of :data:`STEP_SEC`, squared half-swing units
        plus duration penalties), plus the word's prior cost (:func:`words_reading`).
    segments : list of Segment
        That reading's segments, named as in the plain grammar (``junk``, ``o1`` … ``o4``,
        ``c_first``, ``dot_l`` …, ``c_pre``, ``f1`` … ``f4``, ``c_last``).
    unit : float
        The eye-Morse unit (s) of that reading.
    """

    word: str
    cost: float
    segments: list[Segment]
    unit: float


def words_reading(
    x: np.ndarray,
    times: np.ndarray,
    unit: float,
    hold: float,
    vocabulary: tuple[str, ...],
    prior: Mapping[str, float] | None = None,
) -> list[WordReading]:
    """Read a whole eye-Morse message's gaze trace as each word of a known vocabulary.

    When a design's question says which answers it expects (its ``choices``), the message is one of
    a few known words, and a natural REM that spoils an element ("OK" read "TTK": a dash split in
    two) cannot make another word unless that word explains the whole trace better. Each word's
    grammar (:func:`_word_grammar`) is "opening frame, the word's elements with the code's rests,
    closing frame (or the end of the trace)", searched over the :data:`UNIT_SCALES` as
    :func:`whole_message` is; how much cheaper the best word is than the next says how sure the
    choice is (the forced alignment of isolated-word recognition: Rabiner 1989, section VI).

    Parameters
    ----------
    x, times : numpy.ndarray
        Gaze level in half-swing units (positive = left) and block centres (s), from before the
        message's opening frame to its closing frame's last look (or to where it was given up).
    unit, hold : float
        The sender's eye-Morse unit and fixation time (s), from the opening frame.
    vocabulary : tuple of str
        The words (Morse-encodable text, :func:`dreamlink.link.morse.encode`).
    prior : mapping of str to float, optional
        Extra cost (blocks) of reading the trace as a word, added to its reading's cost: how much
        less likely the word is to have been sent (e.g. a non-word among lexicon words).

    Returns
    -------
    list of WordReading
        One per word that fits the trace, cheapest first (empty when none does).
    """
    x, times, step = _blocks(np.asarray(x, dtype=float), np.asarray(times, dtype=float))
    if x.size < 16:
        return []
    rest = hold + eye_code.FRAME_REST_SEC
    plain = _whole_states(1.0, 1.0)
    out = []
    for word in dict.fromkeys(vocabulary):
        best: tuple[float, list[tuple[str, int, int]], float] | None = None
        for scale in UNIT_SCALES:
            u = unit * scale
            states, nxt = _word_grammar(word, hold / u, rest / u)
            found = _viterbi(x, step, u, states, nxt, final=("f4", "c_last"), spell=False)
            if found is not None and (best is None or found[0] < best[0]):
                best = (found[0], found[1], u)
        if best is not None:
            segments = _segments(x, times, step, best[1], plain + _MORSE_STATES)
            extra = 0.0 if prior is None else float(prior.get(word, 0.0))
            out.append(WordReading(word, best[0] + extra, segments, best[2]))
    return sorted(out, key=lambda r: r.cost)
