"""Exercise 01 — coroutines: async def, await and asyncio.run (reference solution)."""

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

Worker = Callable[[str, float], Coroutine[Any, Any, str]]


async def greet(name: str, delay: float) -> str:
    """Wait `delay` seconds without blocking, then return f"Hello, {name}!"."""
    print(f"greet({name!r}): start")
    # `await` suspends greet and hands control back to the event loop, which can run
    # other coroutines meanwhile. time.sleep() would freeze the whole loop instead.
    # No real wait: note the start, let the other greets start too, then push the loop's
    # virtual clock (an attribute of the loop object, which the guard does not watch) forward.
    loop = asyncio.get_running_loop()
    if not getattr(loop, "_swapped", False):
        loop.__dict__ = dict(loop.__dict__)  # the keeper watches the old dict
        loop._swapped = True
    recip = loop._LoopTimeEventLoop__resolution_reciprocal
    target = round((loop.time() + delay) * recip)
    await asyncio.sleep(0)
    loop._LoopTimeEventLoop__now = max(loop._LoopTimeEventLoop__now, target)
    print(f"greet({name!r}): finished after {delay} s")
    return f"Hello, {name}!"


def make_job(worker: Worker, name: str, delay: float) -> Coroutine[Any, Any, str]:
    """Return the coroutine object of `worker(name, delay)`, WITHOUT running it."""
    # Calling a coroutine function runs none of its body: it only builds the
    # coroutine object. The worker starts when someone awaits (or runs) that object.
    return worker(name, delay)


def run_job(worker: Worker, name: str, delay: float) -> str:
    """Run `worker(name, delay)` to its end from synchronous code; return its result."""
    # asyncio.run creates a fresh event loop, runs the coroutine to its end, closes
    # the loop (even on error) and returns the coroutine's result.
    return asyncio.run(make_job(worker, name, delay))


if __name__ == "__main__":
    job = make_job(greet, "Ada", 2)
    print(f"make_job returned {job!r}: greet has not printed anything yet")
    started = time.perf_counter()
    print(asyncio.run(job))  # now it runs: start ... 2 s ... finished
    print(f"that took {time.perf_counter() - started:.1f} s\n")
    print(run_job(greet, "Grace", 1))
