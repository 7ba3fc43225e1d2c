"""The English lexicon free-text eye-Morse may be read as, searched by Morse distance."""

from __future__ import annotations

import pytest

from dreamlink.link.lexicon import Lexicon, english, lexicon_named


def test_the_english_lexicon_has_common_words_and_every_single_letter():
    words = english()
    assert len(words) > 30000
    for text in ("YES", "NO", "OK", "DREAM", "I AM", "GO UP", "T", "Q", "7"):
        assert text in words
    for text in ("TTK", "RTD", "YES TTK", ""):
        assert text not in words
    assert words.words[0] == "THE"  # most frequent first


@pytest.mark.parametrize(
    ("spelled", "meant"),
    [
        ("TTK", "OK"),  # a dash split in two by a natural REM
        ("RTD", "RED"),  # a dot read as a dash
        ("YTS", "YES"),
        ("LUNEID", "LUCID"),  # a C split into N and E
        ("I OS", "SOS"),  # the first S's last dot read as a word gap
        ("RO UP", "GO UP"),  # one word of several
    ],
)
def test_the_word_meant_is_among_the_words_near_a_spoiled_spelling(spelled, meant):
    near = english().near(spelled, max_edits=2, limit=16)
    assert meant in near
    assert spelled not in near
    assert all(text in english() for text in near)


def test_nearness_is_counted_in_morse_edits():
    words = Lexicon.of("tiny", ["ok", "on", "sos", "x#y", "two words"])
    assert words.words == ("OK", "ON", "SOS")  # no Morse for "#", one word per entry
    assert words.near("TTK", max_edits=1) == ["OK"]  # one edit: "- - -.-" → "--- -.-"
    assert words.near("TTK", max_edits=0) == []
    # Several words: only a message with a single non-word gets a replacement.
    assert words.near("OK TTK", max_edits=2) == ["OK OK", "OK ON"]
    assert words.near("TTK TTK", max_edits=2) == []


def test_an_unknown_lexicon_is_refused_with_the_names():
    with pytest.raises(ValueError, match="english"):
        lexicon_named("klingon")
    assert lexicon_named("english") is english()
