"""Hostile: starts a `sleep` beside it, then time.sleep(10**6) at the top level: importing never ends.

The `sleep` (its argument marks it) shows whether the whole process group died at the limit.
"""
import subprocess
import time

subprocess.Popen(["sleep", "1000.42424"])
time.sleep(10**6)


async def run_sequentially(worker, jobs):
    return []


async def run_concurrently(worker, jobs):
    return []
