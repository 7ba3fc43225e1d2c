"""Eye messages live: count answers and eye-Morse framed between LRLR markers, end to end on synthetic
EOG and on scripted gaze traces."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from dreamlink.detect import Calibration, detect_array, eye_hsmm, eye_messages, eye_reading
from dreamlink.detect.decoded import Decoded, unreadable
from dreamlink.detect.eye_messages import CLOSING_WEAK_CONF, EyeMessageDecoder
from dreamlink.detect.eye_sweeps import Frame, Sweep
from dreamlink.link import eye_code
from dreamlink.link.lexicon import english
from dreamlink.link.morse import MorseEncodingError
from dreamlink.sim.gestures import gaze_to_eog, render_gaze
from dreamlink.sources.base import SourceInfo
from tests.conftest import real_file
from tests.detect import synth


def run_eye(gestures, mode="auto", seed=0, gain=0.85, jitter=0.15, vocabulary=(), lexicon=None):
    e1, e2, trace = synth.eog(
        synth.centre(2) + gestures + synth.centre(10), seed=seed, gain=gain, jitter=jitter
    )
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), synth.FS)
    res = detect_array(
        np.vstack([e1, e2]),
        info,
        "E1",
        "E2",
        calibration=Calibration(synth.SWING),
        eye_code=mode,
        rem_events=False,
        vocabulary=vocabulary,
        lexicon=lexicon,
    )
    return [e for e in res.events if e.trial_type == "message"], trace


@pytest.mark.parametrize("n", [0, 1, 2, 4, 6])
def test_count_answer_end_to_end(n):
    msgs, trace = run_eye(eye_code.count_answer(n, hold=0.6), mode="count", seed=n)
    assert [m.value for m in msgs] == [str(n)]
    assert msgs[0].data["kind"] == "count" and len(msgs[0].data["symbols"]) == n
    # Read within 0.5 s of the closing frame's 4th sweep, though a body of 2 or more is itself made of
    # LRLR looks: the rests before the closing frame tell it.
    fourth = trace.sweeps[-2]
    assert msgs[0].data["detected_at"] - (fourth.onset + fourth.duration) <= 0.5


@pytest.mark.parametrize("text", ["SOS", "HI MOM", "E"])
def test_eye_morse_end_to_end(text):
    msgs, trace = run_eye(eye_code.eye_morse(text, hold=0.5), mode="morse", seed=len(text))
    assert [m.value for m in msgs] == [text]
    # Decoded as soon as the closing frame's 4th sweep is measured.
    fourth = trace.sweeps[-2]
    assert msgs[0].data["detected_at"] - (fourth.onset + fourth.duration) <= 0.5


def test_auto_mode_tells_count_from_morse():
    msgs, _ = run_eye(
        eye_code.count_answer(3) + synth.centre(8) + eye_code.eye_morse("OK"), mode="auto", seed=9
    )
    assert [(m.data["kind"], m.value) for m in msgs] == [("count", "3"), ("eye_morse", "OK")]


def test_lone_marker_is_not_a_message():
    msgs, _ = run_eye(eye_code.lrlr() + synth.centre(12) + eye_code.lrlr(), mode="auto", seed=11)
    assert msgs == []


def test_message_without_closing_frame_is_unreadable():
    gestures = eye_code.eye_morse("SOS")[:-5]  # drop the closing LRLR
    msgs, _ = run_eye(gestures, mode="morse", seed=12)
    assert [m.value for m in msgs] == ["unreadable"]
    assert "closing" in msgs[0].data["reason"]


def test_missed_closing_frame_costs_only_its_own_message():
    # The first message's closing LRLR is missing: the message runs into the next one and closes
    # on its opening frame; that frame is kept as a (tentative) opening, so "OK" is still read.
    gestures = eye_code.eye_morse("SOS", 0.5)[:-5] + synth.centre(4) + eye_code.eye_morse("OK", 0.5)
    msgs, _ = run_eye(gestures, mode="morse", seed=13)
    assert [m.value for m in msgs] == ["SOS", "OK"]


class _ScriptedStream:
    """A gaze level keyed from gestures, with its sweeps and chosen detector frames, fed to an
    :class:`EyeMessageDecoder` as the pipeline feeds it (level trace, sweeps as they are measured,
    frames with the detector's confidence): decoder decisions on a known trace, without the
    detector's own choices."""

    HALF = synth.KEY_HALF

    def __init__(self, gestures: list[eye_code.Gesture]) -> None:
        self.times, self.level, self.sweeps = synth.keyed_gaze(gestures)
        self.duration = sum(g.hold for g in gestures)

    def frame_at(self, onset: float, confidence: float) -> Frame:
        """The detector frame of the first sweeps left, right, left, right from ``onset`` (s)."""
        picked: list[Sweep] = []
        for s in self.sweeps:
            if s.onset >= onset - 0.01 and len(picked) < 4 and s.direction == "LRLR"[len(picked)]:
                picked.append(s)
        return Frame(picked, confidence)

    def decode(
        self, frames: list[Frame], level_frames: bool = True, swing: float | None = None,
        vocabulary: tuple[str, ...] = (),
    ) -> list[Decoded]:
        """Decoded messages; ``swing`` is the calibrated full swing (V; default twice the keyed one),
        ``vocabulary`` the words the messages are one of."""
        now_level = {"t": 0.0}

        def levels(t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
            keep = (self.times >= t0) & (self.times <= min(t1, now_level["t"]))
            return self.times[keep], self.level[keep]

        swing = 4 * self.HALF if swing is None else swing
        dec = EyeMessageDecoder(
            swing, mode="morse", levels=levels, level_frames=level_frames, vocabulary=vocabulary
        )
        out, fed = [], 0
        for now in np.arange(0.1, self.duration, 0.1):
            now_level["t"] = float(now)
            new = []
            while fed < len(self.sweeps) and self.sweeps[fed].movement.detected_at <= now:
                new.append(self.sweeps[fed])
                fed += 1
            done = [f for f in frames if new and f[-1] in new]
            out += dec.update(new, float(now), done)
        return out


def _message(text: str, hold: float) -> list[eye_code.Gesture]:
    return eye_code.eye_morse(text, hold)


def test_a_message_given_up_is_split_where_the_message_it_ran_into_opened():
    # A message whose closing frame the detector missed runs on into the next one and is given up
    # unreadable when that one's closing frame comes. When the missed-opening check then finds the
    # next message from a frame the first had passed over, the first is read up to that opening
    # (to its own closing frame in the trace), and both are reported, in time order, each with its
    # own sender's pace.
    hold = 0.5
    head = synth.centre(3) + _message("YES", hold) + synth.centre(4)
    second = sum(g.hold for g in head)
    stream = _ScriptedStream(head + _message("NO", hold) + synth.centre(6))
    yes_closing_end = 3 + sum(g.hold for g in _message("YES", hold)) - hold  # its 4th look ends

    def levels(t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        keep = (stream.times >= t0) & (stream.times <= t1)
        return stream.times[keep], stream.level[keep]

    def decoder(found: Decoded | None, at: float) -> list:
        dec = EyeMessageDecoder(4 * stream.HALF, mode="morse", levels=levels)
        given_up = unreadable("eye_morse", "no closing LRLR frame before the next one", 3.0, at - 2.0, at)
        body_t0 = eye_messages._body_start(stream.frame_at(3.0, 0.6))
        # (the pace: the frame's full swing)
        dec._held = eye_messages._HeldMessage(given_up, body_t0, (hold, 2 * stream.HALF), -np.inf, [])
        assert dec._held_or_split(found, at) is None  # (both come from the queue: update())
        return [(m.text, m.ok, round(m.end, 1)) for m, _, _ in dec._queue]

    at = stream.duration - 5.0
    found = Decoded("eye_morse", True, "NO", (), 0.9, "", second, at - 2.0, at)
    assert decoder(found, at) == [("YES", True, round(yes_closing_end, 1)), ("NO", True, round(at - 2.0, 1))]
    # Nothing found: the given-up message as it was; found from its own opening: only that.
    assert decoder(None, at) == [(None, False, round(at - 2.0, 1))]
    same = replace(found, onset=3.0)
    dec = EyeMessageDecoder(4 * stream.HALF, mode="morse", levels=levels)
    given_up = unreadable("eye_morse", "given up", 3.0, at, at)
    dec._held = eye_messages._HeldMessage(given_up, 6.0, (hold, 4 * stream.HALF), -np.inf, [])
    assert dec._held_or_split(same, at) == same and not dec._queue


def test_a_frame_made_of_the_first_elements_reports_nothing_given_up():
    # "IT": the two dots of "I" (left, right, rest, left, right) are what a marker detector may take
    # for an LRLR frame, and here more confidently than the real, spoiled opening frame. The message
    # gives way to it, but nothing was given up: no "unreadable" report, and the message is read
    # from its real opening frame once its closing frame comes.
    hold = 0.5
    stream = _ScriptedStream(synth.centre(3) + _message("IT", hold) + synth.centre(12))
    rest_end = 3 + 5 * hold + eye_code.FRAME_REST_SEC  # the opening frame, its rest: the first dot
    frames = [
        stream.frame_at(3.0, 0.4),
        stream.frame_at(rest_end, 0.6),
        stream.frame_at(stream.duration - 12 - 5 * hold, 0.9),
    ]
    msgs = stream.decode(frames)
    assert [(m.ok, m.text) for m in msgs] == [(True, "IT")]
    assert abs(msgs[0].onset - 3.0) < 0.6


def test_a_message_swallowed_by_a_tentative_reopening_is_read_from_its_closing_frame():
    # After "E" (a slow sender) the decoder re-opens tentatively on its closing frame. A natural
    # movement like a dot and a rest follow, so the trace reads as eye-Morse and the tentative
    # message declines the next opening frame ("TE", a faster sender); its closing frame is of
    # another pace and closes nothing. That frame is then read as the end of a whole message whose
    # opening frame the tentative one swallowed: "TE" is read, with its onset at its opening frame.
    slow, fast = 1.2, 0.4
    parts = [
        synth.centre(3),
        _message("E", slow),
        [eye_code.Gesture(-1, 1.0), eye_code.Gesture(1, 1.0), eye_code.Gesture(0, 4.0)],
        _message("TE", fast),
        synth.centre(12),
    ]
    starts = np.cumsum([0.0] + [sum(g.hold for g in p) for p in parts])
    stream = _ScriptedStream([g for p in parts for g in p])
    frames = [
        stream.frame_at(starts[1], 0.8),
        stream.frame_at(starts[2] - 5 * slow, 0.8),
        stream.frame_at(starts[3], 0.7),
        stream.frame_at(starts[4] - 5 * fast, 0.9),
    ]
    msgs = stream.decode(frames)
    assert [(m.ok, m.text) for m in msgs] == [(True, "E"), (True, "TE")]
    assert abs(msgs[1].onset - starts[3]) < 0.6


@pytest.mark.parametrize("confidence", [0.3, 0.8])
def test_a_weak_closing_frame_closes_the_message_once_only_rest_follows(confidence):
    # A natural movement pulls the gaze toward centre during the closing frame's second and third
    # looks, so the trace reads it only weakly as a frame (CLOSING_WEAK_GAIN). A frame the detector
    # is sure of closes the message at once; a doubtful one closes it when the next frame shows that
    # only rest followed, not elements. Either way the message ends at that frame.
    hold = 0.5
    parts = [synth.centre(3), _message("TE", hold), synth.centre(6), _message("E", hold), synth.centre(12)]
    starts = np.cumsum([0.0] + [sum(g.hold for g in p) for p in parts])
    stream = _ScriptedStream([g for p in parts for g in p])
    closing = starts[2] - 5 * hold
    for k in (1, 2):
        spoiled = (stream.times > closing + k * hold + 0.1) & (stream.times < closing + k * hold + 0.55)
        stream.level[spoiled] *= 0.2
    frames = [
        stream.frame_at(starts[1], 0.8),
        stream.frame_at(closing, confidence),
        stream.frame_at(starts[3], 0.8),
        stream.frame_at(starts[4] - 5 * hold, 0.9),
    ]
    msgs = stream.decode(frames)
    assert [(m.ok, m.text) for m in msgs] == [(True, "TE"), (True, "E")]
    assert abs(msgs[0].end - (closing + 4 * hold)) < 0.5
    if confidence < CLOSING_WEAK_CONF:
        assert msgs[0].detected_at > starts[3]  # judged when the next frame came
    else:
        assert msgs[0].detected_at < closing + 4 * hold + 1.0


def _closing_frame_missed(
    text: str, hold: float, next_confidence: float
) -> tuple[_ScriptedStream, list[Frame], float]:
    """``text`` whose closing frame the detector misses, 8 s at centre, then "E".

    Returns the stream, the detector's frames (the opening frame of ``text``, then the opening and
    closing frames of "E", the first with ``next_confidence``) and where the missed frame starts (s).
    """
    parts = [synth.centre(3), _message(text, hold), synth.centre(8), _message("E", hold), synth.centre(12)]
    starts = np.cumsum([0.0] + [sum(g.hold for g in p) for p in parts])
    stream = _ScriptedStream([g for p in parts for g in p])
    missed = starts[2] - 5 * hold  # the closing frame's four looks, then its return to centre
    stream.sweeps = [s for s in stream.sweeps if not missed - 0.1 < s.onset < missed + 4 * hold]
    frames = [
        stream.frame_at(starts[1], 0.8),
        stream.frame_at(starts[3], next_confidence),
        stream.frame_at(starts[4] - 5 * hold, 0.9),
    ]
    return stream, frames, missed


def test_a_missed_closing_frame_is_found_when_the_next_opening_frame_closes_the_message():
    # The detector misses the closing frame of "OK" (natural REMs split its sweeps); the next
    # frame it reports, after a pause, is the opening frame of "E", which reads as OK's closing
    # frame after a rest far longer than the code's. The closing frame in the gaze level ends "OK"
    # there (no extra symbols from its looks), and "E" is still read. (Without the screen for
    # frames as they end, which would close "OK" at once: see the next tests.)
    hold = 1.0
    stream, frames, missed = _closing_frame_missed("OK", hold, 0.6)
    msgs = stream.decode(frames, level_frames=False)
    assert [(m.ok, m.text) for m in msgs] == [(True, "OK"), (True, "E")]
    assert abs(msgs[0].end - (missed + 4 * hold)) < 0.6


def _lone_message(text: str, hold: float, missed: tuple[str, ...]) -> tuple[_ScriptedStream, float, float]:
    """``text`` alone between rests, without the sweeps of its ``missed`` frames (``"opening"``,
    ``"closing"``: the detector saw none of their sweeps). Returns the stream and where the opening
    and closing frames start (s)."""
    parts = [synth.centre(3), _message(text, hold), synth.centre(15)]
    starts = np.cumsum([0.0] + [sum(g.hold for g in p) for p in parts])
    stream = _ScriptedStream([g for p in parts for g in p])
    frames = {"opening": starts[1], "closing": starts[2] - 5 * hold}  # four looks, then back to centre
    spans = [frames[name] for name in missed]
    stream.sweeps = [s for s in stream.sweeps if not any(a - 0.1 < s.onset < a + 4 * hold for a in spans)]
    return stream, frames["opening"], frames["closing"]


def test_a_closing_frame_the_detector_missed_is_found_in_the_gaze_level_at_once():
    # The detector reports no frame at all for the closing frame of "SOS" (natural REMs split its
    # sweeps), and nothing follows. The gaze level shows its four looks in a row: the message is read
    # within a second of the frame's fourth look, not after the long pause that gives a message up.
    hold = 0.6
    stream, opening, missed = _lone_message("SOS", hold, ("closing",))
    msgs = stream.decode([stream.frame_at(opening, 0.8)])
    assert [(m.ok, m.text) for m in msgs] == [(True, "SOS")]
    fourth_look = missed + 3 * hold
    assert 0.0 < msgs[0].detected_at - fourth_look < 1.0
    assert msgs[0].end == pytest.approx(fourth_look, abs=0.1)  # where the frame's last sweep ends
    # And a message that follows is still read from its own frames.
    stream, frames, missed = _closing_frame_missed("OK", 1.0, 0.6)
    msgs = stream.decode(frames)
    assert [(m.ok, m.text) for m in msgs] == [(True, "OK"), (True, "E")]
    assert 0.0 < msgs[0].detected_at - (missed + 3.0) < 1.0


def test_a_message_whose_two_frames_the_detector_missed_is_read_from_the_gaze_level():
    # Natural REMs spoil both frames of "SOS": the detector reports neither. The gaze level holds the
    # opening frame's looks (a tentative opening) and the closing frame's (the closing test).
    hold = 0.7
    stream, opening, closing = _lone_message("SOS", hold, ("opening", "closing"))
    msgs = stream.decode([], swing=2 * stream.HALF)  # calibrated: the swing keyed
    assert [(m.ok, m.text) for m in msgs] == [(True, "SOS")]
    assert msgs[0].onset == pytest.approx(opening, abs=0.2)
    assert 0.0 < msgs[0].detected_at - (closing + 3 * hold) < 1.0


def test_four_looks_in_the_gaze_level_alone_report_nothing():
    # An LRLR marker the detector missed, then only rest: a tentative opening, no message.
    hold = 0.7
    stream = _ScriptedStream([*synth.centre(3), *eye_code.lrlr(hold), *synth.centre(20)])
    stream.sweeps = []
    assert stream.decode([], swing=2 * stream.HALF) == []


def test_a_spoiled_missed_closing_frame_is_no_extra_letter():
    # As above, but natural REMs spoil the missed closing frame of "RED": its third look falls back
    # towards centre and a look left follows its fourth. Read as the body going on, the frame is an
    # extra "A" (".-") that costs little; but the next frame comes after a rest far longer than the
    # code's, so the message ended before it, at the frame in the gaze level.
    hold = 0.7
    stream, frames, missed = _closing_frame_missed("RED", hold, 0.8)
    third = (stream.times >= missed + 2 * hold + 0.1) & (stream.times < missed + 3 * hold)
    stream.level[third] *= 0.37
    after = (stream.times >= missed + 4 * hold) & (stream.times < missed + 4 * hold + 0.6)
    stream.level[after] = 0.8 * stream.HALF
    msgs = stream.decode(frames, level_frames=False)
    assert [(m.ok, m.text) for m in msgs] == [(True, "RED"), (True, "E")]
    assert abs(msgs[0].end - (missed + 4 * hold)) < 0.6


def test_a_frame_made_of_elements_is_no_closing_frame_for_a_missed_opening():
    # The detector misses the opening frame of "EIT" and reports the two dots of "I" (left, right,
    # rest, left, right) as a frame. Read backwards, the trace before that frame is a whole message
    # "E" with its opening frame; but the frame reads as the body's next elements, not as a closing
    # frame, so no "E" is made up: the message is read whole from its real closing frame.
    hold = 0.6
    parts = [synth.centre(3), _message("EIT", hold), synth.centre(12)]
    starts = np.cumsum([0.0] + [sum(g.hold for g in p) for p in parts])
    stream = _ScriptedStream([g for p in parts for g in p])
    unit = eye_code.morse_unit(hold)
    letter_i = starts[1] + 5 * hold + eye_code.FRAME_REST_SEC + 2 * unit + eye_code.LETTER_GAP_UNITS * unit
    frames = [stream.frame_at(letter_i, 0.5), stream.frame_at(starts[2] - 5 * hold, 0.9)]
    msgs = stream.decode(frames)
    assert [(m.ok, m.text) for m in msgs] == [(True, "EIT")]
    assert abs(msgs[0].onset - starts[1]) < 0.6


def test_a_tentative_message_that_does_not_read_is_read_from_the_opening_frame_it_declined():
    # After "E" the decoder re-opened tentatively on its closing frame, natural movements followed,
    # and the tentative message declined the opening frame of "RED" (the movements read as elements).
    # When RED's closing frame closes the tentative message, the message is read from the frame it
    # declined, if the detector was fairly sure of that frame.
    hold = 0.5
    gesture = eye_code.Gesture
    natural = [gesture(0, 2.5), gesture(1, 0.5), gesture(-1, 0.4), gesture(0, 1.7)]
    parts = [synth.centre(3), _message("E", hold), natural, _message("RED", hold), synth.centre(12)]
    starts = np.cumsum([0.0] + [sum(g.hold for g in p) for p in parts])
    stream = _ScriptedStream([g for p in parts for g in p])

    def levels(t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        keep = (stream.times >= t0) & (stream.times <= t1)
        return stream.times[keep], stream.level[keep]

    closing = stream.frame_at(starts[4] - 5 * hold, 0.9)
    for sure, read in ((0.8, "RED"), (0.3, None)):
        dec = EyeMessageDecoder(4 * stream.HALF, mode="morse", levels=levels)
        dec._start(stream.frame_at(starts[2] - 5 * hold, 0.8), tentative=True)
        dec._declined = [stream.frame_at(starts[3], sure)]
        res = dec._from_declined(closing)
        assert (res and res.text) == read
        if res:
            assert abs(res.onset - starts[3]) < 0.3


def _count_with_a_weak_last_look() -> list:
    """A count of 3 whose closing frame's last look stops a third of the way to the right."""
    gestures = eye_code.count_answer(3, hold=0.6)
    last_look = max(i for i, g in enumerate(gestures) if g.gaze > 0)
    gestures[last_look] = eye_code.Gesture(0.3, gestures[last_look].hold)
    return gestures + synth.centre(12)


def test_a_count_whose_closing_frame_the_screen_misses_is_read_from_the_whole_trace():
    # The level screen sees no fourth look (it is a third of the way right), so it does not close
    # the count; the whole trace, read as a count ended by a frame, does, as the frame ends.
    msgs, trace = run_eye(_count_with_a_weak_last_look(), mode="count", seed=5)
    assert [m.value for m in msgs] == ["3"]
    weak = [sw for sw in trace.sweeps if sw.direction == "R"][-1]  # the sweep into the weak look
    after = msgs[0].data["detected_at"] - (weak.onset + weak.duration)
    assert 0.0 < after <= eye_messages.COUNT_READ_BACK_SEC + 0.3


@pytest.mark.parametrize("looked_at", [True, False])
def test_a_count_given_up_is_read_from_the_whole_trace(monkeypatch, looked_at):
    # The same count with the reading as the frame ends turned off: it is read when given up, once
    # no look has come for as long as a count goes without one (the frame's third look was the
    # last), or, not looked at for looks, only when its time is up.
    monkeypatch.setattr(eye_messages, "COUNT_READ_MIN_GAIN", np.inf)
    if not looked_at:
        monkeypatch.setattr(eye_messages, "COUNT_OVER_EVERY_SEC", np.inf)
    msgs, trace = run_eye(_count_with_a_weak_last_look(), mode="count", seed=5)
    assert [m.value for m in msgs] == ["3"]
    weak = [sw for sw in trace.sweeps if sw.direction == "R"][-1]  # it starts as the third look ends
    late = msgs[0].data["detected_at"] - weak.onset
    if looked_at:
        assert eye_reading.count_over_sec(0.6) < late <= eye_reading.count_over_sec(0.6) + 1.0
    else:
        assert late > 5.0


def _count_without_its_opening_frame(n: int) -> tuple[list, object]:
    """A count of ``n`` streamed through the detectors, with the detector's report of the opening frame
    withheld (as when natural REMs spoil its sweeps): the messages and the rendered trace."""
    from dreamlink.detect import DetectorPipeline

    e1, e2, trace = synth.eog(synth.centre(2) + eye_code.count_answer(n, hold=0.6) + synth.centre(12), seed=n)
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), synth.FS)
    pipe = DetectorPipeline(
        info, "E1", Calibration(synth.SWING), eog_right="E2", rem_events=False, eye_code="count"
    )
    opening_end = trace.sweeps[3].onset + trace.sweeps[3].duration
    reported = pipe.eye.pop_frames
    pipe.eye.pop_frames = lambda: [f for f in reported() if f[-1].end > opening_end + 0.3]
    data = np.vstack([e1, e2])
    out = []
    for i in range(0, data.shape[1], 64):
        out += pipe.update(data[:, i : i + 64])
    out += pipe.finish()
    return [e for e in out if e.trial_type == "message"], trace


@pytest.mark.parametrize(("n", "by_whole_reading"), [(2, True), (3, True), (4, False), (5, False)])
@pytest.mark.parametrize("read_as_it_goes", [True, False])
def test_a_count_opened_on_its_own_body_is_read_whole(n, by_whole_reading, read_as_it_goes, monkeypatch):
    # Without the opening frame's marker, the count's own looks (a "2" is an LRLR) open the message.
    # The count is read back from before them: from its closing reading (n ≥ 4: the body's first four
    # looks open it, the rest closes) or, when it does not close after that opening (n = 2, 3), by
    # the whole reading tried as the count goes on, about a second after the frame; without that, only
    # as it is given up, once no look has come for as long as a count goes without one.
    if not read_as_it_goes:
        monkeypatch.setattr(eye_messages, "COUNT_WHOLE_READ_EVERY_SEC", np.inf)
    msgs, trace = _count_without_its_opening_frame(n)
    assert [m.value for m in msgs] == [str(n)]
    assert abs(msgs[0].onset - trace.sweeps[0].onset) < 0.3  # the opening frame found in the level
    fourth = trace.sweeps[-2]  # the closing frame's fourth sweep
    late = msgs[0].data["detected_at"] - (fourth.onset + fourth.duration)
    if not by_whole_reading:
        assert late <= 0.5
    elif read_as_it_goes:
        assert 0.0 < late <= eye_messages.COUNT_WHOLE_READ_BACK_SEC
    else:
        assert late > eye_reading.count_over_sec(0.6)


def test_a_count_of_one_seen_only_by_its_closing_marker_is_read_back_from_it(monkeypatch):
    # A "1" is one left-right pair between its frames: with the opening frame's marker withheld, its
    # closing marker is a lone marker. It is read back as the closing frame of the count before it.
    msgs, trace = _count_without_its_opening_frame(1)
    assert [m.value for m in msgs] == ["1"]
    assert abs(msgs[0].onset - trace.sweeps[0].onset) < 0.3
    fourth = trace.sweeps[-2]  # the closing frame's fourth sweep
    assert abs(msgs[0].onset + msgs[0].duration - (fourth.onset + fourth.duration)) < 0.3
    # Not read back at the gain of a count given up, the lone marker is dropped: nothing reported.
    monkeypatch.setattr(eye_messages, "COUNT_WHOLE_GIVEN_UP_MIN_GAIN", np.inf)
    assert _count_without_its_opening_frame(1)[0] == []


def test_without_reading_back_a_count_opened_on_its_body_is_short_or_unreadable(monkeypatch):
    monkeypatch.setattr(eye_messages, "COUNT_WHOLE_MIN_GAIN", np.inf)
    monkeypatch.setattr(eye_messages, "COUNT_WHOLE_GIVEN_UP_MIN_GAIN", np.inf)
    got = {n: [m.value for m in _count_without_its_opening_frame(n)[0]] for n in (2, 3, 4, 5)}
    assert got == {2: ["unreadable"], 3: ["unreadable"], 4: ["1"], 5: ["2"]}


def _count_with_a_spoiled_pair(n: int, pair: int, gaze: float) -> list:
    """A count of ``n`` whose body's ``pair``-th right look (from 0) stops at ``gaze`` (−1 left … +1
    right): a natural REM pulls it back."""
    gestures = eye_code.count_answer(n, hold=0.6)
    rights = [i for i, g in enumerate(gestures) if g.gaze > 0][2:-2]  # (the frames' looks left out)
    gestures[rights[pair]] = eye_code.Gesture(gaze, gestures[rights[pair]].hold)
    return gestures + synth.centre(12)


@pytest.mark.parametrize(("n", "pair", "gaze"), [(3, 0, -0.2), (4, 1, -0.3), (5, 3, -0.3)])
def test_a_count_with_one_spoiled_pair_is_read_with_that_pair_least_sure(n, pair, gaze, monkeypatch):
    msgs, _ = run_eye(_count_with_a_spoiled_pair(n, pair, gaze), mode="count", seed=1)
    assert [m.value for m in msgs] == [str(n)]
    sure = [c for _, c in msgs[0].data["symbols"]]
    assert sure[pair] == min(sure) < min(sure[:pair] + sure[pair + 1 :])
    assert msgs[0].confidence == min(sure)
    # Refusing every pair that falls short of a full swing, the same count is unreadable.
    monkeypatch.setattr(eye_reading, "COUNT_MAX_IRREGULAR", 0)
    msgs, _ = run_eye(_count_with_a_spoiled_pair(n, pair, gaze), mode="count", seed=1)
    assert [m.value for m in msgs] == ["unreadable"]
    assert "no full swing to the right" in msgs[0].data["reason"]


YES_NO_OK = ("YES", "NO", "OK")


def _hesitant_ok(hold: float = 0.5) -> list[eye_code.Gesture]:
    """"OK" from a sender who pauses after the O's first dash as long as between letters ("TMK")."""
    gestures = eye_code.eye_morse("OK", hold)
    first_gap = 8  # the opening frame (4 looks, a hold), the first rest, the first dash's two looks
    unit = eye_code.morse_unit(hold)
    assert gestures[first_gap] == eye_code.Gesture(0, eye_code.ELEMENT_GAP_UNITS * unit)
    gestures[first_gap] = eye_code.Gesture(0, eye_code.LETTER_GAP_UNITS * unit)
    return gestures


@pytest.mark.parametrize("seed", [1, 2])
def test_a_message_is_read_as_the_known_word_that_fits_it(seed):
    free, _ = run_eye(_hesitant_ok(), mode="morse", seed=seed)
    assert [m.value for m in free] != ["OK"] and len(free) == 1
    msgs, trace = run_eye(_hesitant_ok(), mode="morse", seed=seed, vocabulary=YES_NO_OK)
    assert [m.value for m in msgs] == ["OK"]
    assert msgs[0].data["kind"] == "eye_morse" and msgs[0].confidence >= 0.5
    # Still read when the closing frame is measured.
    fourth = trace.sweeps[-2]
    assert msgs[0].data["detected_at"] - (fourth.onset + fourth.duration) <= 0.5


def test_a_word_the_message_reads_as_keeps_its_reading_and_another_word_is_unsure():
    clean, _ = run_eye(eye_code.eye_morse("NO"), mode="morse", seed=3)
    known, _ = run_eye(eye_code.eye_morse("NO"), mode="morse", seed=3, vocabulary=YES_NO_OK)
    assert [(m.value, m.confidence) for m in known] == [(m.value, m.confidence) for m in clean]
    assert known[0].value == "NO" and known[0].confidence > 0.8
    # "SOS" is none of the words: the nearest is taken, as unsure as a design can tell.
    other, _ = run_eye(eye_code.eye_morse("SOS"), mode="morse", seed=3, vocabulary=YES_NO_OK)
    assert len(other) == 1 and other[0].value in YES_NO_OK and other[0].confidence < 0.3


def real_rem_ok(shared_data, seed: int, text: str = "OK", start: float = 100.0):
    """Real REM EOG (from ``start`` s, 60 s long, volts) with ``text`` injected at 10 s: render ``seed``
    of a sender at three quarters of the calibrated swing (half swing 200 µV). Returns (data, fs, trace)."""
    d = np.load(real_file(shared_data, "yasa/eog_rem_256Hz_first600s.npz"))
    fs = float(d["sf"])
    data = np.asarray(d["data"], float)[:, int(start * fs) : int((start + 60.0) * fs)] * 1e-6
    rng = np.random.default_rng(seed)
    trace = render_gaze(eye_code.eye_morse(text, 0.6), fs, rng=rng, jitter=0.2, gain=0.75)
    e1, e2 = gaze_to_eog(trace.gaze, 200e-6)
    i0 = int(10.0 * fs)
    data[0, i0 : i0 + e1.size] += e1
    data[1, i0 : i0 + e2.size] += e2
    return data, fs, trace


@pytest.mark.parametrize(("seed", "spelled"), [(0, "WK"), (1, "MK")])
def test_free_text_spelling_a_non_word_is_read_as_the_nearby_word_of_a_lexicon(shared_data, seed, spelled):
    # The natural REMs under this sender's "OK" spoil its first dash: the elements spell a non-word.
    data, fs, trace = real_rem_ok(shared_data, seed)
    a_v, at = 200e-6, 10.0
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), fs)

    def messages(lexicon: str | None):
        res = detect_array(data, info, "E1", "E2", calibration=Calibration(4 * a_v), eye_code="morse",
                           rem_events=False, lexicon=lexicon)
        return [e for e in res.events if e.trial_type == "message"]

    free = messages(None)
    assert [m.value for m in free] == [spelled] and spelled not in english()
    msgs = messages("english")
    assert [m.value for m in msgs] == ["OK"]
    assert msgs[0].data["spelled"] == spelled  # what the elements spelled is kept
    assert msgs[0].onset == free[0].onset and msgs[0].data["detected_at"] == free[0].data["detected_at"]
    closing_end = at + trace.sweeps[-2].onset + trace.sweeps[-2].duration
    assert msgs[0].data["detected_at"] - closing_end <= 0.5


