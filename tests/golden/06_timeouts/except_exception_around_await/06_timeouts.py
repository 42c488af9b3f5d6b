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
    async with asyncio.timeout(limit) as cm:
        try:
            return await worker(name, delay)
        except TimeoutError:
            if cm.expired():
                return None
            raise


async def run_with_cleanup(worker: Worker, name: str, delay: float, release: Callable[[], None]) -> str:
    try:
        return await worker(name, delay)
    finally:
        release()


async def stop_after(task: asyncio.Task, seconds: float) -> None:
    await asyncio.sleep(seconds)
    task.cancel()
    try:
        await task
    except Exception:
        pass


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
