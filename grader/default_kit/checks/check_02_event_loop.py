"""Hidden checks for 02_event_loop: the injected job records the loop that ran it.

The checks count the loops the student's call created (``virtual_time.created_loops``),
prove that the job ran to its end on that loop and that the loop was closed afterwards,
also when the job raises. Calls to ``asyncio.get_event_loop``, ``asyncio.run`` and
``asyncio.set_event_loop`` from the student's file are recorded while it runs: a
deprecation warning would prove nothing, since Python 3.11 stays silent.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import asyncio.runners
import contextlib
import dataclasses
import math
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from grader.checking import Failure, Mismatch, check, expect, require, source_ref, virtual_time, within
from grader.checking.context import describe_exception, in_exercise
from grader.model import SourceRef

RESULT = "job done"
DELAY = 1.5
MEASURED = (2.5, 0.75)  # two durations, so a constant can't pass
HEAD_START = 10.0  # loop time that passes before measuring, so loop.time() alone != a duration

GET_EVENT_LOOP_HELP = (
    "asyncio.get_event_loop() is the old API: with no loop running it is deprecated since Python 3.12 "
    "(DeprecationWarning) and raises RuntimeError since 3.14. Create a loop with asyncio.new_event_loop(); "
    "inside a coroutine, use asyncio.get_running_loop()."
)
CALL_JOB_HELP = (
    "Pass the coroutine job(), not the function job: asyncio.run(job()) / loop.run_until_complete(job())."
)
NEVER_RAN_HELP = "Run the job you are given, job(), on the loop and return what it returns; don't make up a result."
UNFINISHED_HELP = (
    "loop.run_until_complete(job()) runs the loop until the coroutine is done; "
    "don't stop or close the loop while the job is still running."
)
RESULT_HELP = "Return the value that running job() produced: run_until_complete / asyncio.run hand it back to you."
USE_ASYNCIO_RUN_HELP = "This function is the short way: `return asyncio.run(job())` creates, runs and closes the loop."
MANUAL_LOOP_HELP = (
    "run_on_new_loop is the manual way, without asyncio.run: loop = asyncio.new_event_loop(), "
    "then loop.run_until_complete(job()), then loop.close()."
)
ONE_LOOP_HELP = "Create exactly one loop with asyncio.new_event_loop() and run the job on that loop."
CLOSE_HELP = (
    "Call loop.close() once the job is done, in a `finally:` block: an unclosed loop keeps its "
    "selector and file descriptors (ResourceWarning: unclosed event loop)."
)
CLOSE_IN_FINALLY_HELP = (
    "Put loop.close() in the `finally:` of a try block around run_until_complete: code after the call "
    "never runs when the job raises, so the loop stays open."
)
PROPAGATE_HELP = (
    "Don't catch the job's exception: use try/finally (no except), so the loop is closed and the "
    "error still reaches the caller."
)
LEFT_CURRENT_HELP = (
    "You don't need asyncio.set_event_loop(loop) for run_until_complete. If you call it, undo it with "
    "asyncio.set_event_loop(None) in the finally block, as asyncio.run does."
)
WALL_CLOCK_HELP = (
    "Measure with the loop's own clock: loop = asyncio.get_running_loop(); start = loop.time(); await job(); "
    "return loop.time() - start. time.monotonic()/time.time() don't follow the loop's clock (here a virtual one)."
)
ABSOLUTE_TIME_HELP = "loop.time() is a point in time, not a duration: read it before and after `await job()` and return the difference."
MEASURE_HELP = "Read loop.time() just before `await job()` and again just after, and return the difference."


class JobFailed(Exception):
    """The error the failing job raises; the student's code must let it through unchanged."""


class Job:
    """The job the checks hand out: records the loop it ran on, sleeps, then returns or raises."""

    def __init__(self, delay: float = DELAY, error: Exception | None = None) -> None:
        self.delay = delay
        self.error = error
        self.loops: list[asyncio.AbstractEventLoop] = []  # strong refs: an unclosed loop stays observable
        self.finished = 0

    async def job(self) -> str:
        self.loops.append(asyncio.get_running_loop())
        await asyncio.sleep(self.delay)
        self.finished += 1
        if self.error is not None:
            raise self.error
        return RESULT


@dataclasses.dataclass
class Calls:
    """What the student's file called directly while it ran."""

    get_event_loop: list[SourceRef] = dataclasses.field(default_factory=list)
    asyncio_run: list[SourceRef] = dataclasses.field(default_factory=list)
    set_event_loop: list[asyncio.AbstractEventLoop | None] = dataclasses.field(default_factory=list)

    @property
    def left_current(self) -> bool:
        """The student set a loop as the current one and never set it back to None."""
        return bool(self.set_event_loop) and self.set_event_loop[-1] is not None


