"""Grader test: saved with a UTF-8 byte-order mark (the test adds it), as some Windows editors do."""
import asyncio


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for (name, delay) in jobs]


async def run_concurrently(worker, jobs):
    pending = [asyncio.create_task(worker(name, delay)) for (name, delay) in jobs]
    return list(await asyncio.gather(*pending))
