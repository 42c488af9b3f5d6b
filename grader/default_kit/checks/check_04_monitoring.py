"""Hidden checks for 04_monitoring: injected workers and callbacks record when, and where, they ran.

The probes (in the subject) call the student's functions and report facts: the
timeline of the jobs, whether a job ran inside the caller's own task, and for each call
of ``on_done`` its value (or the task it was handed), when it came and whether it ran
inside a task. This file decides what those facts mean.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

from grader.checking import Failure, Mismatch, Subject, Timeline, check, expect, require, student_failure
from grader.model import SourceRef

JOBS = [("A", 3.0), ("B", 1.0), ("C", 2.0)]
NAMES = [name for name, _ in JOBS]
EXPECTED = [f"{name} done" for name in NAMES]
COMPLETION = [f"{name} done" for name, _ in sorted(JOBS, key=lambda job: job[1])]
SUM, LONGEST = sum(d for _, d in JOBS), max(d for _, d in JOBS)
DEADLINE = SUM * 10
# (name, delay, interval): delays that are not a multiple of the interval, so a look at
# task.done() never lands on the very moment the task finishes.
POLL_CASES = [("A", 2.5, 1.0), ("B", 1.2, 1.0)]

NEVER_CALLED_HELP = "Call the `worker` you are given for every job; don't build the results yourself."
NO_TASK_HELP = "task.done() needs a Task: start the job with `task = asyncio.create_task(worker(name, delay))`."
RESULT_TOO_EARLY_HELP = (
    "task.result() only works on a finished task: loop `while not task.done(): ...` first, "
    "and call task.result() once done() is True."
)
AWAITED_FIRST_HELP = (
    "You waited for the task before looking at it, so done() was never False. Check task.done() "
    "in a loop right after create_task, sleeping `interval` seconds between two checks."
)
POLL_LOOP_HELP = (
    "Count every False from task.done(), starting with the check right after create_task, and "
    "wait with `await asyncio.sleep(interval)` between two checks."
)
POLL_RESULT_HELP = "Return a pair: the number of times done() was False, then task.result()."
NO_CALLBACK_HELP = "Register a function on every task with task.add_done_callback(...); the loop will call it."
PASSED_TASK_HELP = (
    "The loop calls a done callback with the finished task, not its result: register a small "
    "function `def report(task): on_done(task.result())` instead of on_done itself."
)
CALLBACK_VALUES_HELP = "Pass each task's result to on_done: `on_done(task.result())` inside the done callback."
WAIT_HELP = "After registering the callbacks, wait for every task (`await asyncio.gather(*tasks)`) before returning."
CALLED_BY_HAND_HELP = (
    "Don't call on_done yourself after awaiting: register a function with task.add_done_callback(...) "
    "and let the event loop call it when the task finishes."
)
LATE_CALLBACK_HELP = (
    "Register each done callback right after create_task, before waiting for anything: each call "
    "then comes the moment its own task finishes."
)
INPUT_ORDER_HELP = (
    "gather (or awaiting the tasks one by one in list order) gives the results in the order you "
    "started the jobs; `for next_done in asyncio.as_completed(tasks): result = await next_done` "
    "gives each result as soon as its job finishes."
)
ONE_AT_A_TIME_HELP = (
    "Start every job first (create_task for each), then collect them with asyncio.as_completed: "
    "awaiting one job at a time, even sorted by delay, takes the sum of the delays."
)


def values_for(names: list[str]) -> dict[str, str]:
    """What each job's worker returns: ``'<name> done'``, as the exercise's own demo job does."""
    return {name: f"{name} done" for name in names}


class Call(NamedTuple):
    """One call of on_done in the subject: its value (or the task it got), when, and whether inside a task."""

    value: Any
    task: dict[str, Any] | None
    in_task: bool
    at: float


def describe_calls(calls: list[Call]) -> str:
    return ", ".join(f"on_done({c.value!r}) at t={c.at:g} s" for c in calls) or "no call"


def expect_every_job_ran_once(timeline: Timeline, names: list[str] = NAMES) -> None:
    timeline.expect_every_job_awaited()
    expect(bool(timeline.calls), "the worker was never called: no job ran", NEVER_CALLED_HELP)
    expect(
        sorted(timeline.calls) == sorted(names),
        f"the worker ran for jobs {timeline.calls}; expected each of {names} exactly once",
        NEVER_CALLED_HELP,
    )
    timeline.expect_clock_kept_forward()


@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "poll_task", "coroutine function")
    require(exercise, "run_with_callback", "coroutine function")
    require(exercise, "in_completion_order", "coroutine function")


@check("poll_task")
def check_poll_task(exercise: Subject) -> None:
    for name, delay, interval in POLL_CASES:
        check_one_poll(exercise, name, delay, interval)


def check_one_poll(exercise: Subject, name: str, delay: float, interval: float) -> None:
    """One job of ``delay`` s checked every ``interval`` s: False at 0, interval, ... until done."""
    call = f"poll_task(worker, {name!r}, {delay:g}, {interval:g})"
    evidence = exercise.call(
        "poll", name=name, delay=delay, interval=interval, values=values_for([name]), deadline=DEADLINE
    )
    raised = evidence.get("raised")
    if raised is not None:
        if raised["type"] != "InvalidStateError":
            raise student_failure(raised, exercise.file_name)
        raise Failure(
            f"in {call}, task.result() raised InvalidStateError at t={raised['at']:g} s: "
            f"the job needs {delay:g} s, so its task was not done yet",
            RESULT_TOO_EARLY_HELP,
            source=SourceRef.from_json(raised["source"]) if raised.get("source") else None,
        )
    timeline = Timeline(evidence["timeline"])
    returned_at = evidence["returned_at"]
    expect_every_job_ran_once(timeline, [name])
    expect(
        not timeline.in_caller,
        f"job {', '.join(map(repr, timeline.in_caller))} ran inside the caller's own task, not in a task of its own",
        NO_TASK_HELP,
    )
    expected_count = math.ceil(delay / interval)
    looks = ", ".join(f"{k * interval:g}" for k in range(expected_count))
    expected = (expected_count, f"{name} done")
    answer = evidence["result"]
    if evidence["is_tuple"] and isinstance(answer, list):
        answer = tuple(answer)  # JSON carried it as a list: show the student the tuple they returned
    if not (isinstance(answer, tuple) and len(answer) == 2):
        raise Mismatch(expected, answer, POLL_RESULT_HELP, what=f"{call} to return")
    if answer[1] != expected[1]:
        raise Mismatch(expected[1], answer[1], "Return task.result() as the second item.", what="result")
    expect(
        answer[0] == expected_count,
        f"{call} said done() was False {answer[0]!r} times and returned at t={returned_at:g} s; "
        f"expected {expected_count}: checked every {interval:g} s, a {delay:g} s job is not done at "
        f"t={looks} s and is done at t={expected_count * interval:g} s",
        AWAITED_FIRST_HELP if answer[0] == 0 else POLL_LOOP_HELP,
        timeline=timeline.spans(),
    )


class CallbackRun:
    """One call of run_with_callback in the subject; jobs it left running were then let finish."""

    def __init__(self, exercise: Subject) -> None:
        evidence = exercise.call(
            "run_with_callback", jobs=[list(job) for job in JOBS], values=values_for(NAMES), deadline=DEADLINE
        )
        self.returned_at = float(evidence["returned_at"])
        self.calls = [Call(c["value"], c["task"], c["in_task"], c["at"]) for c in evidence["calls"]]
        self.timeline = Timeline(evidence["timeline"])
        # The jobs finished by the time the function returned.
        self.finished = {name for name, at in self.timeline.finished.items() if at <= self.returned_at}


@check("callback_results")
def check_callback_results(exercise: Subject) -> None:
    run = CallbackRun(exercise)
    timeline, calls = run.timeline, run.calls
    expect_every_job_ran_once(timeline)
    expect(
        run.finished == set(NAMES),
        f"run_with_callback returned at t={run.returned_at:g} s, when {len(run.finished)} of the {len(NAMES)} jobs "
        f"had finished; it should return once they all have, at t={LONGEST:g} s",
        WAIT_HELP,
        timeline=timeline.spans(),
    )
    expect(bool(calls), "on_done was never called", NO_CALLBACK_HELP)
    tasks = [c.task for c in calls if c.task is not None]
    if tasks:
        first = tasks[0]
        shown = f"a finished Task whose result is {first['result']!r}" if first["has_result"] else "a Task"
        raise Failure(f"on_done received the task itself ({shown}) instead of its result", PASSED_TASK_HELP)
    values = sorted(c.value for c in calls) if all(isinstance(c.value, str) for c in calls) else [c.value for c in calls]
    if values != sorted(EXPECTED):
        raise Mismatch(sorted(EXPECTED), values, CALLBACK_VALUES_HELP, what="values passed to on_done")


@check("callback_from_loop")
def check_callback_from_loop(exercise: Subject) -> None:
    run = CallbackRun(exercise)
    timeline, calls = run.timeline, run.calls
    expect_every_job_ran_once(timeline)
    expect(
        len(calls) == len(JOBS),
        f"on_done was called {len(calls)} times ({describe_calls(calls)}); expected once per job",
        NO_CALLBACK_HELP,
    )
    by_hand = [c for c in calls if c.in_task]
    if by_hand:
        raise Failure(
            f"on_done({by_hand[0].value!r}) ran at t={by_hand[0].at:g} s inside a task "
            "(asyncio.current_task() was not None): a real done callback is run by the event loop "
            "itself, outside any task",
            CALLED_BY_HAND_HELP,
            timeline=timeline.spans(),
        )
    finishes = sorted(timeline.finished.values())
    expect(
        [c.at for c in calls] == finishes,
        f"{describe_calls(calls)}; the tasks finished at {timeline.describe()}: each call should "
        f"come the moment its task finishes, at t={', '.join(f'{t:g}' for t in finishes)} s",
        LATE_CALLBACK_HELP,
        timeline=timeline.spans(),
    )


def run_completion(exercise: Subject) -> tuple[Any, float, Timeline]:
    """``in_completion_order`` called in the subject: its result, when it returned, and the timeline."""
    evidence = exercise.call(
        "in_completion_order", jobs=[list(job) for job in JOBS], values=values_for(NAMES), deadline=DEADLINE
    )
    return evidence["result"], float(evidence["returned_at"]), Timeline(evidence["timeline"])


@check("completion_results")
def check_completion_results(exercise: Subject) -> None:
    results, _, timeline = run_completion(exercise)
    expect_every_job_ran_once(timeline)
    if results != COMPLETION:
        help = INPUT_ORDER_HELP if results == EXPECTED else ""
        raise Mismatch(COMPLETION, results, help, what="results in completion order")


@check("completion_timing")
def check_completion_timing(exercise: Subject) -> None:
    _, returned_at, timeline = run_completion(exercise)
    expect_every_job_ran_once(timeline)
    spans = timeline.spans()
    if timeline.sequential():
        raise Failure(
            f"your {len(spans)} jobs ran one after another ({timeline.describe()}) and ended at "
            f"t={timeline.end():g} s; started together they would all end by t={LONGEST:g} s",
            ONE_AT_A_TIME_HELP,
            timeline=spans,
        )
    expect(
        timeline.overlapping() and all(s.start == 0 for s in spans) and returned_at == LONGEST,
        f"your jobs ran {timeline.describe()} and in_completion_order returned at t={returned_at:g} s; "
        f"all started at t=0 they would end, and the function return, at t={LONGEST:g} s",
        ONE_AT_A_TIME_HELP,
        timeline=spans,
    )
