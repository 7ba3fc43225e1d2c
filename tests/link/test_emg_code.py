"""dreamlink's EMG code: yes/no twitch counts and EMG-Morse timing."""

from __future__ import annotations

import pytest

from dreamlink.detect.emg_messages import EMG_MESSAGE_END_SEC
from dreamlink.link import emg_code
from dreamlink.link.morse import MorseEncodingError


def _gaps(tw):
    return [round(b.start - (a.start + a.duration), 6) for a, b in zip(tw[:-1], tw[1:], strict=True)]


def test_yes_no_counts_short_twitches_closed_by_a_long_one():
    yes, no = emg_code.yes_no(True), emg_code.yes_no(False)
    assert len(yes) - 1 == emg_code.YES_TWITCHES == 2 and len(no) - 1 == emg_code.NO_TWITCHES == 3
    for tw in (yes, no):
        *shorts, close = tw
        assert all(t.duration < emg_code.LONG_TWITCH_SEC for t in shorts)
        assert close.duration == emg_code.CLOSE_SEC >= emg_code.LONG_TWITCH_SEC
        assert _gaps(tw) == pytest.approx([0.5] * len(shorts))
    assert emg_code.yes_no(False, close_sec=None) == no[:-1]


@pytest.mark.parametrize("gap", [0.35, 0.6])
def test_morse_pauses_symbol_letter_word(gap):
    tw = emg_code.emg_morse("E T", gap_sec=gap, end_mark=False)  # one dot, word pause, one dash
    assert [t.duration >= emg_code.LONG_TWITCH_SEC for t in tw] == [False, True]
    (word,) = _gaps(tw)
    assert word == pytest.approx(gap + 2 * emg_code.LETTER_PAUSE_SEC)
    assert word < EMG_MESSAGE_END_SEC - 1.0  # a word pause never ends the message
    sos = emg_code.emg_morse("SOS", gap_sec=gap, end_mark=False)
    assert _gaps(sos) == pytest.approx(
        [gap, gap]
        + [gap + emg_code.LETTER_PAUSE_SEC]
        + [gap, gap]
        + [gap + emg_code.LETTER_PAUSE_SEC]
        + [gap, gap]
    )


def test_morse_ends_with_the_end_mark_after_a_letter_pause():
    tw = emg_code.emg_morse("T", gap_sec=0.4)
    assert (
        "".join("-" if t.duration >= emg_code.LONG_TWITCH_SEC else "." for t in tw) == "-" + emg_code.END_MARK
    )
    assert _gaps(tw) == pytest.approx([0.4 + emg_code.LETTER_PAUSE_SEC] + [0.4] * 4)


@pytest.mark.parametrize("text", ["HI.", "1+1", ""])
def test_morse_refuses_what_the_end_mark_takes(text):
    with pytest.raises(MorseEncodingError):
        emg_code.emg_morse(text)
