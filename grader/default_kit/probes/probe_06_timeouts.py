"""Probes for 06_timeouts, run in the subject: jobs and a task that record how they ended.

The judge's job, ``worker(name, delay)``, takes the time the judge chose whatever delay
it is given, then returns the judge's value or raises the judge's error; on the loop's
virtual clock it records when it started, when a CancelledError reached it and when its
``finally`` ran. The judge's ``release()`` records when it was called, and from which
line. The judge's background task, handed to ``stop_after``, runs until it is cancelled
and then takes the judge's time to clean up; it records each ``cancel()`` call (when,
and from which line), when the cancellation reached it and when its cleanup ended.

Each call of the student's code runs in a task of its own, so the moment it returned,
and what it left running, are seen from outside; what it left running is given until the
deadline to end, so the evidence says when it would have. The lines of the student's
function that catch what a cancellation or a timeout raises (``except CancelledError``,
``except TimeoutError``, ``except Exception``, a bare ``except:``, ``suppress(...)``) or
discard it (a ``return`` inside ``finally:``) are read from its source, for the judge to
point at. Nothing here decides: the judge compares the evidence with its own values.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import sys
import textwrap
import time
from collections.abc import Callable, Coroutine, Iterator
from types import ModuleType
from typing import Any

from grader.subject import (
    Deadline,
    describe_raised,
    handed,
    plain,
    probe,
    source,
    virtual_time,
    within,
)
from grader.subject.handout import STAND_IN_FRAMES

ERRORS: dict[str, type[Exception]] = {"TimeoutError": TimeoutError, "ValueError": ValueError}
FOREVER = 3600.0  # virtual seconds: the background task has no end of its own
WALL_CLOCKS = ("time", "monotonic", "perf_counter")  # they stand still while the loop's clock is virtual
LEFTOVER_SECONDS = 1.0  # virtual seconds a task cancelled by the probe's cleanup is given to end


class Clock:
    """Virtual seconds since a case began, to the microsecond; it notes a loop's clock seen to go back."""

    def __init__(self) -> None:
        self.origin = virtual_time.now()
        self.last = 0.0
        self.went_backwards = False

    def __call__(self) -> float:
        moment = round(virtual_time.now() - self.origin, 6)
        self.went_backwards = self.went_backwards or moment < self.last
        self.last = max(self.last, moment)
        return moment

    def if_running(self) -> float | None:
        """The time, or None once no loop runs: a coroutine closed after its loop has ended."""
        return self() if asyncio.events._get_running_loop() is not None else None

    def since(self, moment: float) -> float:
        return round(moment - self.origin, 6)


class Job:
    """The judge's job for one case: hands out ``worker`` and records every run of it.

    ``worker`` is a plain function returning the coroutine, so the student's line that
    called it is on the stack, and a coroutine nobody awaited can be named with it.
    """

    def __init__(self, clock: Clock, takes: float, value: str, error: dict[str, str] | None) -> None:
        self.clock, self.takes, self.value = clock, takes, value
        self.error = ERRORS[error["type"]](error["message"]) if error else None
        self.runs: list[dict[str, Any]] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self.made: list[tuple[Coroutine[Any, Any, Any], dict[str, Any] | None, str]] = []
        self.worker = handed(self._worker())  # the student's code gets no way back to the runs

    def _worker(self) -> Callable[[str, float], Coroutine[Any, Any, Any]]:
        made, run = self.made, self._run

        def worker(name: str, delay: float) -> Coroutine[Any, Any, Any]:
            coroutine = run()
            made.append((coroutine, source.caller_in_exercise(), f"worker({name!r}, {delay!r})"))
            return coroutine

        return worker

    async def _run(self) -> Any:
        run: dict[str, Any] = {"started": self.clock(), "cancelled": None, "ended": None, "how": "running"}
        self.runs.append(run)
        task = asyncio.current_task()
        if task is not None and all(task is not known for known in self.tasks):
            self.tasks.append(task)
        try:
            await asyncio.sleep(self.takes)
            if self.error is not None:
                run["how"] = "raised"
                raise self.error
            run["how"] = "returned"
            return self.value
        except asyncio.CancelledError:
            run["cancelled"], run["how"] = self.clock(), "cancelled"
            raise
        finally:
            run["ended"] = self.clock.if_running()
            if run["how"] == "running":
                run["how"] = "closed"  # the coroutine was closed (GeneratorExit) or raised what it never raises

    def snapshot(self) -> list[dict[str, Any]]:
        return [dict(run) for run in self.runs]

    def calls(self) -> list[dict[str, Any]]:
        """Every call of the worker, with the student's line that made it."""
        return [{"call": call, "source": site} for _, site, call in self.made]

    def never_awaited(self) -> list[dict[str, Any]]:
        """The worker calls whose coroutine never started, closed so Python warns nothing into the output."""
        never = []
        for coroutine, site, call in self.made:
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()
                never.append({"call": call, "source": site})
        return never


