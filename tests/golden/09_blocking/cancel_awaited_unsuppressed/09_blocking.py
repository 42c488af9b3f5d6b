"""Exercise 09 — blocking code without freezing the loop: asyncio.to_thread and run_in_executor.

The event loop runs on one thread and does one thing at a time. A *blocking* function
(one that waits without `await`: time.sleep, reading a big file, hashlib over it,
requests.get, a database driver with no async support) holds that thread until it
returns: meanwhile no other task runs, no timer fires, and the whole program freezes.
Calling it from a coroutine changes nothing: `async def` does not make its body run
anywhere else.

The way out is to run the blocking function in a *worker thread* and await its result:

    result = await asyncio.to_thread(func, arg1, arg2)            # Python 3.9+
    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(None, func, arg1, arg2)   # None: the loop's own thread pool
    result = await loop.run_in_executor(pool, func, arg1, arg2)   # pool: a ThreadPoolExecutor of yours

Each hands `func` and its arguments to a pool of threads and gives you something to
await (to_thread a coroutine, run_in_executor a Future); while the thread works, the loop
goes on running your other tasks. The classic mistake: `asyncio.to_thread(func(arg))`
calls func right there, on the loop's thread, and hands its *result* to to_thread. Pass
the function and its arguments separately. The other one: forgetting the `await`, which
leaves you a coroutine or a Future instead of the result.

Several blocking calls at once: start them all, then gather them, as with coroutines in
exercise 03. To run at most N at a time, hold an `asyncio.Semaphore(N)` around each
`await asyncio.to_thread(...)`, or use a `concurrent.futures.ThreadPoolExecutor(max_workers=N)`.

What a thread cannot do: be cancelled. Cancelling the task that awaits to_thread stops
the waiting, not the function, which runs on to its end in its thread. And threads let
only blocking I/O and C code that releases the GIL (hashlib does, for more than 2 KiB)
run truly in parallel: pure-Python computing still runs one thread at a time, except on
the free-threaded build (experimental in 3.13, supported from 3.14) or with a process
pool (or 3.14's `concurrent.futures.InterpreterPoolExecutor`).

Python versions: to_thread exists from 3.9 on, and copies the caller's contextvars into
the thread (run_in_executor does not). asyncio.run() waits for the default pool's threads
when your main coroutine is done: for ever up to 3.11, at most 5 minutes (then a warning)
from 3.12, which also adds `loop.shutdown_default_executor(timeout)`. The default pool has
min(32, CPUs + 4) threads; from 3.13 it counts the CPUs this process may use. Nothing else
in this exercise differs between 3.11 and 3.14.

Docs: https://docs.python.org/3/library/asyncio-task.html#running-in-threads
      https://docs.python.org/3/library/asyncio-eventloop.html#executing-code-in-thread-or-process-pools
      https://docs.python.org/3/library/asyncio-dev.html#running-blocking-code
      https://docs.python.org/3/library/asyncio-sync.html#asyncio.Semaphore

Your task: fill in the three functions marked TODO. Don't change their names or
signatures. What is graded: the checks call each function with a blocking function of
their own that notes which thread runs it and whether the event loop kept running
meanwhile (a heartbeat on the loop must tick while it runs), and that returns values you
cannot guess. Nothing is judged on how long it took: only on what ran where.
"""

import asyncio
import contextlib
import hashlib
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


async def run_blocking(func: Callable[..., T], *args: Any) -> T:
    return await asyncio.to_thread(func, *args)


async def run_with_heartbeat(func: Callable[[], T], beat: Callable[[], None], interval: float) -> T:
    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(interval)
            beat()

    pulse = asyncio.create_task(heartbeat())
    try:
        return await asyncio.to_thread(func)
    finally:
        pulse.cancel()
        await pulse


async def hash_files(paths: list[str], hasher: Callable[[str], str], limit: int) -> dict[str, str]:
    places = asyncio.Semaphore(limit)

    async def hash_one(path: str) -> str:
        async with places:
            return await asyncio.to_thread(hasher, path)

    digests = await asyncio.gather(*(hash_one(path) for path in paths))
    return dict(zip(paths, digests))


def slow_sha256(path: str) -> str:
    """A demo hasher: reads the whole file, hashes it, and takes half a second more, as a slow disk would."""
    time.sleep(0.5)
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def slow_answer() -> int:
    """A demo blocking job: 1.5 s of time.sleep, then 42."""
    time.sleep(1.5)
    return 42


async def main() -> None:
    started = time.perf_counter()

    def beat() -> None:
        print(f"  beat at {time.perf_counter() - started:.1f} s")

    print("run_with_heartbeat: a 1.5 s blocking job in a thread, a beat every 0.4 s on the loop")
    print(f"-> {await run_with_heartbeat(slow_answer, beat, 0.4)} (expect 3 beats, then 42)")

    started = time.perf_counter()
    print(f"run_blocking: pow(2, 100) in a thread -> {await run_blocking(pow, 2, 100)}")

    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for number in range(6):
            path = Path(folder) / f"file{number}.bin"
            path.write_bytes(bytes([number]) * 1_000_000)
            paths.append(str(path))
        started = time.perf_counter()
        digests = await hash_files(paths, slow_sha256, limit=3)
        took = time.perf_counter() - started
        for path, digest in digests.items():
            print(f"  {Path(path).name}: {digest}")
        print(f"hash_files: 6 files of 0.5 s each, 3 at a time, in {took:.1f} s (expect 1.0 s; one by one: 3.0 s)")


if __name__ == "__main__":
    asyncio.run(main())
