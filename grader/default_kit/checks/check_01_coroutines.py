"""Hidden checks for 01_coroutines: greet really waits, make_job stays lazy, run_job runs a loop.

greet is timed on the subject's virtual clock; make_job and run_job get an injected worker
that records whether, when and on which loop it ran, so a hard-coded result fails. The
probes (probe_01_coroutines.py) only report those facts; every verdict is made here.
"""

from __future__ import annotations

import secrets
from typing import Any

from grader.checking import (
    Failure,
    Mismatch,
    Subject,
    Timeline,
    check,
    expect,
    expect_no_blocking,
    require,
)
from grader.model import SourceRef

NAMES = ["Ada", "Grace"]
WAITS = [("Ada", 2.0), ("Grace", 0.5)]
TOGETHER = [("Ada", 2.0), ("Grace", 2.0)]
JOB_NAME, JOB_DELAY = "Ada", 2.0
JOB_CALL = f"worker({JOB_NAME!r}, {JOB_DELAY:g})"

GREETING_HELP = 'Return f"Hello, {name}!" with the name you were given, once the wait is over.'
FORGOT_AWAIT_HELP = (
    "Write `await asyncio.sleep(delay)`: without `await`, asyncio.sleep(delay) only creates a "
    "coroutine object that never runs, so greet does not wait at all."
)
WAIT_HELP = "Wait exactly the `delay` you are given, with `await asyncio.sleep(delay)`, before returning the greeting."
NON_BLOCKING_HELP = (
    "Don't make one greet wait for another (a shared lock, a queue, a counter of greets): "
    "`await asyncio.sleep(delay)` on its own already lets the loop run the other greet meanwhile."
)
MAKE_JOB_RAN_HELP = (
    "Don't run the job inside make_job (no asyncio.run, no run_until_complete): just "
    "`return worker(name, delay)`. Calling a coroutine function only creates the coroutine; "
    "it runs when someone awaits it."
)
MAKE_JOB_TASK_HELP = (
    "Return the coroutine itself, `return worker(name, delay)`: creating a task (ensure_future, create_task) is "
    "for code already inside a running event loop, and whoever awaits make_job's coroutine runs it there."
)
MAKE_JOB_RETURN_HELP = "Call the worker and return what the call gives you: `return worker(name, delay)`."
MAKE_JOB_ARGS_HELP = "Pass `name` and `delay` to the worker unchanged, and return the coroutine of that one call."
RUN_RETURNED_CORO_HELP = (
    "A coroutine object does nothing by itself: run it from synchronous code with "
    "`asyncio.run(worker(name, delay))` and return what asyncio.run gives back."
)
CALL_WORKER_HELP = "Call the `worker` you are given and run it with asyncio.run; don't build the result yourself."
RUN_ONCE_HELP = "Run the job exactly once: a single `asyncio.run(worker(name, delay))`, and return its result."
RESULT_HELP = "Return the value asyncio.run returns: it is the worker's own result."
FRESH_LOOP_HELP = (
    "Use asyncio.run(...): it creates a fresh event loop for the job and closes it afterwards. "
    "Don't reuse a loop made before run_job was called."
)
GET_EVENT_LOOP_HELP = (
    "From synchronous code, use asyncio.run(worker(name, delay)): it creates a new loop, runs the job and "
    "closes the loop. asyncio.get_event_loop() with no loop running is deprecated since Python 3.12 and an error since 3.14."
)
CLOSE_LOOP_HELP = (
    "Use asyncio.run(...): it closes the loop for you. A loop made with asyncio.new_event_loop() "
    "must be closed with loop.close(), or it leaks."
)


def shown(value: Any) -> str:
    """A value the probe sent back, as ``repr`` showed it in the subject."""
    if isinstance(value, dict) and set(value) == {"repr"}:
        return str(value["repr"])
    return repr(value)


def job_result() -> str:
    """What the worker returns this time: a value no name or constant predicts."""
    return f"{JOB_NAME}-{secrets.token_hex(3)}"


def duration(timeline: Timeline, name: str) -> float:
    return round(timeline.finished[name] - timeline.started[name], 6)


