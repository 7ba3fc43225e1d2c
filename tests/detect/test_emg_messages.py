"""EMG message decoding: background-strength twitches next to a message are not part of it."""

from __future__ import annotations

from dreamlink.detect.decoded import Decoded
from dreamlink.detect.emg_messages import (
    EMG_GROUP_END_SEC,
    EMG_MIN_MESSAGE_LEVEL,
    EmgMessageDecoder,
    Twitch,
    consistent_twitches,
    decode_emg_morse,
    decode_yes_no,
)
from dreamlink.link import emg_code


def _stream(mode: str, twitches: list[Twitch]) -> list:
    dec = EmgMessageDecoder(mode)
    out = []
    for t in twitches:
        out += dec.update([t], now=t.end + 0.1)
    return out + dec.update([], now=1e4)


def test_consistent_twitches_drops_weak_ones_and_keeps_unknown_levels():
    strong = [Twitch(i, 0.25, level=12.0) for i in range(3)]
    weak = Twitch(-1.0, 0.2, level=3.0)
    assert consistent_twitches([weak, *strong]) == strong
    unknown = [Twitch(0, 0.25), Twitch(1, 0.25)]
    assert consistent_twitches(unknown) == unknown


def test_a_weak_background_twitch_before_an_answer_is_ignored():
    yes = [Twitch(10 + t.start, t.duration, level=10.0) for t in emg_code.yes_no(True)]
    out = _stream("yes_no", [Twitch(9.0, 0.2, level=3.5), *yes])
    assert [d.text for d in out] == ["yes"]
    assert out[0].onset == yes[0].onset


def test_a_weak_twitch_after_a_morse_message_is_not_a_letter():
    sos = [Twitch(5 + t.start, t.duration, level=9.0) for t in emg_code.emg_morse("SOS")]
    out = _stream("morse", [*sos, Twitch(sos[-1].end + 2.0, 0.2, level=3.0)])
    assert [d.text for d in out] == ["SOS"]


def test_background_strength_twitches_are_not_a_message():
    weak = [Twitch(5 + t.start, t.duration, level=EMG_MIN_MESSAGE_LEVEL - 1) for t in emg_code.yes_no(False)]
    assert _stream("yes_no", weak) == []
    strong = [Twitch(t.onset, t.duration, level=EMG_MIN_MESSAGE_LEVEL + 2) for t in weak]
    assert [d.text for d in _stream("yes_no", strong)] == ["no"]


def test_a_multi_word_message_is_one_message_when_streamed():
    """Word pauses (gap + 2 letter pauses) stay shorter than the pause that ends a message."""
    for gap in (0.3, 0.6, 0.8):
        tw = [Twitch(5 + t.start, t.duration, level=10.0) for t in emg_code.emg_morse("SOS HI", gap_sec=gap)]
        dec, out, pending = EmgMessageDecoder("morse"), [], list(tw)
        for step in range(800):  # a live clock, 16 updates per second
            now = step * 0.0625
            new = [t for t in pending if t.end + 0.1 <= now]
            pending = pending[len(new) :]
            out += dec.update(new, now)
        assert [d.text for d in out] == ["SOS HI"], gap


def test_emg_codes():
    yes = [Twitch(t.start, t.duration) for t in emg_code.yes_no(True)]
    no = [Twitch(t.start, t.duration) for t in emg_code.yes_no(False)]
    assert decode_yes_no(yes).text == "yes" and decode_yes_no(no).text == "no"
    assert decode_yes_no(yes[:-1]).text == "yes" and decode_yes_no(no[:-1]).text == "no"  # not closed
    assert not decode_yes_no(no[:-1] + [Twitch(2.5, 0.25)]).ok  # 4 twitches
    assert "long contraction before the last" in decode_yes_no([Twitch(0, 0.9), *yes[1:]]).reason
    assert decode_yes_no([Twitch(0, 0.25), Twitch(1, 0.9)]).reason.startswith("1 twitches")  # 1 and a close
    late = [*yes[:-1], Twitch(yes[-2].end + 2.0, 0.9)]
    assert "closing contraction came 2.0 s after" in decode_yes_no(late).reason
    assert "spread" in decode_yes_no([Twitch(0, 0.2), Twitch(6, 0.2)]).reason
    assert "irregular" in decode_yes_no([Twitch(0, 0.2), Twitch(0.4, 0.2), Twitch(2.6, 0.2)]).reason
    sos = [Twitch(t.start, t.duration) for t in emg_code.emg_morse("SOS HI")]
    assert decode_emg_morse(sos).text == "SOS HI"
    assert "not a Morse letter" in decode_emg_morse([Twitch(0.6 * i, 0.2) for i in range(7)]).reason


