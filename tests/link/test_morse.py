import pytest

from dreamlink.link import morse


def test_sos_encodes_and_decodes():
    assert morse.encode("sos") == ["... --- ..."]
    assert [morse.decode_letter(c) for c in "... --- ...".split()] == ["S", "O", "S"]
    assert morse.decode_letter("......") is None


def test_timeline_follows_itu_unit_ratios():
    unit = 0.1
    on = morse.timeline("E T", unit)  # dot, word gap, dash
    (s0, d0), (s1, d1) = on
    assert d0 == pytest.approx(unit) and d1 == pytest.approx(3 * unit)
    assert s1 - (s0 + d0) == pytest.approx(7 * unit)
    on = morse.timeline("EE", unit)
    assert on[1][0] - (on[0][0] + on[0][1]) == pytest.approx(3 * unit)
    on = morse.timeline("I", unit)
    assert on[1][0] - (on[0][0] + on[0][1]) == pytest.approx(unit)


def test_unknown_characters_are_named():
    with pytest.raises(morse.MorseEncodingError, match="#"):
        morse.encode("a#b")


def test_a_code_string_spells_letters_and_words_and_keeps_beginnings():
    assert morse.code_string("go up") == "--. ---/..- .--."
    assert morse.code_string("E") == "."
    # "LU" begins "LUCID" in Morse, "GO U" begins "GO UP"; "GOD" does not begin "GO UP".
    assert morse.code_string("LUCID").startswith(morse.code_string("LU"))
    assert morse.code_string("GO UP").startswith(morse.code_string("GO U"))
    assert not morse.code_string("GO UP").startswith(morse.code_string("GOD"))
