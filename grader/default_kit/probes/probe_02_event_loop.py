"""Probes for 02_event_loop, run in the subject: hand the student's code a job that records its loop.

Loops are Python objects the judge cannot see, so the facts about them are established
here: whether the job ran on a loop this very call created, to its end, and which loops
were still open afterwards. Calls to ``asyncio.get_event_loop``, ``asyncio.run`` and
``asyncio.set_event_loop`` made by the student's file itself are recorded while it runs:
a deprecation warning would prove nothing, since Python 3.11 stays silent.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import asyncio.runners
import contextlib
import sys
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

from grader.subject import describe_raised, plain, probe, source_ref, virtual_time, within
from grader.subject.source import in_exercise


class JobFailed(Exception):
    """The error the failing job raises; the student's code must let it through unchanged."""


class Job:
    """The job handed to the student: records the loop it ran on, sleeps, then returns or raises."""

    def __init__(self, delay: float, result: Any = None, error: str | None = None) -> None:
        self.delay, self.result = delay, result
        self.error = JobFailed(error) if error is not None else None
        self.loops: list[asyncio.AbstractEventLoop] = []  # strong refs: an unclosed loop stays observable
        self.finished = 0

    async def job(self) -> Any:
        self.loops.append(asyncio.get_running_loop())
        await asyncio.sleep(self.delay)
        self.finished += 1
        if self.error is not None:
            raise self.error
        return self.result


class Calls:
    """What the student's file called directly while it ran: source references, and the loops it set."""

    # A plain class: the executor loads the probe file without registering it in
    # sys.modules, which @dataclass needs.
    def __init__(self) -> None:
        self.get_event_loop: list[dict[str, Any]] = []
        self.asyncio_run: list[dict[str, Any]] = []
        self.set_event_loop: list[asyncio.AbstractEventLoop | None] = []

    @property
    def left_current(self) -> bool:
        """The student set a loop as the current one and never set it back to None."""
        return bool(self.set_event_loop) and self.set_event_loop[-1] is not None

    def evidence(self) -> dict[str, Any]:
        return {"get_event_loop": self.get_event_loop, "asyncio_run": self.asyncio_run, "left_current": self.left_current}


def _from_exercise() -> dict[str, Any] | None:
    """The student's line, when the caller of the recorded function is the exercise file itself.

    Only the direct caller counts: asyncio's own internals may call these functions too.
    """
    frame = sys._getframe(2)
    return source_ref(frame.f_lineno) if in_exercise(frame.f_code) else None


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


def _raised(exc: Exception, job: Job) -> dict[str, Any]:
    """The student's exception as evidence, and how it relates to the job's own error."""
    return {
        **describe_raised(exc),
        "is_job_error": job.error is not None and exc is job.error,
        "wraps_job_error": job.error is not None and job.error in (exc.__cause__, exc.__context__),
    }


@probe
def run_job(exercise: ModuleType, function: str, delay: float, result: Any = None, error: str | None = None) -> dict[str, Any]:
    """Call ``function(job)`` synchronously; report what the job did on which loop, and what was left open.

    The student's exception is evidence here, not the end of the probe: whether it is
    the job's own error, a misuse of ``job``, or a crash is the judge's call.
    """
    job = Job(delay, result, error)
    calls = Calls()
    before = len(virtual_time.created_loops())
    returned: Any = None
    raised: dict[str, Any] | None = None
    with recording(calls):
        try:
            returned = getattr(exercise, function)(job.job)
        except Exception as exc:  # noqa: BLE001 - judged by the check
            raised = _raised(exc, job)
    # The job holds strong references to its loops, so an unclosed one cannot vanish unseen.
    created = [record.loop for record in virtual_time.created_loops()[before:]]
    touched = created + [loop for loop in job.loops if loop not in created]
    open_loops = [loop for loop in touched if not loop.is_closed()]
    evidence = {
        "result": plain(returned),
        "raised": raised,
        "calls": calls.evidence(),
        "loops_created": len(created),
        "job_started": bool(job.loops),
        "ran_on_created_loop": bool(job.loops) and any(loop is job.loops[0] for loop in created),
        "job_finished": job.finished,
        "loops_left_open": len(open_loops),
    }
    # Leave no trace for the next probe: no loop set as current, no loop left open.
    if calls.get_event_loop or calls.left_current:
        asyncio.set_event_loop(None)
    for loop in open_loops:
        if not loop.is_running():
            loop.close()
    return evidence


@probe
async def measure(exercise: ModuleType, delay: float, head_start: float) -> dict[str, Any]:
    """Let ``head_start`` seconds of loop time pass, then await ``measure_loop_time(job)``.

    Reports what it returned, the loop's clock right after, and whether the job ran to its end.
    """
    await asyncio.sleep(head_start)
    job = Job(delay)
    calls = Calls()
    with recording(calls):
        measured = await within(exercise.measure_loop_time(job.job), delay * 10 + 10, "measure_loop_time(job)")
    return {
        "measured": plain(measured),
        "clock": virtual_time.now(),
        "calls": calls.evidence(),
        "job_ran": bool(job.loops) and job.finished == 1,
    }
