"""Hostile: a right solution that first tries to open the memory of the process that started
its checks (the grader's worker, kept for the next submission in a batch). Had it opened,
it could rewrite how the next student is checked; it must be refused, and then the code
is simply right."""
import asyncio
import os


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    try:
        fd = os.open(f"/proc/{os.getppid()}/mem", os.O_RDONLY)
    except OSError:
        pass
    else:
        os.close(fd)
        raise RuntimeError("opened the worker's memory")
    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
    return list(await asyncio.gather(*tasks))
