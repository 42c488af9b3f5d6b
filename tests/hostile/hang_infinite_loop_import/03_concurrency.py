"""Hostile: an infinite loop at the top level, so importing the file never ends."""

while True:
    pass


async def run_sequentially(worker, jobs):
    return []


async def run_concurrently(worker, jobs):
    return []
