"""Eye messages live: framing count answers and eye-Morse between LRLR markers as the sweeps come.

The codes are defined in :mod:`dreamlink.link.eye_code`; each body framed here is read by
:mod:`dreamlink.detect.eye_reading`, and every message is a :class:`~dreamlink.detect.decoded.Decoded`.

In :class:`EyeMessageDecoder` an LRLR marker opens a message (the detector's marker, judged on the
fixation plateaus, when the pipeline passes its frames). The fixation time between the marker's
sweeps is the sender's *hold*; it sets the eye-Morse time unit and the pause thresholds for the rest
of the message (:func:`~.morse_thresholds`: a letter ends after a centre rest longer than 3.2 units,
a word after 7 units: between what :func:`dreamlink.link.eye_code.eye_morse` produces at ±20 %
jitter).

* Count answer: LRLR, *n* excursions (left then right: a half sweep to the left, *n* full swings
  to the right with full swings back between them, a half sweep back to centre), LRLR. The
  answer is the number of rightward swings. A count's body is made of the frame's own looks (a
  "2" is an LRLR), so with the gaze level and ``mode="count"`` the detector's markers do not
  close it: four looks left, right, left, right found in the level as they end
  (:func:`~.level_frame_looks`) close it when the trace through them reads as "the code's first
  rest, left-right pairs, the code's rest, the frame" better than as the pairs going on
  (:meth:`EyeMessageDecoder._count_closing`,
  :func:`~dreamlink.detect.eye_hsmm.count_closing_test`); that reading gives the answer (its
  full left-right pairs, and at most one that a natural REM spoiled or made up:
  :func:`~.count_of`),
  unless the trace from before the detector's opening reads as a whole count whose opening
  frame is earlier (natural REMs spoiled the opening frame's sweeps and the body's own looks
  opened the message: :meth:`EyeMessageDecoder._count_whole`,
  :func:`~dreamlink.detect.eye_hsmm.count_whole_test`); while no frame closes it, that whole reading
  is also tried as the count goes on, and closes it on a frame that has just ended
  (:meth:`EyeMessageDecoder._count_whole_through`). A count given up (no such frame, and no look
  for :func:`~.count_over_sec` or open for :func:`~.count_time_limit`) is read from its whole trace
  the same way, from before its opening
  when it does not read from there (:meth:`EyeMessageDecoder._count_given_up`), and so is a
  lone marker, as the closing frame of a count whose opening marker the detector missed (a "1"
  is one pair between its frames: :meth:`EyeMessageDecoder._lone_closing`). Otherwise
  (``mode="auto"``, or no level) a closing frame that follows the body's half sweep back to
  centre is read at once, or the count is decoded once the eyes have rested
  ``2 + 1.5 × hold`` seconds after a closing marker, from the level as a whole first
  (:func:`~.decode_count_path`), then fixation by fixation (:func:`~.decode_count_levels`: the
  number of fixations at the right).
* Eye-Morse: LRLR, then each symbol is one full swing between the extremes framed by centre
  rests (centre → left → right → centre = dot, centre → right → left → centre = dash), LRLR. A
  Morse message is decoded as soon as its closing marker is seen (the marker has three full
  swings in a row, an element only one). With the gaze level trace (the pipeline passes
  :meth:`~dreamlink.detect.eye_sweeps.EyeSignalDetector.level_trace`) the body is read from the
  level itself: first as a whole (:func:`~.decode_eye_morse_path`: the sequence of centre rests
  and dot/dash elements allowed by the code that best explains the trace, by explicit-duration
  Viterbi, :mod:`dreamlink.detect.eye_hsmm`), then fixation by fixation
  (:func:`~.decode_eye_morse_levels`): a symbol is the level moving from one extreme straight
  across to the other, which natural rapid eye movements (half as large, from wherever the
  eyes are) do not do; the sweep grouping (:func:`~.decode_eye_morse`) is the last fallback.
* Framing on real REM EOG (measured by ``benchmarks/signals.py``): Morse elements and natural
  REMs together often make sweeps that a marker detector takes for an LRLR inside a body, and
  natural REMs spoil real closing frames. With the gaze level (``mode="morse"``) a candidate
  closing frame is judged on the trace, once it shows the frame's last look
  (:data:`CLOSING_LOOK_SEC`): the body read as "elements, rest, four looks in a row" against
  the body going on (:meth:`EyeMessageDecoder._reads_closed`,
  :func:`~dreamlink.detect.eye_hsmm.closing_test`); the framed reading also gives the message.
  Every closing frame is kept as a tentative opening, so a missed closing frame costs only its
  own message (:meth:`EyeMessageDecoder._finish`); a detector frame after a trace that is no
  eye-Morse opens the next message (:meth:`EyeMessageDecoder._give_way`), one after a trace that
  is may close a message whose opening frame a tentative re-opening swallowed
  (:meth:`EyeMessageDecoder._missed_opening`), and one that comes before the shortest message
  could have ended gives nothing up (:func:`~.shortest_message_sec`); frames whose
  fixations are outside the code's pace never open one (:func:`_code_pace`); and a closing frame
  the detector missed altogether is looked for in the gaze level
  (:func:`~.decode_eye_morse_framed`) before a message is given up, and when a frame closes a body
  that does not read or after a rest far longer than the code's (then that frame opens the next
  message). A doubtful closing frame (a weak reading, :data:`CLOSING_WEAK_GAIN`, of a frame the
  detector is unsure of) waits: the message closes there once the next frame shows that only
  rest, or a whole message whose opening the detector missed, followed it
  (:meth:`EyeMessageDecoder._weak_closed`). A tentative message that does not read when its
  closing frame comes is read from an opening frame it declined
  (:meth:`EyeMessageDecoder._from_declined`). Between two frames the detector found, one
  element spoiled by a natural REM (:data:`~.HSMM_WEAK_SWING`) among full ones is read, as
  sure as its swing, and the body is then looked through for its own missed closing frame
  too (the spoiled "element" may be a natural movement after it). Without the gaze level the
  frame's fixation levels (:meth:`EyeMessageDecoder._full_swings`,
  :meth:`EyeMessageDecoder._body_reads`) decide.
* Frames the detector missed, found in the gaze level as they end: four looks left, right, left,
  right in a row (:func:`~.level_frame_looks`) are judged by the closing test like a detector
  frame and close the open message within about half a second
  (:meth:`EyeMessageDecoder._level_closing`), instead of after the long pause that gives a
  message up; with no message open they open one tentatively
  (:meth:`EyeMessageDecoder._level_opening`), reported only if a closing frame follows and its
  body reads with the code's rests.
* A closing frame spoiled beyond both is found by reading the whole body once the trace has held no
  element for longer than any rest inside a message (1.6 word gaps + 1 s): the message closes
  there, instead of when no sweep at all came for :data:`EYE_MAX_PAUSE_SEC`, which natural REMs put
  off by tens of seconds (:meth:`EyeMessageDecoder._silent_since_frame`).
  ``mode="auto"`` reads a body of full swings without centre rests as a count, so the
  one-element message "E" is only read when ``mode="morse"``.
* A frame that natural REMs and elements made inside a body (".." with its centre rest filled)
  closes a message early, and the rest of it then comes as a message opened on that frame. When
  that one closes, the two are read again as one body; if that explains the trace better with no
  more letters, the whole message is reported again with the first one's onset, saying what that
  one read (:meth:`EyeMessageDecoder._revised`, :attr:`~dreamlink.detect.decoded.Decoded.revises`):
  "I" then "SIT". The first reading cannot wait for what follows without making every message late.
* With the words known (a design's question with ``choices``: :attr:`EyeMessageDecoder.vocabulary`),
  an eye-Morse message that reads as no word of them, or does not read, is read again as the word
  that explains its whole gaze trace best, from an opening frame found in the trace
  (:meth:`EyeMessageDecoder._in_vocabulary`, :func:`~dreamlink.detect.eye_hsmm.words_reading`); a
  frame that would close a body reading as the beginning of a word ("LU" of "LUCID") waits for what
  follows (:meth:`EyeMessageDecoder._word_begun`); and a tentative message that does not read may be
  a word whose opening frame the detector missed (:meth:`EyeMessageDecoder._word_since_opening`).
* With a lexicon for free text (``--lexicon english``, a question's ``lexicon``:
  :attr:`EyeMessageDecoder.lexicon`), a message that spells a non-word ("MK": a natural REM spoiled
  the O's first dash) is read again as the lexicon's words a few Morse edits from it, and the word
  that explains its gaze trace nearly as well as the non-word is taken; the event keeps what was
  spelled (:meth:`EyeMessageDecoder._in_lexicon`, :mod:`dreamlink.link.lexicon`).
* Inside a message, sweeps smaller than :data:`SMALL_SWEEP_FRAC` of the opening frame's first
  (half) sweep are natural REMs and are ignored.
* An LRLR marker followed by nothing for ``3.0 + 1.5 × hold`` s (``3.5 + ...`` when a count is
  expected) was a lone marker, not the start of a message; two markers in a row with nothing
  between are two markers (a count of 0 is only read when ``mode="count"``).
* ``mode="auto"`` tells the two apart by the first excursion after the opening marker (a count
  starts with a half sweep left followed by a *full* swing right).

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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from dreamlink.detect.decoded import Decoded, unreadable
from dreamlink.detect.eye_hsmm import (
    Emission,
    TraceReading,
    closing_test,
    count_closing_test,
    count_whole_test,
    reading_with,
    whole_message,
)
from dreamlink.detect.eye_reading import (
    CODE_GAP_RANGE_SEC,
    HSMM_MIN_SWING,
    LEVEL_FRAME_LOOK_HOLDS,
    LEVEL_FRAME_MAX_CENTRE_SEC,
    count_body_blocks,
    count_of,
    count_over_sec,
    count_time_limit,
    decode_count,
    decode_count_levels,
    decode_count_path,
    decode_eye_morse,
    decode_eye_morse_across,
    decode_eye_morse_framed,
    decode_eye_morse_levels,
    decode_eye_morse_path,
    decode_eye_morse_words,
    has_spoiled_element,
    last_look_end,
    level_frame_looks,
    morse_body_blocks,
    path_text,
    rests_like_code,
    shortest_message_sec,
    whole_count,
)
from dreamlink.detect.eye_sweeps import (
    LEVEL_STEP_SEC,
    EyeSettings,
    Movement,
    Sweep,
    find_lrlr,
    lrlr_check,
)
from dreamlink.link import eye_code, morse
from dreamlink.link.lexicon import Lexicon

#: Inside a message, sweeps smaller than this fraction of the opening frame's first (half) sweep
#: are natural REMs and are ignored (the code's smallest sweeps are half sweeps, ±20 %).
SMALL_SWEEP_FRAC = 0.4
#: A sweep back to centre (half a swing) is at most this fraction of the frame's full swing.
RETURN_MAX_FRAC = 0.75
#: A closing frame's fixations are within this factor of the opening frame's mean fixation.
CLOSING_HOLD_RATIO = 1.8
#: A closing frame's full swings are at least this fraction of the opening frame's.
CLOSING_FULL_FRAC = 0.7
#: A closing frame's two swings between its fixations (L→R, R→L) differ by at most this ratio.
FRAME_SWING_RATIO = 0.65
#: A closing frame's sweeps are saccades: none lasts longer than this (s). Inside an eye-Morse body
#: the marker detector may join a dot's way back and the next dot's way out into one "swing".
FRAME_MAX_SWEEP_SEC = 0.4
#: Smallest detector confidence of a closing frame accepted on the body's reading alone
#: (:meth:`EyeMessageDecoder._body_reads`).
CLOSING_MIN_CONF = 0.55
#: An eye message with no sweep for this long (s) is abandoned as unreadable.
EYE_MAX_PAUSE_SEC = 9.0
#: Eye-Morse with the gaze level: a candidate closing frame is taken when reading the body's trace
#: as "body, rest, frame" costs at most this much more than reading it as a body still going on
#: (:func:`~dreamlink.detect.eye_hsmm.closing_test`; blocks of squared half-swing error).
#: Measured on real REM EOG with injected messages (tuning seeds, ``benchmarks/signals.py``): true
#: closing frames score −9 … +14 (5th percentile −4.5), frames made of elements and natural REMs
#: inside a body −71 … −8 (95th percentile −11); with the fourth look in view
#: (:data:`CLOSING_LOOK_SEC`) a few such frames reach −3, so the threshold cannot part them all
#: (−8 and −4 read worse than −6 on the tuning seeds).
CLOSING_MIN_GAIN = -6.0
#: ... and when it costs more than ``CLOSING_WEAK_GAIN`` more, at once only if the detector is
#: confident of the frame (≥ ``CLOSING_WEAK_CONF``). On the tuning seeds, true closing frames with
#: gains of −6 … −2 mostly have detector confidences of 0.5–0.8; frames made of elements and natural
#: REMs there, mostly 0.1–0.45 (none of them scored −2 … 0). A weak closing frame is kept: the
#: message closes there if no element follows it before the next frame or the time-out
#: (:meth:`EyeMessageDecoder._weak_closed`).
CLOSING_WEAK_GAIN = -2.0
CLOSING_WEAK_CONF = 0.45
#: The framed reading's first look starts within this many seconds of the candidate frame's
#: first sweep.
CLOSING_ALIGN_SEC = 0.6
#: A candidate closing frame is judged on the gaze trace up to this long (s) after its last sweep:
#: the level trace lags the sweeps by its low-pass, and the frame's fourth look must show.
CLOSING_LOOK_SEC = 0.3
#: A missed opening frame (:meth:`EyeMessageDecoder._missed_opening`) is looked for this far (s)
#: before a frame that comes while no message is open ...
WHOLE_BACK_SEC = 120.0
#: ... and taken when the reading with its four looks costs hardly more than without them (gain ≥
#: ``WHOLE_MIN_GAIN``, blocks of squared half-swing error; without an opening frame its looks are
#: read as two dots or dashes with a brief rest between, which costs only a little more) and they
#: fit on average (mean fit ≥ :data:`WHOLE_MIN_FIT`: natural REMs that made the detector miss the
#: frame also spoil some of its looks). On real REM EOG with injected messages (tuning seeds) the
#: missed openings read with gains of −9 … +6; frames that really opened a message, −14 or less.
#: Moving the bound from −4 to −10 took REM eye-Morse character errors on tuning seeds 101–116
#: from 223 to 214 of 2311 (missed messages 27 → 23), with seeds 117–124, the benchmark's
#: rows and its un-injected false messages unchanged.
WHOLE_MIN_GAIN = -10.0
WHOLE_MIN_FIT = 0.5
#: A message's opening is looked for again this far (s) before the detector's opening frame once its
#: closing frame is taken (:meth:`EyeMessageDecoder._reopen_if_misplaced`) ...
REOPEN_BACK_SEC = 15.0
#: ... and moved when the opening frame found in the trace starts more than this (s) away.
REOPEN_SHIFT_SEC = 1.0
#: A closing frame the sweep detector missed is looked for in the gaze level (:func:`~.level_frame_looks`)
#: once its fourth look began this long ago (s): after the detector has reported its own markers
#: (p99 0.25 s after their last sweep, ``benchmarks/signals.py``) and they were judged
#: (:data:`CLOSING_LOOK_SEC` later), so the two rarely judge one frame twice.
LEVEL_FRAME_WAIT_SEC = 0.4
#: ...at most this often (s of stream time).
LEVEL_FRAME_EVERY_SEC = 0.05
#: A frame found there closes the message when the closing test's gain is at least this (blocks): as
#: much as a detector frame the detector is unsure of needs (:data:`CLOSING_WEAK_GAIN`).
LEVEL_FRAME_MIN_GAIN = CLOSING_WEAK_GAIN
#: A count answer closes on four looks found in the gaze level when the count closing test
#: (:func:`~dreamlink.detect.eye_hsmm.count_closing_test`) gains at least this much (blocks).
COUNT_CLOSING_MIN_GAIN = 0.0
#: ...and the reading's rest before them is a rest: its fit (1 − mean capped squared level error,
#: :class:`~dreamlink.detect.eye_hsmm.Segment`) is at least this. Natural REMs that pull a body's
#: looks to centre make a "rest" that still holds looks (on REM counts of ``benchmarks/signals.py``,
#: seeds 1–4: true closing frames' rests fit ≥ 0.71, 14 of 23 frames read inside a body < 0.7).
COUNT_REST_MIN_FIT = 0.7
#: A count's whole trace is read for a closing frame the level screen missed at most this often (s)...
COUNT_READ_EVERY_SEC = 0.25
#: ...and closes it on a frame whose fourth look began at most this long ago (s).
COUNT_READ_BACK_SEC = 1.5
#: ...at a gain of at least this (blocks): no screen vouches for the looks (on REM counts of
#: ``benchmarks/signals.py``, seeds 1–6, exact answers 90.1 % at a gain of 0, 91.4 % at 8 or 16).
COUNT_READ_MIN_GAIN = 8.0
#: How far back (s) before a count's closing frame its opening is looked for
#: (:meth:`EyeMessageDecoder._count_whole`).
COUNT_WHOLE_BACK_SEC = 30.0
#: Least gain of that reading over the same without an opening frame (on REM counts of
#: ``benchmarks/signals.py``, seeds 1–6: 0 read 92.7 % exact, 8 read 92.3 %, none 91.4 %).
COUNT_WHOLE_MIN_GAIN = 0.0
#: The same for a count given up, whose closing frame no closing reading found: natural REMs after a
#: stray marker can read as a whole count (one did, at gain 4, on the benchmark's un-injected REM EOG
#: with a below-range calibration). 8 read REM counts of ``benchmarks/signals.py`` 93.2 % exact on seeds
#: 1–6 and 91.3 % on seeds 317–379, where 0 read 93.8 % and 91.4 %.
COUNT_WHOLE_GIVEN_UP_MIN_GAIN = 8.0
#: How much earlier (s) than the detector's its opening must be to be taken.
COUNT_WHOLE_SHIFT_SEC = 1.0
#: While a count is open and its closing reading finds no frame, it is read back from before its
#: opening (:meth:`EyeMessageDecoder._count_whole_through`) at most this often (s: the reading
#: spans up to :data:`COUNT_WHOLE_BACK_SEC`)...
COUNT_WHOLE_READ_EVERY_SEC = 0.5
#: ...and closed on a frame whose fourth look began at most this long ago (s). On REM counts of
#: ``benchmarks/signals.py`` (seeds 101–116 / 117–132), answers later than 2 s went 18 → 12 / 14 →
#: 10 (they had waited for :func:`~.count_time_limit`), exact 278 → 281 / 282 → 283 of 303 / 306.
COUNT_WHOLE_READ_BACK_SEC = 3.0
#: An open count is looked at for looks at most this often (s): once it has held no look for
#: :func:`~.count_over_sec` it is over and given up (:meth:`EyeMessageDecoder._count_looks_over`),
#: instead of at :func:`~.count_time_limit`. On REM counts of ``benchmarks/signals.py`` (seeds
#: 101–116 / 117–132) latency p99 went 14.7 → 7.0 s / 14.5 → 5.8 s, exact 281 → 282 / 283 → 284,
#: false counts 2 → 1 / 5 → 3; over after one rest and one hold instead, false counts were 13 / 10.
COUNT_OVER_EVERY_SEC = 0.5
#: A message read as a vocabulary's word (:meth:`EyeMessageDecoder._in_vocabulary`) is read from
#: this long (s) before its opening frame: the opening looks' grammar starts with a free rest.
WORD_BACK_SEC = 1.0
#: A word read from an opening frame the detector missed (:meth:`EyeMessageDecoder._word_since_opening`),
#: or for a message that did not read (:meth:`EyeMessageDecoder._in_vocabulary`), is taken at this
#: confidence or more.
MISSED_OPENING_WORD_CONF = 0.5
#: A free-text eye-Morse message whose closing frame no one found closes on a frame found in its
#: gaze trace (:meth:`EyeMessageDecoder._silent_since_frame`) once the trace after that frame has held
#: no element for this many word gaps (10 units, :func:`~dreamlink.link.eye_code.morse_unit`) plus
#: :data:`SILENT_MARGIN_SEC`: longer than any rest inside a message (senders stretch rests by up to
#: a fifth, and an element spoiled by natural REMs may not read). On the tuning draws of
#: ``benchmarks/signals.py`` (seeds 101–106) 1.3 word gaps closed an "I AM" inside its word gap,
#: 1.6 did not. With 1.6, REM eye-Morse character errors there went from 89 to 70 of 858 (a message
#: that ran on into the next was closed before it) and the latency p99 from 18.6 s to 16.2 s; on
#: seeds 107–112 (held out) the text read was the same (62 of 856) and the p99 went from 21.7 s to
#: 15.8 s.
SILENT_WORD_GAPS = 1.6
SILENT_MARGIN_SEC = 1.0
#: ...looked for at most this often (s of stream time; a whole-body reading costs ~10 ms), and only
#: once no sweep came for :data:`SILENT_QUIET_SEC` (s): not while a frame may be under way.
SILENT_EVERY_SEC = 1.0
SILENT_QUIET_SEC = 1.0
#: With a lexicon (:meth:`EyeMessageDecoder._in_lexicon`), the extra cost (blocks of the gaze
#: trace's reading) of reading a message as the non-word it was read as rather than as a lexicon
#: word: a word is taken when its reading costs at most this much more than the non-word's. Set on
#: the tuning draws of ``benchmarks/signals.py`` (seeds 101–106): 4, 8 and 16 fixed the same words
#: there, and of non-words sent (random letters, 3 draws, 393 characters) 4 re-read none as a word, 8
#: seven, 16 more.
LEXICON_NONWORD_BLOCKS = 4.0
#: Lexicon words at most this many Morse edits (element, letter gap or word gap) from the reading
#: are tried, at most :data:`LEXICON_CANDIDATES` of them.
LEXICON_MAX_EDITS, LEXICON_CANDIDATES = 2, 16


#: How sure a message is of its closing frame: ``0.5 + 0.5 / (1 + exp(−gain / CLOSING_SURE_BLOCKS))``
#: of the closing test's gain (blocks), so at most 0.75 when the frame reads no better than the body
#: going on. An eye-Morse message is no surer than that (:func:`closing_sureness`): a message that a
#: frame made of natural REMs and its own elements closed early reads its part cleanly, and its
#: elements alone made it look sure. On seeds 101–112 of ``benchmarks/signals.py`` (575 messages),
#: taking messages of confidence ≥ 0.6 kept 32 of the 47 wrong ones, and 24 with this, with the same
#: share of right ones (86 %); at ≥ 0.7, 21 → 16 wrong for 72 → 70 % of the right ones. (The 12
#: closed early had gains of −6 … +16, median −1.6; the right ones a median of 8.9.)
CLOSING_SURE_BLOCKS = 2.0

#: A message closed early on a frame inside its body is read again whole when that explains the trace
#: better, by at least this many blocks of cost, than the message and the one opened on its frame
#: (:meth:`EyeMessageDecoder._revised`).
REVISE_MIN_GAIN = 0.0


@dataclass(frozen=True)
class _Revisable:
    """A message whose closing frame re-opened tentatively (:meth:`EyeMessageDecoder._revised`): the
    message, where its body starts (s), its sender's hold (s) and full swing (V), and the end (s) of
    the closing frame."""

    message: Decoded
    body_t0: float
    pace: tuple[float, float]
    frame_end: float


def closing_sureness(gain: float) -> float:
    """How sure (0.5–1) a message is of a closing frame whose closing test gained ``gain`` blocks
    (:data:`CLOSING_SURE_BLOCKS`)."""
    return float(0.5 + 0.5 / (1.0 + np.exp(-gain / CLOSING_SURE_BLOCKS)))


def _letters(text: str | None) -> int:
    return len((text or "").replace(" ", ""))


def vocabulary_of(words: Sequence[str]) -> tuple[str, ...]:
    """A question's answer words as eye-Morse reads them (upper case, single spaces).

    Raises
    ------
    MorseEncodingError
        For a word with a character that has no Morse code.
    """
    out = tuple(dict.fromkeys(morse.plain(w) for w in words))
    for word in out:
        morse.encode(word)
    return tuple(w for w in out if w)


def _count_closed(test: TraceReading) -> bool:
    """Whether a count closing reading (:func:`~dreamlink.detect.eye_hsmm.count_closing_test`) ends
    the message: a gain of :data:`COUNT_CLOSING_MIN_GAIN`, a rest before the frame that fits a rest
    (:data:`COUNT_REST_MIN_FIT`) and the frame's looks each a swing from the last (≥
    :data:`~.HSMM_MIN_SWING` half swings: on REM counts of ``benchmarks/signals.py``, seeds 1–4, 276 of
    282 true closing frames and 5 of 13 frames read inside a body pass both checks)."""
    found = test.frame()
    if test.gain < COUNT_CLOSING_MIN_GAIN or len(found) != 4:
        return False
    if any(seg.state == "c_pre" and seg.fit < COUNT_REST_MIN_FIT for seg in test.segments):
        return False
    f1, f2, f3, f4 = (seg.level for seg in found)
    return min(f1 - f2, f3 - f2, f3 - f4) >= HSMM_MIN_SWING  # (else a look is a natural REM)


def _pace(frame: Sequence[Sweep]) -> tuple[float, float]:
    """A frame's hold (s: mean fixation between its sweeps) and full swing (V: median of sweeps 2–4)."""
    gaps = [b.onset - a.end for a, b in zip(frame[:-1], frame[1:], strict=True)]
    return float(np.mean(gaps)), float(np.median([s.size for s in frame[1:]]))


