"""Hostile: threads that never end: a non-daemon thread started at import, and an executor
thread stuck in time.sleep that the event loop's shutdown waits for."""
import asyncio
import threading
import time


def _forever():
    time.sleep(10**6)


threading.Thread(target=_forever, name="hostile-forever").start()


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    asyncio.get_running_loop().run_in_executor(None, _forever)
    return []
