"""Hostile: right answers, but run_sequentially blocks the event loop in select.select between jobs."""
import asyncio
import select


async def run_sequentially(worker, jobs):
    results = []
    for name, delay in jobs:
        select.select([], [], [], 0 if results else 0.7)  # once per call: enough to be seen
        results.append(await worker(name, delay))
    return results


async def run_concurrently(worker, jobs):
    return list(await asyncio.gather(*(worker(name, delay) for name, delay in jobs)))