def test_a_closed_answer_is_read_as_soon_as_its_closing_contraction_ends():
    for answer, text in ((True, "yes"), (False, "no")):
        tw = [Twitch(5 + t.start, t.duration, level=10.0) for t in emg_code.yes_no(answer)]
        dec = EmgMessageDecoder("yes_no")
        for t in tw[:-1]:
            assert dec.update([t], now=t.end + 0.1) == []  # the count may still grow
        (got,) = dec.update([tw[-1]], now=tw[-1].end + 0.1)
        assert (got.text, got.onset, got.end, got.detected_at) == (
            text,
            tw[0].onset,
            tw[-1].end,
            tw[-1].end + 0.1,
        )
        assert dec.update([], now=1e4) == []


def test_an_answer_sent_without_its_closing_contraction_waits_for_the_pause():
    tw = [Twitch(5 + t.start, t.duration, level=10.0) for t in emg_code.yes_no(True, close_sec=None)]
    dec = EmgMessageDecoder("yes_no")
    assert dec.update(tw, now=tw[-1].end + EMG_GROUP_END_SEC - 0.1) == []
    (got,) = dec.update([], now=tw[-1].end + EMG_GROUP_END_SEC)
    assert got.text == "yes"


def test_emg_stream_decoder_ignores_a_lone_twitch():
    dec = EmgMessageDecoder("yes_no")
    assert dec.update([Twitch(1.0, 0.2)], now=1.5) == []
    assert dec.update([], now=10.0) == []  # lone twitch dropped, no "unreadable"
    out = dec.update([Twitch(20.0, 0.2), Twitch(20.7, 0.2)], now=21.0) + dec.update([], now=30.0)
    assert [d.text for d in out] == ["yes"] and isinstance(out[0], Decoded)


def _live(twitches: list[Twitch], until: float) -> list:
    """Stream twitches as the detector reports them (0.1 s after each ends), 16 updates per second."""
    dec, out, pending = EmgMessageDecoder("morse"), [], sorted(twitches, key=lambda t: t.onset)
    for step in range(int(until / 0.0625)):
        now = step * 0.0625
        new = [t for t in pending if t.end + 0.1 <= now]
        pending = pending[len(new) :]
        out += dec.update(new, now)
    return out


def test_the_end_mark_closes_a_morse_message_at_once():
    """With the end mark (.-.-.) a message is read when the mark's last twitch is reported, not
    EMG_MESSAGE_END_SEC later; the mark is not part of the text, and the message spans it. A
    one-twitch "E" is a message with it, and a lone twitch (ignored) without it."""
    for text in ("SOS HI", "TEA", "E"):
        tw = [Twitch(5 + t.start, t.duration, level=10.0) for t in emg_code.emg_morse(text)]
        (got,) = _live(tw, tw[-1].end + 10.0)
        assert got.text == text
        assert got.onset == tw[0].onset and got.end == tw[-1].end
        assert got.detected_at - tw[-1].end <= 0.1 + 0.0625
        bare = emg_code.emg_morse(text, end_mark=False)
        late = _live([Twitch(5 + t.start, t.duration, level=10.0) for t in bare], 20.0 + bare[-1].start)
        if text == "E":
            assert late == []
        else:
            assert [d.text for d in late] == [text]
            assert late[0].detected_at - late[0].end >= 5.0  # (EMG_MESSAGE_END_SEC)


def test_the_end_mark_is_a_letter_of_its_own():
    """R (.-.) then A (.-) with only the gap inside a letter between them is the mark; with a letter
    pause between them they are letters, and a lone mark is no message."""
    mark = [Twitch(5 + t.start, t.duration, level=10.0) for t in emg_code.emg_morse("RA", end_mark=False)]
    assert [d.text for d in _live(mark, 40.0)] == ["RA"]
    alone = [Twitch(t.start, t.duration) for t in emg_code.emg_morse("E")][1:]  # the mark only
    assert not decode_emg_morse(alone).ok and "end mark" in decode_emg_morse(alone).reason
    assert [d.ok for d in _live([Twitch(5 + t.onset, t.duration, level=10.0) for t in alone], 40.0)] == [
        False
    ]


def test_a_spoiled_end_mark_is_not_read_as_a_letter():
    """A mark with one twitch lost (.-.-) or read long (.-.--) does not close the message at once;
    the pause does, and the spoiled mark is not part of the text. A whole mark after one letter
    (C, one edit from the mark) still leaves the C; without the mark, that C is taken for a spoiled
    mark."""
    hi = [Twitch(5 + t.start, t.duration, level=10.0) for t in emg_code.emg_morse("HI")]
    lost = hi[:-1]
    (got,) = _live(lost, 40.0)
    assert got.text == "HI" and got.detected_at - lost[-1].end >= 5.0
    long_dot = [*hi[:-1], Twitch(hi[-1].onset, 0.9, level=10.0)]
    assert [d.text for d in _live(long_dot, 40.0)] == ["HI"]
    c = [Twitch(5 + t.start, t.duration, level=10.0) for t in emg_code.emg_morse("TIC")]
    (got,) = _live(c, 40.0)
    assert got.text == "TIC" and got.detected_at - c[-1].end < 0.2
    bare = [Twitch(5 + t.start, t.duration, level=10.0) for t in emg_code.emg_morse("TIC", end_mark=False)]
    assert [d.text for d in _live(bare, 40.0)] == ["TI"]
