"""Hidden checks for 05_queues: an injected handle records which task handled each item, and when.

``process_all`` runs in a task of its own while a task factory records every task it
starts. That lets the checks say what a deadlock is waiting on (consumers parked in
``queue.get()``, a ``queue.join()`` nobody will release) and which tasks were still
pending at the very moment ``process_all`` returned.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import math
from collections.abc import Iterator
from types import CodeType, ModuleType
from typing import Any

from grader.checking import Failure, Mismatch, Timeline, check, expect, require, within

ITEMS = ["a", "b", "c", "d", "e", "f", "g"]
EVEN = {item: 1.0 for item in ITEMS}  # 7 items of 1 s: 3 consumers need ceil(7/3) = 3 s
# Uneven delays: the items finish in another order than they were given (b first, a in the middle).
UNEVEN = {"a": 3.0, "b": 1.0, "c": 2.0, "d": 1.0, "e": 2.0, "f": 1.0, "g": 1.0}
CONSUMERS = 3
DEADLINE = 30.0  # virtual seconds: far beyond even one consumer doing everything

QUEUE_GET: CodeType = asyncio.Queue.get.__code__
QUEUE_PUT: CodeType = asyncio.Queue.put.__code__
QUEUE_JOIN: CodeType = asyncio.Queue.join.__code__

NEVER_CALLED_HELP = (
    "Call the `handle` you are given once for every item (through the queue and the consumers); "
    "don't build the results yourself."
)
EACH_ONCE_HELP = (
    "Put every item on the queue exactly once, and have each consumer call handle() once for each item it takes."
)
SINGLE_CONSUMER_HELP = (
    "Start `consumers` consumer tasks (asyncio.create_task(consumer(...)) in a loop over range(consumers)), "
    "all reading the same queue, so that many items are handled at once."
)
CONSUMER_COUNT_HELP = (
    "Create exactly `consumers` consumer tasks: use the parameter, don't hard-code the number "
    "or start one task per item."
)
TIMING_HELP = (
    "A consumer should take its next item as soon as it has handled one: don't sleep, "
    "and don't wait for the other consumers between items."
)
PARKED_HELP = (
    "A consumer that takes no sentinel waits in queue.get() forever after the last item, and so does whatever "
    "awaits it (gather). Have the producer put one STOP per consumer (not just one) and return from the consumer "
    "when it takes one, or await queue.join() and then cancel the consumer tasks."
)
TASK_DONE_HELP = (
    "queue.join() returns only once queue.task_done() has been called for every item put on the queue: "
    "call it once after each get() in the consumer (sentinels included; a try/finally makes it hard to forget)."
)
FULL_QUEUE_HELP = (
    "put() waits while a bounded queue (maxsize) is full and nothing takes items off it: start the consumer "
    "tasks before you await the producer, or use an unbounded asyncio.Queue()."
)
HANG_HELP = "Something is waiting forever: look for an await that nothing will ever wake up."
RETURNED_EARLY_HELP = (
    "Wait for the work before returning: await the consumer tasks once the producer has put the sentinels "
    "(or await queue.join()), then return the results handle() gave."
)
RESULT_ORDER_HELP = (
    "The items finish in another order than they were given: store each result at its item's index "
    "(results[index] = await handle(item)) instead of appending it when it is done."
)
RESULTS_HELP = "Return the values handle(item) returned, one per item, in the order of `items`."
STILL_PARKED_HELP = (
    "`await queue.join()` only waits for the items: the consumers are still parked in queue.get(). "
    "Cancel each consumer task, then `await asyncio.gather(*tasks, return_exceptions=True)` before returning "
    "(or stop them with sentinels and gather them)."
)
CANCEL_NOT_AWAITED_HELP = (
    "task.cancel() only asks a task to stop: it is still pending when cancel() returns. Await the cancelled "
    "tasks (`await asyncio.gather(*tasks, return_exceptions=True)`) before returning."
)
STILL_RUNNING_HELP = (
    "Await every task you create (e.g. gather the consumer tasks) before returning, so none outlives process_all()."
)


@dataclasses.dataclass(frozen=True)
class LeftTask:
    """A task that was still pending when process_all returned, and what it was doing."""

    name: str
    state: str  # "cancelling", "get" (parked in queue.get()) or "running"


@dataclasses.dataclass
class Outcome:
    """What one call of process_all did."""

    items: list[str]
    returned: bool = False
    result: Any = None
    returned_at: float = 0.0
    left_running: list[LeftTask] = dataclasses.field(default_factory=list)
    hang: Failure | None = None


def awaiting(task: asyncio.Task[Any]) -> list[CodeType]:
    """The chain of coroutines a suspended task is inside, outermost first."""
    codes = []
    awaited: Any = task.get_coro()
    while awaited is not None and hasattr(awaited, "cr_code"):
        codes.append(awaited.cr_code)
        awaited = awaited.cr_await
    return codes


def task_name(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    return str(getattr(coro, "__qualname__", None) or task.get_name())


def left_task(task: asyncio.Task[Any]) -> LeftTask:
    if task.cancelling():
        return LeftTask(task_name(task), "cancelling")
    return LeftTask(task_name(task), "get" if QUEUE_GET in awaiting(task) else "running")


@contextlib.contextmanager
def recording_tasks(created: list[asyncio.Task[Any]]) -> Iterator[None]:
    """Remember every task created on the running loop inside the block."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = previous(loop, coro, **kwargs) if previous else asyncio.Task(coro, loop=loop, **kwargs)
        created.append(task)
        return task  # type: ignore[return-value]

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        yield
    finally:
        loop.set_task_factory(previous)


