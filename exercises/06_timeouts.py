"""Exercise 06 — timeouts and cancellation: asyncio.timeout, wait_for, cancel() and finally.

`task.cancel()` asks a task to stop: the `await` the task is suspended at raises
`asyncio.CancelledError` inside it. The exception unwinds the coroutine like any other,
running its `finally:` blocks on the way out, so cleanup (closing a connection, releasing
a lock) belongs in `finally:`: a line after the `await` never runs once the await has
raised. cancel() only *asks*: when it returns, the task has not even started its cleanup,
so whoever cancels a task awaits it afterwards, to know it has really ended.

A timeout is a cancellation on a clock. `async with asyncio.timeout(limit):` cancels the
code inside the block once `limit` seconds have passed and turns that cancellation into a
`TimeoutError` where the block ends; `await asyncio.wait_for(job, limit)` does the same for
one awaitable. Either way the slow job is cancelled, and its finally has run, by the time
the TimeoutError reaches you.

The usual mistakes:

* swallowing the cancellation: `except asyncio.CancelledError: pass` (or a bare `except:`,
  `except BaseException:`, a `return` inside `finally:`) turns "stop now" into "finished
  normally": the task says it was not cancelled, and the code goes on as if nothing had
  happened. If you catch it to clean up, end the handler with a bare `raise`.
* cleanup after the `await` instead of in `finally:`: a cancellation skips it. And
  `except Exception:` does not see a cancellation at all: CancelledError is a
  BaseException, not an Exception (since Python 3.8).
* taking a job's own TimeoutError for the timeout: since Python 3.11 `asyncio.TimeoutError`
  *is* the built-in `TimeoutError`, so `except TimeoutError:` around a job catches your
  timeout and also a TimeoutError the job raised itself (a socket that timed out, say).
  Ask the timeout whether it fired: `cm.expired()` for `async with asyncio.timeout(limit) as cm`.
* a "timeout" that only stops waiting: `asyncio.wait(tasks, timeout=limit)` and
  `wait_for(asyncio.shield(job), limit)` return at the limit but leave the job running.

Where Python versions differ:

* 3.11 added `asyncio.timeout()` (and `timeout_at`, `Timeout.expired()`,
  `Task.cancelling()`), and made `asyncio.TimeoutError` an alias of the built-in
  `TimeoutError`; up to 3.10 they were two classes.
* 3.12 rewrote `wait_for` on top of `asyncio.timeout`: up to 3.11 it wraps a coroutine in a
  new task and cancels that task at the limit; from 3.12 the coroutine runs in your own
  task, as inside `async with asyncio.timeout(...)`. Either way the job has been
  cancelled, and its cleanup has run, when wait_for raises TimeoutError. If the job
  swallows the cancellation and returns a value, both versions return that value.
* 3.14 warns (SyntaxWarning, PEP 765) about a `return` inside `finally:`, one of the ways
  to swallow a CancelledError without writing `except`.

Docs: https://docs.python.org/3/library/asyncio-task.html#task-cancellation
      https://docs.python.org/3/library/asyncio-task.html#timeouts
      https://docs.python.org/3/library/asyncio-task.html#asyncio.wait_for
      https://docs.python.org/3/library/asyncio-exceptions.html#asyncio.CancelledError

Your task: fill in the three functions marked TODO. Don't change their names or
signatures. The checks call them with their own workers and tasks, on the event loop's
clock: their jobs return values you cannot guess, some raise errors of their own
(TimeoutError among them), and a job may take longer or shorter than its `delay`. So
judge by the clock, never by `delay`. The checks look at what each function returns or
raises and when, when each job was cancelled and when its cleanup ran, and when
`release()` is called.
"""

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
    # TODO: make the timeout first, `timeout = asyncio.timeout(limit)`, so you can ask it later.
    # TODO: `async with timeout:` around `return await worker(name, delay)`.
    # TODO: except TimeoutError: return None if timeout.expired() (your limit passed), else re-raise it.
    raise NotImplementedError("TODO: run the job under a timeout")


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
    # TODO: await the job inside `try:` and return its value.
    # TODO: call release() in `finally:`: it runs on return, on an error and on cancellation.
    # TODO: catch nothing: no `except asyncio.CancelledError`, no bare `except:`, no `return` in finally.
    raise NotImplementedError("TODO: run the job, release in finally")


async def stop_after(task: asyncio.Task, seconds: float) -> None:
    """Let `task` run for `seconds`, then cancel it, and return once it has really ended.

    The task runs until it is cancelled (a background job with no end of its own), and
    once cancelled it takes a little while to clean up (how long is not yours to know).
    Cancel it at t=seconds, not before; then wait until it has ended, and return the
    moment it has: not before (cancel() only asks), not after a fixed sleep. Return None:
    don't let the task's CancelledError out of stop_after (awaiting a cancelled task
    raises it in your code), nor a TimeoutError.
    """
    # TODO: await asyncio.sleep(seconds), then task.cancel().
    # TODO: wait for the task to end without raising its CancelledError:
    # TODO: `await asyncio.wait([task])`, or `try: await task` / `except asyncio.CancelledError: pass`.
    raise NotImplementedError("TODO: cancel the task after `seconds`, then wait for it")


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
