"""Hidden checks for 03_concurrency: the injected worker records when each job ran.

The jobs are given in an order that is neither sorted by name nor the order they finish
in, and each worker returns a value its name cannot predict: results in job order mean
the student collected what the workers returned, in the order of ``jobs``. The timing
checks run the jobs a second time, each taking longer than its delay: a return at the
last job's end then means the code waited for the jobs, not for a fixed time.
"""

from __future__ import annotations

import secrets
from typing import Any

from grader.checking import (
    Failure,
    Mismatch,
    StudentRaised,
    Subject,
    Timeline,
    check,
    expect,
    expect_no_blocking,
    require,
    require_all,
    student_failure,
)
from grader.checking.raised import explain
from grader.model import Span

JOBS = [("C", 2.0), ("A", 3.0), ("B", 1.0)]  # job order C A B; sorted A B C; completion order B C A
DELAYS = dict(JOBS)
# The same jobs taking longer than their delays, by odd amounts: no fixed wait ends with them, and no
# loop that polls every 0.5 s (or 0.1 s) lands on the moment the last one ends.
LONGER = {"C": 2.437, "A": 3.563, "B": 1.419}
NAMES = [name for name, _ in JOBS]
COMPLETION_ORDER = sorted(NAMES, key=DELAYS.__getitem__)
RUNNERS = {"run_sequentially": "coroutine function", "run_concurrently": "coroutine function"}

NEVER_CALLED_HELP = "Call the `worker` you are given for every job; don't build the results yourself."
EVERY_JOB_HELP = "Call `worker(name, delay)` once for every `(name, delay)` in `jobs`: each call runs one job."
RESULT_ORDER_HELP = (
    "asyncio.gather returns results in the order of its arguments: collect them from gather, "
    "not in the order the jobs finish."
)
SORTED_HELP = "Return the results in the order of `jobs`, as the workers returned them: don't sort them."
JOB_ORDER_HELP = "Return the results in the order of `jobs`: the result of `jobs[i]` at index i."
MADE_UP_HELP = "Return what each `await worker(name, delay)` gave you: the checks' workers return values you cannot guess."
SEQUENTIAL_HELP = "Inside the for loop, `await worker(name, delay)` so each job finishes before the next begins."
AWAIT_IN_LOOP_HELP = (
    "Did you await each task before creating the next? Create all the tasks first, "
    "then await them together with asyncio.gather."
)
NO_TASKS_HELP = "Wrap each worker call in asyncio.create_task(...) (or pass them to gather) so each job runs as a task."
RETURNED_EARLY_HELP = "Return only once every job has finished: await the tasks (gather them) before returning."
FIXED_WAIT_HELP = (
    "Wait for the jobs themselves (`await asyncio.gather(*tasks)`), not for a fixed time: "
    "a job may take longer than its delay, and the function should return the moment the last one ends."
)


class Run:
    """One call of a runner in the subject: its result, its timeline, and when it returned."""

    def __init__(self, exercise: Subject, function: str, takes: dict[str, float] = DELAYS) -> None:
        require(exercise, function, RUNNERS[function])
        self.function, self.takes = function, takes
        self.values = {job: f"{job}-{secrets.token_hex(3)}" for job in NAMES}
        self.expected = [self.values[job] for job in NAMES]
        evidence = exercise.call("run", function=function, jobs=[list(job) for job in JOBS], values=self.values, durations=takes)
        self.result: Any = evidence.get("result")
        self.timeline = Timeline(evidence["timeline"])
        self.returned_at = float(evidence.get("returned_at", self.timeline.end()))
        self.blocking = exercise.blocking
        self.raised: dict[str, Any] | None = evidence.get("raised")
        if self.raised and not self.timeline.calls:
            raise student_failure(self.raised, exercise.file_name)  # raised before any job ran: nothing else to judge
        self.file_name = exercise.file_name

    def ran(self) -> list[str]:
        """The jobs that ran, each once, in job order."""
        return [name for name in NAMES if name in self.timeline.calls]

    def expect_every_job_ran_once(self) -> None:
        """What a right result needs: a return, and each job of ``jobs`` run exactly once."""
        if self.raised:
            raise student_failure(self.raised, self.file_name)
        timeline = self.timeline
        timeline.expect_every_job_awaited()
        expect(bool(timeline.calls), "the worker was never called: no job ran", NEVER_CALLED_HELP)
        never = [name for name in NAMES if name not in timeline.calls]
        if never:
            ran = " and ".join(self.ran())
            raise Failure(
                f"job {' and '.join(never)} never ran: {self.function} called the worker for {ran} only",
                EVERY_JOB_HELP,
                source=timeline.first_call_site(),
            )
        again = [name for name in NAMES if timeline.calls.count(name) > 1]
        expect(
            not again,
            f"job {' and '.join(again)} ran {max(map(timeline.calls.count, again), default=0)} times: "
            "each call of the worker runs the job again",
            EVERY_JOB_HELP,
            source=timeline.first_call_site(),
        )
        timeline.expect_clock_kept_forward()

    def expect_jobs_to_time(self) -> None:
        """What a timing judgement needs: at least two jobs ran (one missing costs the results, not the timing)."""
        timeline = self.timeline
        if not timeline.calls:
            timeline.expect_every_job_awaited()
        expect(bool(timeline.calls), "the worker was never called: no job ran", NEVER_CALLED_HELP)
        ran = self.ran()
        if len(ran) < 2 and self.raised:
            raise student_failure(self.raised, self.file_name)
        expect(
            len(ran) > 1,
            f"only job {ran[0] if ran else timeline.calls[0]} ran, so there is no order or overlap of jobs to judge",
            EVERY_JOB_HELP,
            source=timeline.first_call_site(),
        )
        timeline.expect_clock_kept_forward()

    def expect_results_in_job_order(self) -> None:
        result = self.result
        if result == self.expected:
            return
        by_value = {value: job for job, value in self.values.items()}
        if isinstance(result, list) and sorted(map(str, result)) == sorted(self.expected):
            shown = [by_value[r] for r in result]
            help = SORTED_HELP if shown == sorted(NAMES) else RESULT_ORDER_HELP if shown == COMPLETION_ORDER else JOB_ORDER_HELP
            raise Failure(
                f"{self.function} returned the results of jobs {shown}, in that order; expected those of {NAMES}, "
                "the order of `jobs`",
                help,
            )
        if isinstance(result, list) and result and not any(isinstance(r, str) and r in by_value for r in result):
            raise Failure(
                f"{self.function} returned {result!r}: none of these is a value the workers returned",
                MADE_UP_HELP,
            )
        raise Mismatch([f"<{job}'s result>" for job in NAMES], result, MADE_UP_HELP, what="results in job order")

    def expect_returned_when_jobs_ended(self) -> None:
        """The function returns the moment its last job ends: not before (a job still running), not after."""
        timeline, returned = self.timeline, self.returned_at
        unfinished = sorted(timeline.unfinished(), key=self.takes.__getitem__, reverse=True)
        spans = [Span(s.name, s.start, returned) if s.name in unfinished else s for s in timeline.spans()]
        waited_at = next((timeline.waiting_site(name) for name in timeline.finished), None) or timeline.first_call_site()
        if unfinished:
            job = unfinished[0]
            longer = f" (here it takes {self.takes[job]:g} s, longer than its delay)" if self.takes[job] != DELAYS[job] else ""
            still = f"while job {job} was still running{longer}"
            if self.raised:
                error = StudentRaised(self.raised)
                raise Failure(
                    f"{self.function} raised {error.type} at t={returned:g} s, {still}",
                    explain(error)[1],
                    timeline=spans,
                    source=error.source,
                )
            raise Failure(
                f"{self.function} returned at t={returned:g} s {still}",
                FIXED_WAIT_HELP if returned > 0 else RETURNED_EARLY_HELP,
                timeline=spans,
                source=waited_at,
            )
        end = timeline.end()
        expect(
            returned <= end + 1e-6,
            f"{self.function} returned at t={returned:g} s, {returned - end:g} s after its last job ended "
            f"(t={end:g} s): it waited longer than its jobs",
            FIXED_WAIT_HELP,
            timeline=spans,
            source=waited_at,
        )


