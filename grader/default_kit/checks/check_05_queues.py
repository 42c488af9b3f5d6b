"""Hidden checks for 05_queues: an injected handle records which task handled each item, and when.

The probe runs ``process_all`` in a task of its own, records every task it starts and
watches every queue it uses, so the evidence can say which item never reached the queue
or was handled twice, what a deadlock is waiting on (consumers parked in
``queue.get()``, a ``queue.join()`` nobody will release), which tasks were still pending
when ``process_all`` returned, and how many get()s went without a task_done(). A mistake
fails the checks it breaks, each naming that mistake; the words, and the verdict, are here.

The items are given in an order that is neither sorted nor the order they finish in, and
``handle`` returns values their names cannot predict.
"""

from __future__ import annotations

import collections
import math
import secrets
from typing import Any, NoReturn

import pytest

from grader.checking import (
    Failure,
    Mismatch,
    Subject,
    Timeline,
    check,
    expect,
    expect_no_blocking,
    require,
    require_all,
    student_failure,
)
from grader.model import SourceRef, Span

ITEMS = ["pear", "fig", "apple", "kiwi", "plum", "date", "lime"]
EVEN = dict.fromkeys(ITEMS, 1.0)  # 7 items of 1 s: 3 consumers need ceil(7/3) = 3 s
# With 3 consumers these finish fig, kiwi, plum, pear, date, apple, lime (neither the item order nor
# sorted), the last at t=3.5 s: a sleep tuned on the demo's 3 s returns too early, a longer one too late.
UNEVEN = {"pear": 2.0, "fig": 0.5, "apple": 3.0, "kiwi": 0.5, "plum": 0.5, "date": 1.0, "lime": 1.5}
CONSUMERS = 3
FEW = {"pear": 1.0, "fig": 1.0}  # fewer items than FEW_CONSUMERS
FEW_CONSUMERS = 4
DEADLINE = 30.0  # virtual seconds: far beyond even one consumer doing everything

