"""Exercise 01: run jobs together with asyncio.gather.

Awaiting jobs one after another takes the sum of their times; `asyncio.gather(*coros)`
runs them all at once, takes as long as the longest, and returns their results in the
order it was given them.

Docs: https://docs.python.org/3/library/asyncio-task.html#asyncio.gather
"""

import asyncio


async def run_all(worker, names):
    """Run `worker(name, 1.0)` for every name, all at once; return the results in the order of `names`."""
    # TODO: gather one worker(name, 1.0) per name, and return the list of their results.
    raise NotImplementedError("TODO: gather the workers")


async def shout(name, delay):
    await asyncio.sleep(delay)
    return name.upper()


if __name__ == "__main__":
    print(asyncio.run(run_all(shout, ["a", "b", "c"])))
