import asyncio

import asynclings_missing_module  # noqa: F401


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    return await asyncio.gather(*(worker(name, delay) for name, delay in jobs))
