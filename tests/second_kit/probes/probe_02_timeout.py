"""Probes for 02_timeout, run in the subject: call fetch_or_none with the recording worker."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from grader.subject import describe_raised, plain, probe, timeline, virtual_time, within


@probe
async def fetch(exercise: ModuleType, delay: float, limit: float, value: str) -> dict[str, Any]:
    """What fetch_or_none returned (or raised) for one job of ``delay`` seconds, and when, on the loop's virtual clock."""
    timeline.begin({"job": value})
    start = virtual_time.now()
    try:
        outcome = {"result": plain(await within(exercise.fetch_or_none(timeline.worker, "job", delay, limit), 60, "fetch_or_none()"))}
    except Exception as exc:  # noqa: BLE001 - the student's exception is evidence: the check judges it
        outcome = {"raised": describe_raised(exc)}
    return {**outcome, "took": round(virtual_time.now() - start, 6)}
