"""Hostile: run_sequentially is right; run_concurrently prints 1 GiB (once), then gives up."""
import sys

printed = False


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    global printed
    if not printed:
        printed = True
        block = "x" * ((1 << 20) - 1) + "\n"
        for _ in range(1024):
            sys.stdout.write(block)
        sys.stdout.flush()
    return []
