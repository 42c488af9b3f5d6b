"""Hostile: `raise KeyboardInterrupt` while the checks import the file, hoping an early end reads as success."""

raise KeyboardInterrupt


async def run_sequentially(worker, jobs):
    return []


async def run_concurrently(worker, jobs):
    return []
