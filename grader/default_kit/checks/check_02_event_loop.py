"""Hidden checks for 02_event_loop: the probe's job records the loop that ran it.

Loops cannot cross into the judge, so the probe (in the subject) establishes the facts:
how many loops the student's call created, whether the job ran to its end on one of
them, how many loops were still open afterwards (also when the job raises), and where
the student's file called ``asyncio.get_event_loop``, a runner (``asyncio.run``,
``asyncio.Runner``), ``asyncio.set_event_loop`` or a clock of :mod:`time`. This file
decides what those facts mean.

Each mistake costs the check it breaks: ``get_event_loop()`` in an otherwise right
``run_on_new_loop`` fails the check about creating the loop, and its closing is judged
on its own; only a function that never drives a loop itself (``asyncio.run``, a job that
never ran) leaves nothing to judge about closing, and the closing checks are skipped.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from grader.checking import (
    Failure,
    Mismatch,
    Subject,
    Timeline,
    check,
    expect,
    require,
    student_failure,
)
from grader.model import SourceRef

DELAY = 1.5
MEASURED = (2.5, 0.75)  # two durations, so a constant can't pass
HEAD_START = 10.0  # loop time that passes before measuring, so loop.time() alone != a duration

NEW_EVENT_LOOP_HELP = (
    "Create the loop with asyncio.new_event_loop(): a fresh loop on every call, installed nowhere. "
    "asyncio.get_event_loop() with no loop running is deprecated since Python 3.12 and an error since 3.14."
)
ASYNCIO_RUN_NOT_GET_HELP = (
    "Write `return asyncio.run(job())`: it creates a fresh loop, runs the job and closes the loop. "
    "asyncio.get_event_loop() with no loop running is deprecated since Python 3.12 and an error since 3.14."
)
RUNNING_LOOP_HELP = (
    "Inside a coroutine, write asyncio.get_running_loop(): it returns the loop running your coroutine and never "
    "creates one. asyncio.get_event_loop() is the old API, whose behaviour outside a loop changed in 3.12 and 3.14."
)
CALL_JOB_HELP = (
    "Pass the coroutine job(), not the function job: asyncio.run(job()) / loop.run_until_complete(job())."
)
NEVER_RAN_HELP = "Run the job you are given, job(), on the loop and return what it returns; don't make up a result."
RUN_ONCE_HELP = (
    "Run the job once and keep what it returned (`result = asyncio.run(job())`, or "
    "`loop.run_until_complete(job())`), then return that: each call of job() is a new run."
)
UNFINISHED_HELP = (
    "loop.run_until_complete(job()) runs the loop until the coroutine is done; "
    "don't stop or close the loop while the job is still running."
)
RESULT_HELP = "Return the value that running job() produced: run_until_complete / asyncio.run hand it back to you."
USE_ASYNCIO_RUN_HELP = (
    "This function is the short way: `return asyncio.run(job())` creates, runs and closes the loop "
    "(`with asyncio.Runner() as runner: return runner.run(job())` counts too)."
)
MANUAL_LOOP_HELP = (
    "run_on_new_loop is the manual way, without asyncio.run or asyncio.Runner: loop = asyncio.new_event_loop(), "
    "then loop.run_until_complete(job()), then loop.close()."
)
ONE_LOOP_HELP = "Create exactly one loop with asyncio.new_event_loop() and run the job on that loop."
CLOSE_NOT_CALLED_HELP = "`loop.close` without parentheses only names the method: call it, `loop.close()`."
CLOSE_HELP = (
    "Call loop.close() once the job is done, in a `finally:` block: an unclosed loop keeps its "
    "selector and file descriptors (ResourceWarning: unclosed event loop)."
)
CLOSE_IN_FINALLY_HELP = (
    "Put loop.close() in the `finally:` of a try block around run_until_complete: code after the call "
    "never runs when the job raises, so the loop stays open."
)
PROPAGATE_HELP = (
    "Let the job's exception reach the caller: close the loop in a `finally:` block, which runs and then "
    "lets the error go on (an `except` block is fine too if it ends with a bare `raise`)."
)
WRAPPED_HELP = (
    "Let the job's own exception through unchanged: re-raise it with a bare `raise` "
    "(or use try/finally with no except) instead of raising a new exception."
)
LEFT_CURRENT_HELP = (
    "You don't need asyncio.set_event_loop(loop) for run_until_complete. If you call it, undo it with "
    "asyncio.set_event_loop(None) in the finally block, as asyncio.run does."
)
WALL_CLOCK_HELP = (
    "Measure with the loop's own clock: loop = asyncio.get_running_loop(); start = loop.time(); await job(); "
    "return loop.time() - start. {clock} counts real time, which does not follow the loop's clock (here a virtual one)."
)
OTHER_CLOCK_HELP = (
    "Measure with the running loop's own clock: loop = asyncio.get_running_loop(); start = loop.time(); "
    "await job(); return loop.time() - start."
)
ABSOLUTE_TIME_HELP = "loop.time() is a point in time, not a duration: read it before and after `await job()` and return the difference."
MEASURE_HELP = "Read loop.time() just before `await job()` and again just after, and return the difference."
AWAIT_THE_JOB_HELP = (
    "Call and await the job between the two readings of the clock: `await job()`. measure_loop_time returns "
    "how long the job took, so the job has to run to its end inside it."
)


class Shown:
    """A value the subject could only send as its repr, shown as Python would show it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        value = self.value
        return str(value["repr"]) if isinstance(value, dict) and set(value) == {"repr"} else repr(value)


