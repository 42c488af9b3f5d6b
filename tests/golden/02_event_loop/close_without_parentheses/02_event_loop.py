import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
Job = Callable[[], Coroutine[Any, Any, T]]


async def brew() -> str:
    print("brew: kettle on")
    await asyncio.sleep(1)
    return "tea is ready"


async def spill() -> str:
    await asyncio.sleep(0.5)
    raise ValueError("the cup fell over")


def run_with_asyncio_run(job: Job[T]) -> T:
    return asyncio.run(job())


def run_on_new_loop(job: Job[T]) -> T:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(job())
    finally:
        loop.close


async def measure_loop_time(job: Job[Any]) -> float:
    loop = asyncio.get_running_loop()
    start = loop.time()
    await job()
    return loop.time() - start



if __name__ == "__main__":
    print("run_with_asyncio_run:", run_with_asyncio_run(brew))
    print("run_on_new_loop:", run_on_new_loop(brew))
    try:
        run_on_new_loop(spill)
    except ValueError as error:
        print(f"run_on_new_loop let the job error through: {error!r}")
    seconds = asyncio.run(measure_loop_time(brew))
    print(f"measure_loop_time: brew took {seconds:.2f} s of loop time")

