"""Hostile: jobs run one by one, and the loop's virtual clock is set back after each, so every job seems to start at 0."""
import asyncio


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    loop = asyncio.get_running_loop()
    results = []
    for name, delay in jobs:
        results.append(await worker(name, delay))
        for attribute in vars(loop):
            if attribute.endswith("__now"):
                setattr(loop, attribute, 0)
    return results
