"""Fuzz the validator: mutated designs are accepted or rejected with a located message, never a traceback."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

from dreamlink.designs import check_text
from dreamlink.designs.schema import ACTION_KINDS, TRIGGER_TYPES

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples" / "designs").glob("*.yaml"))
N_MUTANTS = 1200

_WORDS = [*TRIGGER_TYPES, *ACTION_KINDS, "goto", "when", "stage", "R", "REM", "N3", "for_sec", "timeout_sec",
          "-1", "1e309", ".nan", "null", "[]", "{}", "yes", "on", "&a", "*a", "!!python/object", "'", '"',
          "{", "}", "[", ":", "- ", "\t", "    ", "{undefined}", "{{", "}}", "ä", "\x00", "\ufeff", "<<: *a"]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    op = rng.randrange(10)
    if op == 0 and lines:  # delete a line
        del lines[rng.randrange(len(lines))]
    elif op == 1 and lines:  # duplicate a line
        i = rng.randrange(len(lines))
        lines.insert(i, lines[i])
    elif op == 2 and len(lines) > 1:  # swap two lines
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        lines[i], lines[j] = lines[j], lines[i]
    elif op == 3 and lines:  # change indentation
        i = rng.randrange(len(lines))
        lines[i] = " " * rng.randrange(0, 12) + lines[i].lstrip(" ")
    elif op == 4:  # replace a word by a vocabulary word
        words = text.split(" ")
        i = rng.randrange(len(words))
        words[i] = rng.choice(_WORDS)
        return " ".join(words)
    elif op == 5:  # insert random characters
        pos = rng.randrange(len(text) + 1)
        junk = "".join(rng.choice(":-{}[],#&*!|>'\"\t \n%@`") for _ in range(rng.randrange(1, 5)))
        return text[:pos] + junk + text[pos:]
    elif op == 6:  # delete a span
        a = rng.randrange(len(text) + 1)
        return text[:a] + text[a + rng.randrange(1, 40):]
    elif op == 7:  # truncate
        return text[: rng.randrange(len(text) + 1)]
    elif op == 8:  # a character typo
        pos = rng.randrange(len(text)) if text else 0
        return text[:pos] + rng.choice("abcdefghijklmnopqrstuvwxyz_0123456789") + text[pos + 1:]
    else:  # replace a number
        words = text.split(" ")
        i = rng.randrange(len(words))
        words[i] = rng.choice(["0", "-5", "99999", "1.5", "true", "'x'"])
        return " ".join(words)
    return "".join(lines)


def _paths(node, path=()):
    yield path
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))


def _mutate_data(text: str, rng: random.Random) -> str:
    """Structure-aware mutation: rename a key, replace a value, drop or copy an entry, then dump YAML."""
    data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    paths = [p for p in _paths(data) if p]
    path = rng.choice(paths)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    op = rng.randrange(4)
    if op == 0 and isinstance(parent, dict):  # rename a key (typo or vocabulary word)
        new = rng.choice(_WORDS[:30]) if rng.random() < 0.5 else str(last)[:-1] + "x"
        parent[new] = parent.pop(last)
    elif op == 1:  # replace a value by another type or word
        parent[last] = rng.choice([None, 0, -3, 2.5, True, "R", "REM", "nowhere", [], {}, [1, 2],
                                   {"type": "x"}, "{bogus}", rng.choice(_WORDS[:30])])
    elif op == 2:  # drop an entry
        del parent[last]
    else:  # copy an entry somewhere else in the same container
        if isinstance(parent, list):
            parent.append(parent[last])
        else:
            parent[f"{last}2"] = parent[last]
    return yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False)


def test_thousand_mutants_never_raise():
    rng = random.Random(20260125)
    sources = [p.read_text(encoding="utf-8") for p in EXAMPLES]
    accepted = rejected = 0
    for n in range(N_MUTANTS):
        text = rng.choice(sources)
        if n % 2:
            for _ in range(rng.randrange(1, 4)):
                text = _mutate(text, rng)
        else:
            text = _mutate_data(text, rng)
        issues = check_text(text, f"mutant{n}.yaml")  # must not raise
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            rejected += 1
        else:
            accepted += 1
        n_lines = text.count("\n") + 2
        for issue in issues:
            line = str(issue)
            assert line.startswith(f"mutant{n}.yaml:{issue.line}:{issue.col}: "), line
            assert 1 <= issue.line <= n_lines and issue.col >= 1, line
            assert issue.field and issue.message and "\n" not in line, line
    assert accepted + rejected == N_MUTANTS
    # the mutator is strong enough to break most files, but some mutants stay valid
    assert rejected > N_MUTANTS // 2 and accepted > 0, (accepted, rejected)