NEVER_CALLED_HELP = (
    "Call the `handle` you are given once for every item (through the queue and the consumers); "
    "don't build the results yourself."
)
HANDLE_NOT_AWAITED_HELP = (
    "handle(item) returns a coroutine, and nothing runs until it is awaited: "
    "write `results[index] = await handle(item)`."
)
QUEUE_NOT_AWAITED_HELP = (
    "queue.{method}() is a coroutine function: calling it only creates a coroutine, and nothing happens "
    "until it is awaited. Write `await queue.{method}({args})`."
)
NOTHING_PUT_HELP = (
    "Nothing reached the queue: process_all must run the producer before it waits for the consumers "
    "(`await producer(queue, items, consumers)`, then gather them; calling producer without await only creates "
    "a coroutine), and the producer must `await queue.put(...)` each item."
)
PRODUCE_EACH_HELP = (
    "The producer must put every item of `items` on the queue exactly once, with its index: "
    "`for index, item in enumerate(items): await queue.put((index, item))`."
)
HANDLE_EACH_HELP = "Call `await handle(item)` exactly once for each pair a consumer takes off the queue."
EACH_ONCE_HELP = (
    "Put every item on the queue exactly once, and have each consumer call handle() once for each item it takes."
)
CANCELLED_EARLY_HELP = (
    "Cancel the consumers only once the work is done: `await queue.join()` first (it returns once task_done() "
    "was called for every item), then cancel them and gather them."
)
STOPPED_EARLY_HELP = (
    "The consumers stopped while items were still on the queue: put the STOPs after all the items "
    "(a queue hands values out in the order they were put), and return from a consumer only when it takes STOP."
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
GATHER_CANCELLED_HELP = (
    "After cancelling the consumers, wait for them with `await asyncio.gather(*tasks, return_exceptions=True)`: "
    "without return_exceptions, gather raises the first CancelledError instead of waiting for them all."
)
FEW_ITEMS_HELP = (
    "Put one STOP per consumer, not one per item (`for _ in range(consumers): await queue.put(STOP)`): with fewer "
    "items than consumers, a consumer that gets no STOP waits in get() for ever."
)
HANG_HELP = "Something is waiting forever: look for an await that nothing will ever wake up."
RETURNED_EARLY_HELP = (
    "Wait for the work before returning: await the consumer tasks once the producer has put the sentinels "
    "(or await queue.join()), then return the results handle() gave."
)
RETURNED_LATE_HELP = (
    "Return as soon as the work is done: await the consumer tasks, stopped by sentinels (or queue.join() and "
    "cancel), never after a fixed sleep or an idle timeout; how long handle() takes is not yours to guess."
)
RESULT_ORDER_HELP = (
    "The items finish in another order than they were given: store each result at its item's index "
    "(results[index] = await handle(item)) instead of appending it when it is done."
)
SORTED_HELP = "Return the results in the order of `items`, as handle() returned them: don't sort them."
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
TASK_DONE_MISSING_HELP = (
    "Call queue.task_done() once after each get() in the consumer (after taking STOP too, if you use sentinels), "
    "so that queue.join() works (a try/finally around the body of the loop makes it hard to forget)."
)
TASK_DONE_STOP_HELP = (
    "Call queue.task_done() after taking STOP too: once per get(), sentinel included, or a queue.join() "
    "would wait for the sentinels forever (a try/finally around the body of the loop makes it hard to forget)."
)
TASK_DONE_EXTRA_HELP = (
    "Call queue.task_done() exactly once for each value a get() returned: never twice for one value, and not "
    "for a get() that was cancelled before it took anything (begin the try/finally after `await queue.get()`)."
)

DOING = {"cancelling": "cancelled but not finished", "get": "waiting in queue.get()", "running": "still running"}


class QueueUse:
    """What the work queue carried during one call: the first queue an item was put on (else every queue used).

    A second queue that carries items later (results on their way back) is the student's own business.
    """

    def __init__(self, queues: list[dict[str, Any]], never_awaited: list[dict[str, Any]]) -> None:
        work = [queue for queue in queues if queue["puts"]][:1] or queues
        self.puts: collections.Counter[str] = collections.Counter()
        self.taken: collections.Counter[str] = collections.Counter()
        for queue in work:
            self.puts.update(queue["puts"])
            self.taken.update(queue["taken"])
        self.other_puts = sum(int(queue["other_puts"]) for queue in work)
        self.other_taken = sum(int(queue["other_taken"]) for queue in work)
        self.task_dones = sum(int(queue["task_dones"]) for queue in work)
        self.extra_task_dones = sum(int(queue["extra_task_dones"]) for queue in work)
        self.extra_site = first_site(queue["extra_site"] for queue in work)
        self.put_site = first_site(queue["put_site"] for queue in work)
        self.get_site = first_site(queue["get_site"] for queue in work)
        self.never_awaited = never_awaited

    def gets(self) -> int:
        return sum(self.taken.values()) + self.other_taken

    def still_queued(self, items: list[str]) -> list[str]:
        """Items put on the queue and never taken off it."""
        return [item for item in items if self.puts[item] > self.taken[item]]


def first_site(sites: Any) -> SourceRef | None:
    found = [site for site in sites if site]
    return SourceRef.from_json(found[0]) if found else None


class Outcome:
    """What one call of process_all did, as the probe saw it in the subject."""

    def __init__(self, exercise: Subject, consumers: int, delays: dict[str, float]) -> None:
        require(exercise, "process_all", "coroutine function")  # the one function the checks call
        self.items = list(delays)
        # Values handle() returns that the student cannot guess: a made-up result does not match.
        self.values = {item: f"{item}-{secrets.token_hex(3)}" for item in self.items}
        self.expected = [self.values[item] for item in self.items]
        evidence = exercise.call(
            "process_all", consumers=consumers, delays=delays, values=self.values, deadline=DEADLINE
        )
        self.blocking = exercise.blocking
        self.queue = QueueUse(evidence.get("queues", []), evidence["never_awaited"])
        if "raised" in evidence:
            raise queue_not_awaited(self.queue) or student_failure(evidence["raised"], exercise.file_name)
        self.result: Any = evidence["result"]
        self.returned_at = float(evidence["returned_at"])
        self.left_running: list[tuple[str, str]] = [(t["name"], t["state"]) for t in evidence["left_running"]]
        self.started = int(evidence.get("started", 0))
        self.cancelled = int(evidence.get("cancelled", 0))
        self.handler_tasks = int(evidence["handler_tasks"])
        self.timeline = Timeline(evidence["timeline"])
        hang = evidence["hang"]
        self.stuck_in = hang["waiting_in"] if hang else None
        self.busy_at_hang = bool(hang) and any(t["state"] != "get" for t in hang["pending"])
        self.hang = None
        if hang:
            self.hang = never_awaited(self) or hang_failure(hang, self.timeline, self.queue, len(self.items))
        # process_all ended with a CancelledError nothing sent it: what its tasks did still counts.
        cancelled = evidence.get("cancelled_itself")
        self.cancelled_itself = cancelled is not None
        self.cancelled_line = SourceRef.from_json(cancelled["source"]) if cancelled and cancelled["source"] else None

    def waiting_in_get(self) -> int:
        """How many tasks it started were parked in queue.get() when it returned."""
        return sum(1 for _, state in self.left_running if state == "get")

    def spans(self) -> list[Span]:
        return self.timeline.spans()


def named(items: list[str]) -> str:
    """``item 'lime' was`` or ``items 'kiwi' and 'lime' were``: a list of items as the subject of a sentence."""
    if len(items) == 1:
        return f"item {items[0]!r} was"
    return f"items {', '.join(map(repr, items[:-1]))} and {items[-1]!r} were"


def not_awaited(method: str, call: dict[str, Any], help: str) -> Failure:
    where = SourceRef.from_json(call["source"]) if call.get("source") else None
    at = f"line {where.line} calls" if where else "your code calls"
    return Failure(f"{at} {method} but never awaits the coroutine it returns", help, source=where)


def queue_not_awaited(queue: QueueUse) -> Failure | None:
    """A queue.put(), get() or join() whose coroutine never ran: nothing was put, taken or waited for."""
    if not queue.never_awaited:
        return None
    call = queue.never_awaited[0]
    method = str(call["method"])
    help = QUEUE_NOT_AWAITED_HELP.format(method=method, args="..." if method == "put" else "")
    return not_awaited(f"queue.{method}()", call, help)


def never_awaited(outcome: Outcome) -> Failure | None:
    """A coroutine created and never awaited, handle()'s or a queue's: the root of what followed."""
    if outcome.timeline.never_awaited:
        return not_awaited("handle()", outcome.timeline.never_awaited[0], HANDLE_NOT_AWAITED_HELP)
    return queue_not_awaited(outcome.queue)


def hang_failure(hang: dict[str, Any], timeline: Timeline, queue: QueueUse, n: int) -> Failure:
    """Why process_all never returned: what it, and the tasks it started, are waiting on."""
    handled = len(timeline.finished)
    if handled == n:
        progress = f"all {n} items were handled by t={timeline.end():g} s"
    else:
        progress = f"{handled} of {n} items were handled"
    parked = int(hang["parked"])
    if parked and not queue.puts and not queue.other_puts:
        where, help = f"nothing was ever put on the queue, and {waiters(parked)} in queue.get()", NOTHING_PUT_HELP
    else:
        where, help = where_stuck(hang["waiting_in"], parked)
    rationale = f"{hang['what']} had not finished after {hang['seconds']:g} s of event-loop time: {progress}"
    return Failure(rationale + (f", but {where}" if where else ""), help, timeline=timeline.spans())


def waiters(parked: int) -> str:
    return f"{parked} tasks it started still wait" if parked > 1 else "1 task it started still waits"


def where_stuck(waiting_in: str | None, parked: int) -> tuple[str, str]:
    """The await a deadlocked process_all hangs on, in words, and the help for it."""
    if waiting_in == "join":
        return "it is still waiting in queue.join()", TASK_DONE_HELP
    if waiting_in == "put":
        return "the producer is still waiting in queue.put() on a full queue", FULL_QUEUE_HELP
    if waiting_in == "get" and parked:
        return f"{waiters(parked)} in queue.get() for items that will never come", PARKED_HELP
    return "", HANG_HELP


def each_once_failure(outcome: Outcome) -> Failure | None:
    """Why the items were not each handled exactly once, naming the first real mistake; None when they were."""
    items, queue, counts = outcome.items, outcome.queue, collections.Counter(outcome.timeline.calls)
    if all(counts[item] == 1 for item in items):
        return None
    cause = never_awaited(outcome)
    if cause is not None:
        return cause
    if outcome.hang is not None and (not counts or outcome.stuck_in == "put" or queue.still_queued(items)):
        return outcome.hang  # it hung before the items were handled: say where
    if not counts and not queue.puts and not queue.other_puts:
        if outcome.waiting_in_get():
            return Failure(
                f"nothing was ever put on the queue: process_all() returned at t={outcome.returned_at:g} s, "
                f"with {waiters(outcome.waiting_in_get())} in queue.get()",
                NOTHING_PUT_HELP,
            )
        return Failure("handle() was never called: no item was handled", NEVER_CALLED_HELP)
    if queue.puts:
        return followed_through_queue(outcome, counts)
    missing = [item for item in items if counts[item] == 0]
    twice = [item for item in items if counts[item] > 1]
    if missing:
        return Failure(f"items {missing} were never handled; expected each of {items} exactly once", EACH_ONCE_HELP)
    return Failure(f"items {twice} were handled more than once; expected each of {items} exactly once", EACH_ONCE_HELP)


def followed_through_queue(outcome: Outcome, counts: collections.Counter[str]) -> Failure:
    """The first item that went wrong on its way: never put, put twice, left on the queue, or handled wrongly."""
    items, queue, n = outcome.items, outcome.queue, len(outcome.items)
    never_put = [item for item in items if queue.puts[item] == 0]
    if never_put:
        return Failure(
            f"{named(never_put)} never put on the queue: the producer put {n - len(never_put)} of the {n} items",
            PRODUCE_EACH_HELP,
            source=queue.put_site,
        )
    put_twice = [item for item in items if queue.puts[item] > 1]
    if put_twice:
        times = ", ".join(f"{item!r} {queue.puts[item]} times" for item in put_twice)
        return Failure(
            f"the producer put items on the queue more than once: {times}", PRODUCE_EACH_HELP, source=queue.put_site
        )
    still_queued = queue.still_queued(items)
    if still_queued and outcome.cancelled:
        return Failure(
            f"process_all() cancelled the consumers while {named(still_queued)} still on the queue", CANCELLED_EARLY_HELP
        )
    if still_queued:
        return Failure(
            f"{named(still_queued)} left on the queue: the consumers had stopped before taking them",
            STOPPED_EARLY_HELP,
        )
    unhandled = [item for item in items if counts[item] == 0]
    if unhandled:
        return Failure(
            f"{named(unhandled)} taken off the queue but never handled", HANDLE_EACH_HELP, source=queue.get_site
        )
    twice = ", ".join(f"{item!r} {counts[item]} times" for item in items if counts[item] > 1)
    return Failure(f"items put on the queue once were handled more than once: {twice}", HANDLE_EACH_HELP)


def returned_early_failure(outcome: Outcome) -> Failure | None:
    """process_all returned while handle() was still running for some items."""
    timeline = outcome.timeline
    unfinished = [
        item
        for item in outcome.items
        if item in timeline.started and timeline.finished.get(item, math.inf) > outcome.returned_at
    ]
    if not unfinished:
        return None
    return Failure(
        f"process_all() returned at t={outcome.returned_at:g} s, before handle() had finished for items {unfinished}",
        RETURNED_EARLY_HELP,
        timeline=outcome.spans(),
    )


def cannot_judge(reason: str) -> NoReturn:
    """Skip a check whose subject is missing: it scores nothing, and another check names the mistake."""
    pytest.skip(f"skipped: {reason}")


def expect_returned(outcome: Outcome) -> None:
    if outcome.hang is not None:
        cannot_judge("process_all() never returned (the check of when it returns says why)")


def expect_shared_by(outcome: Outcome, consumers: int) -> None:
    """`consumers` tasks took the items, and nobody waited: ceil(handled / consumers) rounds of 1 s."""
    timeline = outcome.timeline
    cause = each_once_failure(outcome)
    if cause is not None and len(timeline.calls) <= consumers:
        raise cause  # too few items were handled to see them shared
    expect_no_blocking(outcome.blocking)
    timeline.expect_clock_kept_forward()
    n, spans = len(timeline.calls), outcome.spans()
    expected_end = math.ceil(n / consumers) * EVEN[ITEMS[0]]
    if outcome.handler_tasks == 1 and timeline.sequential():
        raise Failure(
            f"with consumers={consumers}, one task handled all {n} items, one after another, ending at "
            f"t={timeline.end():g} s; {consumers} consumers sharing the queue would end at t={expected_end:g} s",
            SINGLE_CONSUMER_HELP,
            timeline=spans,
        )
    tasks = f"{outcome.handler_tasks} task{'s' if outcome.handler_tasks != 1 else ''}"
    expect(
        outcome.handler_tasks == consumers,
        f"with consumers={consumers}, the items were handled by {tasks}; expected {consumers} consumer tasks",
        CONSUMER_COUNT_HELP,
        timeline=spans,
    )
    if len(set(timeline.calls)) < n:
        return  # an item handled twice: each_once names it, and the ideal schedule is unknown
    expect(
        timeline.end() == expected_end,
        f"with consumers={consumers}, the items were handled {timeline.describe()}; {consumers} consumers "
        f"taking the next item as soon as they are free would end at t={expected_end:g} s",
        TIMING_HELP,
        timeline=spans,
    )


@check("loads")
def check_loads(exercise: Subject) -> None:
    require_all(exercise, dict.fromkeys(("producer", "consumer", "process_all"), "coroutine function"))


@check("each_once")
def check_each_once(exercise: Subject) -> None:
    cause = each_once_failure(Outcome(exercise, CONSUMERS, EVEN))
    if cause is not None:
        raise cause


@check("concurrent")
def check_concurrent(exercise: Subject) -> None:
    for consumers in (CONSUMERS, 5):
        expect_shared_by(Outcome(exercise, consumers, EVEN), consumers)


@check("finishes")
def check_finishes(exercise: Subject) -> None:
    outcome = Outcome(exercise, CONSUMERS, UNEVEN)
    timeline = outcome.timeline
    handled_none = each_once_failure(outcome) if not timeline.calls else None
    for cause in (outcome.hang, never_awaited(outcome), handled_none, returned_early_failure(outcome)):
        if cause is not None:
            raise cause
    # Fewer items than consumers: one STOP per item (not per consumer) leaves consumers waiting for ever.
    few = Outcome(exercise, FEW_CONSUMERS, FEW)
    if few.hang is not None:
        raise Failure(f"with {len(FEW)} items and consumers={FEW_CONSUMERS}: {few.hang.rationale}", FEW_ITEMS_HELP, source=few.hang.source)
    late = round(outcome.returned_at - timeline.end(), 6)
    expect(
        late <= 0,
        f"process_all() returned at t={outcome.returned_at:g} s, {late:g} s after handle() had finished "
        f"for the last item (t={timeline.end():g} s)",
        RETURNED_LATE_HELP,
        timeline=outcome.spans(),
    )


@check("results")
def check_results(exercise: Subject) -> None:
    outcome = Outcome(exercise, CONSUMERS, UNEVEN)
    expect_returned(outcome)
    if outcome.cancelled_itself:
        line = outcome.cancelled_line
        raise Failure(
            f"process_all raised CancelledError{f' at line {line.line}' if line else ''} instead of returning the "
            "results, though nothing cancelled it: awaiting tasks that were cancelled (gather() of them, say) raises "
            "their CancelledError",
            GATHER_CANCELLED_HELP,
            source=line,
        )
    expected, result = outcome.expected, outcome.result
    if result == expected:
        return
    if isinstance(result, list) and all(isinstance(r, str) for r in result) and sorted(result) == sorted(expected):
        by_value = {value: item for item, value in outcome.values.items()}
        shown = [by_value[value] for value in result]
        help = SORTED_HELP if shown == sorted(outcome.items) else RESULT_ORDER_HELP
        raise Failure(
            f"expected the results of items {outcome.items} in that order, got those of {shown}",
            help,
            timeline=outcome.spans(),
        )
    cause = each_once_failure(outcome) or returned_early_failure(outcome)
    if cause is not None:
        raise Failure(
            f"expected results in item order {expected!r}, got {result!r}; {cause.rationale}",
            cause.help,
            source=cause.source,
        )
    raise Mismatch(expected, result, RESULTS_HELP, what="results in item order", timeline=outcome.spans())


@check("clean_exit")
def check_clean_exit(exercise: Subject) -> None:
    outcome = Outcome(exercise, CONSUMERS, EVEN)
    expect_returned(outcome)
    if not outcome.started:
        cannot_judge("process_all() started no task, so there was none to stop")
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


@check("task_done")
def check_task_done(exercise: Subject) -> None:
    outcome = Outcome(exercise, CONSUMERS, EVEN)
    if outcome.busy_at_hang:
        cannot_judge("process_all() never returned, and a task it started was still busy with an item")
    queue = outcome.queue
    if queue.extra_task_dones:
        raise Failure(
            f"queue.task_done() was called {queue.extra_task_dones} more time{'s' if queue.extra_task_dones != 1 else ''} "
            "than values were put on the queue: Python raised ValueError: task_done() called too many times",
            TASK_DONE_EXTRA_HELP,
            source=queue.extra_site,
        )
    gets = queue.gets()
    if not gets:
        cannot_judge("nothing was taken off an asyncio.Queue, so there is no get() to match with task_done()")
    if queue.task_dones == gets:
        return
    items = sum(queue.taken.values())
    if queue.task_dones > gets:
        help = TASK_DONE_EXTRA_HELP
    elif queue.task_dones == items and queue.other_taken:
        help = TASK_DONE_STOP_HELP
    else:
        help = TASK_DONE_MISSING_HELP
    taken = f"{items} items"
    if queue.other_taken:
        taken += f" and {queue.other_taken} sentinel{'s' if queue.other_taken != 1 else ''}"
    when = "" if outcome.hang is None else f"by the deadline ({DEADLINE:g} s; process_all() never returned), "
    raise Failure(
        f"{when}queue.task_done() was called {queue.task_dones} time{'s' if queue.task_dones != 1 else ''} "
        f"for the {gets} values the consumers took off the queue with get() ({taken})",
        help,
        source=queue.get_site,
    )
