"""Near-copies: submissions whose code is nearly the same once names, comments and order are set aside.

A hint for a human, never a penalty: two students who followed the same lecture example
can write similar code. Each statement of a file gets a fingerprint with every name
erased (variables, arguments, functions; not the attributes and keywords of the APIs it
calls), docstrings dropped, and the kind of block it sits in; a statement that opens a
block (``for``, ``async with``, ``def``) is fingerprinted by its own line, so one changed
line changes one fingerprint. What the kit's stub already holds is taken away. Two
students' exercises are similar when their fingerprints, as multisets, overlap by
``THRESHOLD`` or more (Jaccard: shared / all), in whatever order the statements come.
Identical code is reported as ``shared:`` instead.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path

THRESHOLD = 0.8
MIN_STATEMENTS = 4  # fewer of the student's own statements say nothing
FLAG_NAMES = 5  # a flag names this many others, then says how many more
NESTED = ("body", "orelse", "finalbody", "handlers", "cases")


@dataclasses.dataclass(frozen=True)
class Pair:
    """Two students whose code for ``exercise`` is similar, and how much (0 to 1)."""

    exercise: str
    first: str
    second: str
    score: float


class _Erase(ast.NodeTransformer):
    """Names become ``_``; what an API is called (attributes, keywords, imported modules) stays."""

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = "_"
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg, node.annotation = "_", None
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            node.name, node.returns = "_", None
        elif isinstance(node, ast.ClassDef):
            node.name = "_"
        return super().generic_visit(node)


def code_shape(source: bytes) -> list[str]:
    """The fingerprints of every statement of ``source`` (sorted), or none when it does not parse."""
    try:
        tree = _Erase().visit(ast.parse(source.decode("utf-8-sig")))
    except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
        return []
    prints: list[str] = []
    for statement in tree.body:
        _fingerprint(statement, prints)
    return sorted(prints)


def own_shape(source: bytes, stub: Path) -> list[str]:
    """The fingerprints of the student's own statements: ``source``'s, less those of the stub."""
    left = Counter(code_shape(source)) - Counter(_stub_shape(stub))
    return sorted(left.elements())


@functools.cache
def _stub_shape(stub: Path) -> tuple[str, ...]:
    return tuple(code_shape(stub.read_bytes())) if stub.is_file() else ()


def _fingerprint(node: ast.AST, prints: list[str], parent: str = "") -> None:
    """Fingerprint ``node`` by its own line (the block it opens, not the statements in it), and where it sits."""
    kind = type(node).__name__
    for field in NESTED:
        block = getattr(node, field, None)
        if isinstance(block, list):
            if block and _is_docstring(block[0]):
                block = block[1:]
            for child in block:
                _fingerprint(child, prints, kind)
            setattr(node, field, [])
    text = parent + "|" + ast.dump(node, annotate_fields=False)
    prints.append(hashlib.sha256(text.encode()).hexdigest()[:12])


def _is_docstring(node: ast.AST) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


def similar_pairs(shapes: Iterable[tuple[str, dict[str, list[str]]]], identical: set[tuple[str, str, str]]) -> list[Pair]:
    """Every pair of students whose own code for an exercise is similar, best first; ``identical``
    (exercise, student, student) pairs are left out, as ``shared:`` already names them."""
    by_exercise: dict[str, dict[str, Counter[str]]] = defaultdict(dict)
    for student, exercises in shapes:
        for exercise, prints in exercises.items():
            if len(prints) >= MIN_STATEMENTS:
                by_exercise[exercise][student] = Counter(prints)
    pairs = []
    for exercise, students in sorted(by_exercise.items()):
        for first, second in _candidates(students):
            if (exercise, first, second) in identical:
                continue
            a, b = students[first], students[second]
            score = sum((a & b).values()) / sum((a | b).values())
            if score >= THRESHOLD:
                pairs.append(Pair(exercise, first, second, round(score, 2)))
    return sorted(pairs, key=lambda p: (-p.score, p.exercise, p.first, p.second))


def _candidates(students: dict[str, Counter[str]]) -> Iterable[tuple[str, str]]:
    """Pairs that share a fingerprint that few others have (at most a quarter of the class, or 20).

    Near-copies share many such statements; pairs that share only what everyone writes
    are not compared, so a large class costs far less than every pair.
    """
    holders: dict[str, list[str]] = defaultdict(list)
    for student, prints in students.items():
        for found in prints:
            holders[found].append(student)
    common = max(20, len(students) // 4)
    pairs: set[tuple[str, str]] = set()
    for names in holders.values():
        if len(names) <= common:
            pairs.update(itertools.combinations(sorted(names), 2))
    return sorted(pairs)


def similarity_flags(pairs: list[Pair]) -> dict[str, list[str]]:
    """``similar:EX(others)`` for each student in a similar pair."""
    others: dict[tuple[str, str], set[str]] = defaultdict(set)
    for pair in pairs:
        others[(pair.first, pair.exercise)].add(pair.second)
        others[(pair.second, pair.exercise)].add(pair.first)
    flags: dict[str, list[str]] = defaultdict(list)
    for (student, exercise), names in sorted(others.items()):
        shown = sorted(names)[:FLAG_NAMES]
        more = f",+{len(names) - FLAG_NAMES}" if len(names) > FLAG_NAMES else ""
        flags[student].append(f"similar:{exercise}({','.join(shown)}{more})")
    return dict(flags)