@dataclasses.dataclass
class Observed:
    """One synchronous call of the student's function, and what it left behind."""

    calls: Calls
    result: Any = None
    error: Exception | None = None
    created: list[asyncio.AbstractEventLoop] = dataclasses.field(default_factory=list)
    open_loops: list[asyncio.AbstractEventLoop] = dataclasses.field(default_factory=list)


def _from_exercise() -> SourceRef | None:
    """The student's line, when the caller of the recorded function is the exercise file itself."""
    frame = sys._getframe(2)
    if in_exercise(frame.f_code):
        return source_ref(frame.f_lineno)
    return None


@contextlib.contextmanager
def recording(calls: Calls) -> Iterator[None]:
    """Record the student's direct calls to the loop APIs, delegating to the real ones."""
    real_get, real_set, real_run = asyncio.get_event_loop, asyncio.set_event_loop, asyncio.run

    def get_event_loop() -> asyncio.AbstractEventLoop:
        where = _from_exercise()
        if where:
            calls.get_event_loop.append(where)
        return real_get()

    def set_event_loop(loop: asyncio.AbstractEventLoop | None) -> None:
        if _from_exercise():
            calls.set_event_loop.append(loop)
        real_set(loop)

    def run(main: Any, **kwargs: Any) -> Any:
        where = _from_exercise()
        if where:
            calls.asyncio_run.append(where)
        return real_run(main, **kwargs)

    patches: list[tuple[ModuleType, str, Callable[..., Any]]] = [
        (asyncio, "get_event_loop", get_event_loop),
        (asyncio.events, "get_event_loop", get_event_loop),
        (asyncio, "set_event_loop", set_event_loop),
        (asyncio.events, "set_event_loop", set_event_loop),
        (asyncio, "run", run),
        (asyncio.runners, "run", run),
    ]
    saved = [(module, name, getattr(module, name)) for module, name, _ in patches]
    for module, name, replacement in patches:
        setattr(module, name, replacement)
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def observe(function: Callable[[Any], Any], job: Job) -> Observed:
    """Call ``function(job.job)`` (sync), note the loops it created and which stayed open, then tidy up."""
    before = len(virtual_time.created_loops())
    seen = Observed(Calls())
    with recording(seen.calls):
        try:
            seen.result = function(job.job)
        except Exception as exc:  # noqa: BLE001 - judged by the check, re-raised when unexpected
            seen.error = exc
    # The job holds strong references to its loops, so an unclosed one cannot vanish unseen.
    seen.created = [r.loop for r in virtual_time.created_loops()[before:] if r.loop is not None]
    touched = seen.created + [loop for loop in job.loops if loop not in seen.created]
    seen.open_loops = [loop for loop in touched if not loop.is_closed()]
    # Leave no trace for the next check: no loop set as current, no loop left open.
    if seen.calls.get_event_loop or seen.calls.left_current:
        asyncio.set_event_loop(None)
    for loop in seen.open_loops:
        if not loop.is_running():
            loop.close()
    return seen


def expect_no_get_event_loop(seen: Calls, function: str) -> None:
    if seen.get_event_loop:
        where = seen.get_event_loop[0]
        raise Failure(
            f"{function} called asyncio.get_event_loop() (line {where.line}) with no event loop running",
            GET_EVENT_LOOP_HELP,
            source=where,
        )


def expect_job_ran(seen: Observed, job: Job, function: str) -> None:
    """The job really ran to its end, on a loop this very call created."""
    if not job.loops:
        if seen.error is None:
            raise Failure(f"{function} returned {seen.result!r} without ever running the job it was given", NEVER_RAN_HELP)
        if isinstance(seen.error, (TypeError, ValueError)) and "coroutine" in str(seen.error):
            raise Failure(
                f"{function} never ran the job: it handed over the function `job` where a coroutine was expected "
                f"({type(seen.error).__name__})",
                CALL_JOB_HELP,
            )
        raise seen.error  # a crash before the job ran (or the stub's TODO): reported with the student's line
    expect(
        any(loop is job.loops[0] for loop in seen.created),
        f"the job ran on a loop that {function} did not create",
        ONE_LOOP_HELP,
    )
    if seen.error is None or isinstance(seen.error, JobFailed):
        expect(
            job.finished == 1,
            f"the job started but never finished its {job.delay:g} s sleep",
            UNFINISHED_HELP,
        )


def run_manual(exercise: ModuleType, job: Job) -> Observed:
    """Call run_on_new_loop and check it is the manual way: one new loop, no shortcuts."""
    seen = observe(exercise.run_on_new_loop, job)
    expect_no_get_event_loop(seen.calls, "run_on_new_loop")
    if seen.calls.asyncio_run:
        where = seen.calls.asyncio_run[0]
        raise Failure(
            f"run_on_new_loop called asyncio.run() (line {where.line}) instead of driving a loop itself",
            MANUAL_LOOP_HELP,
            source=where,
        )
    expect_job_ran(seen, job, "run_on_new_loop")
    return seen


