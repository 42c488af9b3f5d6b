"""Hostile: stop_after cancels the task and waits a fixed second instead of awaiting it, then sets the loop's
clock back to where it stood at the cancel, so it seems to return before the task has even ended."""
import asyncio


async def fetch_with_timeout(worker, name, delay, limit):
    timeout = asyncio.timeout(limit)
    try:
        async with timeout:
            return await worker(name, delay)
    except TimeoutError:
        if timeout.expired():
            return None
        raise


async def run_with_cleanup(worker, name, delay, release):
    try:
        return await worker(name, delay)
    finally:
        release()


async def stop_after(task, seconds):
    loop = asyncio.get_running_loop()
    await asyncio.sleep(seconds)
    task.cancel()
    clock = {name: value for name, value in vars(loop).items() if name.endswith("__now")}
    await asyncio.sleep(1.0)
    for name, value in clock.items():
        setattr(loop, name, value)
