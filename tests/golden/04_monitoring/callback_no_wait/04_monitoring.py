"""Exercise 04 — monitoring tasks: done(), result(), done callbacks and as_completed."""

import asyncio
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]


async def fetch_data(name: str, delay: float) -> str:
    """A demo job: waits `delay` seconds without blocking, then returns '<name> done'."""
    await asyncio.sleep(delay)
    return f"{name} done"


async def poll_task(worker: Worker, name: str, delay: float, interval: float) -> tuple[int, str]:
    """Start `worker(name, delay)` as a task and watch it with `task.done()` until it finishes."""
    task = asyncio.create_task(worker(name, delay))
    not_done = 0
    # done() only looks, it never waits: the first look is right after create_task,
    # before the task has even started.
    while not task.done():
        not_done += 1
        # Sleeping hands control back to the loop, which is what lets the task run.
        await asyncio.sleep(interval)
    # result() is safe only now: on a task that is not done it raises InvalidStateError.
    return not_done, task.result()


async def run_with_callback(worker: Worker, jobs: list[tuple[str, float]], on_done: Callable[[str], None]) -> None:
    """Run every job as a task and have the event loop report each result to `on_done`."""

    def report(task: asyncio.Task[str]) -> None:
        on_done(task.result())

    for name, delay in jobs:
        task = asyncio.create_task(worker(name, delay))
        task.add_done_callback(report)


async def in_completion_order(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    """Run every job at the same time and return the results in the order they finish."""
    # All tasks start now; as_completed then yields one awaitable per task,
    # and each one resolves to whichever task finishes next.
    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
    results = []
    for next_done in asyncio.as_completed(tasks):
        results.append(await next_done)
    return results


async def main() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    def elapsed() -> str:
        return f"[t={loop.time() - started:.1f} s]"

    not_done, result = await poll_task(fetch_data, "Poll", 2.5, 1)
    print(f"{elapsed()} poll_task: done() was False {not_done} times, then result() = {result!r}")

    jobs = [("A", 3), ("B", 1), ("C", 2)]
    started = loop.time()
    await run_with_callback(fetch_data, jobs, lambda result: print(f"{elapsed()} callback got {result!r}"))

    started = loop.time()
    results = await in_completion_order(fetch_data, jobs)
    print(f"{elapsed()} in_completion_order: {results}")


if __name__ == "__main__":
    asyncio.run(main())