async def run(exercise: ModuleType, timeline: Timeline, consumers: int, delays: dict[str, float]) -> Outcome:
    """Call process_all(items, handle, consumers) and record what happened, deadlock included."""
    outcome = Outcome(list(delays))
    created: list[asyncio.Task[Any]] = []

    async def handle(item: str) -> str:
        return await timeline.worker(item, delays[item])

    async def call() -> Any:
        result = await exercise.process_all(list(delays), handle, consumers)
        # Still in the step in which process_all returned: no other task has run since.
        outcome.returned_at = timeline.clock()
        outcome.left_running = [left_task(t) for t in created if not t.done()]
        return result

    timeline.begin()
    task = asyncio.create_task(call())  # created before recording starts: only the student's tasks are recorded
    with recording_tasks(created):
        try:
            # shield: on a deadlock, keep the student's tasks where they hang, to say where.
            outcome.result = await within(asyncio.shield(task), DEADLINE, "process_all()")
            outcome.returned = True
        except Failure as timeout:
            outcome.hang = hang_failure(timeout, task, created, timeline, len(outcome.items))
        finally:
            await cancel_leftovers([task, *created])
            crashes = crashed(created)
    if crashes:
        # A task of the student's that died of an exception is the real story (a hang is its symptom).
        raise crashes[0]
    return outcome


def crashed(tasks: list[asyncio.Task[Any]]) -> list[BaseException]:
    """The exceptions the tasks died of. Retrieving them also keeps asyncio from logging
    "Task exception was never retrieved" later, from a garbage collection at a random moment."""
    return [e for t in tasks if t.done() and not t.cancelled() and (e := t.exception()) is not None]


def hang_failure(
    timeout: Failure, task: asyncio.Task[Any], created: list[asyncio.Task[Any]], timeline: Timeline, n: int
) -> Failure:
    """Why process_all never returned: what it, and the tasks it started, are waiting on."""
    handled = len(timeline.finished)
    if handled == n:
        progress = f"all {n} items were handled by t={timeline.end():g} s"
    else:
        progress = f"{handled} of {n} items were handled"
    where, help = where_stuck(task, created)
    rationale = f"{timeout.rationale}: {progress}" + (f", but {where}" if where else "")
    return Failure(rationale, help, timeline=timeline.spans())


def where_stuck(task: asyncio.Task[Any], created: list[asyncio.Task[Any]]) -> tuple[str, str]:
    """The await a deadlocked process_all hangs on, in words, and the help for it."""
    pending = [t for t in [task, *created] if not t.done()]
    if any(QUEUE_JOIN in awaiting(t) for t in pending):
        return "it is still waiting in queue.join()", TASK_DONE_HELP
    if any(QUEUE_PUT in awaiting(t) for t in pending):
        return "the producer is still waiting in queue.put() on a full queue", FULL_QUEUE_HELP
    parked = [t for t in created if not t.done() and QUEUE_GET in awaiting(t)]
    if parked:
        k = len(parked)
        tasks = f"{k} tasks it started still wait" if k > 1 else "1 task it started still waits"
        return f"{tasks} in queue.get() for items that will never come", PARKED_HELP
    return "", HANG_HELP


