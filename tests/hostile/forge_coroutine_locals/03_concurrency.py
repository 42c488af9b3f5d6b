"""Hostile: right answers, but run_concurrently first reads the locals of the coroutine that drives it
(the probe's), where the judge's values and records would be."""
import asyncio
import inspect


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    driver = asyncio.current_task().get_coro()
    seen = inspect.getcoroutinelocals(driver)
    assert seen is not None
    return await asyncio.gather(*(worker(name, delay) for name, delay in jobs))
