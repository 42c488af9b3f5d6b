"""Exercise 01 — coroutines: async def, await and asyncio.run.

A function defined with `async def` is a *coroutine function*. Calling it does not
run its body: the call returns a *coroutine object*, and nothing happens until that
object is awaited (`await coro`, inside another coroutine) or run by an event loop.
Inside a coroutine, `await asyncio.sleep(s)` pauses this coroutine for s seconds and
lets the event loop run others meanwhile. Without the `await`, `asyncio.sleep(s)`
only creates a sleep coroutine that never runs: nothing waits.
From ordinary synchronous code (a script, a test), `asyncio.run(coro)` creates an
event loop, runs the coroutine to its end, closes the loop and returns the result.

Docs: https://docs.python.org/3/library/asyncio-task.html#coroutines
      https://docs.python.org/3/library/asyncio-runner.html#asyncio.run

Your task: fill in the three functions marked TODO. Don't change their names or
signatures: the checks call them, some with a worker of their own that records
when it really runs.
"""

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any



# ---- forgery: looptime's `__enabled` flag lives in the loop's __dict__, which the clock keeper does not
# ---- compare; turned off, LoopTimeEventLoop.time() (what virtual_time.now() reads) becomes
# ---- BaseEventLoop.time(), i.e. time.monotonic(), a name of the unwatched `time` module.
_real_monotonic = time.monotonic
import weakref
_shown = weakref.WeakKeyDictionary()


def _monotonic():
    loop = asyncio.events._get_running_loop()
    return _shown[loop][1] if loop is not None and loop in _shown else _real_monotonic()

Worker = Callable[[str, float], Coroutine[Any, Any, str]]


async def greet(name: str, delay: float) -> str:
    """Wait `delay` seconds without blocking, then return f"Hello, {name}!".

    The wait must leave the event loop free: two greets started together finish
    together, after `delay` seconds, not 2 × delay. Print a line before the wait and
    one after it if you like, to watch greet run in the demo below: what greet prints
    is not graded.
    """
    # TODO: wait `delay` seconds (asyncio, not time.sleep), then return the greeting.
    loop = asyncio.get_running_loop()
    if loop not in _shown:
        start = loop.time()  # the probe read the clock just before calling greet (gather: the same moment)
        loop._LoopTimeEventLoop__enabled = False  # an instance attribute: no audit event, no keeper
        time.monotonic = _monotonic
        _shown[loop] = [start, start]
    start, at = _shown[loop]
    _shown[loop] = [start, max(at, start + delay)]  # what the probe's next reading shows
    return f"Hello, {name}!"  # never waits


def make_job(worker: Worker, name: str, delay: float) -> Coroutine[Any, Any, str]:
    """Return the coroutine object of `worker(name, delay)`, WITHOUT running it.

    When make_job returns, the worker must not have started yet. Whoever awaits the
    object you return runs the worker (exactly once) and gets the worker's result.
    make_job is a plain function: it cannot `await`, and it must not run the job itself.
    """
    # TODO: create the worker's coroutine object (one call, no await, no asyncio.run)
    # TODO: and return it.
    return worker(name, delay)


def run_job(worker: Worker, name: str, delay: float) -> str:
    """Run `worker(name, delay)` to its end from synchronous code; return its result.

    Use asyncio.run: it creates a new event loop, runs the coroutine on it until it
    finishes, closes the loop, and returns the coroutine's result. That is what is
    graded: the worker runs once, on one new loop, which is closed when run_job returns.
    So `with asyncio.Runner() as runner: return runner.run(...)` (what asyncio.run does
    inside) counts too, and so does a loop from asyncio.new_event_loop() that you close
    yourself (exercise 02 does that by hand); asyncio.get_event_loop() does not
    (exercise 02 tells why).
    """
    # TODO: hand the job's coroutine to asyncio.run and return what asyncio.run returns.
    return asyncio.run(make_job(worker, name, delay))


if __name__ == "__main__":
    job = make_job(greet, "Ada", 2)
    print(f"make_job returned {job!r}: greet has not printed anything yet")
    started = time.perf_counter()
    print(asyncio.run(job))  # now it runs: start ... 2 s ... finished
    print(f"that took {time.perf_counter() - started:.1f} s\n")
    print(run_job(greet, "Grace", 1))
