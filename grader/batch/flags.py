"""What a teacher wants pointed out, beyond the score.

Flags are short stable strings, ``kind`` or ``kind:detail``:
``identical_to_reference:EX`` (the file is the kit's reference solution, whatever its
comments and blank lines), ``imports_reference:EX`` (it imports the reference solutions
or the grader), ``shared:EX(a,b)`` (the same code as other students'), ``timeout:EX``,
``sandbox:EX`` (the run was refused something, or its process was killed or left early),
``archive_rejected``, ``archive_too_large`` (an upload past the student's archive
budget, not graded), ``no_exercise_files``, ``no_submission``, ``not_on_roster`` and
``grader_error``. Others are raised where what they report is known:
``multiple_versions``, ``unmatched:EX`` and ``renamed:EX`` by :mod:`grader.batch.matching`,
``similar:EX(a,b)`` by :mod:`grader.batch.similarity`, ``late`` with the gradebook.
"""

from __future__ import annotations

import ast
import hashlib
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from grader.kit import ExerciseSpec, Kit
from grader.model import ExerciseResult, Report
from grader.submission import forbidden_import, statements
from grader.verdict import (
    EARLY_EXIT_REASON,
    ENDED_REASON,
    FATAL_REASON,
    NO_EXIT_REASON,
    SIGNAL_REASON,
    TIMEOUT_REASON,
    VIOLATION_REASON,
)

SANDBOX_REASONS = tuple(
    reason.split("{")[0]
    for reason in (VIOLATION_REASON, FATAL_REASON, ENDED_REASON, SIGNAL_REASON, EARLY_EXIT_REASON, NO_EXIT_REASON)
)
TIMEOUT_PREFIX = TIMEOUT_REASON.split("{")[0]


def code_signature(source: bytes) -> str:
    """A hash of what the code does: the same for copies that differ in comments, docstrings or layout."""
    try:
        tree = ast.parse(source.decode("utf-8-sig"))
    except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
        return hashlib.sha256(source).hexdigest()
    for node in (tree, *statements(tree.body)):  # only statements hold a list of statements
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]  # a node with a body list, found by getattr above
    return hashlib.sha256(ast.dump(tree, annotate_fields=False).encode()).hexdigest()


def _is_docstring(node: ast.stmt) -> bool:
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


class Reference:
    """The kit's stubs and reference solutions, as code signatures."""

    def __init__(self, kit: Kit) -> None:
        self.solutions = {spec.id: _signature_of(spec.solution) for spec in kit.exercises}
        self.stubs = {spec.id: _signature_of(spec.stub) for spec in kit.exercises}

    def is_solution(self, spec: ExerciseSpec, signature: str) -> bool:
        return signature == self.solutions.get(spec.id)

    def is_stub(self, spec: ExerciseSpec, signature: str) -> bool:
        return signature == self.stubs.get(spec.id)


def _signature_of(path: Path) -> str:
    return code_signature(path.read_bytes()) if path.is_file() else ""


def file_flags(reference: Reference, files: dict[ExerciseSpec, bytes]) -> tuple[list[str], dict[str, str]]:
    """Flags read off the student's files, and the signatures of the files that are their own work."""
    flags: list[str] = []
    own: dict[str, str] = {}
    for spec, source in files.items():
        signature = code_signature(source)
        if reference.is_solution(spec, signature):
            flags.append(f"identical_to_reference:{spec.id}")
        elif not reference.is_stub(spec, signature):
            own[spec.id] = signature
        if _imports_reference(spec.file, source):
            flags.append(f"imports_reference:{spec.id}")
    return flags, own


def _imports_reference(name: str, source: bytes) -> bool:
    try:
        return bool(forbidden_import(name, source))
    except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
        return False


def report_flags(report: Report) -> list[str]:
    """Timeouts and processes that were killed or left early, per exercise."""
    flags = []
    for exercise in report.exercises:
        kind = _run_failure(exercise)
        if kind:
            flags.append(f"{kind}:{exercise.id}")
    return flags


def _run_failure(exercise: ExerciseResult) -> str:
    if exercise.message.startswith(TIMEOUT_PREFIX):
        return "timeout"
    if exercise.message.startswith(SANDBOX_REASONS):
        return "sandbox"
    return ""


def shared_groups(signatures: Iterable[tuple[str, dict[str, str]]]) -> dict[str, list[str]]:
    """``shared:EX(others)`` flags for students whose own code in an exercise is identical to others'."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for student, own in signatures:
        for exercise, signature in own.items():
            groups[(exercise, signature)].append(student)
    flags: dict[str, list[str]] = defaultdict(list)
    for (exercise, _), students in sorted(groups.items()):
        if len(students) > 1:
            for student in students:
                others = ",".join(sorted(s for s in students if s != student))
                flags[student].append(f"shared:{exercise}({others})")
    return {student: sorted(found) for student, found in flags.items()}
