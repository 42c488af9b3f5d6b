"""Exercise 02: give up on a slow job with asyncio.wait_for (reference solution)."""

import asyncio


async def fetch_or_none(worker, name, delay, limit):
    """Run `worker(name, delay)`; give up after `limit` seconds. Its result, or None once it took too long."""
    try:
        return await asyncio.wait_for(worker(name, delay), limit)
    except TimeoutError:
        return None


async def slow(name, delay):
    await asyncio.sleep(delay)
    return f"{name} done"


if __name__ == "__main__":
    print(asyncio.run(fetch_or_none(slow, "quick", 0.1, 1.0)))
    print(asyncio.run(fetch_or_none(slow, "slow", 2.0, 0.2)))
