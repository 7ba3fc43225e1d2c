"""The English lexicon free-text eye-Morse may be read as, searched by Morse distance."""

from __future__ import annotations

import pytest

from dreamlink.link.lexicon import (
    COMMON_WORDS,
    LONE_LETTER_WORDS,
    Lexicon,
    english,
    lexicon_named,
)


def test_the_english_lexicon_has_common_words_and_every_single_letter():
    words = english()
    assert len(words) > 30000
    for text in ("YES", "NO", "OK", "DREAM", "I AM", "GO UP", "T", "Q", "7"):
        assert text in words
    for text in ("TTK", "RTD", "YES TTK", ""):
        assert text not in words
    # Among other words a lone letter is a spoiled reading, unless it is the word "A" or "I".
    for text in ("N M", "O A", "I A T", "S AM"):
        assert text not in words
    for text in ("I AM", "A DREAM", "ROOM 4"):
        assert text in words
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
        # Letters grouped into words differently (real REM EOG, tuning draws of the benchmark):
        ("GOUP", "GO UP"),  # a word gap read as a letter gap
        ("N M", "NO"),  # a letter gap read as a word gap, and a dash lost
        ("O A", "OK"),
        ("I A T", "I AM"),  # "AT" is a word; "AM" one more edit away
        ("S AM", "I AM"),  # one dot too many in a lone letter
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


def test_letters_are_grouped_into_common_words_only():
    words = english()
    near = words.near("LECID", max_edits=2, limit=16)
    assert "LUCID" in near
    # "LE CID" is one gap away, but both are rare words (a French article, a name)
    assert "LE CID" not in near
    common = set(words.words[:COMMON_WORDS]) | LONE_LETTER_WORDS
    regrouped = [text for spelled in ("LECID", "GOUP") for text in words.near(spelled, 2, 16) if " " in text]
    assert "GO UP" in regrouped
    assert all(w in common for text in regrouped for w in text.split())


def test_two_lone_letters_in_a_row_are_no_reading():
    # A spoiled "EI I" or "I E" is one or two edits from "I I", "A A" or "I A": English hardly writes
    # two lone letters in a row, so none of them is offered; words with one lone letter still are.
    words = english()
    for spelled in ("EI I", "I E", "A E", "E A"):
        near = words.near(spelled, max_edits=2, limit=16)
        lone = [[len(w) == 1 for w in text.split()] for text in near]
        assert not any(a and b for flags in lone for a, b in zip(flags, flags[1:], strict=False)), near
    assert "EN I" in words.near("EI I", 2, 16) and "I AM" in words.near("I A T", 2, 16)


def test_an_unknown_lexicon_is_refused_with_the_names():
    with pytest.raises(ValueError, match="english"):
        lexicon_named("klingon")
    assert lexicon_named("english") is english()