# The job's coroutine reads as the worker's in the student's reprs and warnings.
Job._run.__name__ = Job._run.__qualname__ = "worker"


def watched_task(coroutine: Coroutine[Any, Any, Any], calls: list[dict[str, Any]]) -> asyncio.Task[Any]:
    """The judge's background task: it remembers in ``calls`` every cancel(), when and from which line of the
    student's file. (A subclass of the C Task has no ``__dict__``: its ``cancel`` notes through a stand-in.)"""

    note = handed(calls.append)  # the method's closure leads to nothing the evidence is made of

    class WatchedTask(asyncio.Task[Any]):
        def cancel(self, msg: Any = None) -> bool:
            note({"at": virtual_time.now(), "source": source.caller_in_exercise(), "done": self.done()})
            return super().cancel(msg)

    return WatchedTask(coroutine, loop=asyncio.get_running_loop())


async def background(clock: Clock, record: dict[str, Any], cleanup: float) -> None:
    """Runs until cancelled; then cleans up for ``cleanup`` seconds and ends cancelled."""
    record["started"] = clock()
    try:
        await asyncio.sleep(FOREVER)
    except asyncio.CancelledError:
        record["cancelled"] = clock()
        raise
    finally:
        record["cleanup_started"] = clock.if_running()
        try:
            await asyncio.sleep(cleanup)
            record["cleanup_done"] = clock()
        except asyncio.CancelledError:
            record["cleanup_interrupted"] = clock()  # cancelled again while cleaning up
            raise


@probe
async def fetch(exercise: ModuleType, cases: list[dict[str, Any]], deadline: float) -> dict[str, Any]:
    """``fetch_with_timeout(worker, name, delay, limit)`` for each case, each on a clock of its own
    (a case with ``cancel_at`` is cancelled by the probe then, as its caller may).

    Evidence per case: ``ended`` (``returned``, ``raised``, ``cancelled``: a CancelledError
    came out, ``pending``: not returned by the deadline), ``result`` or ``raised`` (and
    ``same_error``: the very exception the job raised), ``returned_at``, the job's runs as
    they were when it returned (``runs_at_return``) and in the end (``runs``: ``started``,
    ``cancelled``, ``ended``, ``how``), ``never_awaited``. Also ``catches``: the function's
    lines that catch or discard exceptions.
    """
    function = exercise.fetch_with_timeout
    quiet_cancellations()
    found = []
    for case in cases:
        reads: list[dict[str, Any]] = []
        with reading_wall_clocks(reads):
            found.append({**await fetch_case(function, deadline=deadline, **case), "wall_clocks": reads})
    return {"cases": found, "catches": catch_sites(function)}


