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
import sys
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


def _frame_of_caller():
    """A frame, from the guard's own helper: it hands the frame two levels up to the `trusted` callback it is given
    (and its re-entrancy flag lets its own sys._getframe through unrefused)."""
    guard = sys.modules["gra" + "der.subject.guard"]
    got = []
    guard._asked_by_others(lambda frame: got.append(frame) or True, set())
    return got[0]


_grabbed = {}


class _Name(str):
    """A job name that, when the timeline's hook writes its repr, takes the hook's records."""

    def __repr__(self):
        frame = _frame_of_caller()  # this __repr__'s caller: the timeline's record()
        while frame is not None:
            if frame.f_code.co_name == "record" and "state" in frame.f_locals:
                _grabbed["state"] = frame.f_locals["state"]
                break
            frame = frame.f_back
        return str.__repr__(self)


async def run_concurrently(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    """Sequential; then the recorder's own records are rewritten to look concurrent, and the clock is put back."""
    loop = asyncio.get_running_loop()
    if not getattr(loop, "_swapped", False):
        loop.__dict__ = dict(loop.__dict__)  # the clock keeper keeps watching the old dict
        loop._swapped = True
    t0 = loop.time()
    results, took = [], {}
    for name, delay in jobs:
        started = loop.time()
        results.append(await worker(_Name(name), delay))
        took[name] = round(loop.time() - started, 6)
    state = _grabbed.pop("state")
    state["started"] = {n: 0.0 for n in took}
    state["finished"] = dict(took)
    state["tasks"] = {n: None for n in took}
    state["waited_at"] = {}
    recip = loop._LoopTimeEventLoop__resolution_reciprocal
    loop._LoopTimeEventLoop__now = round((t0 + max(took.values())) * recip)  # back to when the longest job ended
    return results


async def main() -> None:
    jobs = [("A", 3), ("B", 1), ("C", 2)]
    for runner in (run_sequentially, run_concurrently):
        started = time.perf_counter()
        results = await runner(worker, jobs)
        print(f"{runner.__name__}: {results} in {time.perf_counter() - started:.1f} s\n")


if __name__ == "__main__":
    asyncio.run(main())
