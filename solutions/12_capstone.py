"""Exercise 12 — capstone: a bounded crawler that times out, cancels and shuts down cleanly (reference solution)."""

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
    """Fetch `start` and every page reachable from it, at most `limit` at a time.

    `await fetch(url)` returns the list of the page's links: URLs to fetch as they are.

    - Fetch every page reachable from `start` through the links of the pages fetched,
      each exactly once, however many times it is linked (cycles, duplicate links).
    - Never more than `limit` fetches in flight at once; and while pages wait to be
      fetched, `limit` of them: a free worker takes the next page at once (no sleep, no
      polling, no waiting for a whole batch to end).
    - Give each fetch at most `timeout` seconds, counted from its start (not from when
      the page was found): a slower fetch is cancelled, its page goes in `timed_out`, and
      the crawl goes on. A fetch that raises an exception: its page goes in `failed`, and
      the crawl goes on. Neither ends a worker.
    - Return a CrawlReport the moment the last fetch ends: `pages` maps every page
      fetched to the list fetch returned for it, as it is (not sorted, duplicates kept).
      When `crawl` returns, no task it started is still pending.
    - If `crawl` is cancelled (Ctrl-C), stop at once: start no more fetches, cancel the
      tasks you started (the fetches in flight with them) and await them, and let the
      CancelledError propagate: raise it, don't return a report. When it leaves `crawl`,
      no task it started is still pending.
    """
    report = CrawlReport()
    queue: asyncio.Queue[str] = asyncio.Queue()
    queue.put_nowait(start)
    seen = {start}  # every page ever queued: a page goes on the queue once

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
