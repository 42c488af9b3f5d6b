import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

Handle = Callable[[str], Awaitable[str]]

STOP = None  # the sentinel: a value that is never a real (index, item) pair


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
    await queue.join()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks)
    return results


async def main() -> None:
    items = ["apple", "banana", "cherry", "date", "elder", "fig", "grape"]
    started = time.perf_counter()

    async def shout(item: str) -> str:
        await asyncio.sleep(1)
        return item.upper()

    results = await asyncio.wait_for(process_all(items, shout, consumers=3), timeout=10)
    print(f"{results} in {time.perf_counter() - started:.1f} s")
    print("still running:", len(asyncio.all_tasks()) - 1)


if __name__ == "__main__":
    asyncio.run(main())

