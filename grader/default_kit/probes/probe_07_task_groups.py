"""Probes for 07_task_groups, run in the subject: the runners with a worker whose jobs can fail.

The worker is the recording worker of :mod:`grader.subject.timeline` (when each job
started and finished, on the virtual clock, and where it was called), wrapped so that the
jobs the judge names fail, when they end, with the exception the judge chose, and so that
each job's end is kept: returned, raised, or cancelled, and when. The moment the student's
function returns or raises (in the same step: no other task has run since), the probe
notes which jobs were still running or only asked to stop (``task.cancel()`` not yet
awaited), and which tasks the function started were still pending. Exceptions cannot
travel to the judge, so each is described: its type, its text, the job whose worker raised
that very object, and for an exception group, what it holds.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Coroutine
from types import ModuleType
from typing import Any

from grader.subject import (
    Deadline,
    describe_raised,
    handed,
    plain,
    probe,
    source,
    tasks,
    timeline,
    virtual_time,
    within,
)

ERRORS: dict[str, type[Exception]] = {"ValueError": ValueError, "ConnectionError": ConnectionError}
LEAVES_KEPT = 20  # exceptions described per group: a runaway group must not flood the evidence
DEPTH = 5  # groups inside groups described


class Book:
    """How each job of one call ended, and when; the exceptions the workers raised, as objects."""

    def __init__(self, failures: dict[str, list[str]]) -> None:
        self.failures = {name: (str(kind), str(message)) for name, (kind, message) in failures.items()}
        self.origin = virtual_time.now()
        self.raised: dict[str, BaseException] = {}
        self.ended: dict[str, tuple[str, float]] = {}
        self.tasks: dict[str, asyncio.Task[Any] | None] = {}
        self.coroutines: list[Coroutine[Any, Any, Any]] = []

    def now(self) -> float:
        return round(virtual_time.now() - self.origin, 6)

    def job_of(self, exc: BaseException) -> str | None:
        """The job whose worker raised this very exception object."""
        return next((name for name, raised in self.raised.items() if raised is exc), None)

    def states(self) -> dict[str, dict[str, Any]]:
        """Every job that started: how it ended and when, or what it was doing when this was asked."""
        states: dict[str, dict[str, Any]] = {}
        for name, task in self.tasks.items():
            if name in self.ended:
                how, at = self.ended[name]
                states[name] = {"state": how, "at": at}
            else:
                asked = task is not None and not task.done() and task.cancelling() > 0
                states[name] = {"state": "cancelling" if asked else "running"}
        return states

    def close(self) -> None:
        """Close the coroutines that never started, so Python does not warn "never awaited" into the output."""
        for coroutine in self.coroutines:
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()


async def _ending(book: Book, name: str, inner: Coroutine[Any, Any, Any]) -> Any:
    """One job: the inner coroutine waits (and is recorded); then this job fails as the judge said, or returns."""
    book.tasks[name] = asyncio.current_task()
    try:
        value = await inner
    except asyncio.CancelledError:
        book.ended.setdefault(name, ("cancelled", book.now()))
        raise
    failure = book.failures.get(name)
    if failure is not None:
        error = ERRORS[failure[0]](failure[1])
        book.raised.setdefault(name, error)
        book.ended.setdefault(name, ("raised", book.now()))
        raise error
    book.ended.setdefault(name, ("returned", book.now()))
    return value


# A coroutine of the judge's worker reads as the worker's in the student's reprs and warnings.
_ending.__name__ = _ending.__qualname__ = "worker"


def recording_worker(book: Book) -> Callable[[str, float], Coroutine[Any, Any, Any]]:
    def worker(name: str, delay: float) -> Coroutine[Any, Any, Any]:
        # A plain function: the recorder reads the student's line that called it off the stack.
        inner = timeline.worker(name, delay)
        job = _ending(book, name, inner)
        book.coroutines += [job, inner]
        return job

    return handed(worker)  # the student's code gets no way back to the book


def describe_error(exc: BaseException, book: Book, depth: int = 0) -> dict[str, Any]:
    """An exception as evidence: type, text, the job that raised it, and for a group what it holds."""
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001 - a student's __str__ may raise anything
        text = f"<{type(exc).__name__} whose str() raised>"
    described: dict[str, Any] = {"type": type(exc).__name__, "message": text[:300], "job": book.job_of(exc)}
    if isinstance(exc, BaseExceptionGroup):
        held = list(exc.exceptions)
        described["exceptions"] = [describe_error(e, book, depth + 1) for e in held[:LEAVES_KEPT]] if depth < DEPTH else []
        described["more"] = max(len(held) - LEAVES_KEPT, 0)
    return described


def describe_value(value: Any, book: Book, depth: int = 0) -> Any:
    """What the student's function returned: plain values, with every exception in it described."""
    if isinstance(value, BaseException):
        return {"exception": describe_error(value, book)}
    if depth < 4 and type(value) in (list, tuple):
        return [describe_value(item, book, depth + 1) for item in value[:50]]
    return plain(value)


def foreign(exc: BaseException, book: Book, depth: int = 0) -> BaseException | None:
    """The first exception in ``exc`` (itself, or a leaf of its groups) that no worker raised: the code's own."""
    if isinstance(exc, BaseExceptionGroup) and depth < DEPTH:
        return next((f for e in exc.exceptions if (f := foreign(e, book, depth + 1)) is not None), None)
    return None if book.job_of(exc) is not None else exc


