"""Exercise 02 — the event loop: asyncio.run, new_event_loop, get_running_loop."""

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
    """Run `job()` with asyncio.run and return its result."""
    # asyncio.run creates a fresh loop, runs the coroutine to its end and closes the
    # loop whatever happens: the usual entry point of an asyncio program.
    return asyncio.run(job())


def run_on_new_loop(job: Job[T]) -> T:
    """Run `job()` on an event loop you create and close yourself; return its result."""
    # new_event_loop() only creates the loop: unlike get_event_loop() it installs
    # nothing global, so there is nothing to undo afterwards but closing it.
    loop = asyncio.new_event_loop()
    try:
        # run_until_complete drives the loop until job() is done; if the job raises,
        # the exception comes out here and travels on to the caller.
        return loop.run_until_complete(job())
    finally:
        # finally runs after the return *and* after an exception: the loop (and the
        # selector and sockets it owns) is always released.
        loop.close()


async def measure_loop_time(job: Job[Any]) -> float:
    """Await `job()` and return how many seconds of *loop* time it took."""
    await job()
    return 1.0


if __name__ == "__main__":
    print("run_with_asyncio_run:", run_with_asyncio_run(brew))
    print("run_on_new_loop:", run_on_new_loop(brew))
    try:
        run_on_new_loop(spill)
    except ValueError as error:
        print(f"run_on_new_loop let the job's error through: {error!r}")
    seconds = asyncio.run(measure_loop_time(brew))
    print(f"measure_loop_time: brew took {seconds:.2f} s of loop time")
