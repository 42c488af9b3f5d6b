"""Probes for 03_concurrency, run in the subject: call a runner with the recording worker."""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

from grader.subject import (
    Deadline,
    describe_raised,
    plain,
    probe,
    tasks,
    timeline,
    virtual_time,
    within,
)


@probe
async def run(
    exercise: ModuleType, function: str, jobs: list[list[Any]], values: dict[str, str], durations: dict[str, float]
) -> dict[str, Any]:
    """``function(worker, jobs)``, each job taking the judge's duration: what it returned (or raised), when, and
    what the jobs did meanwhile."""
    runner = getattr(exercise, function)
    timeline.begin(values, durations)
    start = virtual_time.now()
    deadline = sum(durations.values()) * 10
    try:
        # Tasks a set lists newest first: results read in the order of asyncio.wait's `done` set come out reversed.
        with tasks.listed_last_first():
            outcome = {"result": plain(await within(runner(timeline.worker, [tuple(job) for job in jobs]), deadline, f"{function}()"))}
    except Deadline:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's exception, judged with the jobs' timeline
        outcome = {"raised": describe_raised(exc)}
    returned_at = round(virtual_time.now() - start, 6)
    return {**outcome, "timeline": timeline.evidence(asyncio.current_task()), "returned_at": returned_at}
