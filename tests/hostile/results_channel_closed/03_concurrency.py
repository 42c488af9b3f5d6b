"""Hostile: a right solution that closes every file descriptor above stderr when imported,
the result pipe among them, so the checks' results cannot be sent."""
import asyncio
import os

os.closerange(3, 1024)


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    return list(await asyncio.gather(*(asyncio.create_task(worker(name, delay)) for name, delay in jobs)))
