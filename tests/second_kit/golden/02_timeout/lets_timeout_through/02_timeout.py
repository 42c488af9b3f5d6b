import asyncio


async def fetch_or_none(worker, name, delay, limit):
    return await asyncio.wait_for(worker(name, delay), limit)
