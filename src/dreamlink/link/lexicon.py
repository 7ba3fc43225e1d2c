"""The words a free-text Morse message is likely to be: an English lexicon, searched by Morse.

A dreamer who sends free text in eye-Morse almost always sends words. When a natural REM spoils
one element, the reading is often a non-word a single Morse edit away from the word sent ("OK"
read "TTK": one dash split in two; "RED" read "RTD"). Like a spelling prior in handwriting or
speech recognition (a lexicon-constrained decoder, e.g. Rabiner 1989, section VI on isolated-word
recognition; Norvig 2007, "How to write a spelling corrector"), the detector can read such a
message again as each *nearby* word and take a word when it explains the gaze trace about as well
(:meth:`dreamlink.detect.eye_messages.EyeMessageDecoder.lexicon`).

"Nearby" is measured on the Morse, not on the letters: each text is spelled as a string of ``.``
and ``-`` with ``" "`` between letters and ``"/"`` between words
(:func:`dreamlink.link.morse.code_string`), and the distance is the
Levenshtein distance between such strings (computed by ``rapidfuzz``, which does this fast for
tens of thousands of words; hand-writing it would be slower and no clearer).

The words and their frequencies come from ``pyspellchecker``'s English dictionary (MIT licence;
word counts from the OpenSubtitles 2018 corpus, cleaned by the package's maintainers: Lison &
Tiedemann 2016, "OpenSubtitles2016: extracting large parallel corpora from movie and TV
subtitles", LREC), read from the installed package: nothing is downloaded.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from dreamlink.link import morse

#: Words of the English lexicon kept by default: the most frequent ones (rarer words are mostly
#: names, misspellings and fragments, which would only give a spoiled reading more to be).
ENGLISH_WORDS = 40000

#: Always in a lexicon: a single letter or digit is a message of its own (an initial, an option,
#: a number), however rare it is as a word of running text.
SINGLE_SYMBOLS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

#: Lexicons a decoder can be given by name (``--lexicon`` on the command line).
LEXICON_NAMES = ("english",)


@dataclass(frozen=True, eq=False)
class Lexicon:
    """A list of words with how common each is, searchable by Morse distance (one object per list:
    lexicons compare by identity).

    Attributes
    ----------
    name : str
        What the words are (e.g. ``"english"``).
    words : tuple of str
        The words, upper case, most frequent first.
    """

    name: str
    words: tuple[str, ...]
    _codes: tuple[str, ...] = field(repr=False, compare=False, default=())
    _known: frozenset[str] = field(repr=False, compare=False, default=frozenset())

    @classmethod
    def of(cls, name: str, words: list[str]) -> Lexicon:
        """A lexicon of ``words`` (most frequent first); words without a Morse code are left out."""
        kept: dict[str, str] = {}
        for word in words:
            text = morse.plain(word)
            if not text or " " in text or text in kept:
                continue
            try:
                kept[text] = morse.code_string(text)
            except morse.MorseEncodingError:
                continue
        return cls(name, tuple(kept), tuple(kept.values()), frozenset(kept))

    def __contains__(self, text: object) -> bool:
        """Whether every word of ``text`` is in the lexicon."""
        words = morse.plain(text).split()
        return bool(words) and all(word in self._known for word in words)

    def __len__(self) -> int:
        return len(self.words)

    def near(self, text: str, max_edits: int = 2, limit: int = 12) -> list[str]:
        """Texts made of lexicon words whose Morse is at most ``max_edits`` edits from ``text``'s.

        Whole-message words come first (the reading's word gaps may be spoiled: "DR AM" is two
        edits from "DREAM"); then, for a message of several words of which one is no word, the
        message with that word replaced by a near word ("I AN" → "I AM"). Closest first, more
        frequent first among equals; at most ``limit``; ``text`` itself is not among them.
        """
        text = morse.plain(text)
        try:
            code = morse.code_string(text)
        except morse.MorseEncodingError:
            return []
        found: dict[str, int] = {}
        for word, dist in self._closest(code, max_edits, limit):
            found.setdefault(word, dist)
        words = text.split()
        unknown = [i for i, word in enumerate(words) if word not in self._known]
        if len(words) > 1 and len(unknown) == 1:
            i = unknown[0]
            for other, dist in self._closest(morse.code_string(words[i]), max_edits, limit):
                found.setdefault(" ".join(words[:i] + [other] + words[i + 1 :]), dist)
        found.pop(text, None)
        return sorted(found, key=lambda w: found[w])[:limit]

    def _closest(self, code: str, max_edits: int, limit: int) -> list[tuple[str, int]]:
        hits = process.extract(
            code, self._codes, scorer=Levenshtein.distance, score_cutoff=max_edits, limit=4 * limit
        )
        # (stable sort: among equally close words, the lexicon's order, most frequent first)
        return sorted(((self.words[i], int(d)) for _, d, i in hits), key=lambda h: h[1])


def _spellchecker_counts(language: str) -> dict[str, int]:
    """Word counts of ``pyspellchecker``'s dictionary for ``language`` (from the installed package)."""
    data = resources.files("spellchecker") / "resources" / f"{language}.json.gz"
    with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as text:
        return json.load(text)


@lru_cache(maxsize=2)
def english(size: int = ENGLISH_WORDS) -> Lexicon:
    """The ``size`` most frequent English words (letters only), as a :class:`Lexicon`."""
    counts = _spellchecker_counts("en")
    ranked = sorted((w for w in counts if w.isalpha() and w.isascii()), key=lambda w: -counts[w])
    return Lexicon.of("english", ranked[:size] + list(SINGLE_SYMBOLS))


def lexicon_named(name: str) -> Lexicon:
    """The lexicon called ``name`` (one of :data:`LEXICON_NAMES`).

    Raises
    ------
    ValueError
        For another name (the message lists the names).
    """
    if name == "english":
        return english()
    raise ValueError(f"no lexicon {name!r}; choose one of: {', '.join(LEXICON_NAMES)}")
