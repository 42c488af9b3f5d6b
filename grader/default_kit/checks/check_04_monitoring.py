"""Hidden checks for 04_monitoring: injected workers and callbacks record when, and where, they ran.

The probes (in the subject) call the student's functions and report facts: the
timeline of the jobs, whether a job ran inside the caller's own task, where the
student's code was waiting each time the clock moved on, and for each call of
``on_done`` its value (or the task it was handed), when it came and whether it ran
inside a task. This file decides what those facts mean.

The jobs are given in an order that is neither sorted by name nor by delay, and the
checks' workers take real durations that differ from the nominal delays and return
values a name cannot predict: job order, name order, delay order and the order the
jobs really finish in are four different orders, so only results that were observed
come out right.
"""

from __future__ import annotations

import math
import secrets
from typing import Any, NamedTuple

from grader.checking import (
    Failure,
    Mismatch,
    Subject,
    Timeline,
    check,
    expect,
    expect_no_blocking,
    require,
    student_failure,
)
from grader.model import SourceRef

JOBS = [("C", 2.0), ("A", 3.0), ("B", 1.0)]
NAMES = [name for name, _ in JOBS]  # job order C A B; by name A B C
DURATIONS = {"C": 1.5, "A": 3.5, "B": 1.8}  # what the checks' workers really take
FINISH_ORDER = sorted(NAMES, key=DURATIONS.__getitem__)  # C B A
BY_DELAY = [name for name, _ in sorted(JOBS, key=lambda job: job[1])]  # B C A
TIMED_JOBS = [[name, delay, DURATIONS[name]] for name, delay in JOBS]  # as the probes take them
LAST = max(DURATIONS.values())
DEADLINE = sum(DURATIONS.values()) * 10
# (name, delay, duration, interval): durations that are not a multiple of the interval, so a
# look at task.done() never lands on the very moment the task finishes; the second job
# takes longer than its delay, so a count worked out from the delay is wrong.
POLL_CASES = [("A", 2.5, 2.5, 1.0), ("B", 1.2, 1.7, 0.5)]

NEVER_CALLED_HELP = "Call the `worker` you are given for every job; don't build the results yourself."
NO_TASK_HELP = "task.done() needs a Task: start the job with `task = asyncio.create_task(worker(name, delay))`."
RESULT_TOO_EARLY_HELP = (
    "task.result() only works on a finished task: loop `while not task.done(): ...` first, "
    "and call task.result() once done() is True."
)
UNFINISHED_RESULT_HELP = (
    "task.result() only works on a finished task: read it inside a done callback, or from a task you "
    "have awaited (gather, as_completed, or the `done` set of asyncio.wait)."
)
POLL_SPIN_HELP = (
    "Between two checks, let time pass with `await asyncio.sleep(interval)`: awaiting asyncio.sleep(0) "
    "gives the loop a turn but no time, so the job never reaches its end."
)
TASKS_SPIN_HELP = (
    "Wait for the tasks themselves (asyncio.gather, asyncio.as_completed): a loop that checks on them "
    "with asyncio.sleep(0) gives the loop turns but no time, so they never finish."
)
AWAITED_FIRST_HELP = (
    "You waited for the task before looking at it, so done() was never False. Check task.done() "
    "in a loop right after create_task, sleeping `interval` seconds between two checks."
)
POLL_LOOP_HELP = (
    "Count every False from task.done(), starting with the check right after create_task, and "
    "wait with `await asyncio.sleep(interval)` between two checks."
)
COMPUTED_COUNT_HELP = (
    "Count each False that task.done() really returns instead of working the number out from `delay`: "
    "a job need not take exactly its delay."
)
POLL_RESULT_HELP = "Return a pair: the number of times done() was False, then task.result()."
POLL_VALUE_HELP = "Return task.result() as the second item: the checks' worker returns a value you cannot guess."
NO_CALLBACK_HELP = "Register a function on every task with task.add_done_callback(...); the loop will call it."
PASSED_TASK_HELP = (
    "The loop calls a done callback with the finished task, not its result: register a small "
    "function `def report(task): on_done(task.result())` instead of on_done itself."
)
LATE_BINDING_HELP = (
    "Use the task each callback is given: `task.add_done_callback(lambda done: on_done(done.result()))`. A lambda "
    "that reads the loop's variable `task` finds, when it runs, the last task of the loop, not its own."
)
CALLBACK_VALUES_HELP = "Pass each task's result to on_done: `on_done(task.result())` inside the done callback."
CALLBACK_MADE_UP_HELP = (
    "Pass on_done what the task returned (`task.result()` inside the done callback), not a value built "
    "from the job's name: the checks' workers return values you cannot guess."
)
WAIT_HELP = "After registering the callbacks, wait for every task (`await asyncio.gather(*tasks)`) before returning."
COLLECT_HELP = "Await each item of asyncio.as_completed(tasks) before returning: `results.append(await next_done)`."
FIXED_WAIT_HELP = (
    "Wait for the tasks themselves, not for a fixed time: the checks' jobs need not take exactly their "
    "delay, and the function should return the moment the last one finishes."
)
CALLBACK_ONE_BY_ONE_HELP = (
    "Create every task and register its callback first, and only then wait for them all "
    "(`await asyncio.gather(*tasks)`): awaiting each task right after creating it runs the jobs one by one."
)
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
BY_DELAY_HELP = (
    "Don't predict the order from the delays: a job need not take exactly its delay. "
    "`for next_done in asyncio.as_completed(tasks): result = await next_done` gives the results in the "
    "order the jobs really finish."
)
SORTED_HELP = "Don't sort the results: keep them in the order asyncio.as_completed hands them to you."
MADE_UP_HELP = "Return what each awaited task gave you: the checks' workers return values you cannot guess."
COROUTINES_HELP = "Each item of asyncio.as_completed(tasks) is an awaitable: `result = await next_done` gives its result."
ONE_AT_A_TIME_HELP = (
    "Start every job first (create_task for each), then collect them with asyncio.as_completed: "
    "awaiting one job at a time, even sorted by delay, takes the sum of the delays."
)


