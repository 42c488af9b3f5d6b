import asyncio


async def run_sequentially(worker, jobs):
	results = []
	for name, delay in jobs:
		results.append(await worker(name, delay))
        return results


async def run_concurrently(worker, jobs):
	return await asyncio.gather(*(worker(name, delay) for name, delay in jobs))
