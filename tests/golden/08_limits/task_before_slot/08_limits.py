"""Exercise 08 — limits: at most N jobs at a time with asyncio.Semaphore.

Starting every job at once (exercise 03) is not always wise: a server hit by 500
requests at the same moment may refuse them, and a program may only open so many
files. The usual rule is "at most N at a time": start N jobs, and each time one ends,
start the next, so that N are in flight for as long as work is waiting.

`asyncio.Semaphore(n)` is a counter of free slots. `await sem.acquire()` takes one, and
waits while none is free; `sem.release()` gives it back and wakes the task that has
waited longest (first come, first served). `async with sem:` does both: it takes a slot
on the way in and gives it back on the way out, however the block ends (a return, an
exception, a cancellation). The pattern:

    sem = asyncio.Semaphore(limit)           # ONE semaphore, shared by every job

    async def one(name, delay):
        async with sem:                      # waits here while `limit` jobs hold a slot
            return await worker(name, delay)

    results = await asyncio.gather(*(one(name, delay) for name, delay in jobs))

Every job is started at once, as a task; the semaphore lets only `limit` of them past
`async with` at a time, and a waiting job goes in the moment a slot is given back.
(`limit` worker tasks taking jobs off an asyncio.Queue, as in exercise 05, is the other
right way.)

The common mistakes:

* a semaphore made inside each job: every job gets one of its own, so none ever waits:
  no limit at all;
* `async with sem:` in the caller's for loop, around `await worker(...)`: the loop waits
  for each job before it starts the next, so they run one at a time, whatever the limit;
* `await sem.acquire()` with `sem.release()` on the line after the job, not in a
  `finally:`: a job that raises keeps its slot for ever, and after `limit` such errors
  every other job waits for a slot that never comes back: a deadlock;
* gather in batches of `limit` jobs: never more than `limit` at once, but each batch
  waits for its slowest job while the other slots sit free;
* `Semaphore(limit - 1)` or `Semaphore(limit + 1)`: the count is the number of slots.

`asyncio.BoundedSemaphore(n)` is a Semaphore that refuses to count above n: release()
raises ValueError when all n slots are free already. A slot given back twice (in an
`except:` and again in a `finally:`) then ends in an error instead of quietly letting
one job too many run; not always at the release that was one too many (while jobs wait,
the extra slot goes to one of them at once), but at the latest once the jobs run out.

Python versions: what this exercise uses (`async with`, acquire(), release(), waiters
served first come first served, BoundedSemaphore's ValueError) behaves the same from 3.11
to 3.14. One older change still trips people up: since 3.10 a semaphore takes no `loop`
argument and attaches to the event loop that first makes a task wait on it. Make it
inside the coroutine that uses it (one per call of run_limited), not at import time: a
module-level semaphore that made a task wait under one `asyncio.run(...)` raises
RuntimeError ("is bound to a different event loop") under the next.

Docs: https://docs.python.org/3/library/asyncio-sync.html#asyncio.Semaphore
      https://docs.python.org/3/library/asyncio-sync.html#asyncio.BoundedSemaphore
      https://docs.python.org/3/library/asyncio-task.html#asyncio.gather

Your task: fill in the two functions marked TODO. Don't change their names or
signatures: the checks call them with their own worker and fetch, and watch when each
job starts and ends. Their jobs take the time the checks choose and return values you
cannot guess, and some of their fetches raise.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]
Fetch = Callable[[str], Awaitable[str]]


async def worker(name: str, delay: float) -> str:
    """A demo job: waits `delay` seconds without blocking, then returns '<name> done'."""
    await asyncio.sleep(delay)
    return f"{name} done"


async def run_limited(worker: Worker, jobs: list[tuple[str, float]], limit: int) -> list[str]:
    sem = asyncio.Semaphore(limit)
    tasks = []
    for name, delay in jobs:
        task = asyncio.create_task(worker(name, delay))
        await sem.acquire()  # one slot per running task
        task.add_done_callback(lambda _: sem.release())
        tasks.append(task)
    return list(await asyncio.gather(*tasks))


async def fetch_all(urls: list[str], fetch: Fetch, limit: int) -> list[str | Exception]:
    sem = asyncio.Semaphore(limit)
    tasks = []
    for url in urls:
        task = asyncio.create_task(fetch(url))
        await sem.acquire()
        task.add_done_callback(lambda _: sem.release())
        tasks.append(task)
    return list(await asyncio.gather(*tasks, return_exceptions=True))


async def main() -> None:
    started = time.perf_counter()

    async def shown(name: str, delay: float) -> str:
        print(f"  t={time.perf_counter() - started:.1f} s  {name} starts")
        return await worker(name, delay)

    jobs = [(name, 1.0) for name in "ABCDEFG"]
    print("run_limited: 7 jobs of 1 s, 3 at a time: expect A B C at t=0, D E F at t=1, G at t=2, 3 s in all")
    results = await run_limited(shown, jobs, 3)
    print(f"{results} in {time.perf_counter() - started:.1f} s\n")

    async def fetch(url: str) -> str:
        print(f"  t={time.perf_counter() - started:.1f} s  fetching {url}")
        await asyncio.sleep(0.5)
        if url.endswith("/broken"):
            raise ConnectionError(f"{url}: connection reset")
        return f"<html of {url}>"

    urls = ["/a", "/broken", "/b", "/c", "/d"]
    print("fetch_all: 5 urls of 0.5 s, 2 at a time, /broken fails: expect 1.5 s in all, the error in the list")
    started = time.perf_counter()
    pages = await fetch_all(urls, fetch, 2)
    print(f"{pages} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
