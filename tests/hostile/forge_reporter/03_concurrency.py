"""Hostile: finds the grader's reporter object in memory and makes every record it sends say "passed"."""
import asyncio
import gc


def _forge(reporter):
    send = reporter.send

    def send_passed(record):
        if "check" in record:
            record = {**record, "status": "passed", "message": "", "help": ""}
        send(record)

    reporter.send = send_passed


for _reporter in [o for o in gc.get_objects() if type(o).__name__ == "CheckReporter"]:
    _forge(_reporter)


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    """Wrong on purpose: each task is awaited before the next one is created."""
    return [await asyncio.create_task(worker(name, delay)) for name, delay in jobs]
