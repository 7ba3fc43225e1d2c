"""Reading eye codes back from sweeps and the gaze level: messages with per-symbol confidence, or an
explicit 'unreadable' with a reason."""

from __future__ import annotations

import numpy as np
import pytest

from dreamlink.detect import eye_reading
from dreamlink.detect.eye_hsmm import Segment
from dreamlink.detect.eye_reading import (
    decode_count,
    decode_eye_morse,
    decode_eye_morse_levels,
    level_frame_looks,
)
from dreamlink.detect.eye_sweeps import Movement, Sweep
from dreamlink.link import eye_code
from tests.detect import synth


def sweep(onset: float, direction: str, size: float = 300e-6, dur: float = 0.1, conf: float = 0.9) -> Sweep:
    amp = size if direction == "L" else -size
    return Sweep(Movement(onset, dur, amp, 5e-3, 0.05, 0.05, 0.01, onset + dur + 0.15), conf)


def excursions(symbols: str, t0: float = 0.0, hold: float = 0.5, full: float = 600e-6) -> list[Sweep]:
    """Sweeps of an eye-Morse body as the code keys it (unit = ``hold`` ≥ 0.5 s): per element out
    (half), across (full), back (half); centre rests of 2 units between elements, 5 between letters."""
    out, t = [], t0
    for letter in symbols.split(" "):
        for s in letter:
            d = "L" if s == "." else "R"
            o = "R" if d == "L" else "L"
            out += [sweep(t, d, full / 2), sweep(t + 0.1 + hold, o, full)]
            out.append(sweep(t + 2 * (0.1 + hold), d, full / 2))
            t += 2 * (0.1 + hold) + 0.1 + 2 * hold
        t += 3 * hold
    return out


def test_count_body_decodes_with_symbol_confidence():
    body = [
        sweep(0, "L", 300e-6),
        sweep(1, "R", 600e-6),
        sweep(2, "L", 600e-6),
        sweep(3, "R", 600e-6),
        sweep(4, "L", 300e-6),
    ]
    res = decode_count(body)
    assert res.ok and res.text == "2" and len(res.symbols) == 2
    assert all(0 < c <= 1 for _, c in res.symbols)


@pytest.mark.parametrize(
    ("dirs", "reason"),
    [("LRRL", "in a row"), ("RLR", "start with a look to the left"), ("LRLR", "return to centre")],
)
def test_count_rejects_malformed(dirs, reason):
    res = decode_count([sweep(i, d, 600e-6 if 0 < i < len(dirs) - 1 else 300e-6) for i, d in enumerate(dirs)])
    assert not res.ok and res.text is None and reason in res.reason
    assert res.to_event().value == "unreadable" and reason in res.to_event().data["reason"]


def test_eye_morse_tolerates_a_small_natural_movement():
    body = excursions("... --- ...")
    body.insert(1, sweep(body[0].end + 0.2, "R", 80e-6))  # a small natural REM during a fixation
    body.insert(5, sweep(body[4].end + 0.3, "L", 250e-6))  # a natural look from centre and back...
    body.insert(6, sweep(body[5].end + 0.3, "R", 250e-6))  # ...is no symbol (no full swing)
    res = decode_eye_morse(body, hold_sec=0.5)
    assert res.ok and res.text == "SOS"
    assert min(c for s, c in res.symbols if s in ".-") < 0.9  # ...at a cost in confidence


def test_eye_morse_body_decodes_letters_and_words():
    res = decode_eye_morse(excursions("... --- ..."), hold_sec=0.5)
    assert res.ok and res.text == "SOS"
    assert "".join(s for s, _ in res.symbols) == "... --- ..."
    # The symbol is the full swing's direction: rightward = dot, leftward = dash.
    assert [s.direction for s in excursions(".-")] == ["L", "R", "L", "R", "L", "R"]
    assert decode_eye_morse(excursions(".- -..."), hold_sec=0.5).text == "AB"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([], "no symbols"),
        ([sweep(0, "L", 300e-6), sweep(0.6, "R", 300e-6)], "no symbols"),  # half swings only
        (excursions(".")[:2], "did not return"),
        (excursions(".")[1:], "did not start"),
        (excursions("......."), "not a Morse letter"),
    ],
)
def test_eye_morse_rejects_malformed(body, reason):
    res = decode_eye_morse(body, hold_sec=0.5, full=600e-6)
    assert not res.ok and reason in res.reason


