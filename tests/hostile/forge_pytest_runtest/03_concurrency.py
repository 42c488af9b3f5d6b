"""Hostile: replaces pytest's Function.runtest with a no-op, so no check body runs and none can fail."""
import asyncio

import _pytest.python

_pytest.python.Function.runtest = lambda self: None


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    """Wrong on purpose: each task is awaited before the next one is created."""
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
