"""Probes for 08_limits, run in the subject: the limited runners with recording workers.

``run_limited`` gets the recording worker of :mod:`grader.subject.timeline` (when each
job started and ended on the virtual clock, and the student's line that called it);
``fetch_all`` gets a ``fetch(url)`` built on it, whose fetches of the urls the judge names
raise, when they end, the exception the judge chose. The student's function runs in a task
of its own, shielded from the probe's deadline, so that on a deadlock its tasks are still
where they hang when the probe looks: the evidence then says at which line each waits.

Each job also notes the semaphores the student's frames held when it was called (their
locals, closures included): a semaphore seen by one job only, made in the function that
called the worker, is one made per job. The judge decides what any of it means.
"""

from __future__ import annotations

import asyncio
import inspect
import linecache
import sys
from collections.abc import Callable, Coroutine
from types import CodeType, FrameType, ModuleType
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

FRAMES_LOOKED_AT = 40  # frames walked up from a job's call: far more than any student's stack in this exercise
SEMAPHORES_KEPT = 50  # semaphores described: one per job of the largest run, and more


class Book:
    """One call: which jobs failed (the exception objects), the semaphores seen, the coroutines made."""

    def __init__(self, failures: dict[str, str]) -> None:
        self.failures = dict(failures)
        self.raised: dict[str, BaseException] = {}
        self.coroutines: list[Coroutine[Any, Any, Any]] = []
        self.semaphores: list[asyncio.Semaphore] = []  # kept alive: an id stays its own for the whole call
        self.described: list[dict[str, Any]] = []
        self.seen: dict[str, list[int]] = {}

    def job_of(self, exc: BaseException) -> str | None:
        """The job whose fetch raised this very exception object."""
        return next((name for name, raised in self.raised.items() if raised is exc), None)

    def note_semaphores(self, job: str) -> None:
        """The semaphores the student's frames on the current stack hold, as this job is called."""
        found: list[int] = []
        frame: FrameType | None = sys._getframe(2)
        for _ in range(FRAMES_LOOKED_AT):
            if frame is None:
                break
            if source.in_exercise(frame.f_code):
                for name, value in list(frame.f_locals.items()):
                    for label, semaphore in held(name, value):
                        index = self.index(semaphore, label, frame)
                        if index is not None and index not in found:
                            found.append(index)
            frame = frame.f_back
        self.seen.setdefault(str(job), found)

    def index(self, semaphore: asyncio.Semaphore, label: str, frame: FrameType) -> int | None:
        for n, known in enumerate(self.semaphores):
            if known is semaphore:
                return n
        if len(self.semaphores) >= SEMAPHORES_KEPT:
            return None
        self.semaphores.append(semaphore)
        self.described.append({
            "name": label, "in": frame.f_code.co_name, "kind": type(semaphore).__name__,
            "made_at": made_at_line(frame.f_code),
        })  # fmt: skip
        return len(self.semaphores) - 1

    def close(self) -> None:
        """Close the coroutines that never started, so Python does not warn "never awaited" into the output."""
        for coroutine in self.coroutines:
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()


def held(name: str, value: Any) -> list[tuple[str, asyncio.Semaphore]]:
    """``value`` if it is a semaphore, else the semaphores among its own attributes (a helper object's)."""
    if isinstance(value, asyncio.Semaphore):
        return [(name, value)]
    if isinstance(value, (type, ModuleType)) or not hasattr(value, "__dict__"):
        return []
    try:
        attributes = list(vars(value).items())[:20]
    except TypeError:
        return []
    return [(f"{name}.{key}", item) for key, item in attributes if isinstance(item, asyncio.Semaphore)]


def made_at_line(code: CodeType) -> dict[str, Any] | None:
    """The student's line in ``code`` that makes a semaphore (``asyncio.Semaphore(...)``), if it has one."""
    file = code.co_filename
    for line in sorted({line for _, _, line in code.co_lines() if line is not None}):
        if "Semaphore(" in linecache.getline(file, line):
            return source.source_ref(line)
    return None


async def _failing(book: Book, name: str, inner: Coroutine[Any, Any, Any]) -> Any:
    """One fetch: the recorded wait, then the judge's error for a url the judge named, or the value."""
    value = await inner
    message = book.failures.get(name)
    if message is not None:
        error = ConnectionError(message)
        book.raised.setdefault(name, error)
        raise error
    return value


# A coroutine of the judge's fetch reads as the fetch's in the student's reprs and warnings.
_failing.__name__ = _failing.__qualname__ = "fetch"


def recording_worker(book: Book) -> Callable[[str, float], Coroutine[Any, Any, Any]]:
    def worker(name: str, delay: float) -> Coroutine[Any, Any, Any]:
        # A plain function: the student's line that called it, and its frames, are on the stack.
        book.note_semaphores(name)
        return timeline.worker(name, delay)

    return handed(worker)  # the student's code gets no way back to the book


def recording_fetch(book: Book, durations: dict[str, float]) -> Callable[[str], Coroutine[Any, Any, Any]]:
    def fetch(url: str) -> Coroutine[Any, Any, Any]:
        if not isinstance(url, str) or url not in durations:
            raise TypeError(f"fetch() takes one of the urls it was given, not {url!r}")
        book.note_semaphores(url)
        inner = timeline.worker(url, durations[url])
        job = _failing(book, url, inner)
        book.coroutines += [job, inner]
        return job

    return handed(fetch)