@pytest.mark.parametrize(("seed", "first"), [(1, "I"), (3, "E")])
def test_a_message_closed_early_by_a_frame_inside_it_is_revised_whole(shared_data, monkeypatch, seed, first):
    # Real REM EOG: natural REMs fill the centre rests between this sender's dots of the "S" of
    # "SIT": four looks in a row, taken for the closing frame. The message closes early ("I" or
    # "E"), and the rest comes as a message opened on that frame ("IT"). Once the rest has come, the
    # whole trace is read again as one body: "SIT", reported with the first reading's onset, as
    # soon after its real closing frame as any message, saying what the first reading was.
    data, fs, trace = real_rem_ok(shared_data, seed, "SIT", 420.0)
    a_v, at = 200e-6, 10.0
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), fs)

    def messages():
        res = detect_array(data, info, "E1", "E2", calibration=Calibration(4 * a_v), eye_code="morse",
                           rem_events=False)
        return [e for e in res.events if e.trial_type == "message"]

    closing_end = at + trace.sweeps[-2].onset + trace.sweeps[-2].duration
    msgs = messages()
    assert [(m.value, m.data.get("revises")) for m in msgs] == [(first, None), ("SIT", first)]
    assert msgs[1].onset == msgs[0].onset
    assert msgs[0].data["detected_at"] < closing_end - 10.0  # closed early, inside the body
    # Its frame read little better than the body going on: the first reading is no surer than that,
    # below what a design asking again takes (0.7), though its letter read cleanly.
    assert msgs[0].confidence < 0.7
    assert 0.0 < msgs[1].data["detected_at"] - closing_end <= 0.5
    monkeypatch.setattr(eye_messages, "REVISE_MIN_GAIN", np.inf)  # no revisions: two messages
    assert [(m.value, m.data.get("revises")) for m in messages()] == [(first, None), ("IT", None)]


