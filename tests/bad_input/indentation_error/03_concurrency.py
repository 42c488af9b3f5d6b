import asyncio


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
        return await asyncio.gather(*tasks)
