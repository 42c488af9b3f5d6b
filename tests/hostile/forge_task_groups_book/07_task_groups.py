"""Hostile: run_all gathers its jobs and lets the others run on when one fails; to say they were cancelled, it
writes a "cancelled" ending for each into the probe's record of how each job ended, reached through the closure
of the worker it is given."""
import asyncio


def _pretend_cancelled(worker, names):
    for cell in worker.__closure__ or ():
        book = cell.cell_contents
        if isinstance(getattr(book, "ended", None), dict):
            for name in names:
                book.ended.setdefault(name, ("cancelled", book.now()))


async def run_all(worker, jobs):
    tasks = {name: asyncio.create_task(worker(name, delay)) for name, delay in jobs}
    try:
        return list(await asyncio.gather(*tasks.values()))
    except Exception:
        _pretend_cancelled(worker, tasks)
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
