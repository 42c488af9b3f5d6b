"""Probes for 04_monitoring, run in the subject: call the student's functions with the recording worker.

Tasks cannot travel to the judge, so what the checks need to know about them is
established here: whether a job ran inside the caller's own task (the timeline's
``in_caller``), and, for each call of ``on_done``, whether it ran inside a task (a real
done callback runs outside any) and whether it was handed a task instead of a value.

The judge gives each job a real duration that need not be its nominal delay, so that
an order predicted from the delays is not the order the jobs finish in. Every call is
watched turn by turn (:class:`LoopWatch`): where the student's code was waiting each
time the clock moved on, and a loop that keeps turning while the clock stands still.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from types import ModuleType
from typing import Any

from grader.subject import (
    Deadline,
    describe_raised,
    handed,
    plain,
    probe,
    source,
    timeline,
    virtual_time,
    within,
)

# Turns of the event loop at one virtual instant: a right answer takes a handful, a loop
# of `await asyncio.sleep(0)` takes this many in a fraction of a real second.
SPIN_TURNS = 20_000

Probe = Callable[..., Awaitable[dict[str, Any]]]


class LoopWatch:
    """Watches every turn of the running loop while a probe calls the student's code.

    Each time the loop is about to let time pass (nothing is ready to run), it notes
    where the caller's task is waiting in the student's file. When the loop turns
    :data:`SPIN_TURNS` times without its clock moving, it notes where, and cancels the
    caller's task: the code would otherwise run until the real-time limit.
    """

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.caller = asyncio.current_task()
        self.origin = self.last = virtual_time.now()
        self.turns = 0
        self.waits: list[dict[str, Any]] = []
        self.waiting: dict[str, Any] | None = None
        self.spin: dict[str, Any] | None = None
        self.run_once = self.loop._run_once  # type: ignore[attr-defined]  # asyncio's one turn of the loop
        # Each turn of the loop passes through turn(), by a stand-in: ``loop._run_once.__self__`` would lead to the waits.
        self.loop._run_once = handed(self.turn)  # type: ignore[attr-defined]

    def turn(self) -> None:
        now = virtual_time.now()
        if now != self.last:
            self.last, self.turns = now, 0
        self.turns += 1
        if not self.loop._ready:  # type: ignore[attr-defined]  # nothing to run: the clock moves on from here
            self.note_wait(now)
        elif self.turns == SPIN_TURNS and self.spin is None and self.caller is not None:
            self.spin = {"at": self.moment(now), "turns": SPIN_TURNS, "source": source.suspended_at(self.caller)}
            self.caller.cancel()
        self.run_once()

    def note_wait(self, now: float) -> None:
        """Where the caller waits from ``now`` on; noted only when it changed."""
        where = source.suspended_at(self.caller) if self.caller is not None else None
        if not self.waits or where != self.waiting:
            self.waits.append({"at": self.moment(now), "source": where})
        self.waiting = where

    def moment(self, now: float) -> float:
        return round(now - self.origin, 6)

    def stop(self) -> None:
        del self.loop._run_once  # type: ignore[attr-defined]  # back to the class's own


def watched(body: Probe) -> Probe:
    """Run a probe under a :class:`LoopWatch`: its evidence gets ``waits``, or is ``spin`` alone."""

    @functools.wraps(body)
    async def run(exercise: ModuleType, **args: Any) -> dict[str, Any]:
        asyncio.get_running_loop().set_exception_handler(handed(quiet_cancellations))
        watch = LoopWatch()
        try:
            evidence = await body(exercise, **args)
        except asyncio.CancelledError:
            if watch.spin is None:
                raise
            evidence = {"spin": watch.spin}
        finally:
            watch.stop()
        return {**evidence, "waits": watch.waits}

    return run


def quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Report what the loop reports, except a done callback that read the result of a task cancelled at the end.

    The tasks a call leaves running are cancelled once the probe is done; a callback that
    then calls result() raises CancelledError, which is the probe's doing, not the student's.
    """
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


def close_coroutines(answer: Any) -> None:
    """Close the coroutines the student returned instead of awaiting: the judge names them, Python need not warn."""
    for item in [answer, *(answer if isinstance(answer, (list, tuple)) else [])]:
        if inspect.iscoroutine(item):
            item.close()


