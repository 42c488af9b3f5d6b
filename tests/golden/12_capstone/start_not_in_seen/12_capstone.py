"""Exercise 12 — capstone: a bounded crawler that times out, cancels and shuts down cleanly.

A crawler fetches a page, reads its links, fetches those, and so on. This one puts the
whole day together:

* Each page once. Keep a `seen` set and mark a link as seen the moment you first meet
  it, in the same step as the check (`if link not in seen: seen.add(link); ...`). Code
  between two awaits runs without interruption, so check-and-mark is safe; put an
  `await` between the check and the mark (mark pages only once fetched) and two workers
  both find the page new and fetch it twice. Sites have cycles and duplicate links.
* At most `limit` fetches at once. Start `limit` worker tasks that take pages from one
  `asyncio.Queue` (or hold an `asyncio.Semaphore(limit)` around each fetch). A task per
  link with nothing bounding it runs every fetch at once.
* A timeout per page. `async with asyncio.timeout(timeout): links = await fetch(url)`
  (or `await asyncio.wait_for(fetch(url), timeout)`) *cancels* a fetch that takes too
  long and raises TimeoutError: note the page and go on with the next one. A fetch that
  raises is noted too; neither may end a worker. (`asyncio.wait(..., timeout=...)` only
  stops waiting: the slow fetch goes on running.)
* A clean end. Once every page is done (`await queue.join()`), the workers are parked
  in `queue.get()` for pages that will never come: cancel them, and await them
  (`await asyncio.gather(*workers, return_exceptions=True)`), since cancel() only asks.
* Ctrl-C. `asyncio.run` turns Ctrl-C into a cancellation of the main task: a
  CancelledError raised at the `await` where `crawl` waits. Do the clean-up in a
  `finally:` block, so it runs then too, and let the CancelledError go on: whoever
  cancelled `crawl` waits for it to end *cancelled*. Don't swallow it: since Python 3.8
  CancelledError is a BaseException, so `except Exception` lets it through, but a bare
  `except:` or `except BaseException:` catches it, and the worker carries on.

Python versions: `asyncio.timeout()` and `asyncio.TaskGroup` are new in 3.11; from 3.11
`asyncio.TimeoutError` is the built-in TimeoutError (before, wait_for raised a class of its
own). A TaskGroup cancels and awaits its tasks for you when the block is left, also when
it is left by a cancellation. `asyncio.Queue.shutdown()` (3.13+) is another way to end the
workers: once it is called, a get() on the empty queue raises `asyncio.QueueShutDown`; it
does not exist on 3.11 and 3.12. Python 3.14 can list the tasks of a running program from
outside (`python -m asyncio pstree PID`): handy to find a task that outlived its crawl.

Docs: https://docs.python.org/3/library/asyncio-queue.html
      https://docs.python.org/3/library/asyncio-sync.html#asyncio.Semaphore
      https://docs.python.org/3/library/asyncio-task.html#timeouts
      https://docs.python.org/3/library/asyncio-task.html#task-cancellation
      https://docs.python.org/3/library/asyncio-task.html#task-groups

Your task: write `crawl`. Don't change its name or signature, nor `CrawlReport`. The
checks hand it a `fetch` of their own, on a site you cannot guess: random page names,
cycles, duplicate links, pages slower than the timeout, a page whose fetch raises. They
watch every fetch (when it started and ended, how many were in flight) and every task
`crawl` starts, and they cancel `crawl` in the middle of a crawl, as Ctrl-C would.
"""

import asyncio
import dataclasses
import time
from collections.abc import Awaitable, Callable

Fetch = Callable[[str], Awaitable[list[str]]]


@dataclasses.dataclass
class CrawlReport:
    """What a crawl found: each page fetched with its links, and the pages that could not be."""

    pages: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # url -> the links fetch(url) returned
    timed_out: set[str] = dataclasses.field(default_factory=set)  # pages whose fetch took longer than the timeout
    failed: set[str] = dataclasses.field(default_factory=set)  # pages whose fetch raised an exception


