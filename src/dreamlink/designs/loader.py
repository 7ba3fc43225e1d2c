"""Read a design file into plain data while remembering where every value came from.

PyYAML's composer builds a node tree whose nodes carry start marks (line, column); this module walks
that tree itself, so every key and value of the document gets a location, duplicate keys are caught
(PyYAML silently keeps the last one), and mapping keys stay the text the author wrote (YAML 1.1 would
otherwise turn a key ``on:`` into the boolean ``True``).

Every problem is a :class:`DesignIssue` that prints as ``file:line:col: field: message (did you mean
'x'?)``, the format compilers and linters use, so editors can jump to it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dreamlink.errors import DesignError, InputFileError

#: A location inside the document: keys and list indices from the root.
DocPath = tuple[str | int, ...]

#: libyaml's parser when PyYAML was built with it (10x faster), else the pure-Python one; both give marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: Refuse documents with more nodes than this (alias bombs, runaway files).
MAX_NODES = 50_000
#: Refuse nesting deeper than this.
MAX_DEPTH = 64


@dataclass(frozen=True)
class DesignIssue:
    """One located problem in a design file.

    Parameters
    ----------
    file : str
        The design file as given.
    line, col : int
        1-based position of the offending key or value.
    field : str
        Dotted path of the field (``states.ask.on[0].trigger.type``), or ``-`` for the document.
    message : str
        What is wrong and what was expected.
    suggestion : str | None
        A near-miss correction, shown as ``(did you mean 'x'?)``.
    severity : str
        ``"error"`` or ``"warning"``.
    """

    file: str
    line: int
    col: int
    field: str
    message: str
    suggestion: str | None = None
    severity: str = "error"

    def __str__(self) -> str:
        hint = f" (did you mean '{self.suggestion}'?)" if self.suggestion else ""
        tag = "warning: " if self.severity == "warning" else ""
        text = f"{self.file}:{self.line}:{self.col}: {self.field}: {tag}{self.message}{hint}"
        return " ".join(text.split("\n"))


class DesignValidationError(DesignError):
    """A design file has errors; ``issues`` lists them all, ``str()`` is the first one."""

    exit_code = 1

    def __init__(self, issues: Sequence[DesignIssue]) -> None:
        self.issues = list(issues)
        errors = [i for i in self.issues if i.severity == "error"]
        first = str(errors[0]) if errors else "invalid design"
        more = f" (and {len(errors) - 1} more; run `dreamlink check` for all)" if len(errors) > 1 else ""
        super().__init__(first + more)


@dataclass
class SourceDocument:
    """A parsed design document with the location of each key and value.

    Attributes
    ----------
    data : Any
        The document as plain dicts, lists and scalars (``None`` if parsing failed).
    file : str
        The file name used in messages.
    text : str
        The document's text.
    value_marks : dict
        ``path -> (line, col)`` (1-based) of each value.
    key_marks : dict
        ``path -> (line, col)`` of the key that introduced the value at ``path``.
    issues : list of DesignIssue
        Problems found while parsing (syntax, duplicate keys, non-text keys).
    """

    data: Any
    file: str
    text: str
    value_marks: dict[DocPath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[DocPath, tuple[int, int]] = field(default_factory=dict)
    issues: list[DesignIssue] = field(default_factory=list)

    def mark(self, path: DocPath, key: bool = False) -> tuple[int, int]:
        """Best location for ``path``: its key (if asked and known), its value, or the nearest parent."""
        path = tuple(path)
        while True:
            if key and path in self.key_marks:
                return self.key_marks[path]
            if path in self.value_marks:
                return self.value_marks[path]
            if path in self.key_marks:
                return self.key_marks[path]
            if not path:
                return (1, 1)
            path = path[:-1]

    def issue(
        self,
        path: DocPath,
        message: str,
        suggestion: str | None = None,
        key: bool = False,
        severity: str = "error",
    ) -> DesignIssue:
        """Build a :class:`DesignIssue` located at ``path``."""
        line, col = self.mark(path, key=key)
        return DesignIssue(self.file, line, col, format_path(path), message, suggestion, severity)


def format_path(path: Iterable[str | int]) -> str:
    """``("states", "a", "on", 0, "goto")`` -> ``states.a.on[0].goto`` (``-`` for the root)."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "-"


def suggest(word: Any, choices: Iterable[str], aliases: dict[str, str] | None = None) -> str | None:
    """Closest of ``choices`` to ``word`` (difflib), or a known alias; ``None`` if nothing is close."""
    if not isinstance(word, str) or not word:
        return None
    choices = [str(c) for c in choices]
    if aliases:
        alias = aliases.get(word.upper())
        if alias in choices:
            return alias
    lowered = {c.lower(): c for c in choices}
    if word.lower() in lowered and lowered[word.lower()] != word:
        return lowered[word.lower()]
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not found:
        found = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
        found = [lowered[f] for f in found]
    return found[0] if found else None


