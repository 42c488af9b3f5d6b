"""A right answer, next to files that are not exercises of the kit."""
import asyncio


async def run_sequentially(worker, jobs):
    done = []
    for job in jobs:
        done.append(await worker(*job))
    return done


async def run_concurrently(worker, jobs):
    return list(await asyncio.gather(*[asyncio.create_task(worker(*job)) for job in jobs]))
