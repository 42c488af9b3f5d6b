"""Exercise 07 — task groups: cancel the rest, report every error, leave nothing running.

Jobs that run at once can fail. When one does, three things should hold: the other
jobs are cancelled (their results are no longer wanted), EVERY error is reported (two
jobs can fail at the same moment), and no task is still running once your function
has returned or raised.

`asyncio.TaskGroup` does all three for you:

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(worker(name, delay)) for name, delay in jobs]
    # here every task has finished: leaving the `async with` waited for them all
    results = [task.result() for task in tasks]

When a task of the group fails, the group cancels the others, waits until every one
of them has finished, and raises an `ExceptionGroup`: one exception holding the
exception of each task that failed, in `group.exceptions`. To handle some of them,
`except* ValueError as bad:` catches the ValueErrors of the group (`bad.exceptions`
is each one of them) and lets the others go on up, in an ExceptionGroup of their own.
A plain `except ValueError:` never matches an ExceptionGroup; and `return`, `break` and
`continue` are not allowed inside an `except*` block (return after the `try` statement).

Sometimes you want the opposite: every job runs to its end whatever the others do,
and the failures are collected. `await asyncio.gather(*coroutines, return_exceptions=True)`
gives each job's result, or its exception, in the order of the jobs.

The usual mistakes, each of which the checks catch: `await asyncio.gather(*coroutines)`
without return_exceptions raises the first error only, and leaves the other jobs
running, with nothing to cancel them; tasks awaited one by one notice a failure only
when its turn comes; `asyncio.wait(tasks, return_when=FIRST_EXCEPTION)` returns with the
rest still pending; `task.cancel()` only *asks* a task to stop (it is still running
until it has been awaited); and `except ExceptionGroup as group:` followed by
`group.exceptions[0]` reports the first error and loses the others.

Python versions: TaskGroup, ExceptionGroup and `except*` are new in Python 3.11 (on
3.10 there is only gather). Everything this exercise uses works the same from 3.11 to
3.14. 3.13 made a TaskGroup keep a cancellation that comes from outside it (an
`asyncio.timeout` around the group) when a task of the group fails at the same moment;
3.11 and 3.12 could lose it. There is no `TaskGroup.cancel()` up to 3.14: a group stops
early when one of its tasks raises.

Docs: https://docs.python.org/3/library/asyncio-task.html#task-groups
      https://docs.python.org/3/library/asyncio-task.html#asyncio.gather
      https://docs.python.org/3/library/exceptions.html#exception-groups
      https://docs.python.org/3/tutorial/errors.html#raising-and-handling-multiple-unrelated-exceptions

Your task: fill in the three functions marked TODO. Don't change their names or
signatures: the checks call them with a worker of their own, whose jobs return values
you cannot guess, fail with exceptions of their own, and record when each job ran, was
cancelled, and whether it was still running when your function returned or raised.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]


async def fetch(name: str, delay: float) -> str:
    """A demo job: waits `delay` seconds, then fails if its name says so, else returns '<name> done'."""
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        print(f"  {name}: cancelled")
        raise
    if name.startswith("bad"):
        raise ValueError(f"{name}: bad input")
    if name.startswith("offline"):
        raise ConnectionError(f"{name}: server unreachable")
    return f"{name} done"


async def run_all(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(worker(name, delay)) for name, delay in jobs]
    return [task.result() for task in tasks]


async def collect_errors(worker: Worker, jobs: list[tuple[str, float]]) -> tuple[list[str], list[BaseException]]:
    outcomes = await asyncio.gather(*(worker(name, delay) for name, delay in jobs), return_exceptions=True)
    results = [o for o in outcomes if not isinstance(o, BaseException)]
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    return results, errors


async def handle_errors(run: Callable[[], Awaitable[list[str]]], report: Callable[[Exception], None]) -> list[str] | None:
    try:
        return await run()
    except ExceptionGroup as group:
        for error in group.exceptions:
            if isinstance(error, ValueError):
                report(error)
        if any(not isinstance(error, ValueError) for error in group.exceptions):
            raise  # a real bug in there: let the group go on up
        return None


async def main() -> None:
    started = time.perf_counter()

    def elapsed() -> str:
        return f"{time.perf_counter() - started:.1f} s"

    print("run_all, every job succeeds (expect 1.5 s):")
    print(f"  {await run_all(fetch, [('a', 1.0), ('b', 0.5), ('c', 1.5)])} after {elapsed()}")

    started = time.perf_counter()
    print("run_all, 'bad-b' fails after 0.5 s (expect a and c cancelled, after 0.5 s):")
    try:
        await run_all(fetch, [("a", 1.0), ("bad-b", 0.5), ("c", 1.5)])
    except* ValueError as group:
        print(f"  raised {group.exceptions!r} after {elapsed()}")

    started = time.perf_counter()
    print("collect_errors, two jobs fail (expect both errors, after 1.5 s):")
    results, errors = await collect_errors(fetch, [("a", 1.0), ("bad-b", 0.5), ("c", 1.5), ("offline-d", 0.5)])
    print(f"  results {results}, errors {errors!r} after {elapsed()}")

    print("handle_errors, two bad inputs and one server down (expect two reports, then the ConnectionError):")
    try:
        await handle_errors(
            lambda: run_all(fetch, [("bad-a", 0.5), ("offline-b", 0.5), ("bad-c", 0.5), ("d", 1.0)]),
            lambda error: print(f"  reported: {error!r}"),
        )
    except* ConnectionError as group:
        print(f"  and {group.exceptions!r} went on up")

    still_running = asyncio.all_tasks() - {asyncio.current_task()}
    print(f"tasks still running at the end: {len(still_running)} (expect 0)")


if __name__ == "__main__":
    asyncio.run(main())
