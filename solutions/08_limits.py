"""Exercise 08 — limits: at most N jobs at a time with asyncio.Semaphore (reference solution)."""

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
    """Run `worker(name, delay)` for every job, `limit` at a time."""
    # One semaphore for the whole call: every job waits on the same `limit` slots.
    slots = asyncio.Semaphore(limit)

    async def one(name: str, delay: float) -> str:
        # Held for as long as the job runs; given back however it ends.
        async with slots:
            return await worker(name, delay)

    # Every job is started at once; the semaphore lets `limit` of them run, and the next
    # waiting one goes in the moment a slot is given back. gather keeps the order of jobs.
    return list(await asyncio.gather(*(one(name, delay) for name, delay in jobs)))


async def fetch_all(urls: list[str], fetch: Fetch, limit: int) -> list[str | Exception]:
    """Fetch every url with `await fetch(url)`, `limit` at a time, even when fetches fail."""
    # Bounded: a release() too many raises ValueError instead of adding a slot.
    slots = asyncio.BoundedSemaphore(limit)

    async def one(url: str) -> str:
        # What `async with slots:` does, written out: the finally gives the slot back
        # when the fetch returns AND when it raises.
        await slots.acquire()
        try:
            return await fetch(url)
        finally:
            slots.release()

    # return_exceptions=True: a failed fetch's exception takes its place in the list,
    # and the other fetches go on.
    return list(await asyncio.gather(*(one(url) for url in urls), return_exceptions=True))


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