async def cancel_leftovers(tasks: list[asyncio.Task[Any]]) -> None:
    """Stop whatever the student's code left running, so the next run starts clean."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1.0)


def expect_returned(outcome: Outcome) -> None:
    if outcome.hang is not None:
        raise outcome.hang


def expect_each_once(timeline: Timeline, items: list[str], outcome: Outcome) -> None:
    if not timeline.calls and outcome.hang is not None:
        raise outcome.hang  # it hung before the first item: say where, not just that nothing ran
    expect(bool(timeline.calls), "handle() was never called: no item was handled", NEVER_CALLED_HELP)
    counts = collections.Counter(timeline.calls)
    missing = [item for item in items if counts[item] == 0]
    twice = [item for item in items if counts[item] > 1]
    expect(not missing, f"items {missing} were never handled; expected each of {items} exactly once", EACH_ONCE_HELP)
    expect(
        not twice, f"items {twice} were handled more than once; expected each of {items} exactly once", EACH_ONCE_HELP
    )


@check("loads")
def check_loads(exercise: ModuleType) -> None:
    require(exercise, "producer", "coroutine function")
    require(exercise, "consumer", "coroutine function")
    require(exercise, "process_all", "coroutine function")


@check("each_once")
async def check_each_once(exercise: ModuleType, timeline: Timeline) -> None:
    outcome = await run(exercise, timeline, CONSUMERS, EVEN)
    expect_each_once(timeline, ITEMS, outcome)


@check("concurrent")
async def check_concurrent(exercise: ModuleType) -> None:
    for consumers in (CONSUMERS, 5):
        timeline = Timeline()
        outcome = await run(exercise, timeline, consumers, EVEN)
        expect_each_once(timeline, ITEMS, outcome)
        expect_shared_by(timeline, consumers)


def expect_shared_by(timeline: Timeline, consumers: int) -> None:
    """`consumers` tasks took the items, and nobody waited: ceil(items / consumers) rounds of 1 s."""
    n, spans = len(ITEMS), timeline.spans()
    expected_end = math.ceil(n / consumers) * EVEN[ITEMS[0]]
    workers = set(timeline.tasks.values())
    if len(workers) == 1:
        raise Failure(
            f"with consumers={consumers}, one task handled all {n} items, one after another, ending at "
            f"t={timeline.end():g} s; {consumers} consumers sharing the queue would end at t={expected_end:g} s",
            SINGLE_CONSUMER_HELP,
            timeline=spans,
        )
    expect(
        len(workers) == consumers,
        f"with consumers={consumers}, the items were handled by {len(workers)} different tasks; "
        f"expected {consumers} consumer tasks",
        CONSUMER_COUNT_HELP,
        timeline=spans,
    )
    expect(
        timeline.end() == expected_end,
        f"with consumers={consumers}, the items were handled {timeline.describe()}; {consumers} consumers "
        f"taking the next item as soon as they are free would end at t={expected_end:g} s",
        TIMING_HELP,
        timeline=spans,
    )


@check("finishes")
async def check_finishes(exercise: ModuleType, timeline: Timeline) -> None:
    outcome = await run(exercise, timeline, CONSUMERS, EVEN)
    expect_returned(outcome)
    when = f"process_all() returned at t={outcome.returned_at:g} s"
    expect(bool(timeline.calls), f"{when} without ever calling handle()", NEVER_CALLED_HELP)
    unfinished = [item for item in ITEMS if timeline.finished.get(item, math.inf) > outcome.returned_at]
    expect(
        not unfinished,
        f"{when}, before handle() had finished for items {unfinished}",
        RETURNED_EARLY_HELP,
        timeline=timeline.spans(),
    )


@check("results")
async def check_results(exercise: ModuleType, timeline: Timeline) -> None:
    outcome = await run(exercise, timeline, CONSUMERS, UNEVEN)
    expect_returned(outcome)
    expected = [f"{item} done" for item in UNEVEN]
    result = list(outcome.result) if isinstance(outcome.result, (list, tuple)) else outcome.result
    if result != expected:
        same_values = isinstance(result, list) and sorted(map(str, result)) == sorted(expected)
        help = RESULT_ORDER_HELP if same_values else RESULTS_HELP
        raise Mismatch(expected, result, help, what="results in item order", timeline=timeline.spans())


@check("clean_exit")
async def check_clean_exit(exercise: ModuleType, timeline: Timeline) -> None:
    outcome = await run(exercise, timeline, CONSUMERS, EVEN)
    expect_returned(outcome)
    left = outcome.left_running
    if not left:
        return
    states = collections.Counter(left)
    doing = {"cancelling": "cancelled but not finished", "get": "waiting in queue.get()", "running": "still running"}
    what = ", ".join(f"{count} × {task.name} ({doing[task.state]})" for task, count in states.items())
    if any(task.state == "cancelling" for task in left):
        help = CANCEL_NOT_AWAITED_HELP
    elif any(task.state == "get" for task in left):
        help = STILL_PARKED_HELP
    else:
        help = STILL_RUNNING_HELP
    raise Failure(
        f"when process_all() returned (t={outcome.returned_at:g} s), {len(left)} task{'s' if len(left) > 1 else ''} "
        f"it had started {'were' if len(left) > 1 else 'was'} still pending: {what}",
        help,
    )
