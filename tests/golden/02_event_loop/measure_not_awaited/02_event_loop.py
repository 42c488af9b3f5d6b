"""Exercise 02 — the event loop: asyncio.run, new_event_loop, get_running_loop.

A coroutine only runs when an event loop drives it. `asyncio.run(coro)` is the everyday
way: it creates a fresh loop, runs the coroutine to the end, and closes the loop, even
when the coroutine raises. The manual way does the same steps by hand:

    loop = asyncio.new_event_loop()
    try:
        result = loop.run_until_complete(coro)
    finally:
        loop.close()  # runs on success *and* when coro raises

Inside a coroutine, `asyncio.get_running_loop()` returns the loop that is running it,
for instance to read the loop's own clock, `loop.time()`: the clock asyncio.sleep and
call_later use. Test loops may run that clock on virtual time, which the clocks of the
`time` module (time.monotonic(), time.perf_counter(), time.time()) do not follow.

Beware of older tutorials: `loop = asyncio.get_event_loop()` with no loop running
creates a loop and makes it the thread's current one on Python 3.11 to 3.13 (3.12 and
3.13 add a DeprecationWarning); since 3.14 it raises RuntimeError. Create loops with
`asyncio.new_event_loop()` instead. Inside a coroutine, get_event_loop()
returns the running loop, but `asyncio.get_running_loop()` says what you mean and never
creates a loop.

Docs: https://docs.python.org/3/library/asyncio-runner.html
      https://docs.python.org/3/library/asyncio-eventloop.html

Your task: fill in the three functions marked TODO. Don't change their names or
signatures: the checks call them with their own `job` and watch which loop runs it.
"""

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
Job = Callable[[], Coroutine[Any, Any, T]]  # a coroutine function taking no arguments


async def brew() -> str:
    """A demo job: waits 1 second without blocking, then returns 'tea is ready'."""
    print("brew: kettle on")
    await asyncio.sleep(1)
    return "tea is ready"


async def spill() -> str:
    """A demo job that fails halfway."""
    await asyncio.sleep(0.5)
    raise ValueError("the cup fell over")


def run_with_asyncio_run(job: Job[T]) -> T:
    """Run `job()` with asyncio.run and return its result.

    asyncio.run creates a new event loop, runs the coroutine to its end, and closes the
    loop for you. Note that it needs the coroutine `job()`, not the function `job`.
    `with asyncio.Runner() as runner: return runner.run(job())`, the form of asyncio.run
    that can run several coroutines on one loop, counts as well.
    """
    return asyncio.run(job())


def run_on_new_loop(job: Job[T]) -> T:
    """Run `job()` on an event loop you create and close yourself; return its result.

    Create the loop with asyncio.new_event_loop() (not asyncio.get_event_loop(), see the
    top of the file), run the coroutine with loop.run_until_complete(...), and close the
    loop in a `finally` block: it must be closed even when job() raises, and the job's
    exception must reach the caller unchanged (an `except` block that re-raises it with
    a bare `raise` is fine too). Don't use asyncio.run or asyncio.Runner here: this
    function does their steps by hand.
    """
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(job())
    finally:
        loop.close()


async def measure_loop_time(job: Job[Any]) -> float:
    """Await `job()` and return how many seconds of *loop* time it took.

    Get the running loop with asyncio.get_running_loop() and read its clock,
    loop.time(), before and after awaiting the job; return the difference.
    """
    loop = asyncio.get_running_loop()
    start = loop.time()
    job()
    return loop.time() - start


if __name__ == "__main__":
    print("run_with_asyncio_run:", run_with_asyncio_run(brew))
    print("run_on_new_loop:", run_on_new_loop(brew))
    try:
        run_on_new_loop(spill)
    except ValueError as error:
        print(f"run_on_new_loop let the job's error through: {error!r}")
    seconds = asyncio.run(measure_loop_time(brew))
    print(f"measure_loop_time: brew took {seconds:.2f} s of loop time")