def call_greet(exercise: Subject, name: str, delay: float, deadline: float) -> dict[str, Any]:
    require(exercise, "greet", "coroutine function")
    what = f"greet({name!r}, {delay:g})"
    evidence: dict[str, Any] = exercise.call("greet", name=name, delay=delay, deadline=deadline, what=what)
    return evidence


@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "greet", "coroutine function")
    # Only "defined" here: an `async def make_job` is the mistake its own check explains.
    require(exercise, "make_job", "defined")
    require(exercise, "run_job", "defined")


@check("greet_result")
def check_greet_result(exercise: Subject) -> None:
    for name in NAMES:
        result = call_greet(exercise, name, 0.5, 10)["result"]
        if result != f"Hello, {name}!":
            raise Mismatch(f"Hello, {name}!", result, GREETING_HELP, what=f"greet({name!r}, 0.5) to return")


@check("greet_waits")
def check_greet_waits(exercise: Subject) -> None:
    for name, delay in WAITS:
        call = f"greet({name!r}, {delay:g})"
        evidence = call_greet(exercise, name, delay, delay * 10 + 1)
        elapsed, unawaited = evidence["elapsed"], evidence["unawaited"]
        if unawaited:
            where = SourceRef.from_json(unawaited[0]["source"]) if unawaited[0]["source"] else None
            at = f"line {where.line} creates" if where else "greet creates"
            late = f", so {call} returned after {elapsed:g} s of event-loop time instead of {delay:g} s"
            raise Failure(
                f"{at} the coroutine {unawaited[0]['call']} but never awaits it{late if elapsed != delay else ''}",
                FORGOT_AWAIT_HELP,
                source=where,
            )
        # time.sleep is charged to the virtual clock, so the time is right: the loop was frozen meanwhile.
        expect_no_blocking(exercise.blocking)
        expect(
            elapsed == delay,
            f"{call} returned after {elapsed:g} s of event-loop time; it should wait {delay:g} s",
            WAIT_HELP,
        )


@check("greet_non_blocking")
def check_greet_non_blocking(exercise: Subject) -> None:
    calls = " and ".join(f"greet({n!r}, {d:g})" for n, d in TOGETHER)
    longest = max(d for _, d in TOGETHER)
    evidence = exercise.call("greet_together", calls=[list(c) for c in TOGETHER], deadline=longest * 10, what=calls)
    expect_no_blocking(exercise.blocking)
    elapsed = evidence["elapsed"]
    expect(
        elapsed == longest,
        f"{calls}, started together, took {elapsed:g} s of event-loop time; "
        f"if each let the other run while it waits, both would finish after {longest:g} s",
        NON_BLOCKING_HELP,
    )


@check("make_job_lazy")
def check_make_job_lazy(exercise: Subject) -> None:
    require(exercise, "make_job", "function")
    value = job_result()
    evidence = exercise.call(
        "make_job",
        name=JOB_NAME,
        delay=JOB_DELAY,
        value=value,
        deadline=JOB_DELAY * 10,
        what="awaiting the coroutine make_job returned",
    )
    job = evidence["returned"]
    if evidence["started_before_return"]:
        state = "run to its end" if evidence["finished_before_return"] else "started"
        raise Failure(
            f"when make_job returned, {JOB_CALL} had already {state}; make_job returned {shown(job['value'])} "
            "instead of a coroutine that has not started yet",
            MAKE_JOB_RAN_HELP,
        )
    timeline = Timeline(evidence["timeline"])
    if not job["awaitable"]:
        what = "a function, not the coroutine object it makes when called" if job["callable"] else shown(job["value"])
        made = made_but_dropped(timeline)
        raise Failure(
            f"make_job returned {what}, which cannot be awaited to run the worker{made}",
            MAKE_JOB_RETURN_HELP,
            source=timeline.first_call_site(),
        )
    if evidence.get("future"):
        raise Failure(
            f"make_job returned a {job['type']}, made on an event loop that was not running, not the worker's "
            "coroutine: awaited on another loop, it cannot run",
            MAKE_JOB_TASK_HELP,
            source=timeline.first_call_site(),
        )
    # Only after make_job returned did the probe await the job: the worker must have run then.
    expect(
        timeline.calls == [JOB_NAME] and duration(timeline, JOB_NAME) == JOB_DELAY,
        f"awaiting make_job's coroutine ran {timeline.describe()}; "
        f"expected {JOB_CALL} to run once, for {JOB_DELAY:g} s",
        MAKE_JOB_ARGS_HELP,
    )
    if evidence["result"] != value:
        raise Mismatch(value, evidence["result"], MAKE_JOB_ARGS_HELP, what="awaiting make_job's coroutine to give")