def _body_start(opening: Sequence[Sweep]) -> float:
    """Where (s) the gaze trace of a message's body starts: 0.3 s after its opening frame's last sweep."""
    return opening[-1].end + 0.3


def _fairly_sure(frame: Sequence[Sweep]) -> bool:
    """Whether the detector is fairly sure of a frame (confidence ≥ :data:`CLOSING_WEAK_CONF`; a
    frame without one, made of body sweeps, counts as sure)."""
    return getattr(frame, "confidence", 1.0) >= CLOSING_WEAK_CONF


def _elements_after(reading: TraceReading, t: float) -> bool:
    """Whether a reading of a body has an element (dot or dash) ending after ``t`` (s) before its frame."""
    return any(seg.state in ("dot_r", "dash_l") and seg.end > t for seg in reading.segments)


def _code_pace(frame: Sequence[Sweep]) -> bool:
    """Whether an LRLR frame's mean fixation between its sweeps is within :data:`~.CODE_GAP_RANGE_SEC`."""
    return CODE_GAP_RANGE_SEC[0] <= _pace(frame)[0] <= CODE_GAP_RANGE_SEC[1]


def _count_like(body: Sequence[Sweep], full: float) -> bool:
    """Whether a message body is a count (left, then full swings) rather than eye-Morse.

    Both start with a half sweep left and a full swing right, but a count goes on with full swings
    while every eye-Morse element returns to centre with a half sweep and leaves it with another.
    """
    if not (len(body) >= 2 and body[0].direction == "L" and body[1].size >= 1.4 * body[0].size):
        return False
    sizes = [s.size for s in body[1:]]
    n_full = sum(1 for x in sizes if x >= 0.7 * full)
    return len(sizes) - n_full <= 1 + n_full / 3.0