@contextlib.contextmanager
def reading_wall_clocks(reads: list[dict[str, Any]]) -> Iterator[None]:
    """Note the student's own reads of a wall clock meanwhile (``time.monotonic()`` and the like).

    On the loop's virtual clock they stand still: code that measures a timeout with one sees
    no time pass. Only a call made by the student's file itself counts, not asyncio's.
    """
    real = {name: getattr(time, name) for name in WALL_CLOCKS}

    def watched(name: str, clock: Callable[[], float]) -> Callable[[], float]:
        def read() -> float:
            caller = sys._getframe(1 + STAND_IN_FRAMES)
            if source.in_exercise(caller.f_code) and len(reads) < 10:
                reads.append({"clock": f"time.{name}()", "source": source.source_ref(caller.f_lineno)})
            return clock()

        return handed(read)  # the student's code gets no way back to the reads

    for name, clock in real.items():
        setattr(time, name, watched(name, clock))
    try:
        yield
    finally:
        for name, clock in real.items():
            setattr(time, name, clock)


async def fetch_case(
    function: Callable[..., Any],
    name: str,
    delay: float,
    takes: float,
    limit: float,
    value: str,
    error: dict[str, str] | None,
    deadline: float,
    cancel_at: float | None = None,
) -> dict[str, Any]:
    clock = Clock()
    job = Job(clock, takes, value, error)
    at_return: dict[str, Any] = {}

    async def call() -> Any:
        try:
            return await function(job.worker, name, delay, limit)
        finally:
            # Still in the step in which the function returned: nothing else has run since.
            at_return.update(at=clock(), runs=job.snapshot())

    runner = asyncio.create_task(call())
    if cancel_at is not None:  # its caller cancels it (a Ctrl-C, an outer timeout): not the limit passing
        await asyncio.sleep(cancel_at)
        runner.cancel()
    evidence = await outcome(runner, max(deadline - clock(), 0.001), "fetch_with_timeout()", job.error)
    evidence["returned_at"] = at_return.get("at")
    evidence["runs_at_return"] = at_return.get("runs", job.snapshot())
    await let_finish(job.tasks, deadline - clock())
    evidence["runs"] = job.snapshot()
    evidence["calls"] = job.calls()
    evidence["never_awaited"] = job.never_awaited()
    evidence["clock_went_backwards"] = clock.went_backwards
    await cancel_leftovers([runner, *job.tasks])
    return evidence


@probe
async def guarded(exercise: ModuleType, cases: list[dict[str, Any]], deadline: float) -> dict[str, Any]:
    """``run_with_cleanup(worker, name, delay, release)`` as a task, for each case; cancelled at ``cancel_at``.

    Evidence per case: ``ended`` and ``result``/``raised``/``same_error`` as for fetch,
    ``ended_at`` (when the task finished), ``releases`` (each call of ``release()``: when,
    from which line, and the job's runs by then), ``runs``, ``never_awaited``; for a
    cancelled case, ``cancelled_at``, whether the task was still running then
    (``running_when_cancelled``) and the line it was waiting at. Also ``catches``.
    """
    function = exercise.run_with_cleanup
    quiet_cancellations()
    found = [await guarded_case(function, deadline=deadline, **case) for case in cases]
    return {"cases": found, "catches": catch_sites(function)}


async def guarded_case(
    function: Callable[..., Any],
    name: str,
    delay: float,
    takes: float,
    value: str,
    error: dict[str, str] | None,
    cancel_at: float | None,
    deadline: float,
) -> dict[str, Any]:
    clock = Clock()
    job = Job(clock, takes, value, error)
    releases: list[dict[str, Any]] = []
    ended: list[float] = []

    @handed
    def release() -> None:
        releases.append({"at": clock(), "source": source.caller_in_exercise(), "runs": job.snapshot()})

    task = asyncio.create_task(function(job.worker, name, delay, release))
    task.add_done_callback(handed(lambda _: ended.append(clock())))
    evidence: dict[str, Any] = {}
    if cancel_at is not None:
        await asyncio.sleep(cancel_at)
        evidence["cancelled_at"] = clock()
        evidence["running_when_cancelled"] = not task.done()
        evidence["waiting_at"] = source.suspended_at(task) if not task.done() else None
        task.cancel()
    evidence.update(await outcome(task, max(deadline - clock(), 0.001), "run_with_cleanup()", job.error))
    evidence["ended_at"] = ended[0] if ended else None
    await let_finish(job.tasks, deadline - clock())
    evidence["releases"] = list(releases)
    evidence["runs"] = job.snapshot()
    evidence["calls"] = job.calls()
    evidence["never_awaited"] = job.never_awaited()
    evidence["clock_went_backwards"] = clock.went_backwards
    await cancel_leftovers([task, *job.tasks])
    return evidence


