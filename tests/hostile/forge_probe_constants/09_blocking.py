"""Hostile: the reference answer, with the probe file's caps rebound at import (a call may take
forever, a frozen loop is given no time): limits the judge's evidence relies on."""
import sys as _sys

_probes = _sys.modules.get("asynclings_probes")
if _probes is not None:
    _probes.DEADLINE, _probes.LOOP_CAP = 1e9, 0.0

"""Exercise 09 — blocking code without freezing the loop: asyncio.to_thread and run_in_executor (reference solution)."""

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
    """Run the blocking call `func(*args)` in a worker thread and return its result."""
    # to_thread takes the function and its arguments apart: the call itself happens in the thread.
    return await asyncio.to_thread(func, *args)


async def run_with_heartbeat(func: Callable[[], T], beat: Callable[[], None], interval: float) -> T:
    """Run `func()` in a worker thread while calling `beat()` on the event loop every `interval` seconds."""

    async def heartbeat() -> None:
        while True:
            await asyncio.sleep(interval)
            beat()

    # The heartbeat task is started first: it beats while this coroutine awaits the thread.
    pulse = asyncio.create_task(heartbeat())
    try:
        return await asyncio.to_thread(func)
    finally:
        # Whether func returned or raised: stop the heartbeat, and wait until it has stopped.
        pulse.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pulse


async def hash_files(paths: list[str], hasher: Callable[[str], str], limit: int) -> dict[str, str]:
    """Hash every path with `hasher(path)` in worker threads, at most `limit` at a time."""
    # One semaphore for all the files: each hash holds one of its `limit` places while its thread runs.
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
