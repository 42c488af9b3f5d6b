"""Hidden checks for 02_event_loop: the probe's job records the loop that ran it.

Loops cannot cross into the judge, so the probe (in the subject) establishes the facts:
how many loops the student's call created, whether the job ran to its end on one of
them, how many loops were still open afterwards (also when the job raises), and which
of ``asyncio.get_event_loop``, ``asyncio.run`` and ``asyncio.set_event_loop`` the
student's file called. This file decides what those facts mean.
"""

from __future__ import annotations

import math
from typing import Any

from grader.checking import Failure, Mismatch, Subject, check, expect, require, student_failure
from grader.model import SourceRef

RESULT = "job done"
DELAY = 1.5
MEASURED = (2.5, 0.75)  # two durations, so a constant can't pass
HEAD_START = 10.0  # loop time that passes before measuring, so loop.time() alone != a duration

GET_EVENT_LOOP_HELP = (
    "asyncio.get_event_loop() is the old API: with no loop running it is deprecated since Python 3.12 "
    "(DeprecationWarning) and raises RuntimeError since 3.14. Create a loop with asyncio.new_event_loop(); "
    "inside a coroutine, use asyncio.get_running_loop()."
)
CALL_JOB_HELP = (
    "Pass the coroutine job(), not the function job: asyncio.run(job()) / loop.run_until_complete(job())."
)
NEVER_RAN_HELP = "Run the job you are given, job(), on the loop and return what it returns; don't make up a result."
UNFINISHED_HELP = (
    "loop.run_until_complete(job()) runs the loop until the coroutine is done; "
    "don't stop or close the loop while the job is still running."
)
RESULT_HELP = "Return the value that running job() produced: run_until_complete / asyncio.run hand it back to you."
USE_ASYNCIO_RUN_HELP = "This function is the short way: `return asyncio.run(job())` creates, runs and closes the loop."
MANUAL_LOOP_HELP = (
    "run_on_new_loop is the manual way, without asyncio.run: loop = asyncio.new_event_loop(), "
    "then loop.run_until_complete(job()), then loop.close()."
)
ONE_LOOP_HELP = "Create exactly one loop with asyncio.new_event_loop() and run the job on that loop."
CLOSE_HELP = (
    "Call loop.close() once the job is done, in a `finally:` block: an unclosed loop keeps its "
    "selector and file descriptors (ResourceWarning: unclosed event loop)."
)
CLOSE_IN_FINALLY_HELP = (
    "Put loop.close() in the `finally:` of a try block around run_until_complete: code after the call "
    "never runs when the job raises, so the loop stays open."
)
PROPAGATE_HELP = (
    "Don't catch the job's exception: use try/finally (no except), so the loop is closed and the "
    "error still reaches the caller."
)
LEFT_CURRENT_HELP = (
    "You don't need asyncio.set_event_loop(loop) for run_until_complete. If you call it, undo it with "
    "asyncio.set_event_loop(None) in the finally block, as asyncio.run does."
)
WALL_CLOCK_HELP = (
    "Measure with the loop's own clock: loop = asyncio.get_running_loop(); start = loop.time(); await job(); "
    "return loop.time() - start. time.monotonic()/time.time() don't follow the loop's clock (here a virtual one)."
)
ABSOLUTE_TIME_HELP = "loop.time() is a point in time, not a duration: read it before and after `await job()` and return the difference."
MEASURE_HELP = "Read loop.time() just before `await job()` and again just after, and return the difference."


