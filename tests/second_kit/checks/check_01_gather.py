"""Checks for 01_gather: each worker returns a value its name cannot predict, and records when it ran."""

from __future__ import annotations

import secrets
from typing import Any

from grader.checking import Mismatch, Subject, Timeline, check, expect, expect_no_blocking, require

NAMES = ["b", "c", "a"]  # neither sorted nor any order the jobs could finish in
TOGETHER_HELP = "Pass every worker(name, 1.0) to one asyncio.gather(...) and await it once."
RESULTS_HELP = "Return what gather returns: the workers' results, in the order of `names`."


def run_all(exercise: Subject) -> tuple[list[str], Any, Timeline]:
    """The results run_all should return, what it returned, and what its jobs did."""
    require(exercise, "run_all", "coroutine function")
    values = {name: f"{name}-{secrets.token_hex(3)}" for name in NAMES}
    seen = exercise.call("run_all", names=NAMES, values=values)
    timeline = Timeline(seen["timeline"])
    timeline.expect_every_job_awaited()
    return [values[name] for name in NAMES], seen["result"], timeline


@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "run_all", "coroutine function")


@check("results")
def check_results(exercise: Subject) -> None:
    expected, result, _ = run_all(exercise)
    if result != expected:
        raise Mismatch(expected, result, RESULTS_HELP, what="results")


@check("together")
def check_together(exercise: Subject) -> None:
    _, _, timeline = run_all(exercise)
    expect_no_blocking(exercise.blocking)
    expect(
        len(timeline.finished) == len(NAMES) and timeline.overlapping() and timeline.end() == 1.0,
        f"your jobs ran {timeline.describe()}; run together, all three would end at t=1.0 s",
        TOGETHER_HELP,
        timeline=timeline.spans(),
        source=timeline.first_call_site(),
    )