@probe
async def stop(exercise: ModuleType, seconds: float, cleanup: float, deadline: float) -> dict[str, Any]:
    """``stop_after(task, seconds)`` with the judge's background task, which takes ``cleanup`` s to end once cancelled.

    Evidence: ``ended`` and ``result``/``raised`` as for fetch, ``returned_at``, the
    task's state (``pending``, ``cancelled``, ``finished``) and ``record`` when it returned
    (``task_at_return``, ``record_at_return``) and in the end (``record``: ``started``,
    ``cancelled``, ``cleanup_started``, ``cleanup_done``, ``cleanup_interrupted``), and
    ``cancel_calls`` (``at``, ``source``, ``done``: whether the task had ended already).
    """
    quiet_cancellations()
    clock = Clock()
    record: dict[str, Any] = {}
    cancel_calls: list[dict[str, Any]] = []
    task = watched_task(background(clock, record, cleanup), cancel_calls)
    at_return: dict[str, Any] = {}

    async def call() -> Any:
        try:
            return await exercise.stop_after(task, seconds)
        finally:
            at_return.update(at=clock(), task=task_state(task), record=dict(record))

    runner = asyncio.create_task(call())
    evidence = await outcome(runner, deadline, "stop_after()", None)
    evidence["returned_at"] = at_return.get("at")
    evidence["task_at_return"] = at_return.get("task", task_state(task))
    evidence["record_at_return"] = at_return.get("record", dict(record))
    if "cancelled" in record:
        await let_finish([task], deadline - clock())
    evidence["record"] = dict(record)
    evidence["task"] = task_state(task)
    evidence["cancel_calls"] = [{**call, "at": clock.since(call["at"])} for call in cancel_calls]
    evidence["clock_went_backwards"] = clock.went_backwards
    evidence["catches"] = catch_sites(exercise.stop_after)
    await cancel_leftovers([runner, task])
    return evidence


async def outcome(task: asyncio.Task[Any], seconds: float, what: str, error: BaseException | None) -> dict[str, Any]:
    """How the student's call in ``task`` ended: returned, raised, let a CancelledError out, or not by the deadline."""
    try:
        # shield: at the deadline the student's task stays where it hangs, to say where.
        result = await within(asyncio.shield(task), seconds, what, lambda: {"waiting_at": source.suspended_at(task)})
    except Deadline as late:
        return {"ended": "pending", "waiting_at": late.detail.get("waiting_at"), "deadline": late.seconds}
    except asyncio.CancelledError as exc:
        running = asyncio.current_task()
        if running is not None and running.cancelling():
            raise  # the probe itself is being cancelled: not the student's doing
        return {"ended": "cancelled", "raised": describe_raised(cancelled_error(task) or exc)}
    except Exception as exc:  # noqa: BLE001 - the student's exception (or the job's, let through) is evidence
        return {"ended": "raised", "raised": describe_raised(exc), "same_error": error is not None and exc is error}
    return {"ended": "returned", "result": plain(result)}


def cancelled_error(task: asyncio.Task[Any]) -> BaseException | None:
    """The CancelledError a cancelled task ended with, traceback and all: it names the student's line it came out of."""
    if not task.cancelled():
        return None
    try:
        task.result()
    except asyncio.CancelledError as exc:
        return exc
    return None