#: What :class:`EyeMessageDecoder` can be told to expect.
EYE_MODES: tuple[str, ...] = ("auto", "count", "morse")


@dataclass(frozen=True)
class _HeldMessage:
    """A message given up unreadable when a detector frame gave way (:meth:`EyeMessageDecoder._give_way`),
    held until the missed-opening check on that frame (:meth:`EyeMessageDecoder._held_or_split`).

    Attributes
    ----------
    message : Decoded
        The unreadable message.
    body_t0 : float
        Where its body started (s).
    pace : tuple of float
        Its sender's hold (s) and full swing (V).
    since : float
        End (s) of the message before it.
    openings : list of list of Sweep
        The detector frames it had passed over: where a message it ran on into may have opened.
    """

    message: Decoded
    body_t0: float
    pace: tuple[float, float]
    since: float
    openings: list[list[Sweep]]


def _check_eye_mode(mode: str) -> None:
    if mode not in EYE_MODES:
        raise ValueError(f"mode must be 'auto', 'count' or 'morse', got {mode!r}")


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
    levels : callable, optional
        ``levels(t0, t1)`` → block times (s) and gaze level (V) so far
        (:meth:`~dreamlink.detect.eye_sweeps.EyeSignalDetector.level_trace`): eye-Morse is then read
        from the level.
    level_frames : bool
        Look for frames the detector missed in the gaze level as they end (:meth:`_level_closing`,
        :meth:`_level_opening`); otherwise a missed closing frame is only looked for before a message
        is given up or when the next frame closes it.
    vocabulary : tuple of str
        The words an eye-Morse message is one of, when a question says so (its ``choices``); empty:
        any text. A message read as no word of it, or unreadable, is read again as the word that
        explains its whole trace best (:meth:`_in_vocabulary`).
    lexicon : Lexicon, optional
        For free text (no vocabulary): the words messages are usually made of
        (:func:`dreamlink.link.lexicon.english`). A message read as a non-word is read again as the
        lexicon words near it in Morse, and one is taken when it explains the trace about as well
        (:meth:`_in_lexicon`).
    emission : callable, optional
        How every HSMM reading of this decoder scores a block at a level
        (:data:`~dreamlink.detect.eye_hsmm.Emission`), e.g. the dreamer's learned one
        (:class:`~dreamlink.detect.eye_emission.LearnedEmission`); ``None``: the hand-built
        :func:`~dreamlink.detect.eye_hsmm.level_costs`.
    """

    swing: float
    mode: str = "auto"
    settings: EyeSettings = field(default_factory=EyeSettings)
    levels: Callable[[float, float], tuple[np.ndarray, np.ndarray]] | None = None
    level_frames: bool = True
    vocabulary: tuple[str, ...] = ()
    lexicon: Lexicon | None = None
    emission: Emission | None = None

    def __post_init__(self) -> None:
        self._frames_by_end: dict[float, list[Sweep]] = {}
        self._close_frame: list[Sweep] | None = None
        self._tentative = False
        self._use_frames = False
        self._body_t0 = 0.0
        self._close_onset = 0.0
        _check_eye_mode(self.mode)
        self.vocabulary = vocabulary_of(self.vocabulary)
        # What :meth:`expect` asked for, applied between messages.
        self._next_mode, self._next_vocabulary, self._next_lexicon = self.mode, self.vocabulary, self.lexicon
        self._recent: list[Sweep] = []
        self._open: list[Sweep] | None = None  # opening frame
        self._body: list[Sweep] = []
        self._hold = 0.5
        self._full = self.swing
        self._half = 0.5 * self.swing
        self._expect_return = False
        self._last_end = 0.0
        self._close_reading: TraceReading | None = None
        # A weak candidate closing frame (:data:`CLOSING_WEAK_GAIN`): frame, body start, stop, reading.
        self._weak: tuple[list[Sweep], int, int, TraceReading] | None = None
        self._weak_begun = False  # its body reads as the beginning of a word (:meth:`_word_begun`)
        # Eye-Morse read with the gaze level (``_by_reading``, :meth:`_apply_mode`): candidate closing
        # frames (frame, body start, body stop) waiting until the trace shows their last look.
        self._pending: list[tuple[list[Sweep], int, int]] = []
        # A detector frame that may be the closing frame of a message whose opening it missed,
        # checked once the trace shows its last look (:meth:`_missed_opening`).
        self._missed_check: list[Sweep] | None = None
        self._held: _HeldMessage | None = None
        self._passed_over: list[list[Sweep]] = []  # detector frames the open message did not give way to
        # Messages decided at one time beyond the first, with the pace and previous end they are read
        # with (:meth:`update`).
        self._queue: list[tuple[Decoded, tuple[float, float], float]] = []
        self._declined: list[list[Sweep]] = []  # detector frames a tentative message did not give way to
        self._onset_override: float | None = None  # the opening found in the gaze trace instead
        self._last_close_end = -np.inf  # end (s) of the last closing frame
        # Frames looked for in the gaze level (:meth:`_level_closing`, :meth:`_level_opening`): when
        # last looked, the first look of the last candidate judged, and the end of a frame found
        # there (the detector's sweeps of that frame, should they come late, are not the next body's).
        self._level_looked = -np.inf
        self._level_tried = -np.inf
        self._level_frame_end = -np.inf
        self._level_opened = False  # the open message was opened on a frame found in the level
        self._count_read_at = -np.inf  # when the open count's whole trace was last read
        self._count_whole_at = -np.inf  # when the open count was last read back from before its opening
        self._count_over_at = -np.inf  # when the open count was last looked at for looks
        self._silent_looked = -np.inf  # when the open message was last looked at for its end
        # The message whose closing frame the open tentative message opened on, while it may still
        # turn out to have been closed early (:meth:`_revised`).
        self._revisable: _Revisable | None = None
        self._apply_mode()

    def expect(self, mode: str, vocabulary: Sequence[str] = (), lexicon: Lexicon | None = None) -> None:
        """Say what the next message will be: ``"auto"``, ``"count"`` or ``"morse"``, and for eye-Morse
        the words it is one of (empty: any text) or, for free text, the lexicon it is likely made of.

        For example while a design's question awaits a count answer (the rig's
        :class:`~dreamlink.rig.pipeline.DetectorStage`). A message being received keeps the mode it
        opened with; the new mode applies once no message is open.
        """
        _check_eye_mode(mode)
        self._next_mode, self._next_vocabulary = mode, vocabulary_of(vocabulary)
        self._next_lexicon = lexicon
        if self._open is None:
            self._apply_mode()

    def _apply_mode(self) -> None:
        self.mode, self.vocabulary, self.lexicon = self._next_mode, self._next_vocabulary, self._next_lexicon
        # Eye-Morse read with the gaze level (:meth:`_judge_pending`); counts closed on frames found in
        # the gaze level (:meth:`_count_closing`).
        self._by_reading = self.mode == "morse" and self.levels is not None
        self._counts_by_level = self.mode == "count" and self.levels is not None and self.level_frames

    @property
    def active(self) -> bool:
        """Whether a message is being received."""
        return self._open is not None

    def update(
        self, sweeps: Sequence[Sweep], now: float, frames: Sequence[list[Sweep]] | None = None
    ) -> list[Decoded]:
        """Feed new sweeps (in time order) and the current stream time; returns finished messages.

        ``frames`` are the LRLR markers the detector found among these sweeps
        (:meth:`~dreamlink.detect.eye_sweeps.EyeSignalDetector.pop_frames`); once any list is
        given, messages open on the detector's markers (which are judged on the signal's fixation
        plateaus) instead of the decoder's own search over the sweeps.
        """
        with reading_with(self.emission):
            return self._update(sweeps, now, frames)

    def _update(
        self, sweeps: Sequence[Sweep], now: float, frames: Sequence[list[Sweep]] | None
    ) -> list[Decoded]:
        out: list[Decoded] = []
        if frames is not None:
            self._use_frames = True
            for fr in frames:
                if fr[0].onset > self._level_frame_end:  # (else: a frame found in the level already)
                    self._frames_by_end[round(fr[-1].end, 6)] = fr
        if self._open is None and (self.mode, self.vocabulary, self.lexicon) != (
            self._next_mode, self._next_vocabulary, self._next_lexicon
        ):
            self._apply_mode()
        for sweep in sweeps:
            # The open message's sender (a message is read as it opened), and the previous message's end.
            pace, since = (self._hold, self._full), self._last_close_end
            res = self._on_sweep(sweep)
            if res is not None:
                out.append(self._reported(res, pace, since))
        pace, since = (self._hold, self._full), self._last_close_end
        res = self._on_time(now)
        if res is not None:
            out.append(self._reported(res, pace, since))
        queued, self._queue = self._queue, []
        out += [self._reported(*item) for item in queued]
        return out

    def _reported(self, res: Decoded, pace: tuple[float, float], since: float) -> Decoded:
        """The message as reported (:meth:`_in_vocabulary`), also kept as the one a revision replaces."""
        out = self._in_vocabulary(res, pace, since)
        if self._revisable is not None and self._revisable.message is res:
            self._revisable = replace(self._revisable, message=out)
        return out

    def _in_vocabulary(self, res: Decoded, pace: tuple[float, float], since: float) -> Decoded:
        """An eye-Morse message read as the :attr:`vocabulary`'s word that explains it best, when
        it was read as no word of it or was unreadable
        (:func:`~dreamlink.detect.eye_reading.decode_eye_morse_words`).

        The gaze trace is read from the end of the message before (``since``, s; at least
        :data:`WORD_BACK_SEC` before this one, at most :data:`WHOLE_BACK_SEC`) to
        :data:`CLOSING_LOOK_SEC` after it: when the detector missed the opening frame and opened the
        message on frames inside its body ("TE" of "GO UP"), the word's reading finds the opening
        frame where it is, and the message starts there (when over :data:`REOPEN_SHIFT_SEC` earlier).
        An unreadable message becomes a word only when its opening looks fit (:data:`WHOLE_MIN_FIT`)
        and the word is sure enough (:data:`MISSED_OPENING_WORD_CONF`): natural movements given up
        as a "message" are not an answer. ``pace`` is the sender's hold (s) and full swing (V) the
        message opened with. Without a vocabulary, free text is read with the :attr:`lexicon`, if any
        (:meth:`_in_lexicon`).
        """
        if not self.vocabulary and self.lexicon is not None:
            return self._in_lexicon(res, pace)
        if not self.vocabulary or res.kind != "eye_morse" or self.levels is None:
            return res
        if res.ok and res.text in self.vocabulary:
            return res
        hold, full = pace
        t0 = min(max(since + 0.5, res.onset - WHOLE_BACK_SEC), res.onset - WORD_BACK_SEC)
        t, lv = self.levels(t0, res.end + CLOSING_LOOK_SEC)
        # A message that did not read at all may be natural movements: its word must show an opening
        # frame and be fairly sure, as one read from a missed opening frame.
        sure = 0.0 if res.ok else MISSED_OPENING_WORD_CONF
        word = decode_eye_morse_words(
            t, lv, 0.5 * full, hold, self.vocabulary, None, res.end,
            min_opening_fit=0.0 if res.ok else WHOLE_MIN_FIT,
        )
        if not word.ok or word.confidence < sure:
            return res
        onset = word.onset if word.onset < res.onset - REOPEN_SHIFT_SEC else res.onset
        return replace(word, onset=onset, detected_at=res.detected_at)

    def _in_lexicon(self, res: Decoded, pace: tuple[float, float]) -> Decoded:
        """A free-text eye-Morse message read as a non-word, read again as the :attr:`lexicon`'s words
        near it (:meth:`~dreamlink.link.lexicon.Lexicon.near`).

        The gaze trace from :data:`WORD_BACK_SEC` before the message to :data:`CLOSING_LOOK_SEC`
        after it is read as each near word and as the text read
        (:func:`~dreamlink.detect.eye_reading.decode_eye_morse_words`); the text read pays
        :data:`LEXICON_NONWORD_BLOCKS` for being no word, so a word is taken when its reading is
        nearly as good: an element natural REMs spoiled ("OK" spelled "MK") can cost less than that,
        a clear element sent differently costs more. A message that did not read is left as it is; one
        read as a word says what it spelled (:attr:`~dreamlink.detect.decoded.Decoded.spelled`).
        ``pace`` is the sender's hold (s) and full swing (V) the message opened with.
        """
        if self.lexicon is None or not res.ok or res.kind != "eye_morse" or self.levels is None:
            return res
        if res.text in self.lexicon:
            return res
        near = self.lexicon.near(res.text, LEXICON_MAX_EDITS, LEXICON_CANDIDATES)
        if not near:
            return res
        hold, full = pace
        t, lv = self.levels(res.onset - WORD_BACK_SEC, res.end + CLOSING_LOOK_SEC)
        word = decode_eye_morse_words(
            t, lv, 0.5 * full, hold, (res.text, *near), res.onset, res.end,
            prior={res.text: LEXICON_NONWORD_BLOCKS},
        )
        if not word.ok or word.text == res.text:
            return res
        return replace(word, detected_at=res.detected_at, spelled=res.text or "")

    def _start(self, frame: list[Sweep], tentative: bool = False) -> None:
        self._open = frame
        self._revisable = None  # (set by :meth:`_finish` after, for a tentative re-opening)
        self._level_opened = False  # (set by :meth:`_level_opening` after)
        self._pending = []
        self._declined = []
        self._passed_over = []
        self._weak = None
        self._tentative = tentative
        self._body = []
        self._hold, self._full = _pace(frame)
        self._half = frame[0].size
        self._expect_return = True
        self._last_end = frame[-1].end
        self._body_t0 = _body_start(frame)

    def _is_return(self, sweep: Sweep) -> bool:
        return (
            sweep.direction == "L"
            and sweep.size <= 0.9 * self._full
            and sweep.onset - self._last_end <= self._hold + 1.5
        )

    def _closing(self) -> tuple[int, int] | None:
        """(start, stop) of a closing frame at the end of the body, allowing a trailing return.

        With the detector's frames (:meth:`update` ``frames``) a frame it reported counts; otherwise
        (or in addition) four body sweeps that pass :func:`~dreamlink.detect.eye_sweeps.lrlr_check`
        with full swings like the opening frame's. Either way the frame's fixations must match the
        opening frame's (same sender, same pace: within :data:`CLOSING_HOLD_RATIO`).
        """
        b = self._body
        by_reading = self._by_reading
        for stop in (len(b), len(b) - 1):
            if stop - 4 < 0:
                continue
            if stop == len(b) - 1 and not (b[-1].direction == "L" and b[-1].size <= 0.9 * self._full):
                continue
            fr = self._frames_by_end.get(round(b[stop - 1].end, 6)) if self._use_frames else None
            if (
                fr is not None
                and self._same_pace(fr)
                and (by_reading or self._full_swings(fr) or self._body_reads(fr))
            ):
                # The frame's first sweep may be a movement the detector did not pass as a sweep
                # (then it is not in the body): the frame starts at the first body sweep from it on.
                starts = [i for i in range(stop) if b[i].onset >= fr[0].onset - 1e-6]
                if starts:
                    self._close_frame = fr
                    return starts[0], stop
            cand = b[stop - 4 : stop]
            ok, _, _ = lrlr_check(cand, self.swing, self.settings)
            # The closing frame's swings are full, like the opening frame's (same sender, same gain);
            # the symbols' sweeps are half as large.
            if by_reading:
                if ok and self._same_pace(cand):
                    self._close_frame = list(cand)
                    return stop - 4, stop
                continue
            if (
                ok
                and self._same_pace(cand)
                and np.median([s.size for s in cand[1:]]) >= CLOSING_FULL_FRAC * self._full
                and self._full_swings(cand)
            ):
                self._close_frame = list(cand)
                return stop - 4, stop
        return None

    def _closing_onset(self, start: int) -> float:
        """Start (s) of the closing frame found by :meth:`_closing` at body index ``start``.

        The detector's frame may begin with a movement that was not passed as a sweep (so it is not
        in the body): then the frame itself says where it starts.
        """
        onset = self._body[start].onset if start < len(self._body) else np.inf
        if self._close_frame:
            onset = min(onset, self._close_frame[0].onset)
        return onset

    def _full_swings(self, frame: Sequence[Sweep]) -> bool:
        """Whether a closing frame's fixations are at the extremes, full swings apart.

        Inside an eye-Morse body, a dot followed by a dash ("A") gives sweeps L (half), R (full),
        L (half), R (half): an LRLR to a tolerant marker detector, but its third fixation is at
        centre; the dot's way back and the dash give L (half), R (half), L (full), R (half), whose
        first two fixations are only half a swing apart. With the level trace, the median gaze
        levels ``c`` before the frame and ``p1``, ``p2``, ``p3`` of the fixations after sweeps 1, 2,
        3 must go left, right, left with two similar swings ``p1 − p2`` and ``p3 − p2`` (the smaller
        ≥ :data:`FRAME_SWING_RATIO` × the larger, and ≥ half :data:`CLOSING_FULL_FRAC` × the opening
        frame's full swing), and ``p3`` as far left of ``c`` as half of ``p1`` is (both are far-left
        fixations). The frame is judged on itself, not against the opening frame, whose size
        natural REMs can inflate. Without the level trace, each of swings 2–4 must be
        :data:`CLOSING_FULL_FRAC` × the opening frame's full swing. In both cases no sweep may last
        longer than :data:`FRAME_MAX_SWEEP_SEC`. Not applied when a count is expected
        (``mode="count"``): a count's body has no half sweeps to confuse with a frame.
        """
        need = CLOSING_FULL_FRAC * self._full
        if self.mode == "count":
            return True  # a count's body is full swings itself; its frame is told by the rest before it
        if max(s.movement.duration for s in frame) > FRAME_MAX_SWEEP_SEC:
            return False  # two sweeps joined across a centre rest (a dot's way back and the next way out)
        if self.levels is not None:
            _, before = self.levels(frame[0].onset - 0.4, frame[0].onset - 0.03)
            p = []
            for a, b in zip(frame[:-1], frame[1:], strict=True):
                _, lv = self.levels(a.end + 0.03, b.onset - 0.03)
                if len(lv) < 2:
                    break
                p.append(float(np.median(lv)))
            if len(p) == 3 and len(before) >= 2:
                c = float(np.median(before))
                s1, s2 = p[0] - p[1], p[2] - p[1]
                return (
                    min(s1, s2) >= 0.5 * need
                    and min(s1, s2) >= FRAME_SWING_RATIO * max(s1, s2)
                    and p[2] - c >= 0.5 * (p[0] - c)
                )
        return min(s.size for s in frame[1:]) >= need

    def _reads_closed(self, frame: Sequence[Sweep]) -> tuple[str, TraceReading | None]:
        """Whether the gaze trace says an eye-Morse body ends in this closing frame: ``"closed"``,
        ``"weak"`` (:data:`CLOSING_WEAK_GAIN`) or ``""``, with the framed reading.

        The body's trace up to the frame is read twice by explicit-duration Viterbi
        (:func:`~dreamlink.detect.eye_hsmm.closing_test`): as "elements, centre rest, four side
        looks of the sender's hold in a row", and as elements still going on. Morse elements and
        natural REMs that the sweep detector takes for a frame leave centre rests between the
        looks, which the framed reading pays for; a real frame's looks follow each other, which the
        other reading pays for. The frame is taken when the framed reading costs at most
        :data:`CLOSING_MIN_GAIN` more and its first look starts within :data:`CLOSING_ALIGN_SEC` of
        the frame's first sweep; the reading gives the message.
        """
        test = self._closing_reading(frame)
        if test is None or test.gain < CLOSING_MIN_GAIN:
            return "", None
        looks = test.frame()
        if not looks or abs(looks[0].start - frame[0].end) > CLOSING_ALIGN_SEC:
            return "", None
        if test.gain < CLOSING_WEAK_GAIN and not _fairly_sure(frame):
            return "weak", test
        return "closed", test

    def _closing_reading(
        self, frame: Sequence[Sweep], t0: float | None = None, pace: tuple[float, float] | None = None
    ) -> TraceReading | None:
        """The body's trace up to a candidate closing frame, read with and without the frame.

        The body starts at ``t0`` (s; default: the open message's) and is sent at ``pace`` (hold and
        full swing; default: the open message's).
        """
        if self._open is None:
            return None
        trace = self._trace_through(frame, self._body_t0 if t0 is None else t0, pace)
        return None if trace is None else closing_test(trace[1], trace[0], trace[2], self._sender(pace)[0])

    def _sender(self, pace: tuple[float, float] | None) -> tuple[float, float]:
        """``pace`` (a sender's hold in s and full swing in V), or the open message's."""
        return pace or (self._hold, self._full)

    def _trace_through(
        self, frame: Sequence[Sweep], t0: float, pace: tuple[float, float] | None = None, count: bool = False
    ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The gaze trace from ``t0`` through a closing frame's looks, for the whole-trace readings.

        Returns the block times (s), the level in half swings from centre and the eye-Morse unit (s),
        or ``None`` without a trace. Up to the frame the centre baseline is the running median of
        :func:`~.morse_body_blocks`; over the frame (to :data:`CLOSING_LOOK_SEC` after its last
        sweep) it stays where the trace before left it: a running median over the frame's looks
        would follow them. ``pace`` is the sender's hold and full swing (default: the open message's).
        For a ``count`` body, made of looks with little rest between them, the centre baseline
        follows the centre fixations only (as :func:`~.decode_count_path`): the median of all the
        levels would fall anywhere between its left and right looks.
        """
        return self._trace_into(t0, frame[0].onset - 0.05, frame[-1].end + CLOSING_LOOK_SEC, pace, count)

    def _trace_into(
        self,
        t0: float,
        t_frame: float,
        t1: float,
        pace: tuple[float, float] | None = None,
        count: bool = False,
    ) -> tuple[np.ndarray, np.ndarray, float] | None:
        """The gaze trace from ``t0`` to ``t1`` (s) through a closing frame that starts at ``t_frame``
        (s), centred as :meth:`_trace_through` says."""
        if self.levels is None:
            return None
        hold, full = self._sender(pace)
        half = 0.5 * full
        t_before, lv_before = self.levels(t0, t_frame)
        blocks = count_body_blocks if count else morse_body_blocks
        unit, found = blocks(t_before, lv_before, half, hold)
        if found is None:
            return None
        base = float(np.median((lv_before - found[1] * half)[-max(1, int(1.0 / LEVEL_STEP_SEC)) :]))
        t_look, lv_look = self.levels(t_frame + 1e-9, t1)
        return np.concatenate([t_before, t_look]), np.concatenate([found[1], (lv_look - base) / half]), unit

    def _body_reads(self, frame: Sequence[Sweep]) -> bool:
        """Whether a detector frame that failed :meth:`_full_swings` still closes an eye-Morse message.

        Natural REMs often split a frame's sweeps (then the detector joins them into sweeps longer
        than :data:`FRAME_MAX_SWEEP_SEC`) or spoil its fixation levels. Such a frame is accepted as
        the closing frame when the detector was confident of it (≥ :data:`CLOSING_MIN_CONF`; frames
        that Morse elements and natural movements mimic inside a body score low) and the body
        before it reads as eye-Morse by the whole-body reading (:func:`~.decode_eye_morse_path`).
        """
        if self.mode == "count" or self.levels is None or self._open is None:
            return False
        if getattr(frame, "confidence", 0.0) < CLOSING_MIN_CONF:
            return False
        return self._reads_before(frame, strict_rests=False)

    def _same_pace(self, frame: Sequence[Sweep]) -> bool:
        gaps = [y.onset - x.end for x, y in zip(frame[:-1], frame[1:], strict=True)]
        return (
            max(gaps) <= CLOSING_HOLD_RATIO * self._hold + 0.15
            and min(gaps) >= self._hold / CLOSING_HOLD_RATIO - 0.15
        )

    def _on_sweep(self, sweep: Sweep) -> Decoded | None:
        if self._open is None:
            if self._use_frames:
                frame = self._frames_by_end.pop(round(sweep.end, 6), None)
                self._frames_by_end = {k: v for k, v in self._frames_by_end.items() if k > sweep.end}
                if frame is not None and (not self._by_reading or _code_pace(frame)):
                    self._start(frame)
                    self._missed_check = frame if self._by_reading else None
                return None
            horizon = 4 * (self.settings.max_gap_sec + self.settings.max_movement_sec)
            self._recent = [s for s in self._recent + [sweep] if sweep.end - s.onset <= horizon]
            found = find_lrlr(self._recent, self.swing, self.settings)
            if found is not None:
                self._start(found[0])
                self._recent = []
            return None
        if sweep.size < SMALL_SWEEP_FRAC * self._half:
            return None  # a natural REM during the message: smaller than any symbol of the code
        if sweep.end <= self._level_frame_end + 0.1:
            return None  # a sweep of a closing frame already found in the gaze level
        if self._expect_return:
            self._expect_return = False
            if self._is_return(sweep):
                self._last_end = sweep.end
                self._body_t0 = sweep.end + 0.05
                return None
        self._body.append(sweep)
        self._last_end = sweep.end
        if self._counts_by_level:
            return None  # (closed by :meth:`_count_closing`)
        close = self._closing()
        if self._by_reading:
            # Judged once the gaze trace shows the frame's last look (:meth:`_judge_pending`).
            if close is not None and close[1] == len(self._body) and self._close_frame is not None:
                self._pending.append((self._close_frame, close[0], close[1]))
            self._close_frame = None
            if close is None and self._use_frames and round(sweep.end, 6) in self._frames_by_end:
                return self._give_way(self._frames_by_end[round(sweep.end, 6)], sweep.movement.detected_at)[1]
            return None
        if close is None or close[1] != len(self._body):
            return None
        inner = self._body[: close[0]]
        if not inner:
            return None
        counting = self.mode == "count" or (self.mode == "auto" and _count_like(inner, self._full))
        if counting:
            # A count's body ends with a half sweep back to centre (left, from the last right look)
            # before its closing frame: then the frame is not the first swings of a "2", and the
            # count is read at once. Otherwise wait for the pause after the frame (:meth:`_on_time`).
            last = inner[-1]
            if not (last.direction == "L" and last.size <= RETURN_MAX_FRAC * self._full):
                return None
            self._close_onset = self._closing_onset(close[0])
            return self._finish(decode_count, inner, sweep.movement.detected_at)
        self._close_onset = self._closing_onset(close[0])
        return self._finish(decode_eye_morse, inner, sweep.movement.detected_at)

    def _judge_pending(self, now: float) -> Decoded | None:
        """Judge the candidate closing frames whose last look the gaze trace now shows.

        A frame that reads as the message's closing frame (:meth:`_reads_closed`) ends the message.
        A detector frame that does not, after a message re-opened tentatively on a closing frame, is
        the next message's opening frame.
        """
        while self._pending and now >= self._pending[0][0][-1].end + CLOSING_LOOK_SEC + LEVEL_STEP_SEC:
            frame, start, stop = self._pending.pop(0)
            verdict, reading = self._reads_closed(frame)
            begun = verdict in ("closed", "weak") and reading is not None and self._word_begun(reading)
            if verdict == "weak" or begun:
                assert reading is not None
                self._weak = (frame, start, stop, reading)  # the latest: the body went on after any before
                self._weak_begun = begun
                continue
            if verdict == "closed" and reading is not None:
                weak = self._weak
                if weak is not None:
                    if not _elements_after(reading, weak[0][-1].end):
                        # Only rest since the weak closing frame: it closed the message, and this
                        # frame opens the next one.
                        res = self._close_on(*weak, now)
                        self._start(frame)
                        return res
                    whole_after = self._weak_closes and (
                        self._read_whole(frame, weak[0][-1].end + 0.5, _pace(frame)) is not None
                    )
                    if whole_after:
                        # A whole message since the weak closing frame, whose opening frame the
                        # detector missed: the weak frame closed this message, and this frame closes
                        # that one (read by the missed-opening check).
                        res = self._close_on(*weak, now)
                        self._start(frame)
                        self._missed_check = frame
                        return res
                return self._close_on(frame, start, stop, reading, now)
            if self._use_frames and getattr(frame, "confidence", None) is not None:
                gave_way, res = self._give_way(frame, now)
                if gave_way:
                    return res
        return None

    def _word_since_opening(self, closing: Sequence[Sweep]) -> Decoded | None:
        """With the words known, a tentative message that does not read, read as one of them from
        an opening frame the detector missed.

        A message re-opened tentatively on a closing frame swallows the next message when the
        detector misses that one's opening frame; its body then holds the rest between the two
        messages and the opening frame, and does not read. The trace from the tentative opening to
        the ``closing`` frame is read as each word with its own opening frame
        (:func:`~dreamlink.detect.eye_reading.decode_eye_morse_words`); a word whose opening looks
        fit (:data:`WHOLE_MIN_FIT`) and which is sure enough (:data:`MISSED_OPENING_WORD_CONF`) is
        the message, from its opening frame.
        """
        if not self.vocabulary or self.levels is None or self._open is None:
            return None
        t, lv = self.levels(self._open[-1].end + 0.5, closing[-1].end + CLOSING_LOOK_SEC)
        word = decode_eye_morse_words(
            t, lv, 0.5 * self._full, self._hold, self.vocabulary, None, closing[-1].end,
            min_opening_fit=WHOLE_MIN_FIT,
        )
        return word if word.ok and word.confidence >= MISSED_OPENING_WORD_CONF else None

    @property
    def _weak_closes(self) -> bool:
        """Whether a weak closing frame waits that may close the message: not one after a body that
        reads as the beginning of a word (:meth:`_word_begun`), which only the next frame closes."""
        return self._weak is not None and not self._weak_begun

    def _word_begun(self, reading: TraceReading) -> bool:
        """Whether a body that a candidate closing frame would close reads as no word of the
        :attr:`vocabulary` but as the beginning of one ("LU" of "LUCID", "GO U" of "GO UP", in
        Morse symbols).

        Natural REMs and the body's own elements can make a frame inside a message, and it closes
        the message early; the rest of the body then comes as another message. With the words
        known, a detector's frame waits as a weak one does (:meth:`_weak_closed`): the message
        closes there only if no element follows it; a frame found in the gaze level is passed over
        (:meth:`_level_closing`).
        """
        if self._tentative:
            return False
        return self._begins_word(path_text(reading.segments, 0.0, 0.0, spoiled_ok=True))

    def _begins_word(self, read: Decoded) -> bool:
        """Whether a message reads as no word of the :attr:`vocabulary` but as the beginning of one
        (see :meth:`_word_begun`)."""
        if not self.vocabulary or not read.ok or read.text in self.vocabulary:
            return False
        begun = morse.code_string(str(read.text))
        codes = map(morse.code_string, self.vocabulary)
        return any(len(code) > len(begun) and code.startswith(begun) for code in codes)

    def _close_on(
        self, frame: list[Sweep], start: int, stop: int, reading: TraceReading, at: float
    ) -> Decoded | None:
        """End the open eye-Morse message at the closing ``frame`` (body sweeps ``start:stop``), read
        by the closing test's ``reading``; ``at`` (s) is the time of the decision."""
        self._pending = []
        self._weak = None
        self._close_reading = reading
        self._close_frame = frame
        del self._body[stop:]
        self._close_onset = self._closing_onset(start)
        self._reopen_if_misplaced(frame)
        return self._finish(decode_eye_morse, self._body[:start], at)

    def _weak_closed(self, before: float, at: float) -> tuple[bool, Decoded | None]:
        """Close the open message at its weak closing frame when the gaze trace from there to
        ``before`` (s) holds no element. Returns whether it closed, and the message (``None`` for a
        tentative re-opening that does not read); nothing changes when it did not close."""
        weak = self._weak
        if weak is None or not self._weak_closes or self.levels is None:
            return False, None
        t, lv = self.levels(weak[0][-1].end + CLOSING_LOOK_SEC, before)
        if decode_eye_morse_path(t, lv, 0.5 * self._full, self._hold).ok:
            return False, None
        return True, self._close_on(*weak, at)

    def _read_whole(
        self, frame: Sequence[Sweep], t0: float, pace: tuple[float, float] | None = None
    ) -> tuple[Decoded, TraceReading] | None:
        """The gaze trace from ``t0`` to the closing ``frame`` read as a whole message, if it reads.

        See :func:`~dreamlink.detect.eye_hsmm.whole_message` and :meth:`_missed_opening` for when a
        reading is taken. Returns the message (its onset at the opening frame found) and the body's
        reading (as a :class:`~dreamlink.detect.eye_hsmm.TraceReading`), or ``None``. ``pace`` is
        the sender's hold and full swing (default: the open message's).
        """
        hold = self._sender(pace)[0]
        trace = self._trace_through(frame, t0, pace)
        whole = None if trace is None else whole_message(trace[1], trace[0], trace[2], hold)
        if whole is None or whole.gain < WHOLE_MIN_GAIN:
            return None
        opening = whole.opening()
        closing = [seg for seg in whole.segments if seg.state == "f1"]
        if (
            len(opening) != 4
            or np.mean([seg.fit for seg in opening]) < WHOLE_MIN_FIT
            or not closing
            or abs(closing[0].start - frame[0].end) > CLOSING_ALIGN_SEC
        ):
            return None
        body = [seg for seg in whole.segments if seg.state not in ("junk", "o1", "o2", "o3", "o4")]
        onset = opening[0].start - 0.1  # the first look starts when the first sweep ends
        res = path_text(body, onset, frame[-1].end)
        if not res.ok or not rests_like_code(body, hold, whole.unit):
            return None
        return res, TraceReading(body, whole.unit, whole.gain)

    def _reopen_if_misplaced(self, closing: Sequence[Sweep]) -> None:
        """Move a message's opening to where the gaze trace puts it, when the detector's was misplaced.

        Natural REMs can make the detector report an opening frame late (from the frame's last
        sweeps and a natural movement) or early (a natural movement before the real frame), or miss
        it so that the message was opened on the previous message's closing frame. Once the closing
        frame is taken, the trace from the last reported message (at most
        :data:`REOPEN_BACK_SEC` before the detector's opening) to the closing frame is read as a
        whole message (:meth:`_read_whole`); when that reading is taken and its opening frame
        starts more than :data:`REOPEN_SHIFT_SEC` from the detector's, the message is read from it
        (:attr:`_close_reading`, :attr:`_onset_override`).
        """
        opened = self._open
        if opened is None or self._close_reading is None:
            return
        t0 = max(self._last_close_end + 0.5, opened[0].onset - REOPEN_BACK_SEC)
        found = self._read_whole(closing, t0)
        if found is None or abs(found[0].onset - opened[0].onset) <= REOPEN_SHIFT_SEC:
            return
        self._close_reading = found[1]
        self._onset_override = found[0].onset
        self._tentative = False  # a message with its own opening frame, not a re-opening

    def _missed_opening(self, frame: list[Sweep], now: float) -> Decoded | None:
        """Read the message ``frame`` closed when the detector missed its opening frame.

        A frame that comes while no message is open opens one; but natural REMs can split or spoil
        an opening frame's sweeps so that the detector misses it, and then the frame is the message's
        *closing* frame. The same holds for a frame that neither closes nor ends a message re-opened
        tentatively on the last closing frame (:meth:`_give_way`): that message may have swallowed
        the next message's opening frame (then only a frame the detector is fairly sure of, ≥
        :data:`CLOSING_WEAK_CONF`, is read back: natural movements after a closing frame can read as
        a short message closed by a weak frame). The gaze trace before the frame (back to the last reported
        message, at most :data:`WHOLE_BACK_SEC`) is read as a whole message
        (:func:`~dreamlink.detect.eye_hsmm.whole_message`): it is taken when the opening frame's
        four looks fit (:data:`WHOLE_MIN_FIT`) and explain the trace (:data:`WHOLE_MIN_GAIN`), the
        frame's looks are where the reading puts the closing frame, the body reads as eye-Morse and
        its rests are the code's. The frame then stays open as a tentative opening, as after any
        closing frame.
        """
        if self._open is None:
            return None
        if self._open is not frame and not _fairly_sure(frame):
            return None  # inside a tentative message, only a frame the detector is fairly sure of
        t0 = max(self._last_close_end + 0.5, frame[0].onset - WHOLE_BACK_SEC)
        pace = _pace(frame)
        found = self._read_whole(frame, t0, pace)
        # A swallowed opening frame is often one the tentative message declined: natural movements
        # after the last closing frame can make a reading from there put the opening among them.
        held = [] if self._held is None else self._held.openings
        for other in (self._declined if self._tentative else []) + held:
            if found is not None:
                break
            if t0 < other[0].onset < frame[0].onset:
                found = self._read_whole(frame, other[0].onset - 1.0, pace)
        if found is None:
            return None
        # The frame must also read as a closing frame rather than as the body's next elements.
        closing = self._closing_reading(frame, found[1].segments[0].start, pace)
        if closing is None or closing.gain < CLOSING_MIN_GAIN:
            return None
        if self._open is frame:
            self._tentative = True
        elif self._tentative:
            self._start(frame, tentative=True)
        else:
            return None
        self._last_close_end = frame[-1].end
        res = replace(found[0], detected_at=now)
        self._revisable = _Revisable(res, found[1].segments[0].start, pace, frame[-1].end)
        return res

    def _held_or_split(self, found: Decoded | None, now: float) -> Decoded | None:
        """The message given up unreadable when a detector frame gave way (:meth:`_give_way`), once
        the missed-opening check on that frame (:meth:`_missed_opening`) gave ``found``.

        A message whose closing frame natural REMs spoiled runs on into the next message, and the
        next message's opening frame, often less sure than its own, does not make it give way; the
        next message's closing frame does, and the whole trace then does not read. When the check
        finds a message from a frame the given-up one had passed over, the trace is split there: the
        given-up message is read up to that opening (to a closing frame found in its gaze trace, as
        when a message is given up; else unreadable), and the found message follows it. ``now`` (s)
        is the time of the decision.
        """
        held, self._held = self._held, None
        assert held is not None
        given_up, pace = held.message, held.pace
        if found is None:
            self._queue.append((given_up, pace, held.since))  # (read with its own sender's pace)
            return None
        if found.onset <= given_up.onset + REOPEN_SHIFT_SEC:
            return found  # (the same message, read from its own opening)
        first: Decoded = unreadable("eye_morse", given_up.reason, given_up.onset, found.onset - 0.1, now)
        if self.levels is not None:
            t, lv = self.levels(held.body_t0, found.onset - 0.1)
            read, frame_end = self._own_closing(t, lv, given_up.onset, against_plain=False, pace=pace)
            if read.ok:
                first = replace(read, end=frame_end, detected_at=now)
        # Both read with their own sender's pace (:meth:`update`), in time order.
        self._queue += [(first, pace, held.since), (found, (self._hold, self._full), first.end)]
        return None

    def _from_declined(self, closing: Sequence[Sweep]) -> Decoded | None:
        """The message between a frame the tentative message declined and its ``closing`` frame.

        A tentative message that does not read when its closing frame comes may have swallowed the
        real opening frame: natural movements after the last closing frame read as elements, so it
        declined that frame (:meth:`_give_way`). The trace from each declined frame the detector is
        fairly sure of (≥ :data:`CLOSING_WEAK_CONF`; latest first) to the closing frame is read with
        that frame's pace; it is the message when it ends in a closing frame
        (:data:`CLOSING_MIN_GAIN`), reads as eye-Morse and its rests are the code's.
        """
        for opening in reversed(self._declined):
            if opening[-1].end >= closing[0].onset or not _fairly_sure(opening):
                continue
            pace = _pace(opening)
            reading = self._closing_reading(closing, _body_start(opening), pace)
            if reading is None or reading.gain < CLOSING_MIN_GAIN:
                continue
            res = path_text(reading.segments, opening[0].onset, closing[-1].end)
            if res.ok and rests_like_code(reading.segments, pace[0], reading.unit):
                return res
        return None

    def _give_way(self, frame: list[Sweep], at: float) -> tuple[bool, Decoded | None]:
        """Let a detector frame that does not close the open message open the next one, when it should.

        When the gaze trace from the body's start to the frame is no eye-Morse with the code's
        rests (:meth:`_reads_before`), the frame is not made of a message's elements: it is the next
        message's opening frame. A message re-opened tentatively on a closing frame gives way to
        any such frame (of the code's pace, :func:`_code_pace`). A message opened for real gives way
        when its own closing frame is found in the trace before the frame
        (:func:`~.decode_eye_morse_framed`: the detector missed it), and otherwise only to a frame the
        detector is more confident of (a natural movement before the real opening frame can make a
        weak frame); the message given up is then read up to a closing frame found in its gaze
        trace, or reported unreadable (not when the frame follows the opening frame within its
        rest: both are the same marker).

        Returns
        -------
        (gave_way, message) : tuple
            Whether the frame opened a message, and the message given up (``None`` when it was
            only a tentative re-opening).
        """
        opened = self._open
        if opened is None or self.levels is None or not _code_pace(frame):
            return False, None
        closed, res = self._weak_closed(frame[0].onset - 0.05, at)
        if closed:
            self._start(frame)
            return True, res
        reads = self._reads_before(frame)
        if self._tentative:
            if reads:
                # Elements of the message being sent, or the closing frame of a message whose
                # opening this tentative one swallowed: see once its last look shows.
                self._missed_check = frame
                self._declined.append(frame)
                return False, None
            self._start(frame)
            self._missed_check = frame  # or is it the closing frame of a missed message?
            return True, None
        onset = opened[0].onset
        t, lv = self.levels(self._body_t0, frame[0].onset - 0.05)
        # The message's own closing frame may be in the trace before this frame (missed by the
        # detector, natural REMs spoiling its sweeps): then this frame opens the next message.
        read, frame_end = self._own_closing(t, lv, onset)
        if read.ok and not self._begins_word(read):
            self._start(frame)
            return True, replace(read, end=frame_end, detected_at=at)
        if reads or getattr(frame, "confidence", 0.0) <= getattr(opened, "confidence", 1.0):
            self._passed_over.append(frame)
            return False, None
        res = None
        # A frame that comes before a message could have ended (the shortest, "E", with its
        # closing frame) is not the next message: it is this message's first elements or, when a
        # natural movement made the first, weaker frame, the real opening frame. Either way nothing
        # was given up; the message read from the new frame finds its opening
        # (:meth:`_reopen_if_misplaced`).
        if frame[0].onset >= opened[-1].end + shortest_message_sec(self._hold):
            res = self._given_up(t, lv, at, "no closing LRLR frame before the next one", frame[0].onset)
        if res is not None and not res.ok and self._by_reading and self._held is None:
            # The open message may have run on (its closing frame missed) through a whole message
            # whose opening frame it passed over: then this frame closes that one
            # (:meth:`_held_or_split`).
            self._held = _HeldMessage(
                res, self._body_t0, (self._hold, self._full), self._last_close_end, self._passed_over
            )
            self._start(frame)
            self._missed_check = frame
            return True, None
        self._start(frame)
        return True, res

    def _given_up(self, t: np.ndarray, lv: np.ndarray, at: float, why: str, end: float) -> Decoded:
        """The open eye-Morse message, given up without a closing frame from the detector.

        It is read up to a closing frame found in its gaze trace ``t``, ``lv``
        (:func:`~.decode_eye_morse_framed`; the frame's fit alone decides), or reported unreadable
        (``why``, ending at ``end`` s); ``at`` is the time (s) of the decision.
        """
        assert self._open is not None
        onset = self._open[0].onset
        read, frame_end = self._own_closing(t, lv, onset, against_plain=False)
        if read.ok:
            return replace(read, end=frame_end, detected_at=at)
        return unreadable("eye_morse", why, onset, end, at)

    def _own_closing(
        self,
        t: np.ndarray,
        lv: np.ndarray,
        onset: float,
        against_plain: bool = True,
        pace: tuple[float, float] | None = None,
    ) -> tuple[Decoded, float]:
        """The open message (or one sent at ``pace``, :meth:`_sender`) read up to its own closing
        frame found in its gaze trace ``t``, ``lv`` (:func:`~.decode_eye_morse_framed`), and that
        frame's end (s)."""
        hold, full = self._sender(pace)
        return decode_eye_morse_framed(t, lv, 0.5 * full, hold, onset, against_plain=against_plain)

    def _reads_before(self, frame: Sequence[Sweep], strict_rests: bool = True) -> bool:
        """Whether the gaze trace from the body's start to ``frame`` reads as eye-Morse (with the
        code's rests unless ``strict_rests`` is false; :func:`~.decode_eye_morse_path`).

        A message re-opened tentatively on a closing frame (:meth:`_finish`) that meets a detector
        frame which does not close it: when the trace before that frame is no eye-Morse (natural
        movements, a long pause), the frame opens the next message; when it is, the frame is made of
        the elements of a message being sent, and the message goes on.
        """
        if self.levels is None:
            return False
        t, lv = self.levels(self._body_t0, frame[0].onset - 0.05)
        return decode_eye_morse_path(t, lv, 0.5 * self._full, self._hold, strict_rests=strict_rests).ok

    def _on_time(self, now: float) -> Decoded | None:
        if self._open is None:
            self._level_opening(now)
            return None
        check = self._missed_check
        if check is not None and now >= check[-1].end + CLOSING_LOOK_SEC + LEVEL_STEP_SEC:
            self._missed_check = None
            res = self._missed_opening(check, now)
            if self._held is not None:
                return self._held_or_split(res, now)
            if res is not None:
                return res
        if self._pending:
            res = self._judge_pending(now)
            if res is not None or self._pending:
                return res
        res = self._level_closing(now) or self._count_closing(now)
        if res is not None or self._open is None:
            return res
        quiet = now - self._last_end
        if not self._body:
            # A lone LRLR marker: nothing followed within the pause a message leaves after its frame.
            # (eye-Morse rests FRAME_REST_SEC at centre after the frame's own hold, ±20 %)
            rest = max(3.5 if self.mode == "count" else 2.5, 1.2 * eye_code.FRAME_REST_SEC + 0.6)
            lone = rest + 1.5 * self._hold
            if quiet >= lone:
                res = self._lone_closing(now) if self._counts_by_level else None
                self._open = None
                return res
            return None
        if self.mode != "morse" and not self._counts_by_level and quiet >= 2.0 + 1.5 * self._hold:
            close = self._closing()
            if close is not None:
                inner = self._body[: close[0]]
                if self.mode == "count" or (inner and _count_like(inner, self._full)):
                    self._close_onset = self._closing_onset(close[0])
                    return self._finish(decode_count, inner, now)
                if not inner:  # two LRLR markers in a row: markers, not a message
                    self._open = None
                    self._body = []
                    return None
        res = self._silent_since_frame(now, quiet)
        if res is not None:
            return res
        longest_rest = 1.3 * eye_code.WORD_GAP_UNITS * eye_code.morse_unit(self._hold)  # a word gap, +30 %
        too_long = self._counts_by_level and (
            now - self._open[-1].end > count_time_limit(self._hold) or self._count_looks_over(now)
        )
        if quiet >= max(EYE_MAX_PAUSE_SEC, longest_rest + 2.0) or too_long:
            if self._weak is not None and self._weak_closes:
                return self._close_on(*self._weak, now)
            onset = self._open[0].onset
            if self._tentative:
                self._open = None
                return None  # a closing frame that was not also an opening: nothing to report
            if self.mode != "count" and self.levels is not None:
                # The detector may have missed the closing frame: look for it in the gaze level.
                t, lv = self.levels(self._body_t0, now)
                res = self._given_up(t, lv, now, "no closing LRLR frame", self._last_end)
                self._open = None
                return res
            if self._counts_by_level:
                res = self._count_given_up(now)
                self._open = None
                return res
            self._open = None
            kind = "count" if self.mode == "count" else "eye_morse"
            return unreadable(kind, "no closing LRLR frame", onset, self._last_end, now)
        return None

    def _silent_since_frame(self, now: float, quiet: float) -> Decoded | None:
        """Close the open free-text eye-Morse message on a closing frame found in its gaze trace, once
        no element has followed that frame for longer than any rest inside a message.

        When natural REMs spoil a closing frame so that neither the detector nor the level screen
        (:meth:`_level_closing`) finds it, the message used to wait until no sweep came for
        :data:`EYE_MAX_PAUSE_SEC`, which in REM sleep, with natural REMs going on, took 10–40 s,
        and a message that ran on into the next one was read with it. Instead, at most every
        :data:`SILENT_EVERY_SEC`, when the last :data:`SILENT_WORD_GAPS` word gaps (+
        :data:`SILENT_MARGIN_SEC`) of the trace read as no eye-Morse
        (:func:`~.decode_eye_morse_path`), the whole body is read up to a closing frame found in it
        (as a message given up is, :meth:`_given_up`); a frame that ended before that silence
        closes the message. Not for counts, a message re-opened tentatively, or while a detector
        frame is pending or a weak one waits (they have their own rules).
        """
        if (
            not self._by_reading
            or self.levels is None
            or self._counts_by_level
            or self.mode == "count"
            or self._tentative
            or self._pending
            or self._weak is not None
            or quiet < SILENT_QUIET_SEC
            or now < self._silent_looked + SILENT_EVERY_SEC
        ):
            return None
        assert self._open is not None
        word_gap = eye_code.WORD_GAP_UNITS * eye_code.morse_unit(self._hold)
        silence = SILENT_WORD_GAPS * word_gap + SILENT_MARGIN_SEC
        if now - self._body_t0 < silence + 2.0:
            return None
        self._silent_looked = now
        t, lv = self.levels(now - silence, now)
        if decode_eye_morse_path(t, lv, 0.5 * self._full, self._hold).ok:
            return None
        t, lv = self.levels(self._body_t0, now)
        read, frame_end = self._own_closing(t, lv, self._open[0].onset, against_plain=False)
        if not read.ok or frame_end > now - silence + CLOSING_LOOK_SEC:
            return None
        self._closed_at(frame_end)
        return replace(read, end=frame_end, detected_at=now)

    def _level_closing(self, now: float) -> Decoded | None:
        """Close the open eye-Morse message on a closing frame the detector missed, found in the gaze level.

        Natural REMs can split or spoil a closing frame's sweeps so that the detector reports no
        marker; the message would then wait for a long pause (:data:`EYE_MAX_PAUSE_SEC`) to be read.
        Instead, the trace is screened for four looks left, right, left, right in a row
        (:func:`~.level_frame_looks`); once the fourth began :data:`LEVEL_FRAME_WAIT_SEC` ago, with no
        detector frame pending, the looks are judged by the same closing test as a detector frame
        (:meth:`_reads_closed`) and, at the sender's pace, close the message. Not in a message
        re-opened tentatively on a closing frame (the detector's frames there are judged by
        :meth:`_give_way`), except one opened on a frame found in the level (:meth:`_level_opening`).
        """
        if (
            not (self._by_reading and self.level_frames)
            or self._open is None
            or (self._tentative and not self._level_opened)
            or not self._body
            or self._pending
            or self._weak_closes
            or self.levels is None
            or now < self._level_looked + LEVEL_FRAME_EVERY_SEC
        ):
            return None
        back = 4.0 * LEVEL_FRAME_LOOK_HOLDS[1] * self._hold + 1.5
        looks = self._new_level_looks(now, back, 0.5 * self._full, self._hold, self._body_t0)
        if looks is None:
            return None
        frame = self._level_frame(looks, now, 0.5 * self._full)
        if not self._same_pace(frame):
            return None
        verdict, reading = self._reads_closed(frame)
        if verdict != "closed" or reading is None or reading.gain < LEVEL_FRAME_MIN_GAIN:
            return None
        if self._word_begun(reading):  # looks inside a message: the next frame, or giving up, closes it
            return None
        inside = [i for i, sweep in enumerate(self._body) if sweep.onset >= frame[0].onset - 0.1]
        start = inside[0] if inside else len(self._body)
        self._level_frame_end = frame[-1].end
        return self._close_on(frame, start, len(self._body), reading, now)

    def _count_closing(self, now: float) -> Decoded | None:
        """Close the open count answer on its closing frame, found in the gaze level.

        A count's body is made of the same looks as its frames (a "2" is an LRLR), so the detector's
        markers cannot tell the closing frame; the code's rests can. The trace is screened for four
        looks left, right, left, right in a row at the sender's pace (:func:`~.level_frame_looks`); once
        the fourth began :data:`LEVEL_FRAME_WAIT_SEC` ago, the body's trace through them is read as a
        count ended by them and as a count going on
        (:func:`~dreamlink.detect.eye_hsmm.count_closing_test`). When that reading closes the count
        (:func:`_count_closed`), the message ends, read from it (:func:`~.count_of`).
        """
        if (
            not self._counts_by_level
            or self._open is None
            or now < self._level_looked + LEVEL_FRAME_EVERY_SEC
        ):
            return None
        half = 0.5 * self._full
        back = 4.0 * LEVEL_FRAME_LOOK_HOLDS[1] * self._hold + 1.5
        looks = self._new_level_looks(now, back, half, self._hold, self._body_t0)
        if looks is None:
            return self._count_read_through(now)
        frame = self._level_frame(looks, now, half)
        trace = self._trace_through(frame, self._body_t0, count=True) if self._same_pace(frame) else None
        test = None if trace is None else count_closing_test(trace[1], trace[0], self._hold)
        if test is None or not _count_closed(test):
            return self._count_read_through(now)
        if abs(test.frame()[0].start - looks[0][0]) > CLOSING_ALIGN_SEC:
            return self._count_read_through(now)
        return self._close_count(test, frame[-1].end, now)

    def _close_count(self, test: TraceReading, end: float, at: float) -> Decoded:
        """End the open count at ``end`` (s: its closing frame's fourth look), read from the closing
        reading ``test``; ``at`` (s) is the time of the decision."""
        res = self._count_read(test, end, at)
        self._closed_at(end)
        return res

    def _closed_at(self, end: float) -> None:
        """No message open any more: the last one ended at ``end`` (s), the end of its closing frame
        found in the gaze level (a frame after it looks for a missed opening only after it,
        :meth:`_missed_opening`; the detector's late sweeps of that frame are not the next body's)."""
        self._level_frame_end = self._last_close_end = end
        self._open = None
        self._body = []

    def _count_read(self, test: TraceReading, end: float, at: float) -> Decoded:
        """The open count read from its closing reading ``test`` (:func:`~.count_of`), or from the whole
        count read back from before its opening (:meth:`_count_whole`); it ends at ``end`` (s), read
        at ``at`` (s)."""
        assert self._open is not None
        onset = self._open[0].onset
        whole = self._count_whole(at, test.frame()[0].start)
        if whole is not None:
            onset, test = whole
        return replace(count_of(test.segments, onset, end, zero_ok=True), detected_at=at)

    def _lone_closing(self, now: float) -> Decoded | None:
        """A lone marker (nothing followed it) read as the closing frame of a count whose opening
        frame the detector missed: a "1" is one left-right pair between its frames, so its closing
        marker may be all the detector saw. The trace before the marker is read back as a whole count
        that the marker closes (:meth:`_count_whole`, at the gain of a count given up); ``None`` when
        it does not read as one, and the marker stays a lone marker."""
        assert self._open is not None
        frame_end = self._open[-1].end  # (the marker's fourth look starts)
        least = COUNT_WHOLE_GIVEN_UP_MIN_GAIN
        whole = self._count_whole(frame_end + LEVEL_FRAME_WAIT_SEC, self._open[0].end, least)
        if whole is None:
            return None
        res = whole_count(whole, now)
        if not res.ok:
            return None
        self._level_frame_end = self._last_close_end = frame_end
        return res

    def _count_whole(
        self, now: float, f1: float | None = None, least: float | None = None
    ) -> tuple[float, TraceReading] | None:
        """The open count read back from before its opening frame, when the detector opened it on the
        body's own looks (:func:`~dreamlink.detect.eye_hsmm.count_whole_test`): the onset (s) of the
        opening frame found and the reading, or ``None``.

        ``f1`` (s) is where the closing reading put the closing frame's first look (the whole reading
        must put it there too); without it (a count given up) the whole reading finds the frame.
        ``least`` is the gain the reading needs (by default :data:`COUNT_WHOLE_MIN_GAIN` with ``f1``,
        :data:`COUNT_WHOLE_GIVEN_UP_MIN_GAIN` without).
        """
        assert self._open is not None and self.levels is not None
        back = min(count_time_limit(self._hold), COUNT_WHOLE_BACK_SEC)
        t0 = max(self._last_close_end + 0.5, (self._open[-1].end if f1 is None else f1) - back)
        if f1 is not None:  # centred up to the frame, as the closing reading was
            trace = self._trace_into(t0, f1 - 0.15, now, count=True)
            t, x = (None, None) if trace is None else trace[:2]
        else:
            t, lv = self.levels(t0, now)
            _, found = count_body_blocks(t, lv, 0.5 * self._full, self._hold)
            x = None if found is None else found[1]
        whole = None if x is None else count_whole_test(x, t, self._hold)
        if least is None:
            least = COUNT_WHOLE_MIN_GAIN if f1 is not None else COUNT_WHOLE_GIVEN_UP_MIN_GAIN
        if whole is None or whole.gain < least or not _count_closed(whole):
            return None
        opening = whole.opening()
        if len(opening) != 4 or np.mean([seg.fit for seg in opening]) < WHOLE_MIN_FIT:
            return None
        if f1 is not None and abs(whole.frame()[0].start - f1) > CLOSING_ALIGN_SEC:
            return None
        onset = opening[0].start - 0.1  # (the first look starts when the first sweep ends)
        if onset > self._open[0].onset - COUNT_WHOLE_SHIFT_SEC:
            return None
        body = [seg for seg in whole.segments if seg.state not in ("junk", "o1", "o2", "o3", "o4")]
        return onset, TraceReading(body, whole.unit, whole.gain)

    def _count_read_through(self, now: float) -> Decoded | None:
        """Close the open count on a frame the level screen did not show, found by reading the whole
        trace so far (every :data:`COUNT_READ_EVERY_SEC`): when that reading closes the count
        (:func:`_count_closed`) with a frame whose fourth look began between
        :data:`LEVEL_FRAME_WAIT_SEC` and :data:`COUNT_READ_BACK_SEC` ago."""
        if now < self._count_read_at + COUNT_READ_EVERY_SEC:
            return None
        self._count_read_at = now
        test = self._count_trace_reading(now)
        if test is None or test.gain < COUNT_READ_MIN_GAIN:
            return self._count_whole_through(now)
        end = test.frame()[3].start
        if not now - COUNT_READ_BACK_SEC <= end <= now - LEVEL_FRAME_WAIT_SEC:
            return None
        return self._close_count(test, end, now)

    def _count_whole_through(self, now: float) -> Decoded | None:
        """Close the open count on a frame found by reading it back from before its opening, as a
        count given up is read (:meth:`_count_whole`, at the gain of a count given up), every
        :data:`COUNT_WHOLE_READ_EVERY_SEC`: when the detector opened the count on the body's own
        looks, the closing reading (from that opening) finds no frame, and the count waited for
        :func:`~.count_time_limit`. The frame's fourth look must have begun between
        :data:`LEVEL_FRAME_WAIT_SEC` and :data:`COUNT_WHOLE_READ_BACK_SEC` ago."""
        if now < self._count_whole_at + COUNT_WHOLE_READ_EVERY_SEC:
            return None
        self._count_whole_at = now
        whole = self._count_whole(now)
        if whole is None:
            return None
        end = whole[1].frame()[3].start
        if not now - COUNT_WHOLE_READ_BACK_SEC <= end <= now - LEVEL_FRAME_WAIT_SEC:
            return None
        res = whole_count(whole, now)
        if not res.ok:
            return None
        self._closed_at(end)
        return res

    def _count_trace_reading(self, now: float) -> TraceReading | None:
        """The open count's whole trace so far read as a count ended by a frame
        (:func:`~dreamlink.detect.eye_hsmm.count_closing_test`), if that reading closes it
        (:func:`_count_closed`)."""
        assert self._open is not None and self.levels is not None
        t, lv = self.levels(self._body_t0, now)
        _, found = count_body_blocks(t, lv, 0.5 * self._full, self._hold)
        test = None if found is None else count_closing_test(found[1], t, self._hold)
        return test if test is not None and _count_closed(test) else None

    def _count_looks_over(self, now: float) -> bool:
        """Whether the open count's trace has held no look (a side run of
        :data:`LEVEL_FRAME_LOOK_HOLDS` [0] holds, :func:`~.last_look_end`) for longer than a count
        goes without one (:func:`~.count_over_sec`): its closing frame was missed, and waiting for
        :func:`~.count_time_limit` only delays the answer. Looked at every
        :data:`COUNT_OVER_EVERY_SEC`."""
        assert self.levels is not None
        if now < self._count_over_at + COUNT_OVER_EVERY_SEC:
            return False
        self._count_over_at = now
        quiet = count_over_sec(self._hold)
        if now - self._body_t0 < quiet + 1.0:
            return False
        t, lv = self.levels(self._body_t0, now)
        end = last_look_end(t, lv, 0.5 * self._full, LEVEL_FRAME_LOOK_HOLDS[0] * self._hold)
        return end is not None and now - end > quiet

    def _count_given_up(self, now: float) -> Decoded:
        """A count message given up (no closing frame found as it ended): its closing frame may still
        be in the gaze level, found by reading the whole trace as a count ended by a frame
        (:func:`~dreamlink.detect.eye_hsmm.count_closing_test`, judged by :func:`_count_closed`), or
        by reading it from before the detector's opening (:meth:`_count_whole`: the detector opened
        the count on its body's looks); otherwise it is unreadable."""
        assert self._open is not None
        onset = self._open[0].onset
        test = self._count_trace_reading(now)
        if test is not None:
            return self._count_read(test, test.frame()[3].start, now)
        whole = self._count_whole(now)
        if whole is None:
            return unreadable("count", "no closing LRLR frame", onset, self._last_end, now)
        return whole_count(whole, now)

    def _level_opening(self, now: float) -> None:
        """Open a message tentatively on an opening frame the detector missed, found in the gaze level.

        With no message open, the trace is screened as for closing frames (:func:`~.level_frame_looks`,
        the hold taken from the looks, at the code's pace :func:`_code_pace`, each look a full swing
        from the last: ≥ :data:`~dreamlink.link.eye_code.FULL_SWING_MIN_FRAC` of the calibrated
        swing). Four such looks open a message *tentatively*, as a closing frame does: it is reported
        only if a closing frame follows and its body reads with the code's rests (:meth:`_finish`);
        otherwise it is dropped without an event.
        """
        if (
            not (self._by_reading and self.level_frames)
            or self.levels is None
            or now < self._level_looked + LEVEL_FRAME_EVERY_SEC
        ):
            return
        half = 0.5 * self.swing
        back = 4.0 * LEVEL_FRAME_LOOK_HOLDS[1] * CODE_GAP_RANGE_SEC[1] + 1.5
        looks = self._new_level_looks(now, back, half, None, self._last_close_end + 0.5)
        if looks is None:
            return
        swings = np.abs(np.diff([level for _, _, level in looks]))
        frame = self._level_frame(looks, now, half)
        if min(swings) < 2.0 * eye_code.FULL_SWING_MIN_FRAC or not _code_pace(frame):
            return
        self._level_frame_end = frame[-1].end
        self._start(frame, tentative=True)
        self._level_opened = True

    def _new_level_looks(
        self, now: float, back: float, half: float, hold: float | None, not_before: float
    ) -> list[tuple[float, float, float]] | None:
        """The looks of a frame the level screen shows in the last ``back`` s (:func:`~.level_frame_looks`,
        ``half`` V per half swing, the sender's ``hold`` if known), once its fourth look began
        :data:`LEVEL_FRAME_WAIT_SEC` ago; ``None`` for none, for one judged already (the screen's centre
        follows the trace, so its looks shift a little) and for one starting before ``not_before`` (s)."""
        assert self.levels is not None
        self._level_looked = now
        t, lv = self.levels(now - back, now)
        looks = level_frame_looks(t, lv, half, hold)
        if looks is None or now < looks[3][0] + LEVEL_FRAME_WAIT_SEC:
            return None
        if looks[0][0] <= max(self._level_tried + LEVEL_FRAME_MAX_CENTRE_SEC, not_before):
            return None
        self._level_tried = looks[0][0]
        return looks

    def _level_frame(self, looks: list[tuple[float, float, float]], now: float, half: float) -> list[Sweep]:
        """Four sweeps into the looks of a frame found in the gaze level (:meth:`_level_closing`,
        :meth:`_level_opening`):
        each ends where its look starts, its size is the level step into it (V, for ``half`` V per
        half swing)."""
        frame = []
        before = 0.0
        for start, _, level in looks:
            move = Movement(
                onset=start - 0.05, duration=0.05, amplitude=(level - before) * half,
                peak_velocity=0.0, flat_before=0.0, flat_after=0.0, common_ratio=None, detected_at=now,
            )
            frame.append(Sweep(move, confidence=0.0))
            before = level
        return frame

    def _finish(self, fn: Callable[..., Decoded], inner: list[Sweep], at: float) -> Decoded | None:
        """Decode the body of the open message; then re-open on its closing frame, tentatively.

        When the detector misses a message's closing frame, the message runs on into the next
        message and closes on that one's *opening* frame. So every closing frame is also kept as a
        tentative opening (re-synchronisation): if a body and another closing frame follow, that
        message is read too; a tentative message that finds no closing frame or does not read is
        dropped without an event (it was only a closing frame), and a frame that closed such a
        non-message opens a message for real.
        """
        assert self._open is not None
        revisable, self._revisable = self._revisable, None
        body_t0, body_t1, pace = self._body_t0, self._close_onset - 0.05, (self._hold, self._full)
        onset = self._open[0].onset if self._onset_override is None else self._onset_override
        self._onset_override = None
        end = self._body[-1].end
        if self._close_frame:  # (a frame found in the gaze level has no sweeps in the body)
            end = max(end, self._close_frame[-1].end)
        reading, self._close_reading = self._close_reading, None
        opens_next = False  # the closing frame is the next message's opening frame
        if fn is decode_eye_morse and reading is not None:
            res = path_text(reading.segments, onset, end, spoiled_ok=True)
            rests_ok = rests_like_code(reading.segments, self._hold, reading.unit)
            spoiled = res.ok and has_spoiled_element(reading.segments)
            if self._tentative and res.ok and not rests_ok:
                res = unreadable("eye_morse", "the rests around the body are not the code's", onset, end)
            elif not (rests_ok and res.ok and not spoiled) and self.levels is not None:
                # A rest before the frame far longer than the code's, or a body that does not read:
                # the message's own closing frame may have been missed (natural REMs spoiling its
                # sweeps), and this frame opens the next message. A closing frame found in the gaze
                # level ends the message there; its fit alone decides, as when a message is given
                # up. Against the body going on it would often lose: a spoiled frame reads as an
                # extra letter at little cost ("REDA"), while the code says the message ended
                # before so long a rest.
                t, lv = self.levels(body_t0, body_t1)
                framed, frame_end = self._own_closing(t, lv, onset, against_plain=False)
                if framed.ok:
                    res, end, opens_next = framed, frame_end, True
        elif fn is decode_eye_morse:
            res = decode_eye_morse(inner, self._hold, onset, end, full=self._full)
            if self.levels is not None:
                t, lv = self.levels(body_t0, body_t1)
                by_level = decode_eye_morse_path(
                    t, lv, 0.5 * self._full, self._hold, onset, end,
                    strict_rests=self._tentative, spoiled_ok=True, timed_edges=True,
                )
                if self._tentative:
                    res = by_level  # a re-opened message is read by the whole-body reading only
                else:
                    # A missed closing frame makes a message run on into the next one's opening
                    # frame: a frame found in the gaze level ends the message there.
                    framed, frame_end = self._own_closing(t, lv, onset)
                    if framed.ok:
                        by_level, end = framed, frame_end
                if not self._tentative and not by_level.ok:
                    by_level = decode_eye_morse_levels(t, lv, 0.5 * self._full, self._hold, onset, end)
                if by_level.ok or not res.ok:
                    res = by_level
        else:
            res = decode_count(inner, onset, end)
            if self.levels is not None:
                t, lv = self.levels(body_t0, body_t1)
                by_level = decode_count_path(t, lv, 0.5 * self._full, self._hold, onset, end)
                if not by_level.ok:
                    by_level = decode_count_levels(t, lv, 0.5 * self._full, self._hold, onset, end)
                if by_level.ok or not res.ok:
                    res = by_level
        if fn is decode_eye_morse and res.ok and not opens_next:
            text_end = body_t1
            if reading is not None and reading.frame():
                text_end = reading.frame()[0].start
            res = self._text_of_framed(res, body_t0, text_end)
            if reading is not None:
                res = replace(res, confidence=min(res.confidence, closing_sureness(reading.gain)))
        if fn is decode_eye_morse and self._tentative and not res.ok and self._close_frame:
            rescued = self._from_declined(self._close_frame) or self._word_since_opening(self._close_frame)
            if rescued is not None:
                res, onset, self._tentative = rescued, rescued.onset, False
        tentative, frame = self._tentative, self._close_frame
        if frame and not (tentative and not res.ok):  # a message is reported: it ends here
            self._last_close_end = end if opens_next else frame[-1].end
        self._open = None
        self._body = []
        self._close_frame = None
        reopened = False
        if fn is decode_eye_morse and frame is not None and len(frame) == 4 and self.levels is not None:
            # After a tentative "message" that does not read, its closing frame is taken as a
            # real opening (it was one: the frame before it was only a closing frame).
            reopened = not (tentative and not res.ok) and not opens_next
            self._start(frame, tentative=reopened)
        if tentative and not res.ok:
            return None
        out = Decoded(res.kind, res.ok, res.text, res.symbols, res.confidence, res.reason, onset, end, at)
        if revisable is not None:  # (also when a reading from its own opening found in the trace
            # made it no re-opening: :meth:`_reopen_if_misplaced`)
            out = self._revised(revisable, out, body_t1) or out
        if reopened and frame is not None and out.ok:
            if out.revises is not None and revisable is not None:  # (read from the earlier one's body)
                body_t0, pace = revisable.body_t0, revisable.pace
            self._revisable = _Revisable(out, body_t0, pace, frame[-1].end)
        return out

    def _text_of_framed(self, res: Decoded, t0: float, t1: float) -> Decoded:
        """``res``, a framed eye-Morse body, with its letter and word gaps read again from ``t0`` to
        ``t1`` (s) with each segment timed with the eye movement that bounds it
        (:data:`~dreamlink.detect.eye_hsmm.SWEEP_SHARE_SEC`).

        The new reading is taken only when it has the same elements: it then differs in where the
        letters and words break ("GOUP" → "GO UP", "RL" → "RED"); each element's confidence, and the
        message's, stay the framing reading's. Its elements alone are no better: with its timing a
        natural REM in the first or last rest reads as an element more often ("TYES", "IREAM"). The
        framing decisions are made without it (with it, frames that natural REMs and elements make
        inside a body closed messages early). On seeds 101–112 of
        ``benchmarks/signals.py`` (1714 characters) this took 113 character errors to 111; taking
        any new reading, to 122.
        """
        if self.levels is None:
            return res
        t, lv = self.levels(t0, t1)
        again = decode_eye_morse_path(
            t, lv, 0.5 * self._full, self._hold, res.onset, res.end,
            spoiled_ok=True, timed_edges=True, movement_share=True,
        )
        elements = [[(sym, sure) for sym, sure in read.symbols if sym in ".-"] for read in (res, again)]
        if not again.ok or [sym for sym, _ in elements[0]] != [sym for sym, _ in elements[1]]:
            return res
        # The elements, and how sure each is, stay the framing reading's: only the breaks are new.
        sure = iter(elements[0])
        symbols = tuple(next(sure) if sym in ".-" else (sym, c) for sym, c in again.symbols)
        return replace(again, symbols=symbols, confidence=res.confidence)

    def _revised(self, earlier: _Revisable, later: Decoded, body_end: float) -> Decoded | None:
        """The ``earlier`` message and the message ``later`` opened on its closing frame read again as
        one (:func:`~dreamlink.detect.eye_reading.decode_eye_morse_across`) when that frame was inside
        the body: the whole message, revising the earlier one; ``None`` when the frame was a frame.

        Natural REMs that fill an element's centre rest make four looks in a row of ".." or "-..", a
        frame the closing test takes when it comes (it cannot wait for what follows without making
        every message late). What follows then tells: a body right after a closing frame, without
        an opening frame, is no message of the code. The whole trace from the earlier message's body
        to ``body_end`` (s) is read as one body and taken when it explains the trace at least
        :data:`REVISE_MIN_GAIN` blocks better than the two messages do, with no more letters than
        the two: a frame made of elements splits letters ("LE" + "CID" for LUCID), while a real
        frame read as elements adds some (an opening frame the detector took for the closing
        frame of a message that ran on, read with the next message: "IAE" + "HI" read "IAE NHI").
        The revision has the earlier message's onset and says what that one read
        (:attr:`~.Decoded.revises`).
        """
        if self.levels is None or not later.ok or later.kind != "eye_morse":
            return None
        hold, full = earlier.pace
        t, lv = self.levels(earlier.body_t0, body_end)
        whole, gain = decode_eye_morse_across(
            t, lv, 0.5 * full, hold, earlier.frame_end, earlier.message.onset, later.end
        )
        letters = _letters(earlier.message.text) + _letters(later.text)
        if not whole.ok or gain < REVISE_MIN_GAIN or _letters(whole.text) > letters:
            return None
        first = earlier.message
        return replace(whole, detected_at=later.detected_at, revises=first.text if first.ok else "unreadable")


