"""Exercise 06 — timeouts and cancellation: asyncio.timeout, wait_for, cancel() and finally (reference solution)."""

import asyncio
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]


async def worker(name: str, delay: float) -> str:
    """A demo job: waits `delay` seconds without blocking, then returns '<name> done'."""
    try:
        await asyncio.sleep(delay)
        return f"{name} done"
    except asyncio.CancelledError:
        print(f"    {name}: cancelled")
        raise
    finally:
        print(f"    {name}: cleaned up")


async def fetch_with_timeout(worker: Worker, name: str, delay: float, limit: float) -> str | None:
    """Run `worker(name, delay)` for at most `limit` seconds.

    * The job finishes within `limit` seconds: return what it returned, the moment it
      returns (not at the limit).
    * `limit` seconds pass first: cancel the job and return None, at t=limit. The job's
      cleanup (its `finally:`) has run before you return: it is not left running.
    * The job raises: let its exception through, unchanged. A TimeoutError the job raises
      *itself*, before the limit, is the job's error, not your timeout: let it through
      too, never turn it into None. (And `except Exception:` would hide every error.)

    asyncio.timeout or asyncio.wait_for are both fine.
    """
    timeout = asyncio.timeout(limit)
    try:
        async with timeout:
            return await worker(name, delay)
    except TimeoutError:
        # Since 3.11 this also catches a TimeoutError the job raised itself: ask the timeout.
        if timeout.expired():
            return None
        raise


async def run_with_cleanup(worker: Worker, name: str, delay: float, release: Callable[[], None]) -> str:
    """Run `worker(name, delay)` and call `release()` exactly once, the moment the job ends, however it ends.

    This coroutine runs as a task that may be cancelled while it waits for the job.
    Whether the job returns, raises, or the task is cancelled, call `release()` once,
    right then (at that moment on the loop's clock, not before, not later), and then let
    the outcome through: return the job's value; let the job's exception propagate; and
    when cancelled, stay cancelled: let the CancelledError go on (or re-raise it), so
    that the task ends cancelled (`task.cancelled()` is True) at the moment it was
    cancelled.
    """
    try:
        return await worker(name, delay)
    finally:
        # Runs when the job returns, when it raises, and when the await raises CancelledError;
        # the exception in flight then goes on by itself.
        release()


async def stop_after(task: asyncio.Task, seconds: float) -> None:
    """Let `task` run for `seconds`, then cancel it, and return once it has really ended.

    The task runs until it is cancelled (a background job with no end of its own), and
    once cancelled it takes a little while to clean up (how long is not yours to know).
    Cancel it at t=seconds, not before; then wait until it has ended, and return the
    moment it has: not before (cancel() only asks), not after a fixed sleep. Return None:
    don't let the task's CancelledError out of stop_after (awaiting a cancelled task
    raises it in your code), nor a TimeoutError.
    """
    await asyncio.sleep(seconds)
    task.cancel()
    # cancel() only asks: wait until the task has run its cleanup and ended. asyncio.wait
    # never raises the task's CancelledError (awaiting the task itself would).
    await asyncio.wait([task])


async def main() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()

    def now() -> str:
        return f"t={loop.time() - started:.1f} s"

    async def flaky(name: str, delay: float) -> str:
        """A demo job that fails by itself: its own TimeoutError, not yours."""
        await asyncio.sleep(delay)
        raise TimeoutError(f"{name}: the server did not answer")

    print("fetch_with_timeout, limit 1 s:")
    print(f"  quick (0.5 s): {await fetch_with_timeout(worker, 'quick', 0.5, 1.0)!r} at {now()}")
    print(f"  slow (3 s): {await fetch_with_timeout(worker, 'slow', 3.0, 1.0)!r} at {now()} (expect None at t=1.5 s)")
    try:
        await fetch_with_timeout(flaky, "flaky", 0.2, 1.0)
    except TimeoutError as error:
        print(f"  flaky raised its own TimeoutError({error}) at {now()}: let through, as it should be")
    else:
        print("  flaky: its own TimeoutError was taken for the timeout")

    print("run_with_cleanup, cancelled after 0.5 s:")
    task = asyncio.create_task(run_with_cleanup(worker, "guarded", 3.0, lambda: print(f"    released at {now()}")))
    await asyncio.sleep(0.5)
    task.cancel()
    await asyncio.wait([task])
    print(f"  task.cancelled() = {task.cancelled()} at {now()} (expect True)")

    async def ticker() -> None:
        try:
            while True:
                await asyncio.sleep(0.2)
        finally:
            print(f"    ticker: closing at {now()}")
            await asyncio.sleep(0.1)
            print(f"    ticker: closed at {now()}")

    print("stop_after 0.5 s:")
    background = asyncio.create_task(ticker())
    await stop_after(background, 0.5)
    print(f"  stop_after returned at {now()}; the ticker is done: {background.done()} (expect True)")


if __name__ == "__main__":
    asyncio.run(main())