def first_site(records: list[dict[str, Any]]) -> SourceRef:
    return SourceRef.from_json(records[0])


class Observed:
    """One synchronous call of the student's function with the probe's job, as the subject saw it."""

    def __init__(self, exercise: Subject, function: str, error: str | None = None) -> None:
        require(exercise, function, "function")
        self.function = function
        self.expected = f"job-{secrets.token_hex(3)}"  # what the job returns: a value no constant predicts
        evidence = exercise.call("run_job", function=function, delay=DELAY, result=self.expected, error=error)
        self.result: Any = evidence["result"]
        self.raised: dict[str, Any] | None = evidence["raised"]
        self.calls: dict[str, Any] = evidence["calls"]
        self.loops_created = int(evidence["loops_created"])
        self.job_started = bool(evidence["job_started"])
        self.ran_on_created_loop = bool(evidence["ran_on_created_loop"])
        self.job_finished = int(evidence["job_finished"])
        unclosed = evidence.get("close_not_called")
        self.close_not_called = SourceRef.from_json(unclosed) if unclosed else None  # `loop.close` with no ()
        self.never_awaited: list[dict[str, Any]] = evidence["never_awaited"]
        self.loops_left_open = int(evidence["loops_left_open"])

    def expect_no_get_event_loop(self, help: str) -> None:
        if not self.calls["get_event_loop"]:
            return
        where = first_site(self.calls["get_event_loop"])
        closed = (
            ". The loop stays current once closed, so a second call would get the closed loop back "
            "(RuntimeError: Event loop is closed)"
            if self.loops_left_open == 0
            else ""
        )
        raise Failure(
            f"{self.function} called asyncio.get_event_loop() (line {where.line}) with no event loop running: "
            "Python 3.11 to 3.13 then create a loop and make it the thread's current one (3.12 and 3.13 add a "
            f"DeprecationWarning), and Python 3.14 raises RuntimeError right away{closed}",
            help,
            source=where,
        )

    def expect_job_ran(self) -> None:
        """The job really ran to its end, on a loop this very call created."""
        raised = self.raised
        if not self.job_started:
            if raised is None:
                Timeline({"never_awaited": self.never_awaited}).expect_every_job_awaited()
                raise Failure(
                    f"{self.function} returned {Shown(self.result)!r} without ever running the job it was given",
                    NEVER_RAN_HELP,
                )
            if raised["type"] in ("TypeError", "ValueError") and "coroutine" in raised["python_says"]:
                raise Failure(
                    f"{self.function} never ran the job: it handed over the function `job` where a coroutine was "
                    f"expected ({raised['type']})",
                    CALL_JOB_HELP,
                    source=SourceRef.from_json(raised["source"]) if raised.get("source") else None,
                )
            raise student_failure(raised)  # a crash before the job ran (or the stub's TODO): reported with the student's line
        expect(self.ran_on_created_loop, f"the job ran on a loop that {self.function} did not create", ONE_LOOP_HELP)
        if raised is None or raised["is_job_error"]:
            expect(self.job_finished <= 1, f"the job ran {self.job_finished} times; {self.function} should run it once", RUN_ONCE_HELP)
            expect(self.job_finished == 1, f"the job started but never finished its {DELAY:g} s sleep", UNFINISHED_HELP)

    def expect_returned_result(self) -> None:
        if self.raised is not None:
            raise student_failure(self.raised)
        if self.result != self.expected:
            raise Mismatch(self.expected, Shown(self.result), RESULT_HELP, what="the job's result")

    def expect_closed(self, when: str, help: str) -> None:
        if self.loops_left_open and self.close_not_called is not None:
            raise Failure(
                f"{when}, the loop that ran the job was still open: line {self.close_not_called.line} names "
                "loop.close without calling it",
                CLOSE_NOT_CALLED_HELP,
                source=self.close_not_called,
            )
        expect(
            self.loops_left_open == 0,
            f"{when}, the loop that ran the job was still open (loop.is_closed() was False)",
            help,
        )


