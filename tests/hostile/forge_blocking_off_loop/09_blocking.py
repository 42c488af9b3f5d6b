"""Hostile: run_blocking calls func on the event loop's own thread, with threading.get_ident lying about the
thread meanwhile, and the probe's watch (reached through func's closure) asking for no heartbeat tick."""
import asyncio
import contextlib
import threading


def _watch_of(func):
    for cell in func.__closure__ or ():
        if hasattr(cell.cell_contents, "loop_thread"):
            return cell.cell_contents
    return None


async def run_blocking(func, *args):
    watch, real = _watch_of(func), threading.get_ident
    if watch is not None:
        watch.needed = 0
    threading.get_ident = lambda: -1
    try:
        return func(*args)
    finally:
        threading.get_ident = real


async def run_with_heartbeat(func, beat, interval):
    async def heartbeat():
        while True:
            await asyncio.sleep(interval)
            beat()

    pulse = asyncio.create_task(heartbeat())
    try:
        return await asyncio.to_thread(func)
    finally:
        pulse.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pulse


async def hash_files(paths, hasher, limit):
    places = asyncio.Semaphore(limit)

    async def hash_one(path):
        async with places:
            return await asyncio.to_thread(hasher, path)

    return dict(zip(paths, await asyncio.gather(*(hash_one(path) for path in paths))))
