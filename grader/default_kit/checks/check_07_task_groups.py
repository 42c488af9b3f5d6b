"""Hidden checks for 07_task_groups: a worker whose jobs fail when the judge says, and record how each job ended.

Each job returns a value its name cannot predict, or fails with an exception whose text
carries a random token: a made-up result or error does not match. The jobs are given in
an order that is neither sorted by name nor the order they end in. The probe notes, the
moment the student's function returns or raises, which jobs had returned, failed or been
cancelled, and when (on the virtual clock), which were still running or only asked to
stop, and which tasks it had started were still pending: "siblings cancelled when one
fails", "every error reported" and "nothing left running" are read from that, never from
real time.
"""

from __future__ import annotations

import collections
import dataclasses
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

FUNCTIONS = {"run_all": "coroutine function", "collect_errors": "coroutine function", "handle_errors": "coroutine function"}


@dataclasses.dataclass(frozen=True)
class Scenario:
    """Jobs in the order given, and the exception type each failing job raises when it ends."""

    jobs: tuple[tuple[str, float], ...]
    fails: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self.jobs]


# Job order C B D A; sorted A B C D; ending order B A C D.
SUCCESS = Scenario((("C", 3.0), ("B", 1.0), ("D", 4.0), ("A", 2.0)))
# B fails at t=1 s while C, D and A still run: they must be cancelled then. Awaited in job order,
# the failure is seen only at t=3 s (after C), with D still running; gather and asyncio.wait see it
# at t=1 s but cancel nothing.
ONE_FAILS = Scenario(SUCCESS.jobs, (("B", "ValueError"),))
# A and B fail at the same moment, with different exceptions: the ExceptionGroup holds both.
TWO_FAIL = Scenario((("C", 3.0), ("A", 1.0), ("D", 4.0), ("B", 1.0)), (("A", "ConnectionError"), ("B", "ValueError")))
# A fails at t=2 s, C at t=3 s: errors in job order (C's first) differ from the order they happened in.
COLLECT = Scenario(SUCCESS.jobs, (("C", "ValueError"), ("A", "ConnectionError")))
# handle_errors: run() runs these in a TaskGroup. ValueErrors only; ValueErrors and another error; no error.
BAD_INPUT = Scenario((("C", 2.0), ("A", 1.0), ("B", 1.0)), (("A", "ValueError"), ("B", "ValueError")))
# In the group: A, then B's ConnectionError, then D: a handler that stops at the first error that is
# no ValueError never reports D.
MIXED = Scenario((("C", 2.0), ("A", 1.0), ("D", 1.0), ("B", 1.0)), (("A", "ValueError"), ("B", "ConnectionError"), ("D", "ValueError")))
ALL_GOOD = Scenario((("C", 2.0), ("A", 1.0), ("B", 1.0)))

