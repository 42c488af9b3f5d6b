"""Exercise 03 — sequential vs concurrent: create_task and gather (reference solution)."""

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
    """Run `worker(name, delay)` for every job, one after another."""
    results = []
    for name, delay in jobs:
        # `await` suspends this function until the job is done: the next job waits.
        results.append(await worker(name, delay))
    return results


async def run_concurrently(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    """Run `worker(name, delay)` for every job, all at the same time."""
    # Creating every task *before* awaiting anything is what makes them overlap:
    # each task is scheduled at once and runs whenever the others are waiting.
    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
    # gather keeps the order of its arguments, whatever order the tasks finish in.
    results = []
    for next_done in asyncio.as_completed(tasks):
        results.append(await next_done)
    return results


async def main() -> None:
    jobs = [("A", 3), ("B", 1), ("C", 2)]
    for runner in (run_sequentially, run_concurrently):
        started = time.perf_counter()
        results = await runner(worker, jobs)
        print(f"{runner.__name__}: {results} in {time.perf_counter() - started:.1f} s\n")


if __name__ == "__main__":
    asyncio.run(main())