class Shown:
    """A value the subject could only send as its repr, shown as Python would show it."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        value = self.value
        return str(value["repr"]) if isinstance(value, dict) and set(value) == {"repr"} else repr(value)


class Observed:
    """One synchronous call of the student's function with the probe's job, as the subject saw it."""

    def __init__(self, exercise: Subject, function: str, error: str | None = None) -> None:
        self.function = function
        evidence = exercise.call("run_job", function=function, delay=DELAY, result=RESULT, error=error)
        self.result: Any = evidence["result"]
        self.raised: dict[str, Any] | None = evidence["raised"]
        self.calls: dict[str, Any] = evidence["calls"]
        self.loops_created = int(evidence["loops_created"])
        self.job_started = bool(evidence["job_started"])
        self.ran_on_created_loop = bool(evidence["ran_on_created_loop"])
        self.job_finished = int(evidence["job_finished"])
        self.loops_left_open = int(evidence["loops_left_open"])

    def expect_no_get_event_loop(self) -> None:
        if self.calls["get_event_loop"]:
            where = SourceRef.from_json(self.calls["get_event_loop"][0])
            raise Failure(
                f"{self.function} called asyncio.get_event_loop() (line {where.line}) with no event loop running",
                GET_EVENT_LOOP_HELP,
                source=where,
            )

    def expect_job_ran(self) -> None:
        """The job really ran to its end, on a loop this very call created."""
        raised = self.raised
        if not self.job_started:
            if raised is None:
                raise Failure(
                    f"{self.function} returned {Shown(self.result)!r} without ever running the job it was given",
                    NEVER_RAN_HELP,
                )
            if raised["type"] in ("TypeError", "ValueError") and "coroutine" in raised["python_says"]:
                raise Failure(
                    f"{self.function} never ran the job: it handed over the function `job` where a coroutine was "
                    f"expected ({raised['type']})",
                    CALL_JOB_HELP,
                )
            raise student_failure(raised)  # a crash before the job ran (or the stub's TODO): reported with the student's line
        expect(self.ran_on_created_loop, f"the job ran on a loop that {self.function} did not create", ONE_LOOP_HELP)
        if raised is None or raised["is_job_error"]:
            expect(self.job_finished == 1, f"the job started but never finished its {DELAY:g} s sleep", UNFINISHED_HELP)

    def expect_returned_result(self) -> None:
        if self.raised is not None:
            raise student_failure(self.raised)
        if self.result != RESULT:
            raise Mismatch(RESULT, Shown(self.result), RESULT_HELP, what="the job's result")

    def expect_closed(self, when: str, help: str) -> None:
        expect(
            self.loops_left_open == 0,
            f"{when}, the loop that ran the job was still open (loop.is_closed() was False)",
            help,
        )


def run_manual(exercise: Subject, error: str | None = None) -> Observed:
    """Call run_on_new_loop and check it is the manual way: one new loop, no shortcuts."""
    seen = Observed(exercise, "run_on_new_loop", error)
    seen.expect_no_get_event_loop()
    if seen.calls["asyncio_run"]:
        where = SourceRef.from_json(seen.calls["asyncio_run"][0])
        raise Failure(
            f"run_on_new_loop called asyncio.run() (line {where.line}) instead of driving a loop itself",
            MANUAL_LOOP_HELP,
            source=where,
        )
    seen.expect_job_ran()
    return seen


@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "run_with_asyncio_run", "function")
    require(exercise, "run_on_new_loop", "function")
    require(exercise, "measure_loop_time", "coroutine function")


@check("asyncio_run")
def check_asyncio_run(exercise: Subject) -> None:
    seen = Observed(exercise, "run_with_asyncio_run")
    seen.expect_no_get_event_loop()
    seen.expect_job_ran()
    if seen.raised is not None:
        raise student_failure(seen.raised)
    expect(bool(seen.calls["asyncio_run"]), "run_with_asyncio_run never called asyncio.run()", USE_ASYNCIO_RUN_HELP)
    seen.expect_returned_result()
    seen.expect_closed("after run_with_asyncio_run returned", CLOSE_HELP)


@check("new_loop_runs")
def check_new_loop_runs(exercise: Subject) -> None:
    seen = run_manual(exercise)
    if seen.raised is not None:
        raise student_failure(seen.raised)
    expect(
        seen.loops_created == 1,
        f"run_on_new_loop created {seen.loops_created} event loops; expected exactly one",
        ONE_LOOP_HELP,
    )
    seen.expect_returned_result()


@check("new_loop_closed")
def check_new_loop_closed(exercise: Subject) -> None:
    seen = run_manual(exercise)
    if seen.raised is not None:
        raise student_failure(seen.raised)
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
                PROPAGATE_HELP,
            )
        raise student_failure(raised)
    seen.expect_closed("after the job raised JobFailed", CLOSE_IN_FINALLY_HELP)


@check("loop_time")
def check_loop_time(exercise: Subject) -> None:
    for delay in MEASURED:
        evidence = exercise.call("measure", delay=delay, head_start=HEAD_START)
        if evidence["calls"]["get_event_loop"]:
            where = SourceRef.from_json(evidence["calls"]["get_event_loop"][0])
            raise Failure(
                f"measure_loop_time called asyncio.get_event_loop() (line {where.line}); "
                "inside a coroutine, get_running_loop() is the API that never creates a loop",
                GET_EVENT_LOOP_HELP,
                source=where,
            )
        expect(evidence["job_ran"], "measure_loop_time never awaited the job it was given", NEVER_RAN_HELP)
        measured, clock = evidence["measured"], float(evidence["clock"])
        if not isinstance(measured, (int, float)) or isinstance(measured, bool):
            raise Mismatch(delay, Shown(measured), MEASURE_HELP, what="seconds of loop time")
        if math.isclose(measured, delay, abs_tol=1e-3):
            continue
        rationale = f"the job took {delay:g} s of event-loop time, but measure_loop_time returned {measured:.4g}"
        if abs(measured) < 0.1:
            raise Failure(rationale, WALL_CLOCK_HELP)
        if math.isclose(measured, clock, abs_tol=1e-3):
            raise Failure(rationale + f" (the loop's clock itself, loop.time() = {clock:g})", ABSOLUTE_TIME_HELP)
        raise Failure(rationale, MEASURE_HELP)