def _level_trace(symbols: str, hold: float = 0.6, half: float = 300e-6, drift: float = 0.0, blips=()):
    """A gaze-level trace (V) of an eye-Morse body as the code keys it, 32 Hz blocks."""
    u = eye_code.morse_unit(hold)
    side = eye_code.SIDE_UNITS * u
    parts = [(0.0, 2.0)]
    for letter in symbols.split(" "):
        for s in letter:
            first = 1.0 if s == "." else -1.0  # + = leftward gaze
            parts += [(first, side), (-first, side), (0.0, eye_code.ELEMENT_GAP_UNITS * u)]
        parts[-1] = (0.0, eye_code.LETTER_GAP_UNITS * u)
    parts[-1] = (0.0, 2.0)
    lv = np.concatenate([np.full(int(round(d * 32)), g * half) for g, d in parts])
    t = (np.arange(lv.size) + 0.5) / 32
    for at, size, dur in blips:  # natural REMs: brief excursions
        lv[(t >= at) & (t < at + dur)] += size
    return t, lv + drift * t


def test_eye_morse_from_levels_reads_letters_and_ignores_natural_movements():
    # Brief natural REMs, and a long look to one side and back during a centre rest (8.5 s).
    t, lv = _level_trace("... --- ...", blips=[(1.0, 300e-6, 0.3), (6.0, -280e-6, 0.25), (8.6, 330e-6, 0.9)])
    res = decode_eye_morse_levels(t, lv, 300e-6, hold_sec=0.6)
    assert res.ok and res.text == "SOS"
    assert all(0 < c <= 1 for s, c in res.symbols if s in ".-")


def test_eye_morse_from_levels_tolerates_drift():
    t, lv = _level_trace(".. -- ..", drift=8e-6)  # 8 µV/s: the centre moves ~1/3 half swing
    res = decode_eye_morse_levels(t, lv, 300e-6, hold_sec=0.6)
    assert res.ok and res.text == "IMI"


def test_eye_morse_from_levels_refuses_what_is_not_the_code():
    t, lv = _level_trace(".......")
    assert "not a Morse letter" in decode_eye_morse_levels(t, lv, 300e-6, 0.6).reason
    t, lv = _level_trace("")
    assert "no symbols" in decode_eye_morse_levels(t, lv, 300e-6, 0.6).reason
    t = (np.arange(300) + 0.5) / 32
    # Left, back to centre, right: two natural looks, no full swing straight across.
    lv = np.concatenate([np.zeros(64), np.full(30, 3e-4), np.zeros(40), np.full(30, -3e-4), np.zeros(136)])
    assert "no symbols" in decode_eye_morse_levels(t, lv, 300e-6, 0.6).reason
    # Left then right straight across, but only a half swing in all: natural movements, no symbol.
    lv = np.concatenate([np.zeros(64), np.full(30, 160e-6), np.full(30, -160e-6), np.zeros(176)])
    assert "no symbols" in decode_eye_morse_levels(t, lv, 300e-6, 0.6).reason
    lv = np.concatenate([np.zeros(64), np.full(180, 300e-6), np.zeros(56)])  # one side, held 5.6 s
    assert "no symbols" in decode_eye_morse_levels(t, lv, 300e-6, 0.6).reason


def _keyed_level(gestures: list[eye_code.Gesture]) -> tuple[np.ndarray, np.ndarray]:
    times, level, _ = synth.keyed_gaze(gestures)
    return times, level


def test_the_level_screen_finds_a_frame_s_four_looks_in_a_row():
    hold = 0.6
    times, level = _keyed_level([*synth.centre(3), *eye_code.lrlr(hold), *synth.centre(1)])
    looks = level_frame_looks(times, level, synth.KEY_HALF, hold)
    assert looks is not None
    assert [round(lv) for _, _, lv in looks] == [1, -1, 1, -1]
    assert looks[0][0] == pytest.approx(3.0, abs=0.06)
    assert all(end - start == pytest.approx(hold, abs=0.11) for start, end, _ in looks)


def test_the_level_screen_joins_a_look_split_by_a_blip_and_passes_no_elements():
    hold = 0.6
    gesture = eye_code.Gesture
    # The third look pulled towards centre for 0.2 s by a natural REM: still one look.
    split = [gesture(-1, hold), gesture(1, hold), gesture(-1, 0.25), gesture(0, 0.2), gesture(-1, 0.25),
             gesture(1, hold)]
    times, level = _keyed_level([*synth.centre(3), *split, *synth.centre(1)])
    looks = level_frame_looks(times, level, synth.KEY_HALF, hold)
    assert looks is not None and len(looks) == 4
    assert looks[2][1] - looks[2][0] == pytest.approx(0.7, abs=0.11)
    # "I" (two dots: left, right, rest, left, right): the rest between the elements is no saccade.
    unit = eye_code.morse_unit(hold)
    dot = [gesture(-1, unit), gesture(1, unit)]
    times, level = _keyed_level([*synth.centre(3), *dot, gesture(0, 2 * unit), *dot, *synth.centre(1)])
    assert level_frame_looks(times, level, synth.KEY_HALF, hold) is None


