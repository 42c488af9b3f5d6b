"""Exercise 06 — timeouts and cancellation: asyncio.timeout, wait_for, cancel() and finally."""

import asyncio
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]


async def worker(name: str, delay: float) -> str:
    """A demo job: waits `delay` seconds without blocking, then returns '<name> done'."""
    await asyncio.sleep(delay)
    return f"{name} done"


async def fetch_with_timeout(worker: Worker, name: str, delay: float, limit: float) -> str | None:
    """Run `worker(name, delay)` for at most `limit` seconds."""
    task = asyncio.create_task(worker(name, delay))
    done, _ = await asyncio.wait({task}, timeout=limit)
    if task in done:
        return task.result()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return None


async def run_with_cleanup(worker: Worker, name: str, delay: float, release: Callable[[], None]) -> str:
    """Run `worker(name, delay)` and call `release()` exactly once, the moment the job ends, however it ends."""
    try:
        return await worker(name, delay)
    except asyncio.CancelledError:
        print(f"{name}: cancelled, releasing")
        raise
    finally:
        release()


async def stop_after(task: asyncio.Task, seconds: float) -> None:
    """Let `task` run for `seconds`, then cancel it, and return once it has really ended."""
    try:
        async with asyncio.timeout(seconds):
            await task
    except TimeoutError:
        print("stopped after", seconds, "s")


async def main() -> None:
    print(await fetch_with_timeout(worker, "quick", 0.5, 1.0))
    print(await fetch_with_timeout(worker, "slow", 3.0, 1.0))
    task = asyncio.create_task(run_with_cleanup(worker, "guarded", 3.0, lambda: print("released")))
    await asyncio.sleep(0.5)
    task.cancel()
    await asyncio.wait([task])
    print("cancelled:", task.cancelled())
    background = asyncio.create_task(asyncio.sleep(60))
    await stop_after(background, 0.5)
    print("stopped:", background.done())


if __name__ == "__main__":
    asyncio.run(main())
