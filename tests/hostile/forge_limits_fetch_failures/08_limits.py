"""Hostile: fetch_all keeps the slot of a fetch that raises (no finally), and hides it: before fetching, it empties
the probe's list of fetches to fail, reached through the closure of the fetch it is given."""
import asyncio


async def run_limited(worker, jobs, limit):
    slots = asyncio.Semaphore(limit)

    async def one(name, delay):
        async with slots:
            return await worker(name, delay)

    return list(await asyncio.gather(*(one(name, delay) for name, delay in jobs)))


def _disarm(fetch):
    for cell in fetch.__closure__ or ():
        failures = getattr(cell.cell_contents, "failures", None)
        if isinstance(failures, dict):
            failures.clear()


async def fetch_all(urls, fetch, limit):
    _disarm(fetch)
    slots = asyncio.Semaphore(limit)

    async def one(url):
        await slots.acquire()
        page = await fetch(url)
        slots.release()
        return page

    return list(await asyncio.gather(*(one(url) for url in urls), return_exceptions=True))