def test_the_last_look_is_the_last_side_run_held_long_enough():
    hold = 0.6
    gesture = eye_code.Gesture
    pairs = [gesture(-1, hold), gesture(1, hold)] * 2  # a count's body: two left-right pairs
    # then brief excursions to either side, as natural REMs make
    brief = [gesture(0, 1.0), gesture(1, 0.15), gesture(0, 0.5), gesture(-1, 0.2), gesture(0, 2.0)]
    times, level = _keyed_level([*synth.centre(3), *pairs, *brief])
    end = eye_reading.last_look_end(times, level, synth.KEY_HALF, 0.5 * hold)
    assert end == pytest.approx(3.0 + 4 * hold, abs=0.11)  # the body's last look, not the REMs after it
    assert eye_reading.last_look_end(times, level, synth.KEY_HALF, 5.0) is None
    # A count goes without a look at most for its last rest (+20 %) and two holds.
    assert eye_reading.count_over_sec(hold) == pytest.approx(1.2 * eye_code.COUNT_LAST_REST_SEC + 2 * hold)


def _count_reading(swings: list[float]) -> list[Segment]:
    """A count reading (as the HSMM gives it, 1 s per look): the first rest, then per pair a left look
    at +1 half swing and a right look ``swing`` half swings to its right, then the last rest."""
    segs, t = [Segment("c_first", 0.0, 2.0, 0.0, 0.9)], 2.0
    for swing in swings:
        right = 1.0 - swing
        segs += [Segment("left", t, t + 1, 1.0, 0.9), Segment("right", t + 1, t + 2, right, 0.9)]
        t += 2.0
    return segs + [Segment("c_pre", t, t + 1.5, 0.0, 0.9)]


@pytest.mark.parametrize(
    ("swings", "read"),
    [
        ([2.0, 2.0, 2.0], "3"),
        ([0.7, 2.0, 2.0], "3"),  # one real pair, spoiled: it counts
        ([0.7, 2.0], "unreadable"),  # ... but only among two full ones
        ([0.2, 2.0, 2.0], "2"),  # a natural movement in the first rest, read as a pair: not counted
        ([2.0, -1.2, 2.0], "2"),  # a "pair" that swings the wrong way is no pair, however far
        ([0.2, 2.0, 0.7, 2.0], "unreadable"),  # two pairs fall short: the reading lost its way
        ([0.2], "unreadable"),  # no pair at all is not a "0"
    ],
)
def test_a_count_reading_counts_full_pairs_and_at_most_one_that_falls_short(swings, read):
    res = eye_reading.count_of(_count_reading(swings), 0.0, 10.0, zero_ok=True)
    assert (res.text if res.ok else "unreadable") == read
    if not res.ok:
        assert "no full swing to the right" in res.reason


def test_a_message_read_as_known_words_starts_at_its_opening_frame():
    # Rest, then "NO" with its frames: read from well before, the word's reading finds the opening
    # frame's first look; with the opening frame replaced by rest, there is none to find.
    hold = 0.6
    before = [eye_code.Gesture(0.0, 6.0)]
    t, lv = _keyed_level(before + eye_code.eye_morse("NO", hold) + [eye_code.Gesture(0.0, 0.4)])
    half = synth.KEY_HALF
    words = ("YES", "NO", "OK")
    read = eye_reading.decode_eye_morse_words(t, lv, half, hold, words, None, t[-1], min_opening_fit=0.5)
    assert (read.ok, read.text) == (True, "NO") and read.confidence > 0.8
    assert read.onset == pytest.approx(6.0, abs=0.2)
    no_opening = [eye_code.Gesture(0.0, 6.0 + 5 * hold)] + eye_code.eye_morse("NO", hold)[5:]
    t, lv = _keyed_level(no_opening + [eye_code.Gesture(0.0, 0.4)])
    read = eye_reading.decode_eye_morse_words(t, lv, half, hold, words, None, t[-1], min_opening_fit=0.5)
    assert not read.ok and "no opening frame" in read.reason
