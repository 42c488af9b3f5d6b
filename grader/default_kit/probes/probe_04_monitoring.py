"""Probes for 04_monitoring, run in the subject: call the student's functions with the recording worker.

Tasks cannot travel to the judge, so what the checks need to know about them is
established here: whether a job ran inside the caller's own task (the timeline's
``in_caller``), and, for each call of ``on_done``, whether it ran inside a task (a real
done callback runs outside any) and whether it was handed a task instead of a value.
"""

from __future__ import annotations

import asyncio
from types import ModuleType
from typing import Any

from grader.subject import Deadline, describe_raised, plain, probe, timeline, virtual_time, within


@probe
async def poll(
    exercise: ModuleType, name: str, delay: float, interval: float, values: dict[str, str], deadline: float
) -> dict[str, Any]:
    """``poll_task(worker, name, delay, interval)``: its answer and when it returned, or what it raised.

    An exception of the student's comes back as ``raised`` (with ``at``, the moment it
    was raised) rather than up the stack: the judge tells InvalidStateError (result()
    read too early) from any other crash.
    """
    timeline.begin(values)
    start = virtual_time.now()
    call = f"poll_task(worker, {name!r}, {delay:g}, {interval:g})"
    try:
        answer = await within(exercise.poll_task(timeline.worker, name, delay, interval), deadline, call)
    except Deadline:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's exception is evidence; the judge decides
        return {"raised": {**describe_raised(exc), "at": round(virtual_time.now() - start, 6)}}
    return {
        "result": plain(answer),
        "is_tuple": isinstance(answer, tuple),
        "returned_at": round(virtual_time.now() - start, 6),
        "timeline": timeline.evidence(asyncio.current_task()),
    }


@probe
async def run_with_callback(
    exercise: ModuleType, jobs: list[list[Any]], values: dict[str, str], deadline: float
) -> dict[str, Any]:
    """``run_with_callback(worker, jobs, on_done)``: when it returned, and every call of ``on_done``.

    After it returns, the jobs it forgot to wait for are let run to their end (so their
    callbacks are seen too), but ``returned_at`` is the moment the function itself returned.
    """
    calls: list[dict[str, Any]] = []

    def on_done(value: Any) -> None:
        # Inside a done callback the loop runs outside any task: current_task() is None.
        calls.append({**seen(value), "in_task": asyncio.current_task() is not None, "at": clock()})

    def clock() -> float:
        return round(virtual_time.now() - start, 6)

    timeline.begin(values)
    start = virtual_time.now()
    job_list = [(str(name), float(delay)) for name, delay in jobs]
    await within(exercise.run_with_callback(timeline.worker, job_list, on_done), deadline, "run_with_callback()")
    returned_at = clock()
    await settle()
    caller = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not caller]
    if pending:
        await within(asyncio.wait(pending), deadline, "the jobs' tasks")
    await settle()
    return {"returned_at": returned_at, "calls": calls, "timeline": timeline.evidence(caller)}


def seen(value: Any) -> dict[str, Any]:
    """What ``on_done`` was given: a plain value, or a task (and its result, when it has one)."""
    if not isinstance(value, asyncio.Future):
        return {"value": plain(value), "task": None}
    finished = value.done() and not value.cancelled() and value.exception() is None
    return {"value": None, "task": {"done": value.done(), "has_result": finished, "result": plain(value.result()) if finished else None}}


async def settle() -> None:
    """Let callbacks already scheduled with call_soon run."""
    for _ in range(3):
        await asyncio.sleep(0)


@probe
async def in_completion_order(
    exercise: ModuleType, jobs: list[list[Any]], values: dict[str, str], deadline: float
) -> dict[str, Any]:
    """``in_completion_order(worker, jobs)``: what it returned, when, and what the jobs did."""
    timeline.begin(values)
    start = virtual_time.now()
    job_list = [(str(name), float(delay)) for name, delay in jobs]
    result = await within(exercise.in_completion_order(timeline.worker, job_list), deadline, "in_completion_order()")
    returned_at = round(virtual_time.now() - start, 6)
    return {"result": plain(result), "returned_at": returned_at, "timeline": timeline.evidence(asyncio.current_task())}
