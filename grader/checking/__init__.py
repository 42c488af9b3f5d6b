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
from grader.checking.subject import NotFinished, StudentRaised, Stuck, Subject, student_failure
from grader.checking.timeline import Timeline

__all__ = [
    "Failure",
    "Mismatch",
    "NotFinished",
    "NotStarted",
    "StudentRaised",
    "Stuck",
    "Subject",
    "Timeline",
    "check",
    "expect",
    "expect_no_blocking",
    "require",
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
    or ``"defined"`` (any value: a later check judges what it is).
    """
    found = exercise.names(name)[name]
    if found == "missing":
        raise Failure(
            f"{exercise.file_name} does not define `{name}`", f"Keep the name `{name}` from the stub: the checks call it."
        )
    if kind == "coroutine function" and found != "coroutine function":
        raise Failure(
            f"`{name}` is a plain function, not a coroutine function",
            f"Define it with `async def {name}(...)` so that calling it returns a coroutine.",
        )
    if kind == "function" and found != "function":
        raise Failure(
            f"`{name}` should be a plain (synchronous) function",
            f"Define it with `def {name}(...)`, not `async def`: it is called from synchronous code.",
        )
