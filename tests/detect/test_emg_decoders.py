"""EMG message decoding: background-strength twitches next to a message are not part of it."""

from __future__ import annotations

from dreamlink.detect.decoders import (
    EMG_MIN_MESSAGE_LEVEL,
    EmgMessageDecoder,
    Twitch,
    consistent_twitches,
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
