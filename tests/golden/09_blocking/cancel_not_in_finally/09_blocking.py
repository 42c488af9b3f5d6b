"""Exercise 09 — blocking code without freezing the loop: asyncio.to_thread and run_in_executor."""

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def run_blocking(func: Callable[..., T], *args: Any) -> T:
    """Run the blocking call `func(*args)` in a worker thread and return its result."""
    return await asyncio.to_thread(func, *args)


async def run_with_heartbeat(func: Callable[[], T], beat: Callable[[], None], interval: float) -> T:
    """Run `func()` in a worker thread while calling `beat()` on the event loop every `interval` seconds."""

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(interval)
            beat()

    pulse = asyncio.create_task(heartbeat())
    result = await asyncio.to_thread(func)
    pulse.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await pulse
    return result


async def hash_files(paths: list[str], hasher: Callable[[str], str], limit: int) -> dict[str, str]:
    """Hash every path with `hasher(path)` in worker threads, at most `limit` at a time."""
    places = asyncio.Semaphore(limit)

    async def hash_one(path: str) -> str:
        async with places:
            return await asyncio.to_thread(hasher, path)

    digests = await asyncio.gather(*(hash_one(path) for path in paths))
    return dict(zip(paths, digests))


def slow_answer() -> int:
    time.sleep(1)
    return 42


async def main() -> None:
    print(await run_blocking(pow, 2, 10))
    print(await run_with_heartbeat(slow_answer, lambda: print("beat"), 0.3))


if __name__ == "__main__":
    asyncio.run(main())
