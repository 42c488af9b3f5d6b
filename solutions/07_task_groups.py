"""Exercise 07 — task groups: cancel the rest, report every error, leave nothing running (reference solution)."""

import asyncio
import time
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]


async def fetch(name: str, delay: float) -> str:
    """A demo job: waits `delay` seconds, then fails if its name says so, else returns '<name> done'."""
    try:
        await asyncio.sleep(delay)
    except asyncio.CancelledError:
        print(f"  {name}: cancelled")
        raise
    if name.startswith("bad"):
        raise ValueError(f"{name}: bad input")
    if name.startswith("offline"):
        raise ConnectionError(f"{name}: server unreachable")
    return f"{name} done"


async def run_all(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    """Run every job at once in a TaskGroup: all results in job order, or an ExceptionGroup of every failure."""
    # The `async with` block ends only once every task of the group has finished. When one
    # fails, the group cancels the others, waits for them, and raises an ExceptionGroup.
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(worker(name, delay)) for name, delay in jobs]
    # Every task is done here and none failed: result() no longer waits, nor raises.
    return [task.result() for task in tasks]


async def collect_errors(worker: Worker, jobs: list[tuple[str, float]]) -> tuple[list[str], list[BaseException]]:
    """Run every job to its end, whatever the others do; return the results and the errors apart."""
    # return_exceptions=True: a job's exception takes its place in the list instead of
    # being raised, so no failure cuts the others short and none is lost.
    outcomes = await asyncio.gather(*(worker(name, delay) for name, delay in jobs), return_exceptions=True)
    results = [outcome for outcome in outcomes if not isinstance(outcome, BaseException)]
    errors = [outcome for outcome in outcomes if isinstance(outcome, BaseException)]
    return results, errors


async def handle_errors(run: Callable[[], Awaitable[list[str]]], report: Callable[[Exception], None]) -> list[str] | None:
    """Await run(); report every ValueError it raises and let every other error propagate."""
    try:
        return await run()
    except* ValueError as bad_input:
        # Only the ValueErrors land here, all of them; any other exception of the group
        # goes on up, in an ExceptionGroup of its own, once this block is done.
        for error in bad_input.exceptions:
            report(error)
    # `return` is not allowed inside an except* block: the ValueErrors are handled, say so here.
    return None


async def main() -> None:
    started = time.perf_counter()

    def elapsed() -> str:
        return f"{time.perf_counter() - started:.1f} s"

    print("run_all, every job succeeds (expect 1.5 s):")
    print(f"  {await run_all(fetch, [('a', 1.0), ('b', 0.5), ('c', 1.5)])} after {elapsed()}")

    started = time.perf_counter()
    print("run_all, 'bad-b' fails after 0.5 s (expect a and c cancelled, after 0.5 s):")
    try:
        await run_all(fetch, [("a", 1.0), ("bad-b", 0.5), ("c", 1.5)])
    except* ValueError as group:
        print(f"  raised {group.exceptions!r} after {elapsed()}")

    started = time.perf_counter()
    print("collect_errors, two jobs fail (expect both errors, after 1.5 s):")
    results, errors = await collect_errors(fetch, [("a", 1.0), ("bad-b", 0.5), ("c", 1.5), ("offline-d", 0.5)])
    print(f"  results {results}, errors {errors!r} after {elapsed()}")

    print("handle_errors, two bad inputs and one server down (expect two reports, then the ConnectionError):")
    try:
        await handle_errors(
            lambda: run_all(fetch, [("bad-a", 0.5), ("offline-b", 0.5), ("bad-c", 0.5), ("d", 1.0)]),
            lambda error: print(f"  reported: {error!r}"),
        )
    except* ConnectionError as group:
        print(f"  and {group.exceptions!r} went on up")

    still_running = asyncio.all_tasks() - {asyncio.current_task()}
    print(f"tasks still running at the end: {len(still_running)} (expect 0)")


if __name__ == "__main__":
    asyncio.run(main())