NEVER_CALLED_HELP = "Call the `worker` you are given for every job; don't build the results yourself."
EVERY_JOB_HELP = "Call `worker(name, delay)` once for every `(name, delay)` in `jobs`: each call runs one job."
SORTED_HELP = "Return the results in the order of `jobs`, as the workers returned them: don't sort them."
RESULT_ORDER_HELP = (
    "Read the results from the tasks in the order you created them (`[task.result() for task in tasks]`), "
    "not in the order the jobs finish."
)
JOB_ORDER_HELP = "Return the results in the order of `jobs`: the result of `jobs[i]` at index i."
MADE_UP_HELP = "Return what each task's worker returned (`task.result()`): the checks' workers return values you cannot guess."
AWAIT_IN_LOOP_HELP = (
    "Start every job before waiting for any: create all the tasks inside `async with asyncio.TaskGroup() as group:` "
    "with group.create_task(...); leaving the block waits for all of them together."
)
NO_TASKS_HELP = "Run each job in a task of its own: `group.create_task(worker(name, delay))` inside a TaskGroup."
RETURNED_EARLY_HELP = (
    "Return only once every job has ended: read the results after the `async with asyncio.TaskGroup()` block, "
    "which waits for every task of the group."
)
FIXED_WAIT_HELP = "Wait for the jobs themselves (the TaskGroup block does), never for a fixed time: return the moment the last one ends."
RAN_TO_END_HELP = (
    "When a job fails, run_all must cancel the others at once: a TaskGroup does it for you. asyncio.gather(..., "
    "return_exceptions=True) and asyncio.wait(tasks) wait for every job instead: that is collect_errors' way, not run_all's."
)
AWAIT_EACH_HELP = (
    "Awaiting the tasks one by one notices a failure only when its turn comes, and the other jobs run on meanwhile: "
    "run the jobs in an `async with asyncio.TaskGroup()` block, which cancels the others the moment one fails."
)
NOT_CANCELLED_HELP = (
    "When a job fails, the others must be cancelled: a TaskGroup does it for you. `await asyncio.gather(*coroutines)` "
    "and `asyncio.wait(tasks, return_when=FIRST_EXCEPTION)` hand you the first failure but leave the other jobs running."
)
STILL_RUNNING_HELP = (
    "Every job must have ended before run_all raises: a TaskGroup cancels the others and waits for them. By hand, "
    "cancel each task still running, then `await asyncio.gather(*tasks, return_exceptions=True)` before raising."
)
CANCEL_NOT_AWAITED_HELP = (
    "task.cancel() only asks a task to stop: the task is still running when cancel() returns. Await the cancelled "
    "tasks (`await asyncio.gather(*tasks, return_exceptions=True)`) before raising, or let a TaskGroup do both."
)
SWALLOWED_HELP = (
    "Let the failure out of run_all: don't catch the TaskGroup's ExceptionGroup, and don't use "
    "return_exceptions=True here. The caller decides what to do with the errors."
)
FIRST_ONLY_HELP = (
    "Let the TaskGroup's ExceptionGroup propagate as it is: it holds every job's exception. Raising one of them "
    "(`raise group.exceptions[0]`), or asyncio.gather without return_exceptions, keeps only the first error."
)
NOT_THE_GROUP_HELP = (
    "Raise the ExceptionGroup of the jobs' own exceptions, as the TaskGroup raises it: don't replace it, "
    "or wrap it in an exception of your own."
)
COLLECT_RAISED_HELP = (
    "collect_errors must return, not raise, when jobs fail: `await asyncio.gather(*coroutines, return_exceptions=True)` "
    "puts each job's exception in the list in place of its result."
)
COLLECT_CANCELLED_HELP = (
    "In collect_errors a failure must not stop the other jobs: a TaskGroup cancels them at the first failure. Use "
    "asyncio.gather(..., return_exceptions=True), which lets every job run to its end."
)
COLLECT_LEFT_RUNNING_HELP = (
    "Without return_exceptions=True, gather stops waiting at the first error and the other jobs keep running "
    "(their results and errors are lost): pass return_exceptions=True, so gather waits for every job."
)
COLLECT_SEQUENTIAL_HELP = (
    "Start every job before waiting for any: pass all the coroutines to one "
    "`asyncio.gather(..., return_exceptions=True)` instead of awaiting them one by one."
)
COLLECT_LATE_HELP = "Return the moment the last job ends: wait for the jobs (gather), never for a fixed time."
COLLECT_SHAPE_HELP = "Return a tuple of two lists, `return results, errors`: the successful jobs' values, then the exceptions."
COLLECT_ERRORS_HELP = (
    "Put the exception of EVERY job that failed in `errors`, in the order of `jobs`: "
    "`[outcome for outcome in outcomes if isinstance(outcome, BaseException)]`, with outcomes from gather."
)
COLLECT_RESULTS_HELP = (
    "Put the values of the jobs that succeeded in `results`, in the order of `jobs`, and nothing else: "
    "`[outcome for outcome in outcomes if not isinstance(outcome, BaseException)]`."
)
RUN_NOT_AWAITED_HELP = "run() returns a coroutine: nothing runs until it is awaited. Write `return await run()` inside the try."
REPORT_EACH_HELP = (
    "Catch the ValueErrors with `except* ValueError as bad_input:` and call `report(error)` for each "
    "`error in bad_input.exceptions`: one report per ValueError."
)
REPORT_FIRST_HELP = (
    "Report EVERY ValueError of the group, not only the first: `for error in bad_input.exceptions: report(error)`."
)
REPORTED_GROUP_HELP = (
    "report() takes one ValueError at a time: loop over `bad_input.exceptions` and report each, not the group."
)
PLAIN_EXCEPT_HELP = (
    "A TaskGroup raises an ExceptionGroup, which `except ValueError:` never matches: catch the ValueErrors "
    "inside it with `except* ValueError as bad_input:`."
)
VALUE_PROPAGATED_HELP = (
    "Once reported, the ValueErrors are handled: they must not propagate. With `except* ValueError` they don't; "
    "then `return None` after the try statement (return is not allowed inside except*)."
)
VALUE_ALSO_RAISED_HELP = (
    "Raise only the errors that are no ValueError: `except* ValueError` takes the ValueErrors out and lets the "
    "rest propagate by itself; by hand, raise `group.subgroup(lambda e: not isinstance(e, ValueError))`, not the whole group."
)
OTHERS_SWALLOWED_HELP = (
    "Only the ValueErrors are yours to handle: let the other errors propagate. `except* ValueError` does that "
    "for you; `except Exception` or `except ExceptionGroup` catches them all."
)
OTHERS_REPORTED_HELP = "Report only the ValueErrors: any other error is a bug, to propagate, not to report."
SUCCESS_RESULT_HELP = "When run() succeeds, return what it returned: `return await run()` inside the try."
OTHERS_IN_GROUP_HELP = (
    "Let the other errors propagate in their ExceptionGroup, as `except* ValueError` leaves them: "
    "don't take them out of it (the caller may have more than one to handle)."
)
REPORT_OBJECT_HELP = "Pass report() each ValueError itself, `report(error)`, not its text: the caller may need the exception."
AWAITED_REPORT_HELP = "report is a plain function: call it, `report(error)`, without `await` (it returns None, not a coroutine)."


LABELS = {"raised": " failed", "cancelled": " cancelled", "running": " running", "cancelling": " cancelling"}


def cannot_judge(reason: str) -> NoReturn:
    """Skip a check whose subject is missing: it scores nothing, and another check names the mistake."""
    pytest.skip(f"skipped: {reason}")


def and_list(items: list[str]) -> str:
    if not items:
        return "none"
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def jobs_named(names: list[str]) -> str:
    return f"job{'s' if len(names) > 1 else ''} {and_list(names)}"


def at(seconds: float) -> str:
    return f"t={seconds:g} s"


