"""Probes for 01_gather, run in the subject: call run_all with the recording worker."""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

from grader.subject import plain, probe, timeline, within


@probe
async def run_all(exercise: ModuleType, names: list[str], values: dict[str, str]) -> dict[str, Any]:
    """What run_all returned, and when each job ran on the loop's virtual clock."""
    timeline.begin(values)
    result = await within(exercise.run_all(timeline.worker, names), 60, "run_all()")
    return {"result": plain(result), "timeline": timeline.evidence(asyncio.current_task())}