async def crawl(start: str, fetch: Fetch, limit: int, timeout: float) -> CrawlReport:
    report = CrawlReport()
    queue: asyncio.Queue[str] = asyncio.Queue()
    queue.put_nowait(start)
    seen: set[str] = set()  # links already queued

    async def worker() -> None:
        while True:
            url = await queue.get()
            try:
                try:
                    # The timeout starts here, when the fetch does, and cancels the fetch when it runs out.
                    async with asyncio.timeout(timeout):
                        links = await fetch(url)
                except TimeoutError:  # before `except Exception`: a TimeoutError is an Exception too
                    report.timed_out.add(url)
                    continue
                except Exception:  # the page's own error; a CancelledError (a BaseException) goes on
                    report.failed.add(url)
                    continue
                report.pages[url] = links
                for link in links:
                    if link not in seen:  # check and mark in one step, with no await in between
                        seen.add(link)
                        queue.put_nowait(link)
            finally:
                queue.task_done()  # once per get(), whatever happened

    workers = [asyncio.create_task(worker()) for _ in range(limit)]
    try:
        # Ends when every page queued has been fetched: only then is the queue empty for good.
        await queue.join()
    finally:
        # Runs on the way out of a cancellation (Ctrl-C) too, and the CancelledError then goes on.
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return report


# A small site for the demo: url -> (seconds its fetch takes, its links; None: the fetch raises).
DEMO_SITE: dict[str, tuple[float, list[str] | None]] = {
    "/": (0.2, ["/docs", "/blog", "/shop", "/docs"]),
    "/docs": (0.3, ["/docs/api", "/", "/blog"]),
    "/blog": (0.2, ["/blog/1", "/blog/2", "/"]),
    "/shop": (5.0, ["/"]),  # slow: beyond the demo's timeout
    "/docs/api": (0.1, ["/docs"]),
    "/blog/1": (0.2, ["/blog/2", "/broken"]),
    "/blog/2": (0.1, []),
    "/broken": (0.1, None),
}


async def main() -> None:
    in_flight, most = 0, 0
    started = time.perf_counter()

    async def demo_fetch(url: str) -> list[str]:
        """Takes the page's time without blocking, then returns its links (or raises)."""
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        print(f"  t={time.perf_counter() - started:.1f} s  fetch {url} ({in_flight} in flight)")
        try:
            delay, links = DEMO_SITE[url]
            await asyncio.sleep(delay)
            if links is None:
                raise ConnectionError(f"connection reset by {url}")
            return list(links)
        finally:
            in_flight -= 1

    print("crawl('/', limit=3, timeout=1.0): /shop takes 5 s and should time out, /broken raises")
    report = await crawl("/", demo_fetch, limit=3, timeout=1.0)
    print(f"pages: {sorted(report.pages)}")
    print(f"timed out: {sorted(report.timed_out)} (expect ['/shop']); failed: {sorted(report.failed)} (expect ['/broken'])")
    print(f"at most {most} fetches at once (expect 3), {time.perf_counter() - started:.1f} s in all (expect about 1.2 s)")
    still_running = asyncio.all_tasks() - {asyncio.current_task()}
    print(f"tasks still running after crawl: {len(still_running)} (expect 0)\n")

    print("the same crawl, cancelled after 0.3 s, as Ctrl-C would:")
    started = time.perf_counter()
    task = asyncio.create_task(crawl("/", demo_fetch, limit=3, timeout=1.0))
    await asyncio.sleep(0.3)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        print("crawl ended with CancelledError, as it should")
    else:
        print("crawl returned normally: it swallowed the cancellation")
    still_running = asyncio.all_tasks() - {asyncio.current_task()}
    print(f"tasks still running after the cancelled crawl: {len(still_running)} (expect 0), fetches in flight: {in_flight}")


if __name__ == "__main__":
    asyncio.run(main())
