"""Hostile: freezes time.monotonic, time.perf_counter and time.time, hoping timing is measured with them."""
import asyncio
import time

time.monotonic = lambda: 1000.0
time.perf_counter = lambda: 1000.0
time.time = lambda: 1000.0


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    """Wrong on purpose: each task is awaited before the next one is created."""
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
