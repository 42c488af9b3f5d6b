"""Hidden checks for 03_concurrency: the injected worker records when each job ran."""

from __future__ import annotations

import asyncio
from types import ModuleType

from grader.checking import Failure, Mismatch, Timeline, check, expect, require, within

JOBS = [("A", 3.0), ("B", 1.0), ("C", 2.0)]
NAMES = [name for name, _ in JOBS]
EXPECTED = [f"{name} done" for name in NAMES]
SUM, LONGEST = sum(d for _, d in JOBS), max(d for _, d in JOBS)

NEVER_CALLED_HELP = "Call the `worker` you are given for every job; don't build the results yourself."
RESULT_ORDER_HELP = (
    "asyncio.gather returns results in the order of its arguments: collect them from gather, "
    "not in the order the jobs finish."
)
SEQUENTIAL_HELP = "Inside the for loop, `await worker(name, delay)` so each job finishes before the next begins."
AWAIT_IN_LOOP_HELP = (
    "Did you await each task before creating the next? Create all the tasks first, "
    "then await them together with asyncio.gather."
)
NO_TASKS_HELP = "Wrap each worker call in asyncio.create_task(...) (or pass them to gather) so each job runs as a task."


async def run(exercise: ModuleType, name: str, timeline: Timeline) -> list[str]:
    timeline.begin()
    function = getattr(exercise, name)
    result = await within(function(timeline.worker, list(JOBS)), SUM * 10, f"{name}()")
    return list(result) if isinstance(result, (list, tuple)) else result


def expect_every_job_ran_once(timeline: Timeline) -> None:
    expect(bool(timeline.calls), "the worker was never called: no job ran", NEVER_CALLED_HELP)
    expect(
        sorted(timeline.calls) == sorted(NAMES),
        f"the worker ran for jobs {timeline.calls}; expected each of {NAMES} exactly once",
        NEVER_CALLED_HELP,
    )


@check("loads")
def check_loads(exercise: ModuleType) -> None:
    require(exercise, "run_sequentially", "coroutine function")
    require(exercise, "run_concurrently", "coroutine function")


@check("sequential_results")
async def check_sequential_results(exercise: ModuleType, timeline: Timeline) -> None:
    results = await run(exercise, "run_sequentially", timeline)
    expect_every_job_ran_once(timeline)
    if results != EXPECTED:
        raise Mismatch(EXPECTED, results, "Append each worker's result as you go and return the list.")


@check("sequential_timing")
async def check_sequential_timing(exercise: ModuleType, timeline: Timeline) -> None:
    await run(exercise, "run_sequentially", timeline)
    expect_every_job_ran_once(timeline)
    expect(
        timeline.sequential() and timeline.end() == SUM,
        f"your jobs ran {timeline.describe()}; one after another they would end at t={SUM:.1f} s",
        SEQUENTIAL_HELP,
        timeline=timeline.spans(),
    )


@check("concurrent_results")
async def check_concurrent_results(exercise: ModuleType, timeline: Timeline) -> None:
    results = await run(exercise, "run_concurrently", timeline)
    expect_every_job_ran_once(timeline)
    if results != EXPECTED:
        finished = sorted(timeline.finished, key=timeline.finished.__getitem__)
        help = RESULT_ORDER_HELP if results == [f"{n} done" for n in finished] else ""
        raise Mismatch(EXPECTED, results, help, what="results in job order")


@check("concurrent_timing")
async def check_concurrent_timing(exercise: ModuleType, timeline: Timeline) -> None:
    await run(exercise, "run_concurrently", timeline)
    expect_every_job_ran_once(timeline)
    spans = timeline.spans()
    if timeline.sequential():
        raise Failure(
            f"your {len(spans)} jobs finished at t={timeline.end():.1f} s, one after another "
            f"({timeline.describe()}); started together they would end at t={LONGEST:.1f} s",
            AWAIT_IN_LOOP_HELP,
            timeline=spans,
        )
    expect(
        timeline.overlapping() and timeline.end() == LONGEST and all(s.start == 0 for s in spans),
        f"your jobs ran {timeline.describe()}; all started at t=0 they would end at t={LONGEST:.1f} s",
        AWAIT_IN_LOOP_HELP,
        timeline=spans,
    )


@check("concurrent_tasks")
async def check_concurrent_tasks(exercise: ModuleType, timeline: Timeline) -> None:
    caller = asyncio.current_task()
    await run(exercise, "run_concurrently", timeline)
    expect_every_job_ran_once(timeline)
    in_caller = [name for name, task in timeline.tasks.items() if task is caller]
    expect(not in_caller, f"jobs {in_caller} ran inside the caller's own task, not as tasks", NO_TASKS_HELP)
