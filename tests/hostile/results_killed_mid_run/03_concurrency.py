"""Hostile: a right solution that kills its own process (SIGKILL) the second time run_concurrently
runs, in the fifth check: four checks have reported "passed", the last two never report."""
import asyncio
import os
import signal

_runs = 0


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    global _runs
    _runs += 1
    if _runs == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
    return list(await asyncio.gather(*tasks))
