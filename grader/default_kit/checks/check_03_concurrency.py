"""Hidden checks for 03_concurrency: the injected worker records when each job ran.

The jobs are given in an order that is neither sorted by name nor the order they finish
in, and each worker returns a value its name cannot predict: results in job order mean
the student collected what the workers returned, in the order of ``jobs``.
"""

from __future__ import annotations

import secrets
from typing import Any

from grader.checking import Failure, Mismatch, Subject, Timeline, check, expect, expect_no_blocking, require

JOBS = [("C", 2.0), ("A", 3.0), ("B", 1.0)]  # job order C A B; sorted A B C; completion order B C A
NAMES = [name for name, _ in JOBS]
SUM, LONGEST = sum(d for _, d in JOBS), max(d for _, d in JOBS)

NEVER_CALLED_HELP = "Call the `worker` you are given for every job; don't build the results yourself."
RESULT_ORDER_HELP = (
    "asyncio.gather returns results in the order of its arguments: collect them from gather, "
    "not in the order the jobs finish."
)
SORTED_HELP = "Return the results in the order of `jobs`, as the workers returned them: don't sort them."
MADE_UP_HELP = "Return what each `await worker(name, delay)` gave you: the checks' workers return values you cannot guess."
SEQUENTIAL_HELP = "Inside the for loop, `await worker(name, delay)` so each job finishes before the next begins."
AWAIT_IN_LOOP_HELP = (
    "Did you await each task before creating the next? Create all the tasks first, "
    "then await them together with asyncio.gather."
)
NO_TASKS_HELP = "Wrap each worker call in asyncio.create_task(...) (or pass them to gather) so each job runs as a task."
RETURNED_EARLY_HELP = "Return only once every job has finished: await the tasks (gather them) before returning."
class Run:
    """One call of a runner in the subject: its result, its timeline, and when it returned."""

    def __init__(self, exercise: Subject, name: str) -> None:
        self.values = {job: f"{job}-{secrets.token_hex(3)}" for job in NAMES}
        self.expected = [self.values[job] for job in NAMES]
        evidence = exercise.call("run", function=name, jobs=[list(job) for job in JOBS], values=self.values)
        self.result: Any = evidence["result"]
        self.timeline = Timeline(evidence["timeline"])
        self.returned_at = float(evidence.get("returned_at", self.timeline.end()))
        self.blocking = exercise.blocking

    def expect_every_job_ran_once(self) -> None:
        timeline = self.timeline
        timeline.expect_every_job_awaited()
        expect(bool(timeline.calls), "the worker was never called: no job ran", NEVER_CALLED_HELP)
        expect(
            sorted(timeline.calls) == sorted(NAMES),
            f"the worker ran for jobs {timeline.calls}; expected each of {NAMES} exactly once",
            NEVER_CALLED_HELP,
        )
        timeline.expect_clock_kept_forward()

    def expect_results_in_job_order(self, what: str) -> None:
        if self.result == self.expected:
            return
        by_value = {value: job for job, value in self.values.items()}
        shown = [by_value.get(r, r) if isinstance(r, str) else r for r in self.result] if isinstance(self.result, list) else self.result
        if isinstance(self.result, list) and sorted(map(str, self.result)) == sorted(self.expected):
            finished = sorted(self.timeline.finished, key=self.timeline.finished.__getitem__)
            help = RESULT_ORDER_HELP if shown == finished else SORTED_HELP
            raise Failure(f"expected the results of jobs {NAMES} in that order, got those of {shown}", help)
        raise Mismatch([f"<{job}'s result>" for job in NAMES], self.result, MADE_UP_HELP, what=what)



@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "run_sequentially", "coroutine function")
    require(exercise, "run_concurrently", "coroutine function")


@check("sequential_results")
def check_sequential_results(exercise: Subject) -> None:
    run = Run(exercise, "run_sequentially")
    run.expect_every_job_ran_once()
    run.expect_results_in_job_order("results in job order")


@check("sequential_timing")
def check_sequential_timing(exercise: Subject) -> None:
    run = Run(exercise, "run_sequentially")
    run.expect_every_job_ran_once()
    expect_no_blocking(run.blocking)
    timeline = run.timeline
    expect(
        timeline.sequential() and timeline.end() == SUM,
        f"your jobs ran {timeline.describe()}; one after another they would end at t={SUM:.1f} s",
        SEQUENTIAL_HELP,
        timeline=timeline.spans(),
        source=timeline.first_call_site(),
    )


@check("concurrent_results")
def check_concurrent_results(exercise: Subject) -> None:
    run = Run(exercise, "run_concurrently")
    run.expect_every_job_ran_once()
    run.expect_results_in_job_order("results in job order")


@check("concurrent_timing")
def check_concurrent_timing(exercise: Subject) -> None:
    run = Run(exercise, "run_concurrently")
    run.expect_every_job_ran_once()
    expect_no_blocking(run.blocking)
    timeline = run.timeline
    spans = timeline.spans()
    if timeline.sequential():
        raise Failure(
            f"your {len(spans)} jobs finished at t={timeline.end():.1f} s, one after another "
            f"({timeline.describe()}); started together they would end at t={LONGEST:.1f} s",
            AWAIT_IN_LOOP_HELP,
            timeline=spans,
            source=timeline.first_call_site(),
        )
    expect(
        timeline.overlapping() and timeline.end() == LONGEST and all(s.start == 0 for s in spans),
        f"your jobs ran {timeline.describe()}; all started at t=0 they would end at t={LONGEST:.1f} s",
        AWAIT_IN_LOOP_HELP,
        timeline=spans,
        source=timeline.first_call_site(),
    )
    expect(
        run.returned_at == LONGEST,
        f"run_concurrently returned at t={run.returned_at:.1f} s; it should return when the last job ends, "
        f"at t={LONGEST:.1f} s",
        RETURNED_EARLY_HELP,
        timeline=spans,
    )


@check("concurrent_tasks")
def check_concurrent_tasks(exercise: Subject) -> None:
    run = Run(exercise, "run_concurrently")
    run.expect_every_job_ran_once()
    in_caller = run.timeline.in_caller
    expect(not in_caller, f"jobs {in_caller} ran inside the caller's own task, not as tasks", NO_TASKS_HELP)
