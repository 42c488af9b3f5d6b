"""What a hidden check needs: the subject's probes, feedback types, and timelines.

A check is a pytest function decorated with :func:`check`, whose id, name, points and
dependencies are declared in the kit's metadata. It runs in the judge, which never
imports the student's code: it asks the subject process to run a probe (the kit's
``probes`` file) and decides from the evidence that comes back, raising
:class:`Failure` or :class:`Mismatch` with a message that teaches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from grader.checking.blocking import expect_no_blocking
from grader.checking.feedback import Failure, Mismatch, NotStarted, expect
from grader.checking.job_timeline import Timeline
from grader.checking.names import missing
from grader.checking.subject import (
    NotFinished,
    Stuck,
    StudentRaised,
    Subject,
    student_failure,
)
from grader.model import SourceRef

__all__ = [
    "Failure",
    "Mismatch",
    "NotFinished",
    "NotStarted",
    "Stuck",
    "StudentRaised",
    "Subject",
    "Timeline",
    "check",
    "expect",
    "expect_no_blocking",
    "require",
    "require_all",
    "student_failure",
]

F = TypeVar("F", bound=Callable[..., Any])


def check(check_id: str) -> Callable[[F], F]:
    """Mark a function as the implementation of the check ``check_id`` in the kit metadata."""

    def mark(function: F) -> F:
        return pytest.mark.asynclings_check(check_id)(function)  # type: ignore[no-any-return]  # pytest's marks are untyped

    return mark


def require(exercise: Subject, name: str, kind: str = "function") -> None:
    """Fail unless the student's module defines ``name`` as ``kind``.

    ``kind`` is ``"function"`` (plain ``def``), ``"coroutine function"`` (``async def``),
    or ``"defined"`` (any value: a later check judges what it is). Each check requires
    the functions it calls, so a missing one fails only the checks that need it.
    """
    require_all(exercise, {name: kind})


def require_all(exercise: Subject, kinds: dict[str, str]) -> None:
    """Fail unless the module defines every name of ``kinds`` as its kind; a missing one is named with its likely rename."""
    found = exercise.names(*kinds)
    absent = [name for name in kinds if found[name] == "missing"]
    if absent:
        raise missing(absent, exercise.defined(), exercise.file_name, expected=kinds)
    for name, kind in kinds.items():
        if kind == "coroutine function" and found[name] != "coroutine function":
            raise Failure(
                f"`{name}` is a plain function, not a coroutine function",
                f"Define it with `async def {name}(...)` so that calling it returns a coroutine.",
                source=_definition(exercise, name),
            )
        if kind == "function" and found[name] != "function":
            raise Failure(
                f"`{name}` should be a plain (synchronous) function",
                f"Define it with `def {name}(...)`, not `async def`: it is called from synchronous code.",
                source=_definition(exercise, name),
            )


def _definition(exercise: Subject, name: str) -> SourceRef | None:
    where = exercise.defined().get(name)
    return SourceRef.from_json(where) if where else None
