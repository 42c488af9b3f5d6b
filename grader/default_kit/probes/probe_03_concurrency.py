"""Probes for 03_concurrency, run in the subject: call a runner with the recording worker."""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

from grader.subject import plain, probe, timeline, virtual_time, within


@probe
async def run(exercise: ModuleType, function: str, jobs: list[list[Any]], values: dict[str, str]) -> dict[str, Any]:
    """``function(worker, jobs)``: what it returned, and what the jobs did."""
    timeline.begin(values)
    start = virtual_time.now()
    deadline = sum(delay for _, delay in jobs) * 10
    result = await within(getattr(exercise, function)(timeline.worker, [tuple(job) for job in jobs]), deadline, f"{function}()")
    returned_at = round(virtual_time.now() - start, 6)
    return {"result": plain(result), "timeline": timeline.evidence(asyncio.current_task()), "returned_at": returned_at}
