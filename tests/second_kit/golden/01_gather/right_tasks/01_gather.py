import asyncio


async def run_all(worker, names):
    tasks = [asyncio.create_task(worker(name, 1.0)) for name in names]
    return [await task for task in tasks]
