"""Exercise 03 — sequential vs concurrent: create_task and gather.

`await coro` runs one coroutine to the end before the next line runs, so awaiting
jobs one by one takes the *sum* of their delays. `asyncio.create_task(coro)` starts a
coroutine right away as a Task, and `await asyncio.gather(*tasks)` waits for all of
them: the jobs wait *together*, so the total is the *longest* delay. `gather`
returns the results in the order you passed the tasks in, not the order they finished.

Docs: https://docs.python.org/3/library/asyncio-task.html#creating-tasks
      https://docs.python.org/3/library/asyncio-task.html#asyncio.gather

Your task: fill in the two functions marked TODO. Don't change their names or
signatures: the checks call them with their own worker and watch when each job runs.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]


async def worker(name: str, delay: float) -> str:
    """A demo job: waits `delay` seconds without blocking, then returns '<name> done'."""
    print(f"{name}: started")
    await asyncio.sleep(delay)
    print(f"{name}: finished after {delay} s")
    return f"{name} done"


async def run_sequentially(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    """Run `worker(name, delay)` for every job, one after another.

    Each job starts only when the previous one has finished, so the total time is the
    sum of the delays. Return the workers' results in the order of `jobs`.
    """
    # TODO: for each (name, delay) in jobs, await worker(name, delay) and keep its result.
    raise NotImplementedError("TODO: run the jobs one after another")


async def run_concurrently(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    """Run `worker(name, delay)` for every job, all at the same time.

    Start every job as a task first, then wait for all of them, so the total time is
    the longest delay, not the sum. Return the results in the order of `jobs`
    (not in the order the jobs finished).
    """
    # TODO: create one task per job with asyncio.create_task(...), then gather them.
    raise NotImplementedError("TODO: start all the jobs, then wait for them together")


async def main() -> None:
    jobs = [("A", 3), ("B", 1), ("C", 2)]
    for runner in (run_sequentially, run_concurrently):
        started = time.perf_counter()
        results = await runner(worker, jobs)
        print(f"{runner.__name__}: {results} in {time.perf_counter() - started:.1f} s\n")


if __name__ == "__main__":
    asyncio.run(main())
