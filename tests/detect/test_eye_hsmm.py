"""Whole-body reading of eye messages by explicit-duration Viterbi (synthetic traces and real REM EOG)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dreamlink.detect import Calibration, detect_array, eye_hsmm
from dreamlink.detect.eye_hsmm import (
    best_path,
    closing_test,
    count_closing_test,
    count_whole_test,
    whole_message,
    words_reading,
)
from dreamlink.detect.eye_messages import CLOSING_MIN_GAIN, WHOLE_MIN_FIT, WHOLE_MIN_GAIN, EyeMessageDecoder
from dreamlink.detect.eye_reading import (
    decode_count_path,
    decode_eye_morse_across,
    decode_eye_morse_framed,
    decode_eye_morse_path,
)
from dreamlink.link import eye_code
from dreamlink.sim.gestures import gaze_to_eog, render_gaze
from dreamlink.sources.base import SourceInfo
from tests.conftest import real_file

STEP = 1 / 32


def morse_trace(
    symbols: str,
    hold: float = 0.6,
    half: float = 300e-6,
    blips=(),
    letter_gap: float = eye_code.LETTER_GAP_UNITS,
    *,
    word_gap: float = eye_code.WORD_GAP_UNITS,
    element_gap: float = eye_code.ELEMENT_GAP_UNITS,
    move: float = 0.0,
    edges: tuple[float, float] = (2.0, 2.0),
):
    """Gaze level (V, + = left) of an eye-Morse body as the code keys it ('/' separates words; the
    gaps in units). Each look and inner rest lasts ``move`` s more (the eye movement that bounds it);
    ``edges`` are the rests before the first element and after the last one (s)."""
    u = eye_code.morse_unit(hold)
    parts = [(0.0, edges[0])]
    for w, word in enumerate(symbols.split(" / ")):
        if w:
            parts[-1] = (0.0, word_gap * u + move)
        for letter in word.split(" "):
            for s in letter:
                first = 1.0 if s == "." else -1.0
                parts += [(first, u + move), (-first, u + move), (0.0, element_gap * u + move)]
            parts[-1] = (0.0, letter_gap * u + move)
    parts[-1] = (0.0, edges[1])
    lv = np.concatenate([np.full(int(round(d / STEP)), g * half) for g, d in parts])
    t = (np.arange(lv.size) + 0.5) * STEP
    for at, size, dur in blips:  # natural REMs: brief excursions
        lv[(t >= at) & (t < at + dur)] += size
    return t, lv


def test_best_path_segments_follow_the_code():
    t, lv = morse_trace(". -")
    segs, unit, _ = best_path(lv / 300e-6, t, 0.6, "morse")
    states = [s.state for s in segs]
    assert states == ["c_first", "dot_l", "dot_r", "gap_l", "dash_r", "dash_l", "c_last"]
    assert 0.5 <= unit <= 0.75
    assert all(s.fit >= 0.85 for s in segs)


def test_morse_path_reads_words_and_ignores_natural_movements():
    # A natural look to the left just before a dash (right, then left) and brief REMs in the rests:
    # fixation by fixation the look and the dash's right side make a "dot"; the whole path does not.
    t, lv = morse_trace(
        "... --- ... / --", blips=[(1.0, 320e-6, 0.3), (9.4, 300e-6, 0.35), (14.0, -300e-6, 0.25)]
    )
    res = decode_eye_morse_path(t, lv, 300e-6, hold_sec=0.6)
    assert res.ok and res.text == "SOS M"
    assert all(0 < c <= 1 for s, c in res.symbols if s in ".-")


def test_morse_path_refuses_what_is_not_the_code():
    t, lv = morse_trace(".......")
    assert "not a Morse letter" in decode_eye_morse_path(t, lv, 300e-6, 0.6).reason
    t, lv = morse_trace(".-")
    # Half the swing across (left then right, each a quarter of the way): natural movements.
    assert "no full swing" in decode_eye_morse_path(t, lv / 2.5, 300e-6, 0.6).reason
    t = (np.arange(300) + 0.5) * STEP
    assert not decode_eye_morse_path(t, np.zeros(300), 300e-6, 0.6).ok  # rest only: no symbol
    # A "message" whose centre rest before the first element is far longer than the code's.
    t, lv = morse_trace(".")
    pad = np.zeros(int(12 / STEP))
    long_t = (np.arange(lv.size + pad.size) + 0.5) * STEP
    long_lv = np.concatenate([pad, lv])
    assert decode_eye_morse_path(long_t, long_lv, 300e-6, 0.6).ok
    assert "rests" in decode_eye_morse_path(long_t, long_lv, 300e-6, 0.6, strict_rests=True).reason


def test_reading_across_a_frame_tells_a_frame_inside_a_body_from_a_real_one():
    # One body "SIT" that some frame closed early (the split put after the S's second dot): read
    # whole it is the code, and far better than as a message ending in a frame plus another body.
    t, lv = morse_trace("... .. -")
    u = eye_code.morse_unit(0.6)
    whole, gain = decode_eye_morse_across(t, lv, 300e-6, 0.6, frame_end=2.0 + 3 * u)
    assert whole.ok and whole.text == "SIT" and gain > 10.0
    # "E", a real closing frame (four looks of one hold in a row), the code's rest, then "T": the
    # frame's looks read as elements explain the trace worse than the frame does.
    _, e_lv = morse_trace(".")
    looks = np.concatenate([np.full(int(round(0.6 / STEP)), g * 300e-6) for g in (1, -1, 1, -1)])
    rest = np.zeros(int(round(2.6 / STEP)))
    _, t_lv = morse_trace("-")
    letter_gap = np.zeros(int(round(5 * u / STEP)))
    lv = np.concatenate([e_lv[: -int(round(2.0 / STEP))], letter_gap, looks, rest, t_lv])
    t = (np.arange(lv.size) + 0.5) * STEP
    frame_end = e_lv.size * STEP - 2.0 + 5 * u + 3 * 0.6
    whole, gain = decode_eye_morse_across(t, lv, 300e-6, 0.6, frame_end=frame_end)
    assert gain < 0.0  # (read whole: "EE T")


def test_morse_path_spells_letters_only(monkeypatch):
    # A hurried sender: 3 units between "I" and "M", nearer the 2 inside a letter than the 5
    # between letters. Element by element that is "..--", no letter; the letters read "IM".
    t, lv = morse_trace(".. --", letter_gap=3.0)
    assert decode_eye_morse_path(t, lv, 300e-6, 0.6).text == "IM"
    monkeypatch.setattr(eye_hsmm, "LETTER_GRAMMAR", False)
    assert "'..--' is not a Morse letter" in decode_eye_morse_path(t, lv, 300e-6, 0.6).reason
    # Keyed cleanly, a code that is no letter stays unreadable with the letters too (the letters'
    # reading would cost far more than LETTER_MAX_EXTRA): not guessed as "5E".
    monkeypatch.setattr(eye_hsmm, "LETTER_GRAMMAR", True)
    t, lv = morse_trace(".......")
    assert "'.......' is not a Morse letter" in decode_eye_morse_path(t, lv, 300e-6, 0.6).reason


def test_morse_path_of_a_whole_body_times_its_edge_rests():
    # "SOS", then natural movements in the rest before the closing frame: a look left and one right
    # (0.9 half swings each, 0.4 s) two units after the last element, as a dot would come.
    t, lv = morse_trace("... --- ...")
    u = eye_code.morse_unit(0.6)
    last_end = t[np.flatnonzero(lv)[-1]]
    at = last_end + 2 * u
    lv[(t >= at) & (t < at + 0.4)] += 0.9 * 300e-6
    lv[(t >= at + 0.4) & (t < at + 0.8)] -= 0.9 * 300e-6
    # Read as a window cut anywhere, the rest may end at once: the movements are a fifth dot ("H").
    assert decode_eye_morse_path(t, lv, 300e-6, 0.6).text == "SOH"
    # Read as a whole body, the rest before the closing frame lasts about the code's 5 units.
    assert decode_eye_morse_path(t, lv, 300e-6, 0.6, timed_edges=True).text == "SOS"
    # A sender who rests far longer before the first element or the closing frame is still read.
    pad = np.zeros(int(10 / STEP))
    long_lv = np.concatenate([pad, morse_trace("... --- ...")[1], pad])
    long_t = (np.arange(long_lv.size) + 0.5) * STEP
    assert decode_eye_morse_path(long_t, long_lv, 300e-6, 0.6, timed_edges=True).text == "SOS"


def moved_trace(symbols: str, hold: float, word_gap: float, gap: float):
    """A framed eye-Morse body as a sender keys it (:func:`morse_trace`): each look and rest lasts its
    keyed time plus one eye movement (SWEEP_SHARE_SEC), the word gap ``word_gap`` times the code's,
    the letter and element gaps ``gap`` times (the code allows ±20 %), the edge rests the code's."""
    u = eye_code.morse_unit(hold)
    return morse_trace(
        symbols, hold, letter_gap=eye_code.LETTER_GAP_UNITS * gap,
        word_gap=eye_code.WORD_GAP_UNITS * word_gap, element_gap=eye_code.ELEMENT_GAP_UNITS * gap,
        move=eye_hsmm.SWEEP_SHARE_SEC,
        edges=(eye_code.FRAME_REST_SEC, eye_code.closing_rest_sec(u)),
    )


