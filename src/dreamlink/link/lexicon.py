"""The words a free-text Morse message is likely to be: an English lexicon, searched by Morse.

A dreamer who sends free text in eye-Morse almost always sends words. When a natural REM spoils
one element, the reading is often a non-word a single Morse edit away from the word sent ("OK"
read "TTK": one dash split in two; "RED" read "RTD"). Like a spelling prior in handwriting or
speech recognition (a lexicon-constrained decoder, e.g. Rabiner 1989, section VI on isolated-word
recognition; Norvig 2007, "How to write a spelling corrector"), the detector can read such a
message again as each *nearby* word and take a word when it explains the gaze trace about as well
(:meth:`dreamlink.detect.eye_messages.EyeMessageDecoder.lexicon`).

Natural REMs also stretch or shorten the rests between letters, so a reading may group the right
letters into the wrong words ("I AM" read "IAM", "NO" read "N M"): among several words, a lone
letter other than "A" or "I" is taken for such a spoiled reading, and the letters are tried in
other groupings, of common words only.

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
from itertools import combinations

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from dreamlink.link import morse

#: Words of the English lexicon kept by default: the most frequent ones (rarer words are mostly
#: names, misspellings and fragments, which would only give a spoiled reading more to be).
ENGLISH_WORDS = 40000

#: Always in a lexicon: a single letter or digit is a message of its own (an initial, an option,
#: a number), however rare it is as a word of running text.
SINGLE_SYMBOLS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")

#: Single letters that are words in a text of several words (elsewhere in such a text a lone letter
#: is taken for a spoiled reading, :meth:`Lexicon.__contains__`).
LONE_LETTER_WORDS = frozenset({"A", "I"})

#: Texts of several words found near a reading (:meth:`Lexicon.near`) are made of this many most
#: frequent words only: many groupings of a non-word's letters into rare words (names, fragments,
#: foreign words of the subtitles) would read the gaze trace almost as well as the non-word itself.
COMMON_WORDS = 3000

#: Messages of more letters than this are not re-grouped into words (the groupings grow as 2^n).
REGROUP_MAX_LETTERS = 12

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
    _rank: dict[str, int] = field(repr=False, compare=False, default_factory=dict)  # 0: most frequent

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
        return cls(name, tuple(kept), tuple(kept.values()), {word: i for i, word in enumerate(kept)})

    def __contains__(self, text: object) -> bool:
        """Whether every word of ``text`` is in the lexicon.

        In a text of several words, a lone letter other than :data:`LONE_LETTER_WORDS` or a digit
        counts as no word: a natural REM read as one more dot or dash, or a letter gap read as a word
        gap, leaves such letters ("NO" read "N M").
        """
        words = morse.plain(text).split()
        return bool(words) and all(self._is_word(word, len(words) > 1) for word in words)

    def __len__(self) -> int:
        return len(self.words)

    def _is_word(self, word: str, among_others: bool) -> bool:
        """Whether ``word`` is a lexicon word, standing alone or ``among_others`` words of a text."""
        if among_others and len(word) == 1 and word.isalpha():
            return word in LONE_LETTER_WORDS
        return word in self._rank

    def near(self, text: str, max_edits: int = 2, limit: int = 12) -> list[str]:
        """Texts made of lexicon words whose Morse is at most ``max_edits`` edits from ``text``'s.

        An edit adds, drops or changes one element (dot, dash) or gap; a letter gap read as a word
        gap is one edit ("I AM" read "I A T": the gap before the M read as a word gap and one of
        its dashes lost, two edits).
        Found are: whole-message words ("N M" → "NO"); the text with its letters grouped into
        words differently ("GOUP" → "GO UP"); and either of these with one word replaced by a near
        word ("I AN" → "I AM"), a word that is no word if there is one. Texts of several words are
        made of the :data:`COMMON_WORDS` only, with no two lone letters in a row ("I I"). At most
        ``limit``, ``text`` itself not among them:
        closest first, then those of fewer words, then those whose rarest word is more frequent.
        """
        text = morse.plain(text)
        try:
            code = morse.code_string(text)
        except morse.MorseEncodingError:
            return []
        found: dict[str, int] = {}

        def add(candidate: str, dist: int) -> None:
            if dist < found.get(candidate, max_edits + 1):
                found[candidate] = dist

        for word, dist in self._closest(code, max_edits, limit):
            add(word, dist)
        for words, regrouped in _regroupings(text.split(), max_edits):
            if len(words) == 1:
                continue  # whole-message words were found above
            unknown = [i for i, w in enumerate(words) if not self._is_word(w, True)]
            if regrouped and not unknown and self._go_together(words):
                add(" ".join(words), regrouped)
            budget = max_edits - regrouped
            if len(unknown) > 1 or budget < 1:
                continue
            for i in unknown or range(len(words)):
                for other, dist in self._closest(morse.code_string(words[i]), budget, limit):
                    changed = words[:i] + [other] + words[i + 1 :]
                    if other != words[i] and self._go_together(changed):
                        add(" ".join(changed), regrouped + dist)
        found.pop(text, None)
        return sorted(found, key=lambda w: (found[w], w.count(" "), self._rarest(w)))[:limit]

    def _go_together(self, words: list[str]) -> bool:
        """Whether ``words`` may make a text of several words: all common, no two lone letters in a row."""
        return all(map(self._common, words)) and _letters_apart(words)

    def _common(self, word: str) -> bool:
        """Whether ``word`` is one of the :data:`COMMON_WORDS` that may stand among others."""
        if len(word) == 1 and word.isalpha():
            return word in LONE_LETTER_WORDS
        return self._rank.get(word, COMMON_WORDS) < COMMON_WORDS

    def _rarest(self, text: str) -> int:
        """Frequency rank of the rarest word of ``text`` (0: the most frequent word)."""
        return max(self._rank.get(word, len(self.words)) for word in text.split())

    def _closest(self, code: str, max_edits: int, limit: int) -> list[tuple[str, int]]:
        return _closest(self, code, max_edits, limit)


@lru_cache(maxsize=4096)
def _closest(lexicon: Lexicon, code: str, max_edits: int, limit: int) -> list[tuple[str, int]]:
    """The lexicon's words at most ``max_edits`` Morse edits from ``code``, closest first (among
    equally close words the lexicon's order, most frequent first). Cached: re-grouping a message's
    letters asks for the same words many times."""
    hits = process.extract(
        code, lexicon._codes, scorer=Levenshtein.distance, score_cutoff=max_edits, limit=4 * limit
    )
    return sorted(((lexicon.words[i], int(d)) for _, d, i in hits), key=lambda h: h[1])


def _letters_apart(words: list[str]) -> bool:
    """Whether no two lone-letter words stand next to each other ("I I", "A I"): English hardly writes
    them, while a spoiled reading makes them easily (a natural REM read as a dot between two letters)."""
    return not any(len(a) == 1 and len(b) == 1 for a, b in zip(words, words[1:], strict=False))


def _regroupings(words: list[str], max_changes: int) -> list[tuple[list[str], int]]:
    """``words`` with their letters grouped into words differently, with how many gaps changed.

    Each gap between two letters is a letter gap or a word gap; changing at most ``max_changes``
    of them gives the groupings (the words as they are first, with 0 changes).
    """
    letters = "".join(words)
    breaks = [False] * max(len(letters) - 1, 0)
    at = 0
    for word in words[:-1]:
        at += len(word)
        breaks[at - 1] = True
    out = [(words, 0)]
    if len(letters) > REGROUP_MAX_LETTERS:
        return out
    for changes in range(1, max_changes + 1):
        for flipped in combinations(range(len(breaks)), changes):
            now = [b != (i in flipped) for i, b in enumerate(breaks)]
            grouped, start = [], 0
            for i, cut in enumerate(now):
                if cut:
                    grouped.append(letters[start : i + 1])
                    start = i + 1
            grouped.append(letters[start:])
            out.append((grouped, changes))
    return out


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
