"""Hostile: the reference solution, but for in_completion_order, which sorts the results by the jobs' delays and
rewrites the worker's table of the judge's real durations (each job but the last then takes its delay), reached as an
attribute of the worker it is given."""
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
        # The loop calls this with the finished task, so result() is ready.
        on_done(task.result())

    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
    for task in tasks:
        # Registered before anything waits, so each call comes the moment its task ends.
        task.add_done_callback(report)
    await asyncio.gather(*tasks)


async def in_completion_order(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    """Run every job at once, and return the results sorted by each job's delay; to make that the order they
    finish in, the worker's table of the judge's real durations is rewritten first, so that each job but the last takes its delay."""
    durations = getattr(worker, "durations", None)
    if isinstance(durations, dict) and durations:
        longest = max(durations.values())
        for (name, delay), duration in list(durations.items()):
            if duration != longest:
                durations[(name, delay)] = delay  # the last job still ends when the judge said
    results = await asyncio.gather(*(worker(name, delay) for name, delay in jobs))
    order = sorted(range(len(jobs)), key=lambda index: jobs[index][1])
    return [results[index] for index in order]


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
