"""Probes for 01_coroutines, run in the subject: time greet, and watch the jobs of make_job and run_job.

make_job and run_job get the recording worker of :mod:`grader.subject.timeline`, seen
through a :class:`Watch` that also notes *when* (before make_job returned, or after) and
*on which loop* each job ran: loops and coroutines are objects the judge cannot see, so
those facts are established here and sent as counts and booleans.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import warnings
from collections.abc import Coroutine
from types import ModuleType
from typing import Any

from grader.subject import plain, probe, timeline, virtual_time, within
from grader.subject.source import describe_exception, student_line


class Watch:
    """The timeline's worker, plus the loop each job started on and how many finished.

    A plain class with strong references: a loop the student never closed stays observable.
    """

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.finished = 0

    def worker(self, name: str, delay: float) -> Coroutine[Any, Any, Any]:
        # Called here, synchronously, so the timeline still sees the student's line that called it.
        return self._watched(timeline.worker(name, delay))

    async def _watched(self, job: Coroutine[Any, Any, Any]) -> Any:
        self.loops.append(asyncio.get_running_loop())
        result = await job
        self.finished += 1
        return result


def close_if_coroutine(value: Any) -> None:
    """Close a coroutine nobody will run, so Python does not warn 'never awaited' into the student's output."""
    if inspect.iscoroutine(value):
        value.close()


def returned(value: Any) -> dict[str, Any]:
    """What the student's function returned, as the judge needs it: the value and what kind of thing it is."""
    return {"value": plain(value), "awaitable": inspect.isawaitable(value), "callable": callable(value), "type": type(value).__name__}


@probe
async def greet(exercise: ModuleType, name: str, delay: float, deadline: float, what: str) -> dict[str, Any]:
    """Await ``greet(name, delay)``: its result, the loop time it took, and coroutines it never awaited."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        start = virtual_time.now()
        result = await within(exercise.greet(name, delay), deadline, what)
        elapsed = round(virtual_time.now() - start, 6)
        gc.collect()  # an unawaited coroutine warns when it is collected
    unawaited = [str(w.message) for w in caught if "was never awaited" in str(w.message)]
    return {
        "result": plain(result),
        "elapsed": elapsed,
        "unawaited": [text.split("'")[1] if "'" in text else text for text in unawaited],
    }


@probe
async def greet_together(exercise: ModuleType, calls: list[list[Any]], deadline: float, what: str) -> dict[str, Any]:
    """Start every ``greet(name, delay)`` at once with gather: the loop time until all finished."""
    start = virtual_time.now()
    results = await within(asyncio.gather(*(exercise.greet(name, delay) for name, delay in calls)), deadline, what)
    return {"results": plain(results), "elapsed": round(virtual_time.now() - start, 6)}


@probe
def make_job(exercise: ModuleType, name: str, delay: float, value: str, deadline: float, what: str) -> dict[str, Any]:
    """Call ``make_job(worker, name, delay)``; if it returned an awaitable that ran nothing yet, run it.

    What matters is what had run *when make_job returned*, so that is counted before
    anything awaits the returned object; the probe then awaits it on a loop of its own.
    """
    timeline.begin({name: value})
    watch = Watch()
    job = exercise.make_job(watch.worker, name, delay)
    evidence: dict[str, Any] = {
        "returned": returned(job),
        "started_before_return": len(watch.loops),
        "finished_before_return": watch.finished,
    }
    if watch.loops or not inspect.isawaitable(job):
        close_if_coroutine(job)
        return evidence
    result = asyncio.run(within(job, deadline, what))
    return {**evidence, "result": plain(result), "timeline": timeline.evidence()}


@probe
def run_job(exercise: ModuleType, name: str, delay: float, value: str) -> dict[str, Any]:
    """Call ``run_job(worker, name, delay)`` from synchronous code, as a script would.

    Reports its result, what the worker did, and the facts about the loop the worker
    ran on: created by this very call, how many loops the call created, and whether that
    loop was closed when run_job returned.
    """
    timeline.begin({name: value})
    watch = Watch()
    before = len(virtual_time.created_loops())
    # No current loop, as in a fresh script on Python 3.14+: asyncio.get_event_loop() here
    # fails the same way on every Python the kit supports.
    asyncio.set_event_loop(None)
    try:
        result = exercise.run_job(watch.worker, name, delay)
    except RuntimeError as exc:
        if "no current event loop" not in str(exc):
            raise
        return {"no_current_loop": {"message": describe_exception(exc), "source": student_line(exc.__traceback__)}}
    created = [record.loop for record in virtual_time.created_loops()[before:]]
    loop = watch.loops[0] if watch.loops else None
    evidence = {
        "returned": returned(result),
        "timeline": timeline.evidence(),
        "loops_created": len(created),
        "ran_on_created_loop": any(loop is new for new in created),
        "loop_closed": loop is not None and loop.is_closed(),
    }
    close_if_coroutine(result)
    # Close what this call left open (only what it created: a loop the module keeps is the module's).
    for leftover in created:
        if not leftover.is_running() and not leftover.is_closed():
            leftover.close()
    return evidence
