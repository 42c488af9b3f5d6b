"""Exercise 01: run jobs together with asyncio.gather (reference solution)."""

import asyncio


async def run_all(worker, names):
    """Run `worker(name, 1.0)` for every name, all at once; return the results in the order of `names`."""
    return list(await asyncio.gather(*(worker(name, 1.0) for name in names)))


async def shout(name, delay):
    await asyncio.sleep(delay)
    return name.upper()


if __name__ == "__main__":
    print(asyncio.run(run_all(shout, ["a", "b", "c"])))