def read_design_text(path: str | Path) -> str:
    """Read a design file as UTF-8 text.

    Raises
    ------
    InputFileError
        The file is missing or a folder.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"design file not found: {path} (check the path)")
    if path.is_dir():
        raise InputFileError(f"{path} is a folder; give a design .yaml file")
    return path.read_bytes().decode("utf-8", errors="surrogateescape")


def parse_document(text: str, file: str = "<design>") -> SourceDocument:
    """Parse YAML (or JSON) text into a :class:`SourceDocument`; never raises on bad input."""
    doc = SourceDocument(data=None, file=file, text=text)
    bad = _first_undecodable(text)
    if bad is not None:
        line, col = bad
        doc.issues.append(DesignIssue(file, line, col, "-", "the file is not UTF-8 text; save it as UTF-8"))
        return doc
    try:
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        what = " ".join(p for p in (err.context, err.problem) if p) or "syntax error"
        doc.issues.append(DesignIssue(file, line, col, "-", f"YAML syntax error: {what}"))
        return doc
    except yaml.reader.ReaderError as err:
        before = text[: max(0, int(err.position))]
        line, col = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
        code = _codepoint(err.character)
        doc.issues.append(DesignIssue(file, line, col, "-",
                                      f"character U+{code:04X} is not allowed in YAML text; remove it"))
        return doc
    except yaml.YAMLError as err:
        first = str(err).splitlines()[0] if str(err) else "unreadable YAML"
        doc.issues.append(DesignIssue(file, 1, 1, "-", f"YAML error: {first}"))
        return doc
    if node is None:
        doc.issues.append(DesignIssue(file, 1, 1, "-", "the design file is empty; start with `design: NAME`"))
        return doc
    walker = _Walker(doc, loader)
    try:
        doc.data = walker.convert(node, (), 0)
    except _TooBigError as err:
        doc.data = None
        doc.issues.append(DesignIssue(file, err.line, err.col, "-", str(err)))
    return doc


def _codepoint(character: Any) -> int:
    if isinstance(character, int):
        return character
    return ord(character[0]) if isinstance(character, str | bytes) and character else 0


class _TooBigError(Exception):
    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.line, self.col = line, col


def _first_undecodable(text: str) -> tuple[int, int] | None:
    for i, ch in enumerate(text):
        if 0xDC80 <= ord(ch) <= 0xDCFF:
            before = text[:i]
            line = before.count("\n") + 1
            return line, i - (before.rfind("\n") + 1) + 1
    return None


class _Walker:
    """Turns composed YAML nodes into plain data, recording marks."""

    def __init__(self, doc: SourceDocument, loader: Any) -> None:
        self.doc = doc
        self.loader = loader
        self.count = 0

    @staticmethod
    def _pos(node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def convert(self, node: yaml.Node, path: DocPath, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _TooBigError(f"the document has more than {MAX_NODES} values; a design is much smaller",
                          *self._pos(node))
        if depth > MAX_DEPTH:
            raise _TooBigError(f"the document nests deeper than {MAX_DEPTH} levels", *self._pos(node))
        self.doc.value_marks.setdefault(path, self._pos(node))
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    line, col = self._pos(key_node)
                    self.doc.issues.append(DesignIssue(self.doc.file, line, col, format_path(path),
                                                       "keys must be plain names, not lists or mappings"))
                    continue
                key = str(key_node.value)
                if key == "<<":
                    line, col = self._pos(key_node)
                    self.doc.issues.append(DesignIssue(self.doc.file, line, col, format_path(path),
                                                       "YAML merge keys (<<) are not supported in designs"))
                    continue
                child = (*path, key)
                if key in out:
                    line, col = self._pos(key_node)
                    first = self.doc.key_marks.get(child, (0, 0))[0]
                    self.doc.issues.append(DesignIssue(
                        self.doc.file, line, col, format_path(child),
                        f"duplicate key '{key}' (first given on line {first}); keep one"))
                    continue
                self.doc.key_marks[child] = self._pos(key_node)
                out[key] = self.convert(value_node, child, depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        try:
            value = self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            value = str(node.value)
        if not isinstance(value, str | int | float | bool | type(None)):
            value = str(node.value)  # timestamps, binary...: keep the text the author wrote
        return value


def load_document(path: str | Path) -> SourceDocument:
    """Read and parse a design file (see :func:`parse_document`)."""
    return parse_document(read_design_text(path), file=str(path))