class Advice(NamedTuple):
    """The help for the faults any call can show: a loop that lets no time pass, a result read too early."""

    spin: str
    too_early: str


POLL_ADVICE = Advice(POLL_SPIN_HELP, RESULT_TOO_EARLY_HELP)
TASKS_ADVICE = Advice(TASKS_SPIN_HELP, UNFINISHED_RESULT_HELP)


class ResultOf:
    """A worker's return value as messages show it: ``<A's result>``, never the judge's secret value."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}'s result>"


class Call(NamedTuple):
    """One call of on_done in the subject: its value (or the task it got), when, and whether inside a task."""

    value: Any
    task: dict[str, Any] | None
    in_task: bool
    at: float


def source_of(evidence: dict[str, Any]) -> SourceRef | None:
    return SourceRef.from_json(evidence["source"]) if evidence.get("source") else None


def expect_no_fault(evidence: dict[str, Any], call: str, file_name: str, advice: Advice) -> None:
    """Fail on what ended the call before it could answer: a loop that let no time pass, or an exception."""
    spin = evidence.get("spin")
    if spin is not None:
        where = source_of(spin)
        place = f" at line {where.line}" if where else ""
        raise Failure(
            f"{call} kept looping{place} without letting time pass: the event loop turned {spin['turns']} times "
            f"and its clock stayed at t={spin['at']:g} s, so no job could ever finish",
            advice.spin,
            source=where,
        )
    raised = evidence.get("raised")
    if raised is None:
        return
    if raised["type"] != "InvalidStateError" or "Result is not set" not in raised["message"]:
        raise student_failure(raised, file_name)
    where = source_of(raised)
    place = f" at line {where.line}" if where else ""
    raise Failure(
        f"task.result(){place} raised InvalidStateError at t={raised['at']:g} s, in {call}: that task had not finished yet",
        advice.too_early,
        source=where,
    )


class Run:
    """One call of a student's function in the subject, judged for faults first, then read."""

    def __init__(self, exercise: Subject, probe: str, call: str, names: list[str], advice: Advice, **args: Any) -> None:
        self.call, self.names = call, names
        self.values = {name: f"{name}-{secrets.token_hex(3)}" for name in names}
        evidence = exercise.call(probe, values=self.values, deadline=DEADLINE, **args)
        self.blocking = exercise.blocking
        expect_no_fault(evidence, call, exercise.file_name, advice)
        self.evidence = evidence
        self.result: Any = evidence["result"]
        if evidence["is_tuple"] and isinstance(self.result, list):
            self.result = tuple(self.result)  # JSON carried it as a list: show the student the tuple they returned
        self.returned_at = float(evidence["returned_at"])
        self.timeline = Timeline(evidence["timeline"])
        self.waits: list[dict[str, Any]] = list(evidence.get("waits", []))

    def shown(self, value: Any) -> Any:
        """``value`` with each worker's return value written as ``<name's result>``."""
        by_value = {v: name for name, v in self.values.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.shown(item) for item in value)
        return ResultOf(by_value[value]) if isinstance(value, str) and value in by_value else value

    def results_of(self, names: list[str]) -> list[str]:
        return [self.values[name] for name in names]

    def names_of(self, results: list[Any]) -> list[str] | None:
        """The jobs whose results these are, in this order, when they are exactly one result per job."""
        by_value = {v: name for name, v in self.values.items()}
        found = [by_value.get(r, "") if isinstance(r, str) else "" for r in results]
        return found if sorted(found) == sorted(self.names) else None

    def finished_by_return(self) -> list[str]:
        return [name for name, at in self.timeline.finished.items() if at <= self.returned_at]

    def waiting_before(self, moment: float) -> SourceRef | None:
        """The line of the student's file the call was waiting at just before ``moment``."""
        found = None
        for wait in self.waits:
            if wait["at"] < moment:
                found = source_of(wait) or found
        return found

    def expect_every_job_ran_once(self) -> None:
        timeline = self.timeline
        timeline.expect_every_job_awaited()
        expect(bool(timeline.calls), "the worker was never called: no job ran", NEVER_CALLED_HELP)
        expect(
            sorted(timeline.calls) == sorted(self.names),
            f"the worker ran for jobs {timeline.calls}; expected each of {self.names} exactly once",
            NEVER_CALLED_HELP,
        )
        timeline.expect_clock_kept_forward()

    def expect_waited_for_every_job(self, help: str) -> None:
        """The function returned only once all its jobs had finished."""
        finished = self.finished_by_return()
        if len(finished) == len(self.names):
            return
        # Returning between two of the jobs' ends means it waited for something else: a fixed time.
        fixed = self.returned_at > 0 and self.returned_at not in self.timeline.finished.values()
        raise Failure(
            f"{self.call} returned at t={self.returned_at:g} s, when {len(finished)} of its {len(self.names)} jobs "
            f"had finished; it should return once they all have, at t={LAST:g} s",
            FIXED_WAIT_HELP if fixed else help,
            timeline=self.timeline.spans(),
            source=self.waiting_before(self.returned_at) if self.returned_at > 0 else None,
        )

    def expect_ran_together(self, help: str) -> None:
        """The jobs all started at t=0 and ran at the same time, so the last one ended at t=LAST."""
        timeline = self.timeline
        spans = timeline.spans()
        if timeline.sequential():
            where = self.waiting_before(spans[0].end)
            waited = f": line {where.line} waited for each job before the next one started" if where else ""
            raise Failure(
                f"your {len(spans)} jobs ran one after another ({timeline.describe()}) and ended at "
                f"t={timeline.end():g} s{waited}; started together they would all end by t={LAST:g} s",
                help,
                timeline=spans,
                source=where or timeline.first_call_site(),
            )
        expect(
            timeline.overlapping() and all(s.start == 0 for s in spans) and timeline.end() == LAST,
            f"your jobs ran {timeline.describe()}; all started at t=0 they would run together and end by t={LAST:g} s",
            help,
            timeline=spans,
        )

    def expect_returned_when_last_finished(self) -> None:
        """Not a moment later than the last job: the function waited for its tasks, not for a fixed time."""
        end = self.timeline.end()
        if self.returned_at <= end:
            return
        where = self.waiting_before(self.returned_at)
        waiting = f", waiting meanwhile at line {where.line}" if where else ""
        raise Failure(
            f"{self.call} returned at t={self.returned_at:g} s, {self.returned_at - end:g} s after its last job "
            f"ended (t={end:g} s){waiting}; it should return the moment the last job finishes",
            FIXED_WAIT_HELP,
            timeline=self.timeline.spans(),
            source=where,
        )