def leaves(error: dict[str, Any]) -> list[dict[str, Any]]:
    """The exceptions an exception group holds, groups inside it unpacked; a lone exception is its own leaf."""
    if "exceptions" not in error:
        return [error]
    return [leaf for held in error["exceptions"] for leaf in leaves(held)]


class Errors:
    """The exceptions the judge had the jobs raise: a random token in each text, so none can be made up."""

    def __init__(self, scenario: Scenario) -> None:
        self.kinds = dict(scenario.fails)
        self.texts = {name: text(kind, name) for name, kind in scenario.fails}

    def job_of(self, error: Any) -> str | None:
        """The job whose exception ``error`` (an exception described by the probe) is, or a faithful copy of."""
        if not isinstance(error, dict):
            return None
        if error.get("job") in self.kinds:
            return str(error["job"])
        return next(
            (job for job, kind in self.kinds.items() if error.get("type") == kind and error.get("message") == self.texts[job]),
            None,
        )

    def name(self, job: str) -> str:
        return f"job {job}'s {self.kinds[job]}"

    def failures(self) -> dict[str, list[str]]:
        return {job: [kind, self.texts[job]] for job, kind in self.kinds.items()}


def text(kind: str, job: str) -> str:
    token = secrets.token_hex(3)
    return f"bad input for job {job} [{token}]" if kind == "ValueError" else f"job {job} could not connect [{token}]"


def shown(error: Any) -> str:
    """An exception (or a value) the student's code produced, as a message shows it."""
    if isinstance(error, dict) and "type" in error:
        kind = str(error["type"])
        if "exceptions" in error:
            count = len(error["exceptions"]) + int(error.get("more", 0))
            return f"{kind} ({count} exception{'s' if count != 1 else ''})"
        return f"{kind}({str(error.get('message', ''))!r})"
    return repr(error)


def raised_source(raised: dict[str, Any] | None) -> SourceRef | None:
    return SourceRef.from_json(raised["source"]) if raised and raised.get("source") else None


