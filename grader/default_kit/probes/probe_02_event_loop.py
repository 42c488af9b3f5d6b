"""Probes for 02_event_loop, run in the subject: hand the student's code a job that records its loop.

Loops are Python objects the judge cannot see, so the facts about them are established
here: whether the job ran on a loop this very call created, to its end, and which loops
were still open afterwards. What the student's file itself called while it ran is
recorded too, wherever the file reached it from (``asyncio.run`` or ``from asyncio
import run``): ``asyncio.get_event_loop``, ``asyncio.set_event_loop``, the runners
(``asyncio.run``, ``asyncio.Runner``) and the wall clocks of :mod:`time`. A deprecation
warning would prove nothing, since Python 3.11 stays silent.
"""

from __future__ import annotations

import ast
import asyncio
import asyncio.events
import asyncio.runners
import contextlib
import inspect
import sys
import textwrap
import time
from collections.abc import Callable, Coroutine, Iterator
from types import ModuleType
from typing import Any

from grader.subject import (
    describe_raised,
    handed,
    plain,
    probe,
    source_ref,
    virtual_time,
    within,
)
from grader.subject.handout import STAND_IN_FRAMES
from grader.subject.source import caller_in_exercise, in_exercise

WALL_CLOCKS = ("time", "monotonic", "perf_counter", "time_ns", "monotonic_ns", "perf_counter_ns")


class JobFailed(Exception):
    """The error the failing job raises; the student's code must let it through unchanged."""


class Job:
    """The job handed to the student: records the loop it ran on, sleeps, then returns or raises.

    ``job`` is a plain function returning the coroutine, so the student's line that
    called it is on the stack and a coroutine nobody awaited can be named with it.
    """

    def __init__(self, delay: float, result: Any = None, error: str | None = None) -> None:
        self.delay, self.result = delay, result
        self.error = JobFailed(error) if error is not None else None
        self.loops: list[asyncio.AbstractEventLoop] = []  # strong refs: an unclosed loop stays observable
        self.finished = 0
        self.made: list[tuple[Coroutine[Any, Any, Any], dict[str, Any] | None]] = []

    def job(self) -> Coroutine[Any, Any, Any]:
        coroutine = self._run()
        self.made.append((coroutine, caller_in_exercise()))
        return coroutine

    async def _run(self) -> Any:
        self.loops.append(asyncio.get_running_loop())
        await asyncio.sleep(self.delay)
        self.finished += 1
        if self.error is not None:
            raise self.error
        return self.result

    def never_awaited(self) -> list[dict[str, Any]]:
        """The calls of ``job()`` whose coroutine never started, closed so Python warns nothing into the output."""
        never = []
        for coroutine, site in self.made:
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()
                never.append({"call": "job()", "source": site})
        return never


# The job's coroutine reads as `job` in the student's reprs and warnings.
Job._run.__name__ = Job._run.__qualname__ = "job"


class Calls:
    """What the student's file called directly while it ran: source references, and the loops it set."""

    # A plain class: the executor loads the probe file without registering it in
    # sys.modules, which @dataclass needs.
    def __init__(self) -> None:
        self.get_event_loop: list[dict[str, Any]] = []
        self.runners: list[dict[str, Any]] = []
        self.set_event_loop: list[asyncio.AbstractEventLoop | None] = []
        self.clocks: list[dict[str, Any]] = []

    @property
    def left_current(self) -> bool:
        """The student set a loop as the current one and never set it back to None."""
        return bool(self.set_event_loop) and self.set_event_loop[-1] is not None

    def evidence(self) -> dict[str, Any]:
        return {
            "get_event_loop": self.get_event_loop,
            "runners": self.runners,
            "left_current": self.left_current,
            "clocks": self.clocks,
        }


def _student_site() -> dict[str, Any] | None:
    """The student's line, when the caller of the recorded function is the exercise file itself.

    Only the direct caller counts: asyncio's own internals may call these functions too. The recorded
    functions are handed out as stand-ins (see :func:`_fakes`): their frames are skipped.
    """
    frame = sys._getframe(2 + STAND_IN_FRAMES)
    return source_ref(frame.f_lineno) if in_exercise(frame.f_code) else None


