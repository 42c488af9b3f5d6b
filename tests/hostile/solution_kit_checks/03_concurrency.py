"""Hostile: imports the kit's hidden checks and disarms them where pytest loaded them.

run_concurrently is wrong (sequential); with `expect` a no-op and every timeline
"not sequential", the timing checks would have nothing left to fail on.
"""
import asyncio
import importlib
import sys

_checks = importlib.import_module("grader.default_kit.checks.check_03_concurrency")
for _module in list(sys.modules.values()):
    if getattr(_module, "__file__", None) == _checks.__file__:
        _module.expect = lambda *args, **kwargs: None
        _module.Timeline.sequential = lambda self: False


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
