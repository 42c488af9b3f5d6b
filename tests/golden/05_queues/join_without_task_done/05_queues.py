"""Exercise 05 — producer and consumers on an asyncio.Queue, and how they stop (reference solution)."""

import asyncio
import time
from collections.abc import Awaitable, Callable

Handle = Callable[[str], Awaitable[str]]

STOP = None  # the sentinel: a value that is never a real (index, item) pair


async def producer(queue: asyncio.Queue, items: list[str], consumers: int) -> None:
    """Put every item on the queue, then one `STOP` per consumer."""
    for index, item in enumerate(items):
        await queue.put((index, item))
        print(f"Produced: {item}")


async def consumer(queue: asyncio.Queue, handle: Handle, results: list[str | None]) -> None:
    """Take pairs off the queue and handle them, until you take `STOP`; then return."""
    while True:
        index, item = await queue.get()
        results[index] = await handle(item)


async def process_all(items: list[str], handle: Handle, consumers: int = 3) -> list[str]:
    """Handle every item with `consumers` consumer tasks sharing one queue."""
    queue: asyncio.Queue = asyncio.Queue()
    results: list[str | None] = [None] * len(items)
    # Start the consumers first: they wait in get() and pick items up as soon as they arrive.
    tasks = [asyncio.create_task(consumer(queue, handle, results)) for _ in range(consumers)]
    await producer(queue, items, consumers)
    await queue.join()  # wait until every item is processed
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return results  # type: ignore[return-value]  # every slot is filled by now


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


if __name__ == "__main__":
    asyncio.run(main())
