"""Hostile: run_sequentially is right; run_concurrently does `raise SystemExit` inside the check."""


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    raise SystemExit
