"""Hidden checks for 05_queues: an injected handle records which task handled each item, and when.

The probe runs ``process_all`` in a task of its own while a task factory records every
task it starts, so the evidence can say what a deadlock is waiting on (consumers parked
in ``queue.get()``, a ``queue.join()`` nobody will release) and which tasks were still
pending at the very moment ``process_all`` returned. The words, and the verdict, are here.
"""

from __future__ import annotations

import collections
import math
import secrets
from typing import Any

from grader.checking import Failure, Mismatch, Subject, Timeline, check, expect, require

ITEMS = ["a", "b", "c", "d", "e", "f", "g"]
EVEN = {item: 1.0 for item in ITEMS}  # 7 items of 1 s: 3 consumers need ceil(7/3) = 3 s
# Uneven delays: the items finish in another order than they were given (b first, a in the middle).
UNEVEN = {"a": 3.0, "b": 1.0, "c": 2.0, "d": 1.0, "e": 2.0, "f": 1.0, "g": 1.0}
CONSUMERS = 3
DEADLINE = 30.0  # virtual seconds: far beyond even one consumer doing everything

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

DOING = {"cancelling": "cancelled but not finished", "get": "waiting in queue.get()", "running": "still running"}


class Outcome:
    """What one call of process_all did, as the probe saw it in the subject."""

    def __init__(self, exercise: Subject, consumers: int, delays: dict[str, float]) -> None:
        self.items = list(delays)
        # Values handle() returns that the student cannot guess: a made-up result does not match.
        self.values = {item: f"{item}-{secrets.token_hex(3)}" for item in self.items}
        self.expected = [self.values[item] for item in self.items]
        evidence = exercise.call(
            "process_all", consumers=consumers, delays=delays, values=self.values, deadline=DEADLINE
        )
        self.returned = bool(evidence["returned"])
        self.result: Any = evidence["result"]
        self.returned_at = float(evidence["returned_at"])
        self.left_running: list[tuple[str, str]] = [(t["name"], t["state"]) for t in evidence["left_running"]]
        self.handler_tasks = int(evidence["handler_tasks"])
        self.timeline = Timeline(evidence["timeline"])
        self.hang = hang_failure(evidence["hang"], self.timeline, len(self.items)) if evidence["hang"] else None


def hang_failure(hang: dict[str, Any], timeline: Timeline, n: int) -> Failure:
    """Why process_all never returned: what it, and the tasks it started, are waiting on."""
    handled = len(timeline.finished)
    if handled == n:
        progress = f"all {n} items were handled by t={timeline.end():g} s"
    else:
        progress = f"{handled} of {n} items were handled"
    where, help = where_stuck(hang["waiting_in"], int(hang["parked"]))
    rationale = f"{hang['what']} had not finished after {hang['seconds']:g} s of event-loop time: {progress}"
    return Failure(rationale + (f", but {where}" if where else ""), help, timeline=timeline.spans())


def where_stuck(waiting_in: str | None, parked: int) -> tuple[str, str]:
    """The await a deadlocked process_all hangs on, in words, and the help for it."""
    if waiting_in == "join":
        return "it is still waiting in queue.join()", TASK_DONE_HELP
    if waiting_in == "put":
        return "the producer is still waiting in queue.put() on a full queue", FULL_QUEUE_HELP
    if waiting_in == "get" and parked:
        tasks = f"{parked} tasks it started still wait" if parked > 1 else "1 task it started still waits"
        return f"{tasks} in queue.get() for items that will never come", PARKED_HELP
    return "", HANG_HELP


def expect_returned(outcome: Outcome) -> None:
    if outcome.hang is not None:
        raise outcome.hang


def expect_each_once(outcome: Outcome) -> None:
    timeline, items = outcome.timeline, outcome.items
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


def expect_shared_by(outcome: Outcome, consumers: int) -> None:
    """`consumers` tasks took the items, and nobody waited: ceil(items / consumers) rounds of 1 s."""
    timeline = outcome.timeline
    n, spans = len(ITEMS), timeline.spans()
    expected_end = math.ceil(n / consumers) * EVEN[ITEMS[0]]
    if outcome.handler_tasks == 1:
        raise Failure(
            f"with consumers={consumers}, one task handled all {n} items, one after another, ending at "
            f"t={timeline.end():g} s; {consumers} consumers sharing the queue would end at t={expected_end:g} s",
            SINGLE_CONSUMER_HELP,
            timeline=spans,
        )
    expect(
        outcome.handler_tasks == consumers,
        f"with consumers={consumers}, the items were handled by {outcome.handler_tasks} different tasks; "
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


@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "producer", "coroutine function")
    require(exercise, "consumer", "coroutine function")
    require(exercise, "process_all", "coroutine function")


@check("each_once")
def check_each_once(exercise: Subject) -> None:
    expect_each_once(Outcome(exercise, CONSUMERS, EVEN))


@check("concurrent")
def check_concurrent(exercise: Subject) -> None:
    for consumers in (CONSUMERS, 5):
        outcome = Outcome(exercise, consumers, EVEN)
        expect_each_once(outcome)
        expect_shared_by(outcome, consumers)


@check("finishes")
def check_finishes(exercise: Subject) -> None:
    outcome = Outcome(exercise, CONSUMERS, EVEN)
    expect_returned(outcome)
    timeline = outcome.timeline
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
def check_results(exercise: Subject) -> None:
    outcome = Outcome(exercise, CONSUMERS, UNEVEN)
    expect_returned(outcome)
    expected, result = outcome.expected, outcome.result
    if result != expected:
        same_values = isinstance(result, list) and sorted(map(str, result)) == sorted(expected)
        help = RESULT_ORDER_HELP if same_values else RESULTS_HELP
        raise Mismatch(expected, result, help, what="results in item order", timeline=outcome.timeline.spans())


@check("clean_exit")
def check_clean_exit(exercise: Subject) -> None:
    outcome = Outcome(exercise, CONSUMERS, EVEN)
    expect_returned(outcome)
    left = outcome.left_running
    if not left:
        return
    what = ", ".join(f"{count} × {name} ({DOING[state]})" for (name, state), count in collections.Counter(left).items())
    states = {state for _, state in left}
    if "cancelling" in states:
        help = CANCEL_NOT_AWAITED_HELP
    elif "get" in states:
        help = STILL_PARKED_HELP
    else:
        help = STILL_RUNNING_HELP
    raise Failure(
        f"when process_all() returned (t={outcome.returned_at:g} s), {len(left)} task{'s' if len(left) > 1 else ''} "
        f"it had started {'were' if len(left) > 1 else 'was'} still pending: {what}",
        help,
    )