@pytest.mark.parametrize(("seed", "start", "spelled"), [(1, 300.0, "I A T")])
def test_a_lexicon_groups_spoiled_letters_into_the_words_sent(shared_data, seed, start, spelled):
    # Real REM EOG: natural REMs under this "I AM" stretch a letter gap into a word gap and split
    # the M's dash ("I A T": all letters, but a lone "T" among words is taken for a spoiled reading).
    data, fs, _ = real_rem_ok(shared_data, seed, "I AM", start)
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), fs)

    def messages(lexicon: str | None):
        res = detect_array(data, info, "E1", "E2", calibration=Calibration(800e-6), eye_code="morse",
                           rem_events=False, lexicon=lexicon)
        return [e for e in res.events if e.trial_type == "message"]

    assert [m.value for m in messages(None)] == [spelled]
    msgs = messages("english")
    assert [m.value for m in msgs] == ["I AM"]
    assert msgs[0].data["spelled"] == spelled


def test_a_message_is_no_surer_than_its_closing_frame():
    # The closing test's gain (blocks): a frame that reads no better than the body going on leaves
    # a message at most 0.75 sure; a clear one, nearly 1; one that reads worse, towards 0.5.
    sure = [eye_messages.closing_sureness(g) for g in (-20.0, -4.0, 0.0, 4.0, 20.0)]
    assert sure == sorted(sure) and sure[2] == 0.75
    assert 0.5 < sure[0] < 0.51 and 0.99 < sure[-1] <= 1.0