@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "poll_task", "coroutine function")
    require(exercise, "run_with_callback", "coroutine function")
    require(exercise, "in_completion_order", "coroutine function")


@check("poll_task")
def check_poll_task(exercise: Subject) -> None:
    for name, delay, duration, interval in POLL_CASES:
        check_one_poll(exercise, name, delay, duration, interval)


def check_one_poll(exercise: Subject, name: str, delay: float, duration: float, interval: float) -> None:
    """One job that takes ``duration`` s, checked every ``interval`` s: False at 0, interval, ... until done."""
    call = f"poll_task(worker, {name!r}, {delay:g}, {interval:g})"
    run = Run(
        exercise, "poll", call, [name], POLL_ADVICE, name=name, delay=delay, duration=duration, interval=interval
    )
    run.expect_every_job_ran_once()
    expect(
        not run.timeline.in_caller,
        f"job {', '.join(map(repr, run.timeline.in_caller))} ran inside the caller's own task, not in a task of its own",
        NO_TASK_HELP,
    )
    expected_count = math.ceil(duration / interval)
    answer = run.result
    if not (isinstance(answer, tuple) and len(answer) == 2):
        raise Mismatch((expected_count, ResultOf(name)), run.shown(answer), POLL_RESULT_HELP, what=f"{call} to return")
    if answer[1] != run.values[name]:
        raise Mismatch(ResultOf(name), run.shown(answer[1]), POLL_VALUE_HELP, what="as the second item the task's result")
    looks = ", ".join(f"{k * interval:g}" for k in range(expected_count))
    took = f"it took {duration:g} s, not its delay of {delay:g} s" if duration != delay else f"it takes {duration:g} s"
    if answer[0] == 0 and run.returned_at == duration:
        help = AWAITED_FIRST_HELP  # it returned the moment the job ended: it awaited the task
    elif duration != delay and answer[0] == math.ceil(delay / interval):
        help = COMPUTED_COUNT_HELP
    else:
        help = POLL_LOOP_HELP
    expect(
        answer[0] == expected_count,
        f"{call} said done() was False {answer[0]!r} times and returned at t={run.returned_at:g} s; "
        f"expected {expected_count}: checked every {interval:g} s, its job ({took}) is not done at "
        f"t={looks} s and is done at t={expected_count * interval:g} s",
        help,
        timeline=run.timeline.spans(),
    )


