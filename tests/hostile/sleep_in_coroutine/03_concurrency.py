"""Hostile: run_sequentially is right; run_concurrently blocks its event loop with time.sleep(10**6)."""
import time


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    time.sleep(10**6)
    return []