def run_manual(exercise: Subject, error: str | None = None) -> Observed:
    """Call run_on_new_loop and check it drives a loop of its own: the job ran to its end, not through a runner."""
    seen = Observed(exercise, "run_on_new_loop", error)
    if seen.calls["runners"]:
        runner = seen.calls["runners"][0]
        where = SourceRef.from_json(runner["source"])
        raise Failure(
            f"run_on_new_loop ran the job with {runner['via']} (line {where.line}), which creates and closes the loop "
            "for you, instead of driving a loop itself",
            MANUAL_LOOP_HELP,
            source=where,
        )
    seen.expect_job_ran()
    if seen.raised is not None and error is None:
        raise student_failure(seen.raised)
    return seen


@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "run_with_asyncio_run", "function")
    require(exercise, "run_on_new_loop", "function")
    require(exercise, "measure_loop_time", "coroutine function")


@check("asyncio_run")
def check_asyncio_run(exercise: Subject) -> None:
    seen = Observed(exercise, "run_with_asyncio_run")
    seen.expect_no_get_event_loop(ASYNCIO_RUN_NOT_GET_HELP)
    seen.expect_job_ran()
    if seen.raised is not None:
        raise student_failure(seen.raised)
    expect(bool(seen.calls["runners"]), "run_with_asyncio_run never called asyncio.run()", USE_ASYNCIO_RUN_HELP)
    seen.expect_returned_result()
    seen.expect_closed("after run_with_asyncio_run returned", CLOSE_HELP)


@check("new_loop_drives")
def check_new_loop_drives(exercise: Subject) -> None:
    run_manual(exercise)


@check("new_loop_runs")
def check_new_loop_runs(exercise: Subject) -> None:
    seen = run_manual(exercise)
    seen.expect_no_get_event_loop(NEW_EVENT_LOOP_HELP)
    expect(
        seen.loops_created == 1,
        f"run_on_new_loop created {seen.loops_created} event loops; expected exactly one",
        ONE_LOOP_HELP,
    )
    seen.expect_returned_result()


