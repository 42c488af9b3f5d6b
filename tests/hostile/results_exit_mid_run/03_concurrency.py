"""Hostile: a right solution that ends its own process with exit code 0 during the third check.

The first checks have already reported "passed"; the rest never report at all.
"""
import asyncio
import os

_calls = 0


async def run_sequentially(worker, jobs):
    global _calls
    _calls += 1
    if _calls == 2:  # sequential_results, then sequential_timing: the third check
        os._exit(0)
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    return list(await asyncio.gather(*(asyncio.create_task(worker(name, delay)) for name, delay in jobs)))
