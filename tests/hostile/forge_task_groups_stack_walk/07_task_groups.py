"""Hostile: run_all gathers its jobs and lets the others run on when one fails; to say they were cancelled, it
looks for the probe's record of how each job ended, among the objects that hold the worker (gc.get_referrers)
and in the frames above its own (sys._getframe)."""
import asyncio
import gc
import sys


def _records(worker):
    for holder in gc.get_referrers(worker):
        ended = getattr(holder, "ended", None)
        if isinstance(ended, dict):
            return ended
    frame = sys._getframe(1)
    while frame is not None:
        book = frame.f_locals.get("book")
        if isinstance(getattr(book, "ended", None), dict):
            return book.ended
        frame = frame.f_back
    return {}


async def run_all(worker, jobs):
    tasks = {name: asyncio.create_task(worker(name, delay)) for name, delay in jobs}
    try:
        return list(await asyncio.gather(*tasks.values()))
    except Exception:
        ended = _records(worker)
        for name in tasks:
            ended.setdefault(name, ("cancelled", 0.0))
        raise


async def collect_errors(worker, jobs):
    outcomes = await asyncio.gather(*(worker(name, delay) for name, delay in jobs), return_exceptions=True)
    results = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    return results, [outcome for outcome in outcomes if isinstance(outcome, BaseException)]


async def handle_errors(run, report):
    try:
        return await run()
    except* ValueError as bad_input:
        for error in bad_input.exceptions:
            report(error)
    return None
