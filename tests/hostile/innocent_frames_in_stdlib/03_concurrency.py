"""Not hostile: right answers that use standard modules which read frames for the student's
own ends (logging's caller, a namedtuple's module, a task's repr, a coroutine's state, a printed traceback)."""
import asyncio
import collections
import inspect
import logging
import traceback

Result = collections.namedtuple("Result", "name value")
log = logging.getLogger(__name__)


async def run_sequentially(worker, jobs):
    results = []
    for name, delay in jobs:
        log.info("running %s", name)
        results.append(Result(name, await worker(name, delay)).value)
    return results


async def run_concurrently(worker, jobs):
    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
    print(repr(tasks[0])[:10], inspect.getcoroutinestate(tasks[0].get_coro()))
    try:
        raise ValueError("shown, then carried on")
    except ValueError:
        traceback.format_exc()
    return await asyncio.gather(*tasks)
