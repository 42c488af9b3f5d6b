"""Hostile: run_sequentially is right; run_concurrently does `sys.exit(0)` inside the check."""
import sys


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    sys.exit(0)