def made_but_dropped(timeline: Timeline) -> str:
    """`` (line 24 calls worker('Ada', 2.0), …)``: the coroutine the student made and dropped, and where."""
    if not timeline.never_awaited:
        return ""
    first = timeline.never_awaited[0]
    at = f"line {first['source']['line']}" if first.get("source") else "your code"
    return f" ({at} calls {first['call']}, and that coroutine never ran)"


def run_the_job(exercise: Subject, value: str) -> dict[str, Any]:
    """Have the subject call run_job from synchronous code, as a script would, with the recording worker."""
    require(exercise, "run_job", "function")
    evidence: dict[str, Any] = exercise.call("run_job", name=JOB_NAME, delay=JOB_DELAY, value=value)
    return evidence


@check("run_job_result")
def check_run_job_result(exercise: Subject) -> None:
    value = job_result()
    evidence = run_the_job(exercise, value)
    returned, timeline = evidence["returned"], Timeline(evidence["timeline"])
    if returned["awaitable"]:
        if evidence["loops_created"]:
            # A loop ran, yet a coroutine came back: the coroutine it ran returned the worker's, unawaited.
            timeline.expect_every_job_awaited()
        raise Failure(
            f"run_job returned a {returned['type']} object instead of the worker's result: "
            "nothing ran it, so the worker never started",
            RUN_RETURNED_CORO_HELP,
            source=timeline.first_call_site(),
        )
    result = returned["value"]
    timeline.expect_every_job_awaited()
    expect(bool(timeline.calls), f"the worker was never called: run_job returned {shown(result)} by itself", CALL_WORKER_HELP)
    expect(
        timeline.calls == [JOB_NAME],
        f"the worker ran for jobs {timeline.calls}; run_job should run {JOB_CALL} exactly once",
        RUN_ONCE_HELP,
    )
    expect(
        JOB_NAME in timeline.finished,
        f"{JOB_CALL} started but never finished its {JOB_DELAY:g} s wait: the loop stopped before the job ended",
        RUN_ONCE_HELP,
    )
    if result != value:
        raise Mismatch(value, result, RESULT_HELP, what="run_job to return the worker's result")


@check("run_job_loop")
def check_run_job_loop(exercise: Subject) -> None:
    evidence = run_the_job(exercise, job_result())
    timeline = Timeline(evidence["timeline"])
    if evidence["get_event_loop"]:
        where = SourceRef.from_json(evidence["get_event_loop"][0])
        closed = "closed" if evidence["loop_closed"] else "never closed"
        raise Failure(
            f"run_job called asyncio.get_event_loop() (line {where.line}) with no event loop running: Python 3.11 to "
            "3.13 then create a loop and make it the thread's current one (3.12 and 3.13 add a DeprecationWarning), "
            f"and Python 3.14 raises RuntimeError right away; here the loop it made was {closed}",
            GET_EVENT_LOOP_HELP,
            source=where,
        )
    expect(
        evidence["ran_on_created_loop"],
        "the worker ran on an event loop that already existed before run_job was called",
        FRESH_LOOP_HELP,
    )
    created = evidence["loops_created"]
    expect(
        created == 1,
        f"run_job created {created} event loops; one asyncio.run call creates exactly one",
        RUN_ONCE_HELP,
    )
    expect(
        evidence["loop_closed"],
        f"the event loop that ran the worker ({timeline.describe()}) was still open after run_job returned",
        CLOSE_LOOP_HELP,
    )
    expect(
        duration(timeline, JOB_NAME) == JOB_DELAY,
        f"the worker ran {timeline.describe()} on the loop; it should have waited {JOB_DELAY:g} s",
        RUN_ONCE_HELP,
    )
