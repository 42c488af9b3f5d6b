"""Hostile: replaces asyncio.gather, everywhere it is reachable, with one that returns made-up results."""
import asyncio
import asyncio.tasks


async def _made_up(*awaitables, return_exceptions=False):
    for awaitable in awaitables:
        if hasattr(awaitable, "close"):
            awaitable.close()
    return [f"{name} done" for name in "ABC"]


asyncio.gather = _made_up
asyncio.tasks.gather = _made_up


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    """Wrong on purpose: each task is awaited before the next one is created."""
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