class Run:
    """One call of run_all or collect_errors in the subject, and what every job was doing when it returned."""

    def __init__(self, exercise: Subject, function: str, scenario: Scenario) -> None:
        require(exercise, function, FUNCTIONS[function])
        self.function, self.scenario, self.names = function, scenario, scenario.names
        self.durations = dict(scenario.jobs)
        self.values = {job: f"{job}-{secrets.token_hex(3)}" for job in self.names}
        self.errors = Errors(scenario)
        self.succeeding = [job for job in self.names if job not in self.errors.kinds]
        evidence = exercise.call(
            "run",
            function=function,
            jobs=[list(job) for job in scenario.jobs],
            values=self.values,
            durations=self.durations,
            failures=self.errors.failures(),
        )
        self.file_name = exercise.file_name
        self.blocking = exercise.blocking
        self.result: Any = evidence.get("result")
        self.raised: dict[str, Any] | None = evidence.get("raised")
        self.error: dict[str, Any] | None = evidence.get("error")
        self.foreign: dict[str, Any] | None = evidence.get("foreign")
        self.returned_at = float(evidence["returned_at"])
        self.jobs: dict[str, dict[str, Any]] = evidence["jobs"]
        self.left_tasks: list[dict[str, Any]] = evidence["left_tasks"]
        self.timeline = Timeline(evidence["timeline"])
        if self.raised and not self.timeline.calls:
            raise student_failure(self.foreign or self.raised, self.file_name)  # raised before any job ran

    # What the evidence says

    def state(self, job: str) -> str:
        return str(self.jobs.get(job, {}).get("state", "never ran"))

    def ended_at(self, job: str) -> float | None:
        when = self.jobs.get(job, {}).get("at")
        return float(when) if when is not None else None

    def ended_after(self, job: str, moment: float) -> bool:
        """Whether ``job`` was still going at ``moment``: it ended later, or had not ended when the function returned."""
        end = self.ended_at(job)
        return end is None or end > moment

    def did(self) -> str:
        """``returned`` or ``raised ValueError``: how the function ended, for messages."""
        return f"raised {self.error['type']}" if self.error else "returned"

    def spans(self) -> list[Span]:
        """Every job that started, to the moment it ended (or, still running, to the function's return), labelled."""
        spans = []
        for span in self.timeline.spans():
            end = self.ended_at(span.name)
            stop = end if end is not None else self.returned_at
            spans.append(Span(span.name + LABELS.get(self.state(span.name), ""), span.start, max(stop, span.start)))
        return spans

    def waited_at(self) -> SourceRef | None:
        finished = [job for job in self.names if job in self.timeline.finished]
        return next((self.timeline.waiting_site(job) for job in finished), None) or self.timeline.first_call_site()

    # Expectations shared by the checks

    def expect_no_raise(self) -> None:
        """No job failed here: anything raised is the code's own."""
        if self.raised:
            raise student_failure(self.foreign or self.raised, self.file_name)

    def expect_every_job_ran_once(self) -> None:
        timeline = self.timeline
        timeline.expect_every_job_awaited()
        expect(bool(timeline.calls), "the worker was never called: no job ran", NEVER_CALLED_HELP)
        never = [job for job in self.names if job not in timeline.calls]
        if never:
            ran = [job for job in self.names if job in timeline.calls]
            raise Failure(
                f"{jobs_named(never)} never ran: {self.function} called the worker for {and_list(ran)} only",
                EVERY_JOB_HELP,
                source=timeline.first_call_site(),
            )
        again = [job for job in self.names if timeline.calls.count(job) > 1]
        expect(
            not again,
            f"{jobs_named(again)} ran {max((timeline.calls.count(job) for job in again), default=0)} times: "
            "each call of the worker runs the job again",
            EVERY_JOB_HELP,
            source=timeline.first_call_site(),
        )
        timeline.expect_clock_kept_forward()

    def expect_jobs_to_time(self) -> None:
        """At least two jobs ran, so there is an overlap to judge."""
        timeline = self.timeline
        if not timeline.calls:
            timeline.expect_every_job_awaited()
        expect(bool(timeline.calls), "the worker was never called: no job ran", NEVER_CALLED_HELP)
        ran = [job for job in self.names if job in timeline.calls]
        expect(
            len(ran) > 1,
            f"only job {ran[0] if ran else timeline.calls[0]} ran, so there is no overlap of jobs to judge",
            EVERY_JOB_HELP,
            source=timeline.first_call_site(),
        )
        timeline.expect_clock_kept_forward()

    def expect_concurrent(self, sequential_help: str, late_help: str, early_help: str) -> None:
        """Every job in a task of its own, all started at t=0, and a return the moment the last one ended."""
        timeline = self.timeline
        expect_no_blocking(self.blocking)
        in_caller = [job for job in self.names if job in timeline.in_caller]
        expect(
            not in_caller,
            f"{jobs_named(in_caller)} ran inside the caller's own task, one after another, not as tasks of their own",
            NO_TASKS_HELP if self.function == "run_all" else sequential_help,
            timeline=self.spans(),
            source=timeline.waiting_site(in_caller[0]) if in_caller else None,
        )
        running = [job for job in self.names if self.state(job) in ("running", "cancelling")]
        expect(
            not running,
            f"{self.function} {self.did()} at {at(self.returned_at)} while {jobs_named(running)} "
            f"{'were' if len(running) > 1 else 'was'} still running",
            early_help,
            timeline=self.spans(),
            source=self.waited_at(),
        )
        spans, end = timeline.spans(), timeline.end()
        longest = max(self.durations[job] for job in self.names if job in timeline.started)
        if timeline.sequential() and len(spans) > 1:
            raise Failure(
                f"your {len(spans)} jobs ran one after another ({timeline.describe()}), ending at {at(end)}; "
                f"started together they would all have ended by {at(longest)}",
                sequential_help,
                timeline=self.spans(),
                source=timeline.first_wait_site(),
            )
        expect(
            all(span.start == 0 for span in spans) and end == longest,
            f"your jobs ran {timeline.describe()}; all started at t=0 they would all have ended by {at(longest)}",
            sequential_help,
            timeline=self.spans(),
            source=timeline.first_wait_site(),
        )
        expect(
            self.returned_at <= end + 1e-6,
            f"{self.function} {self.did()} at {at(self.returned_at)}, {self.returned_at - end:g} s after its last job "
            f"ended ({at(end)}): it waited longer than its jobs",
            late_help,
            timeline=self.spans(),
            source=self.waited_at(),
        )

    def results_failure(self, result: Any, expected: list[str], what: str) -> Failure:
        """Why a list of results is not the workers' values in job order."""
        by_value = {value: job for job, value in self.values.items()}
        wanted = [job for job in self.names if self.values[job] in expected]
        if isinstance(result, list) and all(isinstance(r, str) for r in result) and sorted(result) == sorted(expected):
            order = [by_value[value] for value in result]
            ending = sorted(wanted, key=self.durations.__getitem__)
            help = SORTED_HELP if order == sorted(wanted) else RESULT_ORDER_HELP if order == ending else JOB_ORDER_HELP
            return Failure(
                f"{self.function} returned {what} of jobs {order}, in that order; expected those of {wanted}, "
                "the order of `jobs`",
                help,
            )
        if isinstance(result, list) and result and not any(isinstance(r, str) and r in by_value for r in result):
            return Failure(f"{self.function} returned {what} {result!r}: none of these is a value the workers returned", MADE_UP_HELP)
        return Mismatch([f"<{job}'s result>" for job in wanted], result, MADE_UP_HELP, what=f"{what} in job order")


# ----------------------------------------------------------------------------------------------- checks


@check("loads")
def check_loads(exercise: Subject) -> None:
    require_all(exercise, FUNCTIONS)


@check("run_all_results")
def check_run_all_results(exercise: Subject) -> None:
    run = Run(exercise, "run_all", SUCCESS)
    run.expect_no_raise()
    run.expect_every_job_ran_once()
    expected = [run.values[job] for job in run.names]
    if run.result != expected:
        raise run.results_failure(run.result, expected, "the results")


@check("run_all_concurrent")
def check_run_all_concurrent(exercise: Subject) -> None:
    run = Run(exercise, "run_all", SUCCESS)
    run.expect_no_raise()
    run.expect_jobs_to_time()
    run.expect_concurrent(AWAIT_IN_LOOP_HELP, FIXED_WAIT_HELP, RETURNED_EARLY_HELP)


