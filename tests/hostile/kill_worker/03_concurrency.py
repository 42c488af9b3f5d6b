"""Hostile: a right solution that, in the fifth check, kills the process that started its
checks (the grader's worker) and leaves a process running, then carries on as if nothing
happened."""
import asyncio
import os
import signal
import subprocess

_runs = 0


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    global _runs
    _runs += 1
    if _runs == 2:
        os.kill(os.getppid(), signal.SIGKILL)
        subprocess.Popen(["sleep", "1000.42425"])
    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
    return list(await asyncio.gather(*tasks))