def test_a_word_gap_is_read_with_the_eye_movements_that_bound_the_looks(shared_data, monkeypatch):
    # Real REM EOG from 500 s: this sender's "I AM" (render seed 4) reads "IAM" when the looks and
    # rests are timed without the eye movements between them; the gaps, read again with them once
    # the message is framed, make "I AM".
    data, fs, _ = real_rem_ok(shared_data, 4, "I AM", 500.0)
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), fs)

    def messages() -> list[str]:
        res = detect_array(data, info, "E1", "E2", calibration=Calibration(800e-6), eye_code="morse",
                           rem_events=False)
        return [e.value for e in res.events if e.trial_type == "message"]

    assert messages() == ["I AM"]
    monkeypatch.setattr(eye_hsmm, "SWEEP_SHARE_SEC", 0.0)
    assert messages() == ["IAM"]


def test_a_message_whose_closing_frame_no_one_found_closes_once_no_element_follows(shared_data, monkeypatch):
    # Real REM EOG from 340 s: natural REMs spoil this "SEA"'s closing frame (render seed 0) so that
    # neither the sweep detector nor the level screen finds it, and go on after it.
    data, fs, trace = real_rem_ok(shared_data, 0, "SEA", 340.0)
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), fs)
    closing_end = 10.0 + trace.sweeps[-2].onset + trace.sweeps[-2].duration

    def messages():
        res = detect_array(data, info, "E1", "E2", calibration=Calibration(800e-6), eye_code="morse",
                           rem_events=False)
        return [e for e in res.events if e.trial_type == "message"]

    msgs = messages()
    assert [m.value for m in msgs] == ["SEA"]
    # Read once the trace after its frame has held no element for 1.6 word gaps + 1 s.
    word_gap = eye_code.WORD_GAP_UNITS * eye_code.morse_unit(0.6)
    silence = eye_messages.SILENT_WORD_GAPS * word_gap + eye_messages.SILENT_MARGIN_SEC
    latency = msgs[0].data["detected_at"] - closing_end
    assert silence <= latency <= silence + 3.0
    assert abs(msgs[0].onset + msgs[0].duration - closing_end) < 1.0  # it ends at its own frame
    # Without the check, it waits for a pause without sweeps, which the recording's end brings.
    monkeypatch.setattr(eye_messages, "SILENT_EVERY_SEC", float("inf"))
    late = messages()
    assert [m.value for m in late] == ["SEA"] and late[0].data["detected_at"] >= 60.0