def failed_run(exercise: Subject, scenario: Scenario, unjudged: str) -> tuple[Run, str, float]:
    """A run_all call in which a job fails while the others run: the run, that job, and when it failed."""
    run = Run(exercise, "run_all", scenario)
    first = min(run.errors.kinds, key=run.durations.__getitem__)
    if run.state(first) != "raised":
        run.expect_every_job_ran_once()
        cannot_judge(f"job {first} never got to fail, so there was no failure to react to")
    failed_at = run.ended_at(first)
    assert failed_at is not None
    if any(run.timeline.started.get(job, failed_at) > 0 for job in run.names):
        cannot_judge(f"the jobs did not all start at t=0, so {unjudged} (the check that the jobs run at once says why)")
    return run, first, failed_at


@check("run_all_cancels")
def check_run_all_cancels(exercise: Subject) -> None:
    run, failed, failed_at = failed_run(exercise, ONE_FAILS, "no job was running beside the one that failed")
    siblings = [job for job in run.names if job != failed and run.ended_after(job, failed_at)]
    if run.returned_at < failed_at:
        raise Failure(
            f"run_all {run.did()} at {at(run.returned_at)}, before job {failed} failed ({at(failed_at)}): "
            "it never waited for its jobs",
            RETURNED_EARLY_HELP,
            timeline=run.spans(),
            source=run.waited_at(),
        )
    ran_on = [job for job in siblings if run.state(job) in ("returned", "raised")]
    still = [job for job in siblings if run.state(job) in ("running", "cancelling")]
    if ran_on and not still and run.returned_at > failed_at:
        ends = ", ".join(f"{job} at {at(run.ended_at(job) or 0.0)}" for job in ran_on)
        raise Failure(
            f"job {failed} failed at {at(failed_at)}, but {jobs_named(ran_on)} ran on to their end ({ends}): "
            f"nothing cancelled them, and run_all {run.did()} only at {at(run.returned_at)}",
            RAN_TO_END_HELP,
            timeline=run.spans(),
            source=run.waited_at(),
        )
    if run.returned_at > failed_at + 1e-6:
        running = [job for job in siblings if run.state(job) in ("running", "cancelling")]
        meanwhile = f"; by then {jobs_named(ran_on)} had run on to the end" if ran_on else ""
        and_still = f", and {jobs_named(running)} {'were' if len(running) > 1 else 'was'} still running" if running else ""
        raise Failure(
            f"job {failed} failed at {at(failed_at)}, but run_all noticed only at {at(run.returned_at)}, when it "
            f"{run.did()}{meanwhile}{and_still}",
            AWAIT_EACH_HELP,
            timeline=run.spans(),
            source=run.waited_at(),
        )
    running = [job for job in siblings if run.state(job) == "running"]
    expect(
        not running,
        f"run_all {run.did()} at {at(run.returned_at)}, when job {failed} failed, but it never cancelled "
        f"{jobs_named(running)}: {'they were' if len(running) > 1 else 'it was'} still running",
        NOT_CANCELLED_HELP,
        timeline=run.spans(),
        source=raised_source(run.raised) or run.waited_at(),
    )
    late = [job for job in siblings if run.state(job) == "cancelled" and (run.ended_at(job) or 0.0) > failed_at + 1e-6]
    expect(
        not late,
        f"job {failed} failed at {at(failed_at)}, but {jobs_named(late)} "
        f"{'were' if len(late) > 1 else 'was'} cancelled only at {at(max(run.ended_at(job) or 0.0 for job in late) if late else 0)}",
        AWAIT_EACH_HELP,
        timeline=run.spans(),
        source=run.waited_at(),
    )


@check("run_all_clean_exit")
def check_run_all_clean_exit(exercise: Subject) -> None:
    run = Run(exercise, "run_all", ONE_FAILS)
    if not run.jobs:
        run.expect_every_job_ran_once()
    running = [job for job in run.names if run.state(job) == "running"]
    stopping = [job for job in run.names if run.state(job) == "cancelling"]
    when = f"when run_all {run.did()} ({at(run.returned_at)})"
    source = raised_source(run.raised) or run.waited_at()
    expect(
        not running,
        f"{when}, {jobs_named(running)} {'were' if len(running) > 1 else 'was'} still running: "
        f"a job it started outlived run_all",
        STILL_RUNNING_HELP,
        timeline=run.spans(),
        source=source,
    )
    expect(
        not stopping,
        f"{when}, {jobs_named(stopping)} {'were' if len(stopping) > 1 else 'was'} cancelled but not finished: "
        "run_all did not wait for the cancelled tasks to end",
        CANCEL_NOT_AWAITED_HELP,
        timeline=run.spans(),
        source=source,
    )
    pending = run.left_tasks
    if pending:
        names = collections.Counter(task["name"] for task in pending)
        what = ", ".join(f"{count} × {name}" for name, count in names.items())
        cancelling = any(task["cancelling"] for task in pending)
        raise Failure(
            f"{when}, {len(pending)} task{'s' if len(pending) > 1 else ''} it had started "
            f"{'were' if len(pending) > 1 else 'was'} still pending: {what}",
            CANCEL_NOT_AWAITED_HELP if cancelling else STILL_RUNNING_HELP,
            timeline=run.spans(),
            source=source,
        )


