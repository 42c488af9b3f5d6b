"""Grader test: saved with Windows line endings (the test converts it to CRLF)."""
import asyncio


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    running = {name: asyncio.create_task(worker(name, delay)) for name, delay in jobs}
    await asyncio.wait(running.values())
    return [task.result() for task in running.values()]