class CallbackRun(Run):
    """One call of run_with_callback in the subject; jobs it left running were then let finish."""

    def __init__(self, exercise: Subject) -> None:
        super().__init__(exercise, "run_with_callback", "run_with_callback", NAMES, TASKS_ADVICE, jobs=TIMED_JOBS)
        self.calls = [Call(c["value"], c["task"], c["in_task"], c["at"]) for c in self.evidence["calls"]]

    def describe_calls(self) -> str:
        return ", ".join(f"on_done({self.shown(c.value)!r}) at t={c.at:g} s" for c in self.calls) or "no call"


@check("callback_results")
def check_callback_results(exercise: Subject) -> None:
    run = CallbackRun(exercise)
    run.expect_every_job_ran_once()
    expect(bool(run.calls), "on_done was never called", NO_CALLBACK_HELP)
    tasks = [c.task for c in run.calls if c.task is not None]
    if tasks:
        first = tasks[0]
        shown = f"a finished Task whose result is {run.shown(first['result'])!r}" if first["has_result"] else "a Task"
        raise Failure(f"on_done received the task itself ({shown}) instead of its result", PASSED_TASK_HELP)
    values = [c.value for c in run.calls]
    if run.names_of(values) is None:
        made_up = not any(isinstance(v, str) and v in run.values.values() for v in values)
        raise Mismatch(
            [ResultOf(name) for name in FINISH_ORDER],
            run.shown(values),
            CALLBACK_MADE_UP_HELP if made_up else LATE_BINDING_HELP if one_task_for_all(run) else CALLBACK_VALUES_HELP,
            what="values passed to on_done",
        )


def one_task_for_all(run: CallbackRun) -> bool:
    """Every call of on_done got the result of the same one task: callbacks that all read one variable."""
    values = [c.value for c in run.calls]
    return len(values) > 1 and len({repr(v) for v in values}) == 1 and values[0] in run.values.values()


