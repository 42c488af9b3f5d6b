"""Hostile: replaces asyncio.sleep with one that never waits, so no job takes any time."""
import asyncio
import asyncio.tasks


async def _no_wait(delay, result=None):
    return result


asyncio.sleep = _no_wait
asyncio.tasks.sleep = _no_wait


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    """Wrong on purpose: each task is awaited before the next one is created."""
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
