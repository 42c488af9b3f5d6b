"""Hostile: `os._exit(0)` while the checks import the file, hoping an early end reads as success."""
import os

os._exit(0)


async def run_sequentially(worker, jobs):
    return []


async def run_concurrently(worker, jobs):
    return []