@pytest.mark.parametrize("hold", [0.3, 0.6, 1.1])
def test_morse_path_times_segments_with_their_eye_movements(hold):
    # "GO UP" with its word gap keyed short (0.8) and the other gaps long (1.2), as the code allows:
    # with each segment's eye movement left out, the unit search takes the sender for slower than
    # they are and the word gap reads as a letter gap.
    t, lv = moved_trace("--. --- / ..- .--.", hold, word_gap=0.8, gap=1.2)
    assert decode_eye_morse_path(t, lv, 300e-6, hold, timed_edges=True).text == "GOUP"
    timed = decode_eye_morse_path(t, lv, 300e-6, hold, timed_edges=True, movement_share=True)
    assert timed.text == "GO UP"
    # Keyed at the code's gaps, both read it.
    t, lv = moved_trace("--. --- / ..- .--.", hold, word_gap=1.0, gap=1.0)
    assert decode_eye_morse_path(t, lv, 300e-6, hold, timed_edges=True).text == "GO UP"


def test_decoder_reads_a_framed_body_again_for_its_gaps_only():
    # The decoder frames a message without the eye movements' share, then reads its gaps again
    # with it, and takes that reading only when its elements are the same.
    hold = 0.6
    t, lv = moved_trace("--. --- / ..- .--.", hold, word_gap=0.8, gap=1.2)

    def levels(t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        keep = (t >= t0) & (t <= t1)
        return t[keep], lv[keep]

    dec = EyeMessageDecoder(2 * 300e-6, mode="morse", levels=levels)  # (a full swing: two half swings)
    dec._hold = hold  # (the pace of the frame that opened it)
    framed = decode_eye_morse_path(t, lv, 300e-6, hold, 10.0, 40.0, timed_edges=True)
    assert framed.text == "GOUP"
    again = dec._text_of_framed(framed, float(t[0]), float(t[-1]))
    assert (again.text, again.onset, again.end) == ("GO UP", 10.0, 40.0)
    # Only the breaks are new: the elements keep how sure the framing reading was of them.
    unsure = replace(framed, symbols=tuple((sym, 0.4) for sym, _ in framed.symbols), confidence=0.4)
    again = dec._text_of_framed(unsure, float(t[0]), float(t[-1]))
    assert again.text == "GO UP" and again.confidence == 0.4
    assert {sure for sym, sure in again.symbols if sym in ".-"} == {0.4}
    # A reading with other elements than the body's is kept as it was: only the gaps are re-timed.
    other = replace(framed, text="GOUA", symbols=framed.symbols[:-2])
    assert dec._text_of_framed(other, float(t[0]), float(t[-1])) is other


def _spoil(t: np.ndarray, lv: np.ndarray, start: float, unit: float) -> None:
    """A natural REM spoils the element keyed from ``start`` (s): its first look reaches 0.7 of the
    half swing, its second 0.2 (0.9 half swings across, below HSMM_MIN_SWING)."""
    lv[(t >= start) & (t < start + unit)] *= 0.7
    lv[(t >= start + unit) & (t < start + 2 * unit)] *= 0.2


def test_morse_path_reads_one_spoiled_element_between_frames_only():
    # "SOS" whose last S's second dot is spoiled (each letter of SOS takes 15 units with its gap).
    t, lv = morse_trace("... --- ...")
    u = eye_code.morse_unit(0.6)
    _spoil(t, lv, 2.0 + 34 * u, u)
    assert "no full swing across" in decode_eye_morse_path(t, lv, 300e-6, 0.6).reason
    res = decode_eye_morse_path(t, lv, 300e-6, 0.6, spoiled_ok=True)
    assert res.ok and res.text == "SOS"
    sure = [c for sym, c in res.symbols if sym in ".-"]
    assert sure[7] < 0.8 * min(sure[:7] + sure[8:])  # the spoiled element is the least sure
    # Natural movements alone (an element that does not swing fully) are never a message.
    t, lv = morse_trace(". .")
    _spoil(t, lv, 2.0, u)
    _spoil(t, lv, 2.0 + 7 * u, u)
    assert "no full swing across" in decode_eye_morse_path(t, lv, 300e-6, 0.6, spoiled_ok=True).reason


def test_closing_frame_found_in_the_gaze_level():
    # The sweep detector missed the closing LRLR: the level still shows it (left, right, left,
    # right, one hold each) after the body's last rest, then the eyes rest at centre.
    hold, half = 0.6, 300e-6
    t, lv = morse_trace("... ---", hold=hold, half=half, blips=[(3.0, -300e-6, 0.25)])
    frame = np.concatenate([np.full(int(round(hold / STEP)), g * half) for g in (1, -1, 1, -1)])
    lv = np.concatenate([lv, np.full(int(round(1.5 / STEP)), 0.0), frame, np.zeros(int(round(8 / STEP)))])
    t = (np.arange(lv.size) + 0.5) * STEP
    res, frame_end = decode_eye_morse_framed(t, lv, half, hold)
    assert res.ok and res.text == "SO"
    assert frame_end == pytest.approx(t[-1] - 8, abs=0.2)
    # Without a frame in the trace there is none to find.
    t, lv = morse_trace("... ---", hold=hold, half=half)
    lv = np.concatenate([lv, np.zeros(256)])
    t = (np.arange(lv.size) + 0.5) * STEP
    res, _ = decode_eye_morse_framed(t, lv, half, hold, against_plain=False)
    assert not res.ok and "no closing frame" in res.reason


@pytest.mark.parametrize("n", [1, 3, 5])
def test_count_path_counts_right_fixations(n):
    hold = 0.5
    parts = [(0.0, 1.5)] + [(1.0, hold), (-1.0, hold)] * n + [(0.0, 1.5)]
    lv = np.concatenate([np.full(int(round(d / STEP)), g * 300e-6) for g, d in parts])
    t = (np.arange(lv.size) + 0.5) * STEP
    lv[(t > 0.4) & (t < 0.6)] -= 300e-6  # a brief natural look to the right in the rest
    res = decode_count_path(t, lv, 300e-6, hold_sec=hold)
    assert res.ok and res.text == str(n) and len(res.symbols) == n


def test_eye_morse_in_real_rem_eog(shared_data):
    """Eye-Morse keyed into real REM EOG (natural REMs underneath) is read back by the live pipeline."""
    d = np.load(real_file(shared_data, "yasa/eog_rem_256Hz_first600s.npz"))
    fs = float(d["sf"])
    data = np.asarray(d["data"], float)[:, : int(200 * fs)] * 1e-6
    rng = np.random.default_rng(3)
    a_v = 200e-6
    texts = ["SOS", "HI", "OK"]
    for i, text in enumerate(texts):
        trace = render_gaze(eye_code.eye_morse(text, 0.6), fs, rng=rng, jitter=0.15, gain=0.8)
        e1, e2 = gaze_to_eog(trace.gaze, a_v)
        i0 = int((10 + 62 * i) * fs)
        data[0, i0 : i0 + e1.size] += e1
        data[1, i0 : i0 + e2.size] += e2
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), fs)
    res = detect_array(
        data, info, "E1", "E2", calibration=Calibration(4 * a_v), eye_code="morse", rem_events=False
    )
    got = [e.value for e in res.events if e.trial_type == "message"]
    assert got == texts


