"""Hostile: jobs run one by one, and every name of the grader's recorder and clock that can be reached is rebound."""
import asyncio
import sys


def _rebind() -> None:
    for name, module in list(sys.modules.items()):
        if name.startswith("grader.subject"):
            for attribute in ("_record", "Records", "_fresh", "now", "now_if_running", "_loop_time", "_current_task", "_audit"):
                if hasattr(module, attribute):
                    setattr(module, attribute, lambda *args, **kwargs: 0.0)


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    _rebind()
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
