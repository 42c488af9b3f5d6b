"""Exercise 09 — blocking code without freezing the loop: asyncio.to_thread and run_in_executor."""

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
from concurrent.futures import ThreadPoolExecutor


async def run_blocking(func: Callable[..., T], *args: Any) -> T:
    """Run the blocking call `func(*args)` in a worker thread and return its result."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, func, *args)


async def run_with_heartbeat(func: Callable[[], T], beat: Callable[[], None], interval: float) -> T:
    """Run `func()` in a worker thread while calling `beat()` on the event loop every `interval` seconds."""
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(None, func)
    while True:
        done, _ = await asyncio.wait({work}, timeout=interval)
        if done:
            return work.result()
        beat()


async def hash_files(paths: list[str], hasher: Callable[[str], str], limit: int) -> dict[str, str]:
    """Hash every path with `hasher(path)` in worker threads, at most `limit` at a time."""
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=limit) as pool:
        digests = await asyncio.gather(*[loop.run_in_executor(pool, hasher, path) for path in paths])
    return dict(zip(paths, digests))


def slow_answer() -> int:
    time.sleep(1)
    return 42


async def main() -> None:
    print(await run_blocking(pow, 2, 10))
    print(await run_with_heartbeat(slow_answer, lambda: print("beat"), 0.3))


if __name__ == "__main__":
    asyncio.run(main())
