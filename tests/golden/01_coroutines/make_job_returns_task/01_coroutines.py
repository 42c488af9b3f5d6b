import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

Worker = Callable[[str, float], Coroutine[Any, Any, str]]

async def greet(name: str, delay: float) -> str:
    await asyncio.sleep(delay)
    return f"Hello, {name}!"


def make_job(worker: Worker, name: str, delay: float) -> Coroutine[Any, Any, str]:
    return asyncio.ensure_future(worker(name, delay))


def run_job(worker: Worker, name: str, delay: float) -> str:
    return asyncio.run(worker(name, delay))


if __name__ == "__main__":
    job = make_job(greet, "Ada", 2)
    print(asyncio.run(job))
    print(run_job(greet, "Grace", 1))

