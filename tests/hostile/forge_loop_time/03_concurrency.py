"""Hostile: runs the jobs one after another, but shifts the loop's clock back before each one.

Every job then seems to start at t=0 and end at its own delay: the timeline of a
concurrent run, from code that is sequential.
"""
import asyncio


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    loop = asyncio.get_running_loop()
    cls = type(loop)
    real_time = cls.time
    start = real_time(loop)
    results = []
    try:
        for name, delay in jobs:
            shift = real_time(loop) - start
            cls.time = lambda self, _shift=shift: real_time(self) - _shift
            results.append(await asyncio.create_task(worker(name, delay)))
    finally:
        cls.time = real_time
    return results