def task_state(task: asyncio.Task[Any]) -> str:
    if not task.done():
        return "pending"
    return "cancelled" if task.cancelled() else "finished"


async def let_finish(tasks: list[asyncio.Task[Any]], seconds: float) -> None:
    """Give the tasks the student's code left running until the deadline to end by themselves."""
    pending = [task for task in tasks if not task.done()]
    if pending and seconds > 0:
        await asyncio.wait(pending, timeout=seconds)


async def cancel_leftovers(tasks: list[asyncio.Task[Any]]) -> None:
    """Stop whatever is still running, so the next case starts clean; retrieve the errors tasks died of."""
    pending = [task for task in tasks if not task.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=LEFTOVER_SECONDS)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: asyncio logs nothing later about it


def quiet_cancellations() -> None:
    """Drop "exception was never retrieved" for a CancelledError: the probe's own cleanup caused it."""

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if not isinstance(context.get("exception"), asyncio.CancelledError):
            loop.default_exception_handler(context)

    asyncio.get_running_loop().set_exception_handler(handed(handler))


def catch_sites(function: Any) -> list[dict[str, Any]]:
    """The lines of ``function`` that catch what a cancellation or a timeout raises, or discard it.

    Each: ``kind`` (``except``, ``suppress``, ``return in finally``), ``catches`` (the
    exception names, ``everything`` for a bare ``except:`` or a finally's return),
    ``reraises`` (the handler has a bare ``raise`` or re-raises what it caught), ``source``.
    """
    try:
        lines, first = inspect.getsourcelines(function)
        tree = ast.parse(textwrap.dedent("".join(lines)))
    except (OSError, TypeError, SyntaxError, ValueError):
        return []
    sites: list[dict[str, Any]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler):
            caught = exception_names(node.type) if node.type is not None else ["everything"]
            sites.append({"kind": "except", "catches": caught, "reraises": reraises(node), "line": node.lineno})
        elif isinstance(node, (ast.Try, ast.TryStar)) and node.finalbody:
            for exit_ in finally_returns(node.finalbody):
                sites.append({"kind": "return in finally", "catches": ["everything"], "reraises": False, "line": exit_.lineno})
        elif isinstance(node, ast.withitem) and isinstance(node.context_expr, ast.Call):
            call = node.context_expr
            if (call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")) == "suppress":
                caught = [name for arg in call.args for name in exception_names(arg)]
                sites.append({"kind": "suppress", "catches": caught, "reraises": False, "line": call.lineno})
    sites.sort(key=lambda site: site["line"])
    return [
        {**{key: value for key, value in site.items() if key != "line"}, "source": source.source_ref(first + site["line"] - 1)}
        for site in sites
    ]


def exception_names(node: ast.AST | None) -> list[str]:
    """``CancelledError`` for ``asyncio.CancelledError``; every name of a tuple."""
    if isinstance(node, ast.Tuple):
        return [name for element in node.elts for name in exception_names(element)]
    if isinstance(node, ast.Attribute):
        return [node.attr]
    if isinstance(node, ast.Name):
        return [node.id]
    return []


def reraises(handler: ast.ExceptHandler) -> bool:
    """Whether the handler's own body (not a function defined in it) raises again what it caught."""
    for node in walk_body(handler.body):
        if isinstance(node, ast.Raise) and (
            node.exc is None or (handler.name is not None and isinstance(node.exc, ast.Name) and node.exc.id == handler.name)
        ):
            return True
    return False


def finally_returns(body: list[ast.stmt]) -> list[ast.Return]:
    """The ``return`` statements of a finally block that leave the function (not those of a function defined in it)."""
    return [node for node in walk_body(body) if isinstance(node, ast.Return)]


def walk_body(body: list[ast.stmt]) -> list[ast.AST]:
    found: list[ast.AST] = []
    todo: list[ast.AST] = list(body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        found.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return found
