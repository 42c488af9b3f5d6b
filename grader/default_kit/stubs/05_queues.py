"""Exercise 05 — producer and consumers on an asyncio.Queue, and how they stop.

An `asyncio.Queue` hands items from a producer to consumers: `await queue.put(x)` adds
one, `await queue.get()` takes one and *waits* while the queue is empty. Several
consumer tasks reading the same queue share the work: each item goes to exactly one
of them, so with 3 consumers up to 3 items are handled at once.

The hard part is stopping. A consumer written as `while True: x = await queue.get()`
never returns: after the last item it waits in get() for an item that never comes,
so `await asyncio.gather(producer(q), consumer(q))` never returns either. Two clean
ways to stop:

* sentinels: after the real items, the producer puts one special value (here `STOP`)
  *per consumer*; a consumer that takes one returns. Then
  `await asyncio.gather(*consumer_tasks)` ends once all the work is done.
* join + cancel: each consumer calls `queue.task_done()` once per get();
  `await queue.join()` returns when every item put has been marked done. Then
  `task.cancel()` each consumer and `await asyncio.gather(*tasks, return_exceptions=True)`:
  cancel() only *asks* a task to stop, awaiting it makes sure it has.

Either way, a function that starts tasks should not return while one of them is
still running (or still parked in `queue.get()`).

Docs: https://docs.python.org/3/library/asyncio-queue.html
      https://docs.python.org/3/library/asyncio-task.html#asyncio.Task.cancel

Your task: fill in the three functions marked TODO (the TODOs follow the sentinel
way; join + cancel is fine too). Don't change their names or signatures: the checks
call `process_all` with their own `handle` and watch which task handles each item,
and when.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

Handle = Callable[[str], Awaitable[str]]

STOP = None  # the sentinel: a value that is never a real (index, item) pair


async def producer(queue: asyncio.Queue, items: list[str], consumers: int) -> None:
    """Put every item on the queue, then one `STOP` per consumer.

    Put each item as an `(index, item)` pair, in the order of `items`: the index
    travels with the item so that a consumer can store its result at the right place.
    Then put `STOP` once for each of the `consumers` consumers, so every one of them
    takes one and stops.
    """
    # TODO: for index, item in enumerate(items): await queue.put((index, item))
    # TODO: then put STOP `consumers` times (one sentinel per consumer, not just one).
    raise NotImplementedError("TODO: put the items, then one STOP per consumer")


async def consumer(queue: asyncio.Queue, handle: Handle, results: list[str | None]) -> None:
    """Take pairs off the queue and handle them, until you take `STOP`; then return.

    For each `(index, item)` pair, store `results[index] = await handle(item)`.
    Call `queue.task_done()` once for every get() (STOP included), so that
    `await queue.join()` would work too.
    """
    # TODO: loop: take a pair with `await queue.get()`; if it is STOP, return.
    # TODO: otherwise unpack it, await handle(item), store the result at its index.
    # TODO: call queue.task_done() after each get() (a try/finally makes it hard to forget).
    raise NotImplementedError("TODO: handle items until STOP")


async def process_all(items: list[str], handle: Handle, consumers: int = 3) -> list[str]:
    """Handle every item with `consumers` consumer tasks sharing one queue.

    Start `consumers` consumer tasks on one `asyncio.Queue`, run the producer, and
    return the results of `handle`, in the order of `items` (not the order they
    finished in). Return only once every item has been handled AND every task you
    started has finished: no consumer may be left waiting in queue.get().
    """
    # TODO: create an asyncio.Queue() and a results list with one slot per item.
    # TODO: start `consumers` tasks with asyncio.create_task(consumer(...)) (use the parameter).
    # TODO: await the producer, then await all the consumer tasks (asyncio.gather).
    raise NotImplementedError("TODO: start the consumers, produce, wait for everyone")


async def shout(item: str) -> str:
    """A demo handler: takes 1 s without blocking the loop, then returns the item in capitals."""
    print(f"  {item}: started")
    await asyncio.sleep(1)
    return item.upper()


async def main() -> None:
    items = ["apple", "banana", "cherry", "date", "elder", "fig", "grape"]
    started = time.perf_counter()
    results = await process_all(items, shout, consumers=3)
    print(f"{results} in {time.perf_counter() - started:.1f} s (7 items, 3 consumers: expect 3 s)")
    still_running = asyncio.all_tasks() - {asyncio.current_task()}
    print(f"tasks still running after process_all: {len(still_running)} (expect 0)")


if __name__ == "__main__":
    asyncio.run(main())