def _fakes(calls: Calls) -> list[tuple[Callable[..., Any], Callable[..., Any]]]:
    """Each watched function, and the stand-in that records the student's direct calls to it."""
    real_get, real_set, real_new = asyncio.get_event_loop, asyncio.set_event_loop, asyncio.new_event_loop

    def get_event_loop() -> asyncio.AbstractEventLoop:
        where = _student_site()
        if where is None:
            return real_get()
        calls.get_event_loop.append(where)
        try:
            return real_get()
        except RuntimeError:
            # Python 3.14 raises where 3.11 to 3.13 made a loop and set it as current: answer
            # as they do, so the rest of the function is judged the same on every Python.
            if asyncio.events._get_running_loop() is not None:
                raise
            loop = real_new()
            real_set(loop)
            return loop

    def set_event_loop(loop: asyncio.AbstractEventLoop | None) -> None:
        if _student_site():
            calls.set_event_loop.append(loop)
        real_set(loop)

    clocks = [(getattr(time, name), _clock(calls, name, getattr(time, name))) for name in WALL_CLOCKS]
    watched: list[tuple[Callable[..., Any], Callable[..., Any]]] = [(real_get, get_event_loop), (real_set, set_event_loop), *clocks]
    # Stand-ins: ``time.time.__closure__`` must not lead to the calls recorded.
    return [(real, handed(fake)) for real, fake in watched]


def _clock(calls: Calls, name: str, real: Callable[[], Any]) -> Callable[[], Any]:
    def clock() -> Any:
        where = _student_site()
        if where:
            calls.clocks.append({"clock": f"time.{name}()", "source": where})
        return real()

    return clock


@contextlib.contextmanager
def recording(exercise: ModuleType, calls: Calls) -> Iterator[None]:
    """Record the student's calls of the watched functions, delegating to the real ones.

    Each is replaced wherever the student's file can reach it: in :mod:`asyncio` and
    :mod:`time`, and under any name the file imported it as. The runners are seen in
    ``Runner.run``, which both ``asyncio.run`` and ``asyncio.Runner`` go through.
    """
    homes = [
        (module, name, real, fake)
        for real, fake in _fakes(calls)
        for module in (asyncio, asyncio.events, time, exercise)
        for name, value in list(vars(module).items())
        if value is real
    ]
    real_run, run_code = asyncio.runners.Runner.run, asyncio.runners.run.__code__

    def run(runner: asyncio.runners.Runner, coro: Any, **kwargs: Any) -> Any:
        where = caller_in_exercise()
        if where:
            via = "asyncio.run" if sys._getframe(1 + STAND_IN_FRAMES).f_code is run_code else "asyncio.Runner"
            calls.runners.append({"via": via, "source": where})
        return real_run(runner, coro, **kwargs)

    for module, name, _, fake in homes:
        setattr(module, name, fake)
    asyncio.runners.Runner.run = handed(run)  # type: ignore[method-assign,assignment]  # watched while the student's code runs
    try:
        yield
    finally:
        asyncio.runners.Runner.run = real_run  # type: ignore[method-assign]  # put back
        for module, name, real, _ in homes:
            setattr(module, name, real)


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
    with recording(exercise, calls):
        try:
            returned = getattr(exercise, function)(handed(job.job))  # no way back to the job's records
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
        "never_awaited": job.never_awaited(),
        "loops_left_open": len(open_loops),
        "close_not_called": uncalled_close(getattr(exercise, function)) if open_loops else None,
    }
    # Leave no trace for the next probe: no loop set as current, no loop left open.
    if calls.get_event_loop or calls.left_current:
        asyncio.set_event_loop(None)
    for loop in open_loops:
        if not loop.is_running():
            loop.close()
    return evidence


def uncalled_close(function: Any) -> dict[str, Any] | None:
    """The student's line that names a loop's close method without calling it (``loop.close``), if any."""
    try:
        lines, first = inspect.getsourcelines(function)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Attribute) and node.value.attr == "close":
            return source_ref(first + node.lineno - 1)
    return None


@probe
async def measure(exercise: ModuleType, delay: float, head_start: float) -> dict[str, Any]:
    """Let ``head_start`` seconds of loop time pass, then await ``measure_loop_time(job)``.

    Reports what it returned, the loop's clock right after, whether the job ran to its
    end, and what the student's code called to get the loop or the time.
    """
    await asyncio.sleep(head_start)
    job = Job(delay)
    calls = Calls()
    try:
        with recording(exercise, calls):
            measured = await within(exercise.measure_loop_time(handed(job.job)), delay * 10 + 10, "measure_loop_time(job)")
    finally:
        never_awaited = job.never_awaited()
    return {
        "measured": plain(measured),
        "clock": virtual_time.now(),
        "calls": calls.evidence(),
        "job_called": bool(job.made),
        "never_awaited": never_awaited,
        "job_ran": bool(job.loops) and job.finished == 1,
    }
