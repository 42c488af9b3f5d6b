import asyncio
import time
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]


async def worker(name: str, delay: float) -> str:
    print(f"{name}: started")
    await asyncio.sleep(delay)
    print(f"{name}: finished after {delay} s")
    return f"{name} done"

async def run_sequentially(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    results = []
    for name, delay in jobs:
        results.append(await worker(name, delay))
    return results


async def run_concurrently(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
    while not all(task.done() for task in tasks):
        await asyncio.sleep(0.5)
    return [task.result() for task in tasks]


async def main() -> None:
    jobs = [("A", 3), ("B", 1), ("C", 2)]
    for runner in (run_sequentially, run_concurrently):
        started = time.perf_counter()
        results = await runner(worker, jobs)
        print(f"{runner.__name__}: {results} in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())