async def attempt(call: Coroutine[Any, Any, Any], deadline: float, what: str) -> dict[str, Any]:
    """The student's call as evidence: what it returned and when, or what it raised and when.

    The judge tells an InvalidStateError (a result read too early) from any other crash.
    """
    start = virtual_time.now()
    try:
        answer = await within(call, deadline, what)
    except Deadline:
        raise
    except Exception as exc:  # noqa: BLE001 - the student's exception is evidence; the judge decides
        return {"raised": {**describe_raised(exc), "at": round(virtual_time.now() - start, 6)}}
    evidence = {"result": plain(answer), "is_tuple": isinstance(answer, tuple), "returned_at": round(virtual_time.now() - start, 6)}
    close_coroutines(answer)
    return evidence


class TimedWorker:
    """The worker handed to the student: each job takes the judge's duration, not its nominal delay.

    ``jobs`` are ``[name, delay, duration]``: ``worker(name, delay)`` takes ``duration``
    seconds; a call with any other delay takes the delay it was given.
    """

    def __init__(self, jobs: list[list[Any]]) -> None:
        self.durations = {(str(name), float(delay)): float(duration) for name, delay, duration in jobs}
        self.said: dict[str, str] = {}

    def __call__(self, name: str, delay: float) -> Coroutine[Any, Any, Any]:
        duration = self.durations.get((name, delay), delay)
        self.said[f"worker({name!r}, {duration!r})"] = f"worker({name!r}, {delay!r})"
        return timeline.worker(name, duration)

    def evidence(self) -> dict[str, Any]:
        """The timeline, with each worker call written as the student wrote it (the delay they gave)."""
        found = timeline.evidence(asyncio.current_task())
        calls = {id(call): call for call in [*found.get("created", []), *found.get("never_awaited", [])]}
        for call in calls.values():
            call["call"] = self.said.get(call["call"], call["call"])
        return found


@probe
@watched
async def poll(
    exercise: ModuleType, name: str, delay: float, duration: float, interval: float, values: dict[str, str], deadline: float
) -> dict[str, Any]:
    """``poll_task(worker, name, delay, interval)``, its job taking ``duration``: its answer or fault, and the timeline."""
    timeline.begin(values)
    worker = TimedWorker([[name, delay, duration]])
    call = f"poll_task(worker, {name!r}, {delay:g}, {interval:g})"
    outcome = await attempt(exercise.poll_task(handed(worker), name, delay, interval), deadline, call)
    await settle()
    return {**outcome, "timeline": worker.evidence()}


@probe
@watched
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
    worker = TimedWorker(jobs)
    job_list = [(str(name), float(delay)) for name, delay, _ in jobs]
    # Stand-ins: the worker's durations and the calls of on_done are out of the student's reach.
    outcome = await attempt(exercise.run_with_callback(handed(worker), job_list, handed(on_done)), deadline, "run_with_callback()")
    await settle()
    caller = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not caller]
    if pending:
        await within(asyncio.wait(pending), deadline, "the jobs' tasks")
    await settle()
    return {**outcome, "calls": calls, "timeline": worker.evidence()}


def seen(value: Any) -> dict[str, Any]:
    """What ``on_done`` was given: a plain value, or a task (and its result, when it has one)."""
    if not isinstance(value, asyncio.Future):
        return {"value": plain(value), "task": None}
    finished = value.done() and not value.cancelled() and value.exception() is None
    return {"value": None, "task": {"done": value.done(), "has_result": finished, "result": plain(value.result()) if finished else None}}


async def settle() -> None:
    """Let callbacks already scheduled with call_soon run: tasks the student created and left get to start.

    A job whose task started is then seen as started, not as a coroutine nobody awaited.
    """
    for _ in range(3):
        await asyncio.sleep(0)


@probe
@watched
async def in_completion_order(
    exercise: ModuleType, jobs: list[list[Any]], values: dict[str, str], deadline: float
) -> dict[str, Any]:
    """``in_completion_order(worker, jobs)``: what it returned (or raised), when, and what the jobs did."""
    timeline.begin(values)
    worker = TimedWorker(jobs)
    job_list = [(str(name), float(delay)) for name, delay, _ in jobs]
    outcome = await attempt(exercise.in_completion_order(handed(worker), job_list), deadline, "in_completion_order()")
    await settle()
    return {**outcome, "timeline": worker.evidence()}
