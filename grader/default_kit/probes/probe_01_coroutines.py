"""Probes for 01_coroutines, run in the subject: time greet, and watch the jobs of make_job and run_job.

make_job and run_job get the recording worker of :mod:`grader.subject.timeline`, seen
through a :class:`Watch` that also notes *when* (before make_job returned, or after) and
*on which loop* each job ran: loops and coroutines are objects the judge cannot see, so
those facts are established here and sent as counts and booleans.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import contextlib
import gc
import inspect
import sys
import warnings
from collections.abc import Coroutine, Iterator
from types import ModuleType
from typing import Any

from grader.subject import handed, plain, probe, source_ref, timeline, virtual_time, within
from grader.subject.handout import STAND_IN_FRAMES
from grader.subject.source import in_exercise

ORIGIN_DEPTH = 32  # frames kept with each new coroutine: enough to reach the student's line from a helper


class Watch:
    """The timeline's worker, plus the loop each job started on and how many finished.

    A plain class with strong references: a loop the student never closed stays observable.
    """

    def __init__(self) -> None:
        self.loops: list[asyncio.AbstractEventLoop] = []
        self.finished = 0
        self.jobs: list[Coroutine[Any, Any, Any]] = []

    def worker(self, name: str, delay: float) -> Coroutine[Any, Any, Any]:
        # Called here, synchronously, so the timeline still sees the student's line that called it.
        job = self._watched(timeline.worker(name, delay))
        self.jobs.append(job)
        return job

    async def _watched(self, job: Coroutine[Any, Any, Any]) -> Any:
        self.loops.append(asyncio.get_running_loop())
        result = await job
        self.finished += 1
        return result

    def evidence(self) -> dict[str, Any]:
        """The timeline so far; then the jobs nobody started are closed, so Python warns nothing into the output."""
        found = timeline.evidence()
        for job in self.jobs:
            if inspect.getcoroutinestate(job) == inspect.CORO_CREATED:
                job.close()
        return found


# A watched job reads as the worker's coroutine in the student's reprs and warnings.
Watch._watched.__name__ = Watch._watched.__qualname__ = "worker"


def returned(value: Any) -> dict[str, Any]:
    """What the student's function returned, as the judge needs it: the value and what kind of thing it is."""
    return {"value": plain(value), "awaitable": inspect.isawaitable(value), "callable": callable(value), "type": type(value).__name__}


def close_if_coroutine(value: Any) -> None:
    """Close a coroutine nobody will run, so Python does not warn 'never awaited' into the student's output."""
    if inspect.iscoroutine(value):
        value.close()


def student_origin(exercise: ModuleType, coroutine: Any) -> dict[str, Any] | None:
    """The student's line that created ``coroutine`` (origin tracking must have been on)."""
    for file, line, _ in getattr(coroutine, "cr_origin", None) or ():
        if file == exercise.__file__:
            return source_ref(line)
    return None


@contextlib.contextmanager
def get_event_loop_recorded(exercise: ModuleType, sites: list[dict[str, Any]]) -> Iterator[None]:
    """Record the student's own calls of ``asyncio.get_event_loop()``, wherever the file reaches it from.

    With no loop set, Python 3.11 to 3.13 create one and make it the thread's current loop;
    3.14 raises RuntimeError instead. The call is recorded either way, and then answered as
    3.11 to 3.13 do, so the rest of the student's function is judged the same on every Python.
    """
    real = asyncio.get_event_loop

    def get_event_loop() -> asyncio.AbstractEventLoop:
        caller = sys._getframe(1 + STAND_IN_FRAMES)  # past the stand-in's frames: the hook's, the stand-in's own
        if not in_exercise(caller.f_code):
            return real()
        sites.append(source_ref(caller.f_lineno))
        try:
            return real()
        except RuntimeError:
            if asyncio.events._get_running_loop() is not None:
                raise
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            return loop

    homes = [(module, name) for module in (asyncio, asyncio.events, exercise) for name, value in vars(module).items() if value is real]
    stand_in = handed(get_event_loop)  # whose closure leads nowhere: ``sites`` is evidence
    for module, name in homes:
        setattr(module, name, stand_in)
    try:
        yield
    finally:
        for module, name in homes:
            setattr(module, name, real)


@probe
async def greet(exercise: ModuleType, name: str, delay: float, deadline: float, what: str) -> dict[str, Any]:
    """Await ``greet(name, delay)``: its result, the loop time it took, and coroutines it never awaited."""
    depth = sys.get_coroutine_origin_tracking_depth()
    sys.set_coroutine_origin_tracking_depth(ORIGIN_DEPTH)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", RuntimeWarning)
            start = virtual_time.now()
            result = await within(exercise.greet(name, delay), deadline, what)
            elapsed = round(virtual_time.now() - start, 6)
            gc.collect()  # an unawaited coroutine warns when it is collected
    finally:
        sys.set_coroutine_origin_tracking_depth(depth)
    unawaited = [w.source for w in caught if "was never awaited" in str(w.message) and inspect.iscoroutine(w.source)]
    return {
        "result": plain(result),
        "elapsed": elapsed,
        "unawaited": [{"call": f"{coroutine.__qualname__}()", "source": student_origin(exercise, coroutine)} for coroutine in unawaited],
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
    job = exercise.make_job(handed(watch.worker), name, delay)  # no way back to the watch
    evidence: dict[str, Any] = {
        "returned": returned(job),
        "started_before_return": len(watch.loops),
        "finished_before_return": watch.finished,
    }
    if watch.loops or not inspect.isawaitable(job):
        return {**evidence, "timeline": watch.evidence()}
    if isinstance(job, asyncio.Future):  # a task (or future) bound to a loop that is not running: it cannot run here
        job.cancel()
        return {**evidence, "future": True, "timeline": watch.evidence()}
    result = asyncio.run(within(job, deadline, what))
    return {**evidence, "result": plain(result), "timeline": watch.evidence()}


@probe
def run_job(exercise: ModuleType, name: str, delay: float, value: str) -> dict[str, Any]:
    """Call ``run_job(worker, name, delay)`` from synchronous code, as a script would.

    Reports its result, what the worker did, where the student's code called
    ``asyncio.get_event_loop()``, and the facts about the loop the worker ran on: created
    by this very call, how many loops the call created, and whether that loop was closed
    when run_job returned.
    """
    timeline.begin({name: value})
    watch = Watch()
    before = len(virtual_time.created_loops())
    get_event_loop: list[dict[str, Any]] = []
    with get_event_loop_recorded(exercise, get_event_loop):
        result = exercise.run_job(handed(watch.worker), name, delay)  # no way back to the watch
    created = [record.loop for record in virtual_time.created_loops()[before:]]
    loop = watch.loops[0] if watch.loops else None
    evidence = {
        "returned": returned(result),
        "timeline": watch.evidence(),
        "get_event_loop": get_event_loop,
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