@check("callback_timing")
def check_callback_timing(exercise: Subject) -> None:
    run = CallbackRun(exercise)
    run.expect_every_job_ran_once()
    expect_no_blocking(run.blocking)
    run.expect_waited_for_every_job(WAIT_HELP)
    run.expect_ran_together(CALLBACK_ONE_BY_ONE_HELP)
    run.expect_returned_when_last_finished()


@check("callback_from_loop")
def check_callback_from_loop(exercise: Subject) -> None:
    run = CallbackRun(exercise)
    timeline, calls = run.timeline, run.calls
    run.expect_every_job_ran_once()
    expect(
        len(calls) == len(JOBS),
        f"on_done was called {len(calls)} times ({run.describe_calls()}); expected once per job",
        LATE_BINDING_HELP if one_task_for_all(run) else NO_CALLBACK_HELP,
    )
    by_hand = [c for c in calls if c.in_task]
    if by_hand:
        raise Failure(
            f"on_done({run.shown(by_hand[0].value)!r}) ran at t={by_hand[0].at:g} s inside a task "
            "(asyncio.current_task() was not None): a real done callback is run by the event loop "
            "itself, outside any task",
            CALLED_BY_HAND_HELP,
            timeline=timeline.spans(),
        )
    finishes = sorted(timeline.finished.values())
    expect(
        [c.at for c in calls] == finishes,
        f"{run.describe_calls()}; the tasks finished at {timeline.describe()}: each call should "
        f"come the moment its task finishes, at t={', '.join(f'{t:g}' for t in finishes)} s",
        LATE_CALLBACK_HELP,
        timeline=timeline.spans(),
    )


def coroutines_in(result: Any) -> list[str]:
    """The coroutine objects in a returned list, as ``<coroutine object name>`` (their address left out)."""
    if not isinstance(result, list):
        return []
    texts = [str(r.get("repr", "")) for r in result if isinstance(r, dict)]
    return [text.split(" at 0x")[0] + ">" for text in texts if text.startswith("<coroutine object")]


class CompletionRun(Run):
    """One call of in_completion_order in the subject."""

    def __init__(self, exercise: Subject) -> None:
        super().__init__(exercise, "in_completion_order", "in_completion_order", NAMES, TASKS_ADVICE, jobs=TIMED_JOBS)


@check("completion_results")
def check_completion_results(exercise: Subject) -> None:
    run = CompletionRun(exercise)
    result = run.result
    coroutines = coroutines_in(result)
    if coroutines:
        raise Failure(
            f"in_completion_order returned coroutine objects ({coroutines[0]}, ...) instead of the jobs' results",
            COROUTINES_HELP,
        )
    run.expect_every_job_ran_once()
    finished = sorted(run.timeline.finished, key=run.timeline.finished.__getitem__)
    if result == run.results_of(finished) and len(finished) == len(NAMES):
        return
    order = run.names_of(result) if isinstance(result, list) else None
    if order is None:
        run.expect_waited_for_every_job(COLLECT_HELP)
        made_up = isinstance(result, list) and not any(isinstance(r, str) and r in run.values.values() for r in result)
        raise Mismatch(
            [ResultOf(name) for name in finished], run.shown(result), MADE_UP_HELP if made_up else "",
            what="results in completion order",
        )  # fmt: skip
    help, source = "", None
    if order == NAMES:
        help, source = INPUT_ORDER_HELP, run.waiting_before(run.timeline.finished[finished[0]])
    elif order == BY_DELAY:
        help = BY_DELAY_HELP
    elif order == sorted(NAMES):
        help = SORTED_HELP
    finishes = ", ".join(f"{name} at t={run.timeline.finished[name]:g} s" for name in finished)
    raise Failure(
        f"expected the results of jobs {finished} in that order, the order they finished in ({finishes}); "
        f"got those of {order}",
        help,
        source=source,
    )


@check("completion_timing")
def check_completion_timing(exercise: Subject) -> None:
    run = CompletionRun(exercise)
    run.expect_every_job_ran_once()
    expect_no_blocking(run.blocking)
    run.expect_waited_for_every_job(COLLECT_HELP)
    run.expect_ran_together(ONE_AT_A_TIME_HELP)
    run.expect_returned_when_last_finished()
