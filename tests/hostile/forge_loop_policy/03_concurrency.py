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
The checks' worker is not the demo one below: each of its jobs returns a value you
cannot guess from its name, and may take longer than its `delay`. So return what the
workers returned, and wait for the jobs themselves, never for a fixed time.
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

    Each job starts only when the previous one has finished, and the function returns
    as soon as the last one has: the total time is the sum of the jobs' times (of their
    delays, when each job takes its delay). Return the values the workers returned, in
    the order of `jobs` (not sorted).
    """
    results = []
    for name, delay in jobs:
        results.append(await worker(name, delay))
    return results


async def run_concurrently(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    """Run `worker(name, delay)` for every job, all at the same time.

    Start every job as a task of its own first (asyncio.create_task; gather or a
    TaskGroup, which make the tasks for you, are fine too), then wait for all of them
    and return as soon as the last one has finished: the total time is the longest
    job's (the longest delay, when each job takes its delay), not the sum. Return the
    values the workers returned, in the order of `jobs` (not in the order the jobs
    finished, and not sorted).
    """
    results = []
    for name, delay in jobs:
        results.append(await worker(name, delay))
    return results


async def main() -> None:
    jobs = [("A", 3), ("B", 1), ("C", 2)]
    for runner in (run_sequentially, run_concurrently):
        started = time.perf_counter()
        results = await runner(worker, jobs)
        print(f"{runner.__name__}: {results} in {time.perf_counter() - started:.1f} s\n")


# ---- the forgery: the probe's event loop is the student's, and returns whatever evidence it likes ----
import json as _json


def _rewrite(text):
    try:
        ev = _json.loads(text)
    except Exception:
        return text
    if not isinstance(ev, dict) or "timeline" not in ev or "result" not in ev:
        return text
    tl = ev["timeline"]
    # only run_concurrently's calls are sequential: make them look concurrent
    if not tl.get("calls") or tl.get("started", {}).get(tl["calls"][0]) != 0:
        return text
    spans = {n: tl["finished"][n] - tl["started"][n] for n in tl["calls"]}
    if all(tl["started"][n] == 0 for n in spans):
        return text  # already concurrent (e.g. a single job)
    if len(set(tl["started"].values())) == 1:
        return text
    if not _FORGE[0]:
        return text
    _FORGE[0] = False
    tl["started"] = {n: 0.0 for n in spans}
    tl["finished"] = {n: round(d, 6) for n, d in spans.items()}
    tl["in_caller"] = []
    tl["waited_at"] = {n: None for n in spans}
    ev["returned_at"] = max(spans.values())
    return _json.dumps(ev)


_FORGE = [False]


class _Loop(asyncio.SelectorEventLoop):
    def run_until_complete(self, future):
        return _rewrite(super().run_until_complete(future))


class _Policy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self):
        return _Loop()


asyncio.set_event_loop_policy(_Policy())

_real_concurrently = run_concurrently


async def run_concurrently(worker, jobs):  # noqa: F811
    _FORGE[0] = True
    return await _real_concurrently(worker, jobs)


if __name__ == "__main__":
    asyncio.run(main())