@check("run_all_every_error")
def check_run_all_every_error(exercise: Subject) -> None:
    run, _, failed_at = failed_run(exercise, TWO_FAIL, "jobs A and B could not fail at the same moment")
    errors = run.errors
    failed = [job for job in run.names if run.state(job) == "raised"]
    expected = " and ".join(errors.name(job) for job in failed)
    if run.error is None:
        raise Failure(
            f"{jobs_named(failed)} failed at {at(failed_at)}, but run_all returned {shortened(run.result)} "
            "instead of raising their errors",
            SWALLOWED_HELP,
            timeline=run.spans(),
            source=run.waited_at(),
        )
    error, source = run.error, raised_source(run.raised)
    held = leaves(error)
    found = [errors.job_of(leaf) for leaf in held]
    if "exceptions" not in error:
        job = found[0]
        if job is None:
            raise Failure(
                f"run_all raised {shown(error)}, not an ExceptionGroup of the jobs' exceptions ({expected})",
                NOT_THE_GROUP_HELP,
                source=source,
            )
        lost = [errors.name(other) for other in failed if other != job]
        raise Failure(
            f"run_all raised {errors.name(job)} on its own, not in an ExceptionGroup"
            + (f": {and_list(lost)}, raised at the same moment, {'were' if len(lost) > 1 else 'was'} lost" if lost else ""),
            FIRST_ONLY_HELP,
            source=source,
        )
    strangers = [shown(leaf) for leaf, job in zip(held, found) if job is None]
    expect(
        not strangers,
        f"the {error['type']} run_all raised holds {and_list(strangers)}, which no job raised; expected {expected}",
        NOT_THE_GROUP_HELP,
        source=source,
    )
    missing = [errors.name(job) for job in failed if job not in found]
    expect(
        not missing,
        f"the {error['type']} run_all raised holds {and_list([errors.name(job) for job in found if job])} only: "
        f"{and_list(missing)}, raised at the same moment, {'were' if len(missing) > 1 else 'was'} lost",
        FIRST_ONLY_HELP,
        source=source,
    )
    twice = sorted({job for job in found if job and found.count(job) > 1})
    expect(
        not twice,
        f"the {error['type']} run_all raised holds {and_list([errors.name(job) for job in twice])} more than once",
        FIRST_ONLY_HELP,
        source=source,
    )


