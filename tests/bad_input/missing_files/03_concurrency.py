import asyncio


async def run_sequentially(worker, jobs):
    results = [""] * len(jobs)
    for index, (name, delay) in enumerate(jobs):
        results[index] = await worker(name, delay)
    return results


async def run_concurrently(worker, jobs):
    tasks = [asyncio.create_task(worker(name, delay)) for name, delay in jobs]
    return [await task for task in tasks]
