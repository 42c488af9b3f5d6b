"""Hostile: run_sequentially is right; run_concurrently does `os._exit(0)` inside the check."""
import os


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    os._exit(0)