@pytest.mark.parametrize("text", ["QTH", "XZ", "HI MOM"])
def test_a_lexicon_leaves_clean_text_as_sent(text):
    # A code sent cleanly is no word, but no word explains its trace nearly as well; words stay words.
    free, _ = run_eye(eye_code.eye_morse(text), mode="morse", seed=4)
    msgs, _ = run_eye(eye_code.eye_morse(text), mode="morse", seed=4, lexicon="english")
    assert [m.value for m in msgs] == [m.value for m in free] == [text]
    assert "spelled" not in msgs[0].data


def test_expected_words_apply_from_the_next_message_and_must_spell():
    dec = EyeMessageDecoder(synth.SWING, mode="morse")
    dec.expect("morse", ["yes", " go  up ", "yes"])
    assert dec.vocabulary == ("YES", "GO UP")
    dec.expect("auto")
    assert dec.vocabulary == ()
    with pytest.raises(MorseEncodingError, match="#"):
        dec.expect("morse", ["y#s"])


def test_a_frame_inside_a_message_that_begins_a_word_does_not_close_it(shared_data):
    # Real REM EOG: natural REMs and the elements of "LUCID" make what the detector takes for a
    # frame after "LU" (render seed 1 of this sender). Read as any text, the message closes there
    # and the rest comes as another; with the words known, "LU" is only the beginning of "LUCID", so
    # the frame waits, the elements go on, and the whole message is read at its real closing frame.
    d = np.load(real_file(shared_data, "yasa/eog_rem_256Hz_first600s.npz"))
    fs = float(d["sf"])
    data = np.asarray(d["data"], float)[:, int(334.8 * fs) : int(464.8 * fs)] * 1e-6
    a_v, at = 200e-6, 30.0
    rng = np.random.default_rng(1)
    trace = render_gaze(eye_code.eye_morse("LUCID", 0.68), fs, rng=rng, jitter=0.2, gain=0.9)
    e1, e2 = gaze_to_eog(trace.gaze, a_v)
    i0 = int(at * fs)
    data[0, i0 : i0 + e1.size] += e1
    data[1, i0 : i0 + e2.size] += e2
    info = SourceInfo(("E1", "E2"), ("eog", "eog"), fs)

    def messages(words: tuple[str, ...]):
        res = detect_array(data, info, "E1", "E2", calibration=Calibration(4 * a_v), eye_code="morse",
                           rem_events=False, vocabulary=words)
        return [e for e in res.events if e.trial_type == "message"]

    free = messages(())
    assert len(free) == 2 and free[0].value != "LUCID"  # split at the frame inside
    known = messages(("LUCID", "GO UP", "I AM", "DREAM", "YES", "NO", "OK", "SOS"))
    assert [m.value for m in known] == ["LUCID"]
    closing_end = at + trace.sweeps[-2].onset + trace.sweeps[-2].duration
    assert known[0].data["detected_at"] - closing_end <= 0.5