def shortened(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@check("collect_runs_all")
def check_collect_runs_all(exercise: Subject) -> None:
    run = Run(exercise, "collect_errors", COLLECT)
    first = min(run.errors.kinds, key=run.durations.__getitem__)
    if run.error is not None and run.foreign is not None and not any(run.errors.job_of(leaf) for leaf in leaves(run.error)):
        raise student_failure(run.foreign, run.file_name)  # the code's own crash, not a job's failure
    run.expect_jobs_to_time()
    cancelled = [job for job in run.names if run.state(job) == "cancelled"]
    expect(
        not cancelled,
        f"job {first} failed at {at(run.ended_at(first) or 0.0)}, and {jobs_named(cancelled)} "
        f"{'were' if len(cancelled) > 1 else 'was'} cancelled: collect_errors must let every job run to its end",
        COLLECT_CANCELLED_HELP,
        timeline=run.spans(),
        source=raised_source(run.raised) or run.waited_at(),
    )
    if run.error is not None:
        running = [job for job in run.names if run.state(job) in ("running", "cancelling")]
        still = f", while {jobs_named(running)} {'were' if len(running) > 1 else 'was'} still running" if running else ""
        raise Failure(
            f"collect_errors raised {shown(run.error)} at {at(run.returned_at)}{still}",
            COLLECT_LEFT_RUNNING_HELP if running else COLLECT_RAISED_HELP,
            timeline=run.spans(),
            source=raised_source(run.raised),
        )
    run.expect_every_job_ran_once()
    run.expect_concurrent(COLLECT_SEQUENTIAL_HELP, COLLECT_LATE_HELP, COLLECT_LEFT_RUNNING_HELP)


@check("collect_every_error")
def check_collect_every_error(exercise: Subject) -> None:
    run = Run(exercise, "collect_errors", COLLECT)
    errors = run.errors
    if run.error is not None:
        if not any(errors.job_of(leaf) for leaf in leaves(run.error)):
            raise student_failure(run.foreign or run.raised or {}, run.file_name)
        raise Failure(
            f"collect_errors raised {shown(run.error)} instead of returning the errors",
            COLLECT_RAISED_HELP,
            source=raised_source(run.raised),
        )
    result = run.result
    if not (isinstance(result, list) and len(result) == 2 and all(isinstance(part, list) for part in result)):
        raise Failure(
            f"collect_errors returned {shortened(result)}: expected a tuple (results, errors) of two lists", COLLECT_SHAPE_HELP
        )
    results, returned_errors = result
    failed = [job for job in run.names if job in errors.kinds]
    wanted = [errors.name(job) for job in failed]
    among = [shown(r["exception"]) for r in results if isinstance(r, dict) and "exception" in r]
    expect(not among, f"collect_errors returned {and_list(among)} among the results", COLLECT_RESULTS_HELP)
    cut_short = [job for job in run.names if run.state(job) not in ("returned", "raised")]
    if cut_short:
        cancelled = any(run.state(job) == "cancelled" for job in cut_short)
        ended = "had been cancelled" if cancelled else ("were" if len(cut_short) > 1 else "was") + " still running"
        raise Failure(
            f"collect_errors returned at {at(run.returned_at)}, when {jobs_named(cut_short)} {ended}: "
            f"{'their' if len(cut_short) > 1 else 'its'} outcome{'s are' if len(cut_short) > 1 else ' is'} missing "
            f"from what it returned",
            COLLECT_CANCELLED_HELP if cancelled else COLLECT_LEFT_RUNNING_HELP,
            timeline=run.spans(),
        )
    expected = [run.values[job] for job in run.succeeding]
    extra = [r for r in results if r not in expected]
    if extra and [r for r in results if r in expected] == expected:
        raise Failure(
            f"collect_errors returned {shortened(results)} as results: besides the values of "
            f"{jobs_named(run.succeeding)}, it holds {and_list([shortened(r) for r in extra])}",
            COLLECT_RESULTS_HELP,
        )
    if results != expected:
        raise run.results_failure(results, expected, "as results the values")
    described = [e.get("exception") if isinstance(e, dict) else e for e in returned_errors]
    found = [errors.job_of(e) for e in described]
    others = [shown(e) for e, job in zip(described, found) if job is None]
    expect(
        not others,
        f"collect_errors returned {and_list(others)} among the errors; expected each job's own exception: {and_list(wanted)}",
        COLLECT_ERRORS_HELP,
    )
    missing = [errors.name(job) for job in failed if job not in found]
    held = and_list([errors.name(job) for job in found if job])
    expect(
        not missing,
        f"the errors collect_errors returned hold {held if any(found) else 'nothing'}: "
        f"{and_list(missing)} {'are' if len(missing) > 1 else 'is'} missing",
        COLLECT_ERRORS_HELP,
    )
    expect(
        found == failed,
        f"collect_errors returned the errors of jobs {found}, in that order; expected those of {failed}, the order of `jobs`",
        COLLECT_ERRORS_HELP,
    )


# ---------------------------------------------------------------------------------------- handle_errors


class Handled:
    """handle_errors in one scenario: what it returned or raised, and what it reported."""

    def __init__(self, scenario: Scenario, values: dict[str, str], errors: Errors, evidence: dict[str, Any]) -> None:
        self.scenario, self.values, self.errors = scenario, values, errors
        self.result: Any = evidence.get("result")
        self.raised: dict[str, Any] | None = evidence.get("raised")
        self.error: dict[str, Any] | None = evidence.get("error")
        self.foreign: dict[str, Any] | None = evidence.get("foreign")
        self.reports: list[Any] = list(evidence["reports"])
        self.report_sites = [SourceRef.from_json(site) for site in evidence["report_sites"] if site]
        self.runs = int(evidence["runs"])
        self.run_awaited = bool(evidence["run_awaited"])
        self.source = raised_source(self.raised)
        failing = [job for job in scenario.names if job in errors.kinds]
        self.situation = f"when run() raised an ExceptionGroup of {and_list([errors.name(job) for job in failing])}"

    def kinds(self, kind: str, *, but: bool = False) -> list[str]:
        """The jobs that fail with ``kind`` (or, ``but``, with another kind)."""
        return [job for job in self.scenario.names if job in self.errors.kinds and (self.errors.kinds[job] == kind) != but]

    def reported(self) -> list[str | None]:
        """The job each report was about (None: something else, a group or a made-up error)."""
        return [self.errors.job_of(r.get("exception") if isinstance(r, dict) else None) for r in self.reports]

    def raised_jobs(self) -> list[str | None]:
        return [self.errors.job_of(leaf) for leaf in leaves(self.error)] if self.error else []

    def reports_said(self) -> str:
        """``report() was called with job A's ValueError``: the reports, in words."""
        if not self.reports:
            return "report() was never called"
        said = []
        for report, job in zip(self.reports, self.reported()):
            exception = report.get("exception") if isinstance(report, dict) else None
            said.append(self.errors.name(job) if job else shown(exception if exception is not None else report))
        return f"report() was called with {and_list(said)}"

    def report_site(self) -> SourceRef | None:
        return self.report_sites[0] if self.report_sites else self.source


def handled(exercise: Subject, judged: tuple[str, ...]) -> dict[str, Handled]:
    """handle_errors in every scenario, in one call of the subject; a crash fails the check only in those it judges."""
    require(exercise, "handle_errors", "coroutine function")
    scenarios = {"bad input": BAD_INPUT, "mixed": MIXED, "all good": ALL_GOOD}
    sent, kept = [], {}
    for label, scenario in scenarios.items():
        values = {job: f"{job}-{secrets.token_hex(3)}" for job in scenario.names}
        errors = Errors(scenario)
        sent.append({"jobs": [list(job) for job in scenario.jobs], "values": values, "failures": errors.failures()})
        kept[label] = (scenario, values, errors)
    evidence = exercise.call("handle", scenarios=sent)
    outcomes = {label: Handled(*kept[label], evidence[i]) for i, label in enumerate(scenarios)}
    for outcome in (outcomes[label] for label in judged):
        crash = outcome.foreign
        if outcome.raised and crash is not None and not any(outcome.raised_jobs()):
            if crash.get("type") == "TypeError" and "can't be used in 'await' expression" in str(crash.get("message")):
                where = raised_source(crash)
                raise Failure(
                    f"{outcome.situation}, {'line ' + str(where.line) if where else 'handle_errors'} awaited what "
                    "report() returned, and Python raised " + str(crash.get("python_says", crash.get("message"))),
                    AWAITED_REPORT_HELP,
                    source=where,
                )
            raise student_failure(crash, exercise.file_name)  # the code's own exception
        if outcome.runs and not outcome.run_awaited:
            raise Failure("handle_errors called run() but never awaited the coroutine it returns", RUN_NOT_AWAITED_HELP)
    if not any(outcome.runs for outcome in outcomes.values()):
        raise Failure("handle_errors never called run(): no job ran", RUN_NOT_AWAITED_HELP)
    return outcomes


@check("report_each")
def check_report_each(exercise: Subject) -> None:
    outcomes = handled(exercise, ("bad input", "mixed"))
    for label in ("bad input", "mixed"):
        outcome = outcomes[label]
        wanted = outcome.kinds("ValueError")
        reported = outcome.reported()
        failing = [job for job in outcome.scenario.names if job in outcome.errors.kinds]
        let_through = outcome.error is not None and "exceptions" in outcome.error
        if let_through and not outcome.reports and sorted(job for job in outcome.raised_jobs() if job) == sorted(failing):
            raise Failure(
                f"{outcome.situation}, handle_errors let all of it through and reported nothing",
                PLAIN_EXCEPT_HELP,
                source=outcome.source,
            )
        groups = [r for r in outcome.reports if isinstance(r, dict) and "exceptions" in (r.get("exception") or {})]
        expect(
            not groups,
            f"{outcome.situation}, {outcome.reports_said()}: the group, not each ValueError in it",
            REPORTED_GROUP_HELP,
            source=outcome.report_site(),
        )
        texts = [r for r in outcome.reports if isinstance(r, str) and r in outcome.errors.texts.values()]
        expect(
            not texts,
            f"{outcome.situation}, {outcome.reports_said()}: the text of each ValueError, not the exception",
            REPORT_OBJECT_HELP,
            source=outcome.report_site(),
        )
        missing = [outcome.errors.name(job) for job in wanted if job not in reported]
        if missing:
            seen = [job for job in reported if job in wanted]
            raise Failure(
                f"{outcome.situation}, {outcome.reports_said()}: {and_list(missing)} "
                f"{'were' if len(missing) > 1 else 'was'} never reported; expected one report for each of "
                f"{and_list([outcome.errors.name(job) for job in wanted])}",
                REPORT_FIRST_HELP if seen else REPORT_EACH_HELP,
                source=outcome.report_site(),
            )
        twice = sorted({job for job in reported if job in wanted and reported.count(job) > 1})
        expect(
            not twice,
            f"{outcome.situation}, {outcome.reports_said()}: "
            f"{and_list([outcome.errors.name(job) for job in twice])} reported more than once",
            REPORT_EACH_HELP,
            source=outcome.report_site(),
        )
    outcome = outcomes["bad input"]
    if outcome.error is not None:
        still = [outcome.errors.name(job) for job in outcome.raised_jobs() if job in outcome.kinds("ValueError")]
        raise Failure(
            f"{outcome.situation}, handle_errors reported them and then raised {shown(outcome.error)}"
            + (f", holding {and_list(still)}" if still else ""),
            VALUE_PROPAGATED_HELP,
            source=outcome.source,
        )
    expect(
        outcome.result is None,
        f"{outcome.situation}, handle_errors reported them and returned {shortened(outcome.result)}; expected None",
        VALUE_PROPAGATED_HELP,
    )


@check("others_propagate")
def check_others_propagate(exercise: Subject) -> None:
    outcomes = handled(exercise, ("all good", "mixed"))
    good = outcomes["all good"]
    expected = [good.values[job] for job in good.scenario.names]
    if good.error is not None:
        raise Failure(f"when run() succeeded, handle_errors raised {shown(good.error)}", SUCCESS_RESULT_HELP, source=good.source)
    expect(
        good.result == expected,
        f"when run() returned {expected!r}, handle_errors returned {shortened(good.result)}",
        SUCCESS_RESULT_HELP,
    )
    mixed = outcomes["mixed"]
    others = mixed.kinds("ValueError", but=True)
    names = and_list([mixed.errors.name(job) for job in others])
    reported = [job for job in mixed.reported() if job in others]
    expect(
        not reported,
        f"{mixed.situation}, {mixed.reports_said()}: {names} is no ValueError, and must not be reported",
        OTHERS_REPORTED_HELP,
        source=mixed.report_site(),
    )
    if mixed.error is None:
        raise Failure(
            f"{mixed.situation}, handle_errors returned {shortened(mixed.result)}: {names} was swallowed",
            OTHERS_SWALLOWED_HELP,
        )
    kept = mixed.raised_jobs()
    missing = [mixed.errors.name(job) for job in others if job not in kept]
    expect(
        not missing,
        f"{mixed.situation}, handle_errors raised {shown(mixed.error)} without {and_list(missing)}: it was lost",
        OTHERS_SWALLOWED_HELP,
        source=mixed.source,
    )
    still = [mixed.errors.name(job) for job in mixed.kinds("ValueError") if job in kept]
    expect(
        not still or outcomes["bad input"].error is not None,  # then report_each has said so already
        f"{mixed.situation}, handle_errors reported the ValueErrors and then raised {shown(mixed.error)}, with "
        f"{and_list(still)} still in it: a reported ValueError goes no further",
        VALUE_ALSO_RAISED_HELP,
        source=mixed.source,
    )
    expect(
        "exceptions" in mixed.error,
        f"{mixed.situation}, handle_errors raised {names} on its own, taken out of its ExceptionGroup",
        OTHERS_IN_GROUP_HELP,
        source=mixed.source,
    )
