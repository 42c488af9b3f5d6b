"""Exercise 04 — monitoring tasks: done(), result(), done callbacks and as_completed.

A Task is a handle on a job that runs on its own. You can look at it without waiting:
`task.done()` says at once whether it has finished, and `task.result()` gives its
return value, but only once it is done (before that it raises InvalidStateError).
`task.add_done_callback(fn)` asks the event loop to call `fn(task)` the moment the
task finishes: you never call `fn` yourself. And
`for next_done in asyncio.as_completed(tasks): result = await next_done` hands you the
results in the order the jobs *finish*, not the order you started them in.

Docs: https://docs.python.org/3/library/asyncio-task.html#task-object
      https://docs.python.org/3/library/asyncio-task.html#asyncio.as_completed

Your task: fill in the three functions marked TODO. Don't change their names or
signatures: the checks call them with their own worker and watch when each job runs.
Like real network calls, the checks' jobs return values you cannot guess and need not
take exactly `delay` seconds: use what the tasks return, and observe when they finish
instead of working it out from the delays.
"""

import asyncio
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]


async def fetch_data(name: str, delay: float) -> str:
    """A demo job: waits `delay` seconds without blocking, then returns '<name> done'."""
    await asyncio.sleep(delay)
    return f"{name} done"


async def poll_task(worker: Worker, name: str, delay: float, interval: float) -> tuple[int, str]:
    """Start `worker(name, delay)` as a task and watch it with `task.done()` until it finishes.

    Check `task.done()` right after creating the task (it is not done yet: the task has
    not even started), and then again every `interval` seconds, sleeping with
    `await asyncio.sleep(interval)` in between so the task gets a chance to run.
    Once `task.done()` is True, read the task's return value with `task.result()`.

    Return `(not_done, result)`: how many times `task.done()` returned False, and the
    result. With delay=2.5 and interval=1 it is False at t=0, 1 and 2 s and True at
    t=3 s, so the answer is `(3, '<name> done')`. Count what done() really says: a job
    that takes longer than its delay is seen False more times.
    """
    task = asyncio.create_task(worker(name, delay))
    not_done = 0
    while not task.done():
        not_done += 1
        await asyncio.sleep(interval)
    return not_done, f"{name} done"


async def run_with_callback(worker: Worker, jobs: list[tuple[str, float]], on_done: Callable[[str], None]) -> None:
    """Run every job as a task and have the event loop report each result to `on_done`.

    For each (name, delay) in `jobs`, create a task for `worker(name, delay)` and
    register a done callback on it that calls `on_done(task.result())`. The loop calls
    a done callback with the finished *task* as its only argument, as soon as that task
    finishes: don't call the callback or `on_done` yourself. Start every task before
    waiting for any, so the jobs run at the same time, then wait for the tasks
    themselves and return the moment the last one finishes. With jobs
    [("A", 3), ("B", 1), ("C", 2)], on_done gets B's result at t=1 s, C's at t=2 s and
    A's at t=3 s, and the function returns at t=3 s.
    """
    def report(task):
        on_done(task.result())

    tasks = []
    for name, delay in jobs:
        task = asyncio.create_task(worker(name, delay))
        task.add_done_callback(report)
        tasks.append(task)
    await asyncio.gather(*tasks)


async def in_completion_order(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    """Run every job at the same time and return the results in the order they finish.

    Start all the jobs first, then collect them with
    `for next_done in asyncio.as_completed(tasks): result = await next_done`.
    With jobs [("A", 3), ("B", 1), ("C", 2)] all start at t=0, the function returns at
    t=3 s, the moment the last job finishes, and the answer is ['B done', 'C done', 'A done'].
    The order is the one the jobs really finish in: observe it, don't sort by delay.
    """
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
