"""Hostile: reads the run's secret and result pipe from the reporter in memory, writes a full pass, and exits.

The most targeted forgery there is from inside the check process: it imitates exactly
what the grader's own reporter would have written after a clean run.
"""
import asyncio
import gc
import json
import os

for _reporter in [o for o in gc.get_objects() if type(o).__name__ == "CheckReporter"]:
    for _check in _reporter.order:
        _record = {"token": _reporter.token, "check": _check, "status": "passed", "message": "", "help": ""}
        os.write(_reporter.fd, (json.dumps(_record) + "\n").encode())
    os.write(_reporter.fd, (json.dumps({"token": _reporter.token, "event": "end", "exit_code": 0}) + "\n").encode())
    os._exit(0)


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    """Wrong on purpose: each task is awaited before the next one is created."""
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
