"""Exercise 02: give up on a slow job with asyncio.wait_for.

`await asyncio.wait_for(job, limit)` returns the job's result if it ends within `limit`
seconds; otherwise it cancels the job and raises TimeoutError at the limit.

Docs: https://docs.python.org/3/library/asyncio-task.html#asyncio.wait_for
"""

import asyncio


async def fetch_or_none(worker, name, delay, limit):
    """Run `worker(name, delay)`; give up after `limit` seconds. Its result, or None once it took too long."""
    # TODO: await asyncio.wait_for(...) and turn its TimeoutError into None.
    raise NotImplementedError("TODO: wait for the job, at most limit seconds")


async def slow(name, delay):
    await asyncio.sleep(delay)
    return f"{name} done"


if __name__ == "__main__":
    print(asyncio.run(fetch_or_none(slow, "quick", 0.1, 1.0)))
    print(asyncio.run(fetch_or_none(slow, "slow", 2.0, 0.2)))
