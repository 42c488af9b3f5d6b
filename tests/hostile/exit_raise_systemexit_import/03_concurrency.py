"""Hostile: `raise SystemExit` while the checks import the file, hoping an early end reads as success."""

raise SystemExit


async def run_sequentially(worker, jobs):
    return []


async def run_concurrently(worker, jobs):
    return []
