import asyncio
import time
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]


async def fetch_data(name: str, delay: float) -> str:
    await asyncio.sleep(delay)
    return f"{name} done"


async def poll_task(worker: Worker, name: str, delay: float, interval: float) -> tuple[int, str]:
    task = asyncio.create_task(worker(name, delay))
    not_done = 0
    while not task.done():
        not_done += 1
        await asyncio.sleep(interval)
    return not_done, task.result()


async def run_with_callback(worker: Worker, jobs: list[tuple[str, float]], on_done: Callable[[str], None]) -> None:
    tasks = []
    for name, delay in jobs:
        task = asyncio.create_task(worker(name, delay))
        task.add_done_callback(lambda _: on_done(task.result()))
        tasks.append(task)
    await asyncio.gather(*tasks)


async def in_completion_order(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
    results = []
    for next_done in asyncio.as_completed(tasks):
        results.append(await next_done)
    return results



async def main() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    def elapsed() -> str:
        return f"[t={loop.time() - started:.1f} s]"

    not_done, result = await poll_task(fetch_data, "Poll", 2.5, 1)
    print(f"{elapsed()} poll_task: {not_done} {result!r}")
    jobs = [("A", 3), ("B", 1), ("C", 2)]
    started = loop.time()
    await run_with_callback(fetch_data, jobs, lambda result: print(f"{elapsed()} callback got {result!r}"))
    started = loop.time()
    results = await in_completion_order(fetch_data, jobs)
    print(f"{elapsed()} in_completion_order: {results}")


if __name__ == "__main__":
    asyncio.run(main())