@check("loads")
def check_loads(exercise: Subject) -> None:
    require_all(exercise, RUNNERS)


@check("sequential_results")
def check_sequential_results(exercise: Subject) -> None:
    run = Run(exercise, "run_sequentially")
    run.expect_every_job_ran_once()
    run.expect_results_in_job_order()


@check("sequential_timing")
def check_sequential_timing(exercise: Subject) -> None:
    run = Run(exercise, "run_sequentially")
    run.expect_jobs_to_time()
    expect_no_blocking(run.blocking)
    run.expect_returned_when_jobs_ended()
    timeline = run.timeline
    total = sum(DELAYS[name] for name in run.ran())
    expect(
        timeline.sequential() and timeline.end() == total,
        f"your jobs ran {timeline.describe()}; one after another they would end at t={total:.1f} s",
        SEQUENTIAL_HELP,
        timeline=timeline.spans(),
        source=timeline.first_call_site(),
    )
    Run(exercise, "run_sequentially", LONGER).expect_returned_when_jobs_ended()


@check("concurrent_results")
def check_concurrent_results(exercise: Subject) -> None:
    run = Run(exercise, "run_concurrently")
    run.expect_every_job_ran_once()
    run.expect_results_in_job_order()


@check("concurrent_timing")
def check_concurrent_timing(exercise: Subject) -> None:
    run = Run(exercise, "run_concurrently")
    run.expect_jobs_to_time()
    expect_no_blocking(run.blocking)
    timeline = run.timeline
    spans = timeline.spans()
    longest = max(DELAYS[name] for name in run.ran())
    run.expect_returned_when_jobs_ended()
    if timeline.sequential():
        raise Failure(
            f"your {len(spans)} jobs finished at t={timeline.end():.1f} s, one after another "
            f"({timeline.describe()}); started together they would end at t={longest:.1f} s",
            AWAIT_IN_LOOP_HELP,
            timeline=spans,
            source=timeline.first_wait_site(),
        )
    expect(
        timeline.overlapping() and timeline.end() == longest and all(s.start == 0 for s in spans),
        f"your jobs ran {timeline.describe()}; all started at t=0 they would end at t={longest:.1f} s",
        AWAIT_IN_LOOP_HELP,
        timeline=spans,
        source=timeline.first_wait_site(),
    )
    Run(exercise, "run_concurrently", LONGER).expect_returned_when_jobs_ended()


@check("concurrent_tasks")
def check_concurrent_tasks(exercise: Subject) -> None:
    run = Run(exercise, "run_concurrently")
    run.expect_jobs_to_time()
    in_caller = [name for name in NAMES if name in run.timeline.in_caller]
    expect(
        not in_caller,
        f"jobs {in_caller} ran inside the caller's own task, one after another, not as tasks of their own",
        NO_TASKS_HELP,
        source=run.timeline.waiting_site(in_caller[0]) if in_caller else None,
    )