@check("new_loop_closed")
def check_new_loop_closed(exercise: Subject) -> None:
    seen = run_manual(exercise)
    seen.expect_closed("after run_on_new_loop returned", CLOSE_HELP)
    expect(
        not seen.calls["left_current"],
        "after run_on_new_loop returned, its closed loop was still set as the current event loop "
        "(asyncio.set_event_loop(loop) was never undone)",
        LEFT_CURRENT_HELP,
    )


@check("new_loop_closed_on_error")
def check_new_loop_closed_on_error(exercise: Subject) -> None:
    seen = run_manual(exercise, error="the job failed on purpose")
    raised = seen.raised
    if raised is None:
        raise Failure(
            f"the job raised JobFailed, but run_on_new_loop returned {Shown(seen.result)!r} instead of letting it through",
            PROPAGATE_HELP,
        )
    if not raised["is_job_error"]:
        if raised["wraps_job_error"]:
            raise Failure(
                f"the job raised JobFailed, but run_on_new_loop raised {raised['message']} instead",
                WRAPPED_HELP,
                source=SourceRef.from_json(raised["source"]) if raised.get("source") else None,
            )
        raise student_failure(raised)
    seen.expect_closed("after the job raised JobFailed", CLOSE_IN_FINALLY_HELP)


def measure(exercise: Subject, delay: float) -> dict[str, Any]:
    """Have the subject await measure_loop_time on a job of ``delay`` seconds, once the loop's clock is well past 0."""
    require(exercise, "measure_loop_time", "coroutine function")
    evidence: dict[str, Any] = exercise.call("measure", delay=delay, head_start=HEAD_START)
    return evidence


@check("loop_time")
def check_loop_time(exercise: Subject) -> None:
    for delay in MEASURED:
        evidence = measure(exercise, delay)
        Timeline({"never_awaited": evidence["never_awaited"]}).expect_every_job_awaited()
        expect(evidence["job_called"], "measure_loop_time never called the job it was given", AWAIT_THE_JOB_HELP)
        expect(
            evidence["job_ran"],
            "measure_loop_time returned before the job it started had finished its sleep",
            AWAIT_THE_JOB_HELP,
        )
        measured, clock = evidence["measured"], float(evidence["clock"])
        if not isinstance(measured, (int, float)) or isinstance(measured, bool):
            raise Mismatch(delay, Shown(measured), MEASURE_HELP, what="seconds of loop time")
        if math.isclose(measured, delay, abs_tol=1e-3):
            continue
        returned = f"{measured:.4g}" if abs(measured) >= 0.1 else "almost 0"
        rationale = f"the job took {delay:g} s of event-loop time, but measure_loop_time returned {returned}"
        clocks = evidence["calls"]["clocks"]
        if clocks:
            used = clocks[0]
            where = SourceRef.from_json(used["source"])
            raise Failure(
                f"{rationale}: it read {used['clock']} (line {where.line}), a real-time clock",
                WALL_CLOCK_HELP.format(clock=used["clock"]),
                source=where,
            )
        if math.isclose(measured, clock, abs_tol=1e-3):
            raise Failure(rationale + f" (the loop's clock itself, loop.time() = {clock:g})", ABSOLUTE_TIME_HELP)
        if abs(measured) < 0.1:
            raise Failure(f"{rationale}: the clock it read did not move while the job ran", OTHER_CLOCK_HELP)
        raise Failure(rationale, MEASURE_HELP)


@check("running_loop")
def check_running_loop(exercise: Subject) -> None:
    evidence = measure(exercise, MEASURED[0])
    if evidence["calls"]["get_event_loop"]:
        where = first_site(evidence["calls"]["get_event_loop"])
        raise Failure(
            f"measure_loop_time called asyncio.get_event_loop() (line {where.line}): inside a coroutine it returns "
            "the running loop, so the measurement is right, but the API for that is asyncio.get_running_loop()",
            RUNNING_LOOP_HELP,
            source=where,
        )
