"""Failures that teach: what a check observed, what it expected, and the likely mistake.

A check raises :class:`Failure` (a rationale and an optional help line) or
:class:`Mismatch` (expected vs actual). The reporter turns either into the check's
``message`` and ``help``; any other exception is reported as a crash of the student's code.
"""

from __future__ import annotations

from typing import Any

from grader.model import SourceRef, Span


class Failure(Exception):
    """A check failed for a reason the check can explain."""

    def __init__(
        self,
        rationale: str,
        help: str = "",
        *,
        timeline: list[Span] | None = None,
        source: SourceRef | None = None,
    ) -> None:
        super().__init__(rationale)
        self.rationale = rationale
        self.help = help
        self.timeline = list(timeline or [])
        self.source = source


class Mismatch(Failure):
    """A check got a value other than the one it expected."""

    def __init__(self, expected: Any, actual: Any, help: str = "", *, what: str = "result", **kwargs: Any) -> None:
        super().__init__(f"expected {what} {expected!r}, got {actual!r}", help, **kwargs)
        self.expected = expected
        self.actual = actual


def expect(condition: bool, rationale: str, help: str = "", **kwargs: Any) -> None:
    """Raise :class:`Failure` unless ``condition`` holds; reads like a sentence in a check."""
    if not condition:
        raise Failure(rationale, help, **kwargs)


class NotStarted(Failure):
    """The student's function still raises the stub's ``NotImplementedError``."""
