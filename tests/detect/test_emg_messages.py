"""EMG message decoding: background-strength twitches next to a message are not part of it."""

from __future__ import annotations

from dreamlink.detect.decoded import Decoded
from dreamlink.detect.emg_messages import (
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
    assert not decode_yes_no(yes + [Twitch(2.5, 0.25)] * 2).ok  # 4 twitches
    assert "long" in decode_yes_no([Twitch(0, 0.25), Twitch(1, 0.9)]).reason
    assert "spread" in decode_yes_no([Twitch(0, 0.2), Twitch(6, 0.2)]).reason
    assert "irregular" in decode_yes_no([Twitch(0, 0.2), Twitch(0.4, 0.2), Twitch(2.6, 0.2)]).reason
    sos = [Twitch(t.start, t.duration) for t in emg_code.emg_morse("SOS HI")]
    assert decode_emg_morse(sos).text == "SOS HI"
    assert "not a Morse letter" in decode_emg_morse([Twitch(0.6 * i, 0.2) for i in range(7)]).reason


def test_emg_stream_decoder_ignores_a_lone_twitch():
    dec = EmgMessageDecoder("yes_no")
    assert dec.update([Twitch(1.0, 0.2)], now=1.5) == []
    assert dec.update([], now=10.0) == []  # lone twitch dropped, no "unreadable"
    out = dec.update([Twitch(20.0, 0.2), Twitch(20.7, 0.2)], now=21.0) + dec.update([], now=30.0)
    assert [d.text for d in out] == ["yes"] and isinstance(out[0], Decoded)