def expect_closed(seen: Observed, when: str, help: str) -> None:
    expect(
        not seen.open_loops,
        f"{when}, the loop that ran the job was still open (loop.is_closed() was False)",
        help,
    )


@check("loads")
def check_loads(exercise: ModuleType) -> None:
    require(exercise, "run_with_asyncio_run", "function")
    require(exercise, "run_on_new_loop", "function")
    require(exercise, "measure_loop_time", "coroutine function")


@check("asyncio_run")
def check_asyncio_run(exercise: ModuleType) -> None:
    job = Job()
    seen = observe(exercise.run_with_asyncio_run, job)
    expect_no_get_event_loop(seen.calls, "run_with_asyncio_run")
    expect_job_ran(seen, job, "run_with_asyncio_run")
    if seen.error is not None:
        raise seen.error
    expect(bool(seen.calls.asyncio_run), "run_with_asyncio_run never called asyncio.run()", USE_ASYNCIO_RUN_HELP)
    if seen.result != RESULT:
        raise Mismatch(RESULT, seen.result, RESULT_HELP, what="the job's result")
    expect_closed(seen, "after run_with_asyncio_run returned", CLOSE_HELP)


@check("new_loop_runs")
def check_new_loop_runs(exercise: ModuleType) -> None:
    job = Job()
    seen = run_manual(exercise, job)
    if seen.error is not None:
        raise seen.error
    expect(
        len(seen.created) == 1,
        f"run_on_new_loop created {len(seen.created)} event loops; expected exactly one",
        ONE_LOOP_HELP,
    )
    if seen.result != RESULT:
        raise Mismatch(RESULT, seen.result, RESULT_HELP, what="the job's result")


@check("new_loop_closed")
def check_new_loop_closed(exercise: ModuleType) -> None:
    seen = run_manual(exercise, Job())
    if seen.error is not None:
        raise seen.error
    expect_closed(seen, "after run_on_new_loop returned", CLOSE_HELP)
    expect(
        not seen.calls.left_current,
        "after run_on_new_loop returned, its closed loop was still set as the current event loop "
        "(asyncio.set_event_loop(loop) was never undone)",
        LEFT_CURRENT_HELP,
    )


@check("new_loop_closed_on_error")
def check_new_loop_closed_on_error(exercise: ModuleType) -> None:
    error = JobFailed("the job failed on purpose")
    seen = run_manual(exercise, Job(error=error))
    if seen.error is None:
        raise Failure(
            f"the job raised JobFailed, but run_on_new_loop returned {seen.result!r} instead of letting it through",
            PROPAGATE_HELP,
        )
    if seen.error is not error:
        if error in (seen.error.__cause__, seen.error.__context__):
            raise Failure(
                f"the job raised JobFailed, but run_on_new_loop raised {describe_exception(seen.error)} instead",
                PROPAGATE_HELP,
            )
        raise seen.error
    expect_closed(seen, "after the job raised JobFailed", CLOSE_IN_FINALLY_HELP)


@check("loop_time")
async def check_loop_time(exercise: ModuleType) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.sleep(HEAD_START)
    for delay in MEASURED:
        job = Job(delay)
        calls = Calls()
        with recording(calls):
            measured = await within(exercise.measure_loop_time(job.job), delay * 10 + 10, "measure_loop_time(job)")
        if calls.get_event_loop:
            where = calls.get_event_loop[0]
            raise Failure(
                f"measure_loop_time called asyncio.get_event_loop() (line {where.line}); "
                "inside a coroutine, get_running_loop() is the API that never creates a loop",
                GET_EVENT_LOOP_HELP,
                source=where,
            )
        expect(bool(job.loops) and job.finished == 1, "measure_loop_time never awaited the job it was given", NEVER_RAN_HELP)
        if not isinstance(measured, (int, float)) or isinstance(measured, bool):
            raise Mismatch(delay, measured, MEASURE_HELP, what="seconds of loop time")
        if math.isclose(measured, delay, abs_tol=1e-3):
            continue
        rationale = f"the job took {delay:g} s of event-loop time, but measure_loop_time returned {measured:.4g}"
        if abs(measured) < 0.1:
            raise Failure(rationale, WALL_CLOCK_HELP)
        if math.isclose(measured, loop.time(), abs_tol=1e-3):
            raise Failure(rationale + f" (the loop's clock itself, loop.time() = {loop.time():g})", ABSOLUTE_TIME_HELP)
        raise Failure(rationale, MEASURE_HELP)
