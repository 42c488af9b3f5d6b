"""Which explanation of a failed check the student reads: one decision, made here.

A check fails by raising: a :class:`~grader.checking.feedback.Failure` of its own, or
whatever the subject's evidence turned into (the student's exception, a subject that
ended, a stub's TODO). Several explanations can fit at once; they are ranked so that the
one naming the student's real mistake wins:

1. a TODO left in the stub, a skip, the process ending or an attempt to stop the run,
   each exactly as it happened;
2. the event loop blocked during the check (a ``time.sleep``, a busy loop, a blocking
   call): on virtual time it explains a wrong result, a wrong timing or a deadline better
   than the symptom does, so it replaces the check's own words;
3. the check's own failure (a wrong result, jobs run one by one, a coroutine never
   awaited, a deadline on the virtual clock), or the student's exception;
4. the check outlived its real-time limit without saying why.

An exception of any other kind is the kit's fault and is worded as such.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from grader.checking import blocking, raised
from grader.checking.feedback import Failure, NotStarted
from grader.checking.subject import FATAL_HELP, StudentRaised, SubjectEnded

TIMEOUT_MESSAGE = "did not finish within {limit:g} s of real time: an infinite loop, or code that blocks forever?"
TIMEOUT_HELP = "Look for a `while True` without an exit, or a wait that nothing ever ends."
ENDED_HELP = "Don't exit, kill or crash the process your code runs in: the checks need it to keep running."


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """What a check's outcome tells the student: its status, what happened, and what to try."""

    status: str  # passed, failed or skipped
    message: str = ""
    help: str = ""
    todo: bool = False
    timeline: tuple[dict[str, Any], ...] = ()
    source: dict[str, Any] | None = None
    fatal: bool = False
    ended: bool = False


def diagnose(error: BaseException | None, blocked: list[dict[str, Any]], overran: float | None = None) -> Diagnosis:
    """The explanation of a check that raised ``error`` (``None``: it passed).

    ``blocked`` is what the blocking probe recorded during the check's last call;
    ``overran`` the real-time limit the check outlived, if it did.
    """
    found, explained_by_blocking = _from_error(error) if error is not None else (Diagnosis("passed"), False)
    if overran is not None and found.status != "skipped" and not found.message:
        found = dataclasses.replace(found, status="failed", message=TIMEOUT_MESSAGE.format(limit=overran), help=TIMEOUT_HELP)
    if found.status == "failed" and explained_by_blocking and blocked:
        failure = blocking.explain(blocked)
        source = failure.source.to_json() if failure.source else None
        found = dataclasses.replace(found, message=failure.rationale, help=failure.help, source=source)
    return found


def _from_error(error: BaseException) -> tuple[Diagnosis, bool]:
    """The diagnosis ``error`` gives on its own, and whether blocking would explain it better."""
    if isinstance(error, pytest.skip.Exception):
        return Diagnosis("skipped", str(error.msg)), False
    if isinstance(error, Failure):
        source = error.source.to_json() if error.source else None
        timeline = tuple(span.to_json() for span in error.timeline)
        todo = isinstance(error, NotStarted)
        return Diagnosis("failed", error.rationale, error.help, todo=todo, timeline=timeline, source=source), not todo
    if isinstance(error, SubjectEnded):
        return Diagnosis("failed", error.how, ENDED_HELP, ended=True), False
    if isinstance(error, StudentRaised):
        where = error.source.to_json() if error.source else None
        if error.fatal:
            return Diagnosis("failed", f"your code raised {error.python_says}", FATAL_HELP, source=where, fatal=True), False
        message, help = raised.explain(error)
        return Diagnosis("failed", message, help, source=where), where is None
    # The check itself broke: the kit's fault, reported as such (the verdict scores it).
    return Diagnosis("failed", f"the check raised {type(error).__name__}: {error}"), True