def raised_evidence(exc: BaseException, book: Book) -> dict[str, Any]:
    evidence = {"raised": describe_raised(exc), "error": describe_error(exc, book)}
    own = foreign(exc, book)
    if own is not None:
        evidence["foreign"] = describe_raised(own)
    return evidence


@probe
async def run(
    exercise: ModuleType,
    function: str,
    jobs: list[list[Any]],
    values: dict[str, str],
    durations: dict[str, float],
    failures: dict[str, list[str]],
) -> dict[str, Any]:
    """``function(worker, jobs)``: what it returned or raised, when, and what every job was doing at that moment.

    Evidence: ``result`` (exceptions in it described) or ``raised``/``error`` (and
    ``foreign``: the first exception in it that no worker raised); ``returned_at``;
    ``jobs`` (each job that started: ``returned``, ``raised`` or ``cancelled`` with the
    time, else ``running`` or ``cancelling``, at the return); ``left_tasks`` (tasks the
    function started that were still pending then); ``timeline``.
    """
    runner = getattr(exercise, function)
    asyncio.get_running_loop().set_exception_handler(handed(quiet))
    book = Book(failures)
    created: list[asyncio.Task[Any]] = []
    deadline = sum(durations.values()) * 10
    timeline.begin(values, durations)
    try:
        with tasks.recording_tasks(created.append):
            try:
                result = await within(runner(recording_worker(book), [tuple(job) for job in jobs]), deadline, f"{function}()")
                outcome: dict[str, Any] = {"result": describe_value(result, book)}
            except Deadline:
                raise
            except Exception as exc:  # noqa: BLE001 - the student's exception (a group, often): evidence for the judge
                outcome = raised_evidence(exc, book)
            # Still in the step in which the function returned: no other task has run since.
            outcome["returned_at"] = book.now()
            outcome["jobs"] = book.states()
            outcome["left_tasks"] = [describe_task(task) for task in created if not task.done()]
            outcome["timeline"] = timeline.evidence(asyncio.current_task())
    finally:
        await stop(created)
        book.close()
    return outcome


@probe
async def handle(exercise: ModuleType, scenarios: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``handle_errors(run, report)`` once per scenario, ``run()`` running the scenario's jobs in a TaskGroup.

    Evidence per scenario: ``result`` or ``raised``/``error``/``foreign`` as for :func:`run`,
    ``reports`` (what report() was called with, described) and ``report_sites`` (the
    student's line of each call), ``runs`` (how many times run()
    was called) and ``run_awaited`` (whether a coroutine run() returned ever started).
    """
    asyncio.get_running_loop().set_exception_handler(handed(quiet))
    return [await handle_one(exercise.handle_errors, scenario) for scenario in scenarios]


async def handle_one(handle_errors: Any, scenario: dict[str, Any]) -> dict[str, Any]:
    jobs = [(str(name), float(delay)) for name, delay in scenario["jobs"]]
    values: dict[str, str] = scenario["values"]
    book = Book(scenario["failures"])
    reports: list[Any] = []
    sites: list[Any] = []
    runs: list[Coroutine[Any, Any, Any]] = []

    def report(error: Any) -> None:
        reports.append(describe_value(error, book))
        sites.append(source.caller_in_exercise())

    async def in_a_group() -> list[Any]:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_ending(book, name, asyncio.sleep(delay, values[name]))) for name, delay in jobs]
        return [task.result() for task in tasks]

    def run() -> Coroutine[Any, Any, list[Any]]:
        coroutine = in_a_group()
        runs.append(coroutine)
        book.coroutines.append(coroutine)
        return coroutine

    deadline = sum(delay for _, delay in jobs) * 10
    try:
        # Stand-ins: ``report.__closure__`` must not lead to the reports, nor ``run``'s to the book.
        result = await within(handle_errors(handed(run), handed(report)), deadline, "handle_errors()")
        outcome: dict[str, Any] = {"result": describe_value(result, book)}
    except Deadline:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's exception: evidence for the judge
        outcome = raised_evidence(exc, book)
    finally:
        book.close()
    run_awaited = any(inspect.getcoroutinestate(c) != inspect.CORO_CREATED for c in runs)
    return {**outcome, "reports": reports, "report_sites": sites, "runs": len(runs), "run_awaited": run_awaited}


def describe_task(task: asyncio.Task[Any]) -> dict[str, Any]:
    coro = task.get_coro()
    return {"name": str(getattr(coro, "__qualname__", None) or task.get_name()), "cancelling": task.cancelling() > 0}


def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop "exception was never retrieved" for the jobs' exceptions and cancellations: the evidence has them."""
    exception = context.get("exception")
    if not isinstance(exception, (asyncio.CancelledError, *ERRORS.values(), BaseExceptionGroup)):
        loop.default_exception_handler(context)


async def stop(tasks: list[asyncio.Task[Any]]) -> None:
    """Stop whatever the student's code left running, so the next probe starts clean, and retrieve
    the exceptions of its tasks, so asyncio logs no "exception was never retrieved" later."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1.0)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()