def describe_error(exc: BaseException, book: Book) -> dict[str, Any]:
    """An exception as evidence: type, text, the job whose fetch raised it, where the student's code raised it."""
    raised = describe_raised(exc)
    return {"type": type(exc).__name__, "message": raised["message"], "job": book.job_of(exc), "raised": raised}


def describe_value(value: Any, book: Book, depth: int = 0) -> Any:
    """What the student's function returned: plain values, with every exception in it described."""
    if isinstance(value, BaseException):
        return {"exception": describe_error(value, book)}
    if depth < 2 and type(value) in (list, tuple):
        return [describe_value(item, book, depth + 1) for item in value[:100]]
    return plain(value)


async def observe(
    function: Any,
    call: Callable[[Book], Coroutine[Any, Any, Any]],
    what: str,
    values: dict[str, str],
    durations: dict[str, float],
    failures: dict[str, str],
    deadline: float,
) -> dict[str, Any]:
    """``call(book)`` in a task of its own: what it returned or raised, when, and what the jobs did.

    Evidence: ``result`` (exceptions in it described) or ``raised``/``error`` or ``hang``
    (``waiting_at``: the caller's line; ``parked``: the lines where the tasks it started
    still wait); ``returned_at``; ``timeline`` (as at the return, or at the deadline);
    ``semaphores`` (each seen: name, function, kind, the line that makes it) and ``seen``
    (job -> the semaphores its call saw); ``tasks_made_at`` (when each task it started was made);
    ``semaphore_line`` (the line of ``function`` itself that makes a semaphore, if one does).
    """
    asyncio.get_running_loop().set_exception_handler(handed(quiet))
    book = Book(failures)
    created: list[asyncio.Task[Any]] = []
    made_at: list[float] = []  # when each of those tasks was created, on the loop's clock
    end: dict[str, Any] = {}
    origin = virtual_time.now()

    async def caller() -> None:
        nonlocal origin
        # Recording begins inside this task: a job's "waited at" is then this task's await, in the student's code.
        timeline.begin(values, durations)
        origin = virtual_time.now()
        try:
            end["result"] = describe_value(await call(book), book)
        except Exception as exc:  # noqa: BLE001 - the student's exception: evidence, judged with the timeline
            end["raised"], end["error"] = describe_raised(exc), describe_error(exc, book)
        # Still in the step in which the function ended: no other task has run since.
        end["returned_at"] = round(virtual_time.now() - origin, 6)
        end["timeline"] = timeline.evidence(asyncio.current_task())

    task = asyncio.create_task(caller())  # made before the recording of tasks: only the student's are recorded
    try:
        def created_now(task: asyncio.Task[Any]) -> None:
            created.append(task)
            made_at.append(virtual_time.now())

        with tasks.recording_tasks(created_now):
            try:
                await within(asyncio.shield(task), deadline, what)
            except Deadline as timeout:
                end["hang"] = {
                    "seconds": timeout.seconds,
                    "waiting_at": source.suspended_at(task),
                    "parked": [where for t in created if not t.done() and (where := source.suspended_at(t))],
                }
                end["timeline"] = timeline.evidence(task)
    finally:
        await stop([task, *created])
        book.close()
    tasks_made_at = [round(moment - origin, 6) for moment in made_at]
    code = getattr(function, "__code__", None)
    line = made_at_line(code) if isinstance(code, CodeType) and source.in_exercise(code) else None
    return {
        **end, "semaphores": book.described, "seen": book.seen, "tasks_made_at": tasks_made_at, "semaphore_line": line,
        "fetches_raised": sorted(book.raised),
    }  # fmt: skip


@probe
async def run_limited(exercise: ModuleType, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``run_limited(worker, jobs, limit)`` once per run of the judge's (``jobs``, ``values``, ``limit``)."""
    evidence = []
    for run in runs:
        jobs = [(str(name), float(delay)) for name, delay in run["jobs"]]
        limit = int(run["limit"])

        def call(book: Book, jobs: list[tuple[str, float]] = jobs, limit: int = limit) -> Coroutine[Any, Any, Any]:
            return exercise.run_limited(recording_worker(book), list(jobs), limit)  # type: ignore[no-any-return]  # the student's function, untyped

        durations = dict(jobs)
        deadline = sum(durations.values()) * 4
        evidence.append(await observe(exercise.run_limited, call, "run_limited()", run["values"], durations, {}, deadline))
    return evidence


@probe
async def fetch_all(
    exercise: ModuleType, urls: list[str], durations: dict[str, float], values: dict[str, str], failures: dict[str, str],
    limit: int,
) -> dict[str, Any]:  # fmt: skip
    """``fetch_all(urls, fetch, limit)``, the fetches of the urls in ``failures`` raising when they end."""

    def call(book: Book) -> Coroutine[Any, Any, Any]:
        return exercise.fetch_all(list(urls), recording_fetch(book, durations), limit)  # type: ignore[no-any-return]  # the student's function, untyped

    return await observe(exercise.fetch_all, call, "fetch_all()", values, durations, failures, sum(durations.values()) * 4)


def quiet(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop "exception was never retrieved" for the fetches' errors and cancellations: the evidence has them."""
    if not isinstance(context.get("exception"), (asyncio.CancelledError, ConnectionError, BaseExceptionGroup)):
        loop.default_exception_handler(context)


async def stop(tasks: list[asyncio.Task[Any]]) -> None:
    """Stop whatever the student's code left running, so the next call starts clean, and retrieve
    the exceptions of its tasks, so asyncio logs no "exception was never retrieved" later."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1.0)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()