def _with_frame(t: np.ndarray, lv: np.ndarray, hold: float, half: float = 300e-6, looks: int = 4):
    """A body trace (ending in its 2-s rest) followed by the first ``looks`` looks of a closing
    LRLR frame, the last one cut short (it is still in progress when the frame is judged)."""
    gaze = [1.0, -1.0, 1.0, -1.0][:looks]
    n = int(round(hold / STEP))
    parts = [np.full(n, g * half) for g in gaze]
    parts[-1] = parts[-1][: max(2, n // 3)]
    x = np.concatenate([lv, np.full(int(round(1.0 / STEP)), 0.0), *parts])
    return (np.arange(x.size) + 0.5) * STEP, x


def count_trace(n: int, hold: float, upto_looks: int | None = None, half: float = 300e-6):
    """Gaze level (V, + = left) of a count answer from its body's start (0.3 s after the opening
    frame's last sweep) through ``upto_looks`` looks after the first rest (default: the body and all
    four closing looks), the last look cut 0.4 s after it starts, as the decoder judges it."""
    parts = [(-1.0, hold - 0.3), (0.0, hold + eye_code.COUNT_FIRST_REST_SEC)]
    looks = [(1.0, hold), (-1.0, hold)] * n
    looks_after = looks + [(0.0, eye_code.COUNT_LAST_REST_SEC)] + [(1.0, hold), (-1.0, hold)] * 2
    side = [g for g in looks_after if g[0] != 0.0]
    k = len(side) if upto_looks is None else upto_looks
    kept, seen = [], 0
    for g, d in looks_after:
        if g != 0.0:
            seen += 1
            if seen == k:
                kept.append((g, 0.4))
                break
        kept.append((g, d))
    lv = np.concatenate([np.full(int(round(d / STEP)), g * half) for g, d in parts + kept])
    t = (np.arange(lv.size) + 0.5) * STEP
    return t, lv


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_count_closing_test_finds_the_frame_by_the_rests(n):
    # A count's body is made of the frame's own looks (a "2" is an LRLR): the closing frame is the
    # four looks after the code's rest before it, and the reading counts the looks before that rest.
    hold = 0.7
    t, lv = count_trace(n, hold)
    closed = count_closing_test(lv / 300e-6, t, hold)
    assert closed is not None and closed.gain > 5
    assert [s.state for s in closed.frame()] == ["f1", "f2", "f3", "f4"]
    assert sum(s.state == "right" for s in closed.segments) == n
    if n >= 2:
        # The body's own first four looks, after the first rest only: a count going on.
        t2, lv2 = count_trace(n, hold, upto_looks=4)
        inside = count_closing_test(lv2 / 300e-6, t2, hold)
        assert inside is None or inside.gain < 0


@pytest.mark.parametrize("n", [1, 3])
def test_count_whole_test_finds_the_opening_frame_before_the_body(n):
    # Natural movements (two brief blips), then the opening frame's four looks, then the count: read
    # back from its closing frame, the opening is found where it is and the count is the whole body's.
    hold, half = 0.7, 300e-6
    t_body, lv_body = count_trace(n, hold)
    opening = [(1.0, hold), (-1.0, hold), (1.0, hold), (-1.0, 0.3)]  # the last look goes on in the body
    before = [(0.0, 3.0), (0.6, 0.2), (0.0, 2.0), (-0.5, 0.15), (0.0, 3.0)] + opening
    lv = np.concatenate([np.full(int(round(d / STEP)), g * half) for g, d in before] + [lv_body])
    t = (np.arange(lv.size) + 0.5) * STEP
    whole = count_whole_test(lv / half, t, hold)
    assert whole is not None and whole.gain > 10
    assert abs(whole.opening()[0].start - 8.35) < 0.2  # (3 + 0.2 + 2 + 0.15 + 3 s of rest and blips)
    assert [s.state for s in whole.frame()] == ["f1", "f2", "f3", "f4"]
    assert sum(s.state == "right" for s in whole.segments) == n
    # Without the opening frame (the body starts after a plain rest), it explains nothing.
    plain = np.concatenate([np.zeros(int(round(8.0 / STEP))), lv_body])
    tp = (np.arange(plain.size) + 0.5) * STEP
    bare = count_whole_test(plain / half, tp, hold)
    assert bare is None or bare.gain < 1


def test_closing_test_tells_a_frame_from_elements():
    # A real closing frame: four looks in a row after the body's rest.
    hold = 0.6
    t, lv = morse_trace(".. / .-", hold=hold)
    tf, xf = _with_frame(t, lv, hold)
    framed = closing_test(xf / 300e-6, tf, eye_code.morse_unit(hold), hold)
    assert framed is not None and framed.gain > CLOSING_MIN_GAIN + 10
    assert [s.state for s in framed.frame()] == ["f1", "f2", "f3", "f4"]
    assert abs(framed.frame()[0].start - t[-1] - 1.0) < 0.2  # the first look starts after the rest
    # Elements that a sweep detector can take for a frame (dot, dash: L R _ R L) have a centre rest
    # between their looks: read as a frame they cost far more than as a body going on.
    t2, lv2 = morse_trace(". -", hold=hold)
    cut = t2 < t2[-1] - 1.5  # the body still going on: no rest and no frame after the dash
    inside = closing_test(lv2[cut] / 300e-6, t2[cut], eye_code.morse_unit(hold), hold)
    assert inside is None or inside.gain < CLOSING_MIN_GAIN


def test_decoder_reads_the_message_closed_by_the_frame_only():
    # End to end on the detector: the closing frame is taken (message read once, right text) and no
    # frame made of the elements ends the message early.
    fs = 256.0
    rng = np.random.default_rng(5)
    msgs = []
    for text in ("AN", "TEA"):
        trace = render_gaze(
            [eye_code.Gesture(0, 2.0)] + eye_code.eye_morse(text, 0.5) + [eye_code.Gesture(0, 6.0)],
            fs, rng=rng, jitter=0.1, gain=0.9,
        )
        e1, e2 = gaze_to_eog(trace.gaze, 200e-6)
        noise = rng.normal(0, 5e-6, (2, e1.size))
        res = detect_array(
            np.vstack([e1, e2]) + noise, SourceInfo(("E1", "E2"), ("eog", "eog"), fs), "E1", "E2",
            calibration=Calibration(800e-6), eye_code="morse", rem_events=False,
        )
        msgs += [e.value for e in res.events if e.trial_type == "message"]
    assert msgs == ["AN", "TEA"]


def test_whole_message_finds_an_opening_frame_the_detector_missed():
    # Rest, an opening frame's four looks, the body of "TE", a closing frame in progress: read
    # backwards from the closing frame, the opening looks are found where they are, and fit.
    hold, half = 0.6, 300e-6
    n = int(round(hold / STEP))
    opening = np.concatenate([np.full(n, g * half) for g in (1.0, -1.0, 1.0, -1.0)])
    t, body = morse_trace("- .", hold=hold)
    lv = np.concatenate([np.zeros(int(3.0 / STEP)), opening, body])
    t_all, x = _with_frame((np.arange(lv.size) + 0.5) * STEP, lv, hold)
    whole = whole_message(x / half, t_all, eye_code.morse_unit(hold), hold)
    assert whole is not None and whole.gain >= WHOLE_MIN_GAIN
    looks = whole.opening()
    assert [s.state for s in looks] == ["o1", "o2", "o3", "o4"]
    assert abs(looks[0].start - 3.0) < 0.2 and min(s.fit for s in looks) >= 0.85
    # Without the opening frame (rest instead), no reading puts four fitting looks there.
    lv_rest = np.concatenate([np.zeros(int(3.0 / STEP) + opening.size), body])
    t_rest, x_rest = _with_frame((np.arange(lv_rest.size) + 0.5) * STEP, lv_rest, hold)
    none = whole_message(x_rest / half, t_rest, eye_code.morse_unit(hold), hold)
    assert none is None or np.mean([s.fit for s in none.opening()]) < WHOLE_MIN_FIT


def test_decoder_reads_a_message_whose_opening_frame_the_detector_missed():
    # The opening frame's looks are reached by slow glides, not saccades: the sweep detector does not
    # report that frame, so the closing frame comes while no message is open. The gaze level still
    # holds the opening frame: the message is read from it, with its onset there.
    fs, hold, a_v = 256.0, 1.0, 200e-6
    rng = np.random.default_rng(11)
    glide = int(0.45 * fs)
    gaze = [np.zeros(int(4.0 * fs))]
    level = 0.0
    for target in (-1.0, 1.0, -1.0, 1.0, 0.0):  # gaze units: −1 left … +1 right
        gaze += [np.linspace(level, target, glide), np.full(int(hold * fs), target)]
        level = target
    after = eye_code.eye_morse("TE", hold)[5:] + [eye_code.Gesture(0, 6.0)]  # body and closing frame
    rest = render_gaze(after, fs, rng=rng, jitter=0.1)
    g = np.concatenate(gaze + [rest.gaze])
    e1, e2 = gaze_to_eog(g, a_v)
    noise = rng.normal(0, 5e-6, (2, e1.size))
    res = detect_array(
        np.vstack([e1, e2]) + noise, SourceInfo(("E1", "E2"), ("eog", "eog"), fs), "E1", "E2",
        calibration=Calibration(4 * a_v), eye_code="morse", rem_events=False,
    )
    msgs = [e for e in res.events if e.trial_type == "message"]
    assert [m.value for m in msgs] == ["TE"]
    assert abs(msgs[0].onset - 4.0) < 1.0  # where the opening frame's first glide starts


def test_closing_test_reads_no_element_in_the_first_rest():
    # Natural REMs in the rest after the opening frame look like a dot (left, then right, 0.8 of a
    # half swing). The code times that rest (2 s), so the reading keeps it a rest: "T E", not "A E".
    hold = 0.6
    natural = [(0.3, 0.8 * 300e-6, 0.55), (0.85, -0.8 * 300e-6, 0.55)]
    t, lv = morse_trace("- .", hold=hold, blips=natural)
    tf, xf = _with_frame(t, lv, hold)
    read = closing_test(xf / 300e-6, tf, eye_code.morse_unit(hold), hold)
    assert read is not None and read.gain > CLOSING_MIN_GAIN
    elements = [s.state for s in read.segments if s.state in ("dot_r", "dash_l")]
    assert elements == ["dash_l", "dot_r"]
    assert read.segments[0].state == "c_first" and read.segments[0].end >= 1.9  # the whole 2-s rest


def _whole_trace(symbols: str, hold: float = 0.6, half: float = 300e-6):
    """Rest, an opening frame's four looks, an eye-Morse body keyed as ``symbols``, a closing frame."""
    n = int(round(hold / STEP))
    opening = np.concatenate([np.full(n, g * half) for g in (1.0, -1.0, 1.0, -1.0)])
    _, body = morse_trace(symbols, hold=hold)
    lv = np.concatenate([np.zeros(int(1.0 / STEP)), opening, body])
    t, x = _with_frame((np.arange(lv.size) + 0.5) * STEP, lv, hold, looks=4)
    return t, x / half


def test_words_reading_puts_the_keyed_word_first():
    hold = 0.6
    t, x = _whole_trace("-. ---", hold)  # NO
    readings = words_reading(x, t, eye_code.morse_unit(hold), hold, ("YES", "NO", "OK", "SOS"))
    assert [r.word for r in readings][0] == "NO" and len(readings) == 4
    costs = [r.cost for r in readings]
    assert costs == sorted(costs) and costs[1] - costs[0] > 8.0
    states = [s.state for s in readings[0].segments]
    assert states[:6] == ["junk", "o1", "o2", "o3", "o4", "c_first"]
    elements = [s for s in states if s in ("dot_r", "dash_l")]
    assert elements == ["dash_l", "dot_r", "dash_l", "dash_l", "dash_l"]
    assert "f1" in states and "gap_l" in states


def test_words_reading_takes_a_hesitant_letter_for_the_word_it_belongs_to():
    # "OK" from a sender who pauses after the O's first dash as long as between letters: keyed,
    # that is "TMK", and the free reading says so; among the known words, it is "OK".
    hold = 0.6
    t, x = _whole_trace("- -- -.-", hold)
    free = decode_eye_morse_path(t, x * 300e-6, 300e-6, hold)
    assert free.ok and free.text != "OK"
    readings = words_reading(x, t, eye_code.morse_unit(hold), hold, ("YES", "NO", "OK"))
    assert readings[0].word == "OK"
