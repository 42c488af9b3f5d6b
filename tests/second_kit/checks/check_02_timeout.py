"""Checks for 02_timeout: one job ends before the limit, one would end long after it."""

from __future__ import annotations

import secrets
from typing import Any

from grader.checking import Failure, Mismatch, Subject, check, expect, expect_no_blocking, require, student_failure

LIMIT = 2.0
GIVE_UP_HELP = "Catch the TimeoutError that asyncio.wait_for raises at the limit, and return None."
WAIT_HELP = "Await asyncio.wait_for(worker(name, delay), limit): it returns the job's result the moment the job ends."


def fetch(exercise: Subject, delay: float, expected: str = "") -> tuple[str, dict[str, Any]]:
    """The job's value, and what fetch_or_none did with a job of ``delay`` seconds; an exception of
    the student's code other than ``expected`` fails the check as the library words it."""
    require(exercise, "fetch_or_none", "coroutine function")
    value = f"job-{secrets.token_hex(3)}"
    seen = exercise.call("fetch", delay=delay, limit=LIMIT, value=value)
    if "raised" in seen and seen["raised"]["type"] != expected:
        raise student_failure(seen["raised"], exercise.file_name)
    return value, seen


@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "fetch_or_none", "coroutine function")


@check("in_time")
def check_in_time(exercise: Subject) -> None:
    value, seen = fetch(exercise, 1.0)
    if seen["result"] != value:
        raise Mismatch(value, seen["result"], WAIT_HELP)
    expect_no_blocking(exercise.blocking)
    expect(seen["took"] == 1.0, f"the job ended at t=1 s, but fetch_or_none returned at t={seen['took']:g} s", WAIT_HELP)


@check("gives_up")
def check_gives_up(exercise: Subject) -> None:
    _, seen = fetch(exercise, 5.0, expected="TimeoutError")
    if "raised" in seen:
        raise Failure(f"fetch_or_none let TimeoutError out at t={seen['took']:g} s instead of returning None", GIVE_UP_HELP)
    if seen["result"] is not None:
        raise Mismatch(None, seen["result"], GIVE_UP_HELP)
    expect_no_blocking(exercise.blocking)
    expect(seen["took"] == LIMIT, f"fetch_or_none gave up at t={seen['took']:g} s, not at the limit of {LIMIT:g} s", GIVE_UP_HELP)
