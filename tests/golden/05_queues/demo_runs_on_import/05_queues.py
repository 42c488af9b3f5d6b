"""Exercise 05: producer and consumers on an asyncio.Queue."""

import asyncio
import time
from collections.abc import Awaitable, Callable

Handle = Callable[[str], Awaitable[str]]


async def producer(queue: asyncio.Queue, items: list[str], consumers: int) -> None:
    for index, item in enumerate(items):
        await queue.put((index, item))


async def consumer(queue: asyncio.Queue, handle: Handle, results: list[str | None]) -> None:
    while True:
        index, item = await queue.get()
        results[index] = await handle(item)
        queue.task_done()


async def process_all(items: list[str], handle: Handle, consumers: int = 3) -> list[str]:
    queue: asyncio.Queue = asyncio.Queue()
    results: list[str | None] = [None] * len(items)
    tasks = [asyncio.create_task(consumer(queue, handle, results)) for _ in range(consumers)]
    await producer(queue, items, consumers)
    await asyncio.gather(*tasks)
    return results


async def shout(item: str) -> str:
    """A demo handler: takes 1 s without blocking the loop, then returns the item in capitals."""
    print(f"  {item}: started")
    await asyncio.sleep(1)
    return item.upper()


async def main() -> None:
    items = ["apple", "banana", "cherry", "date", "elder", "fig", "grape"]
    started = time.perf_counter()
    results = await process_all(items, shout, consumers=3)
    print(f"{results} in {time.perf_counter() - started:.1f} s (7 items, 3 consumers: expect 3 s)")
    still_running = asyncio.all_tasks() - {asyncio.current_task()}
    print(f"tasks still running after process_all: {len(still_running)} (expect 0)")


asyncio.run(main())
