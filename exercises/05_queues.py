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

(Python 3.13 adds a third way, `queue.shutdown()`: a get() on a shut-down, empty queue
raises `asyncio.QueueShutDown`, which a consumer can take as its signal to return. It
does not exist before 3.13; the two ways above work on every version.)

Either way, a function that starts tasks should not return while one of them is
still running (or still parked in `queue.get()`), and it should return as soon as the
work is done: it waits for its tasks, never for a fixed time.

Docs: https://docs.python.org/3/library/asyncio-queue.html
      https://docs.python.org/3/library/asyncio-task.html#asyncio.Task.cancel

Your task: fill in the three functions marked TODO (the TODOs follow the sentinel
way; join + cancel is fine too). Don't change their names or signatures.

What is graded: the checks call only `process_all`, with a `handle` of their own (it
never raises, takes its time without blocking, and returns values you cannot guess),
and watch the queue and the tasks. So `producer` and `consumer` are graded through
`process_all`, and must fit together: what the producer puts is what your consumers
need to stop. The checks look at: every item put on the queue once and handled once;
`consumers` consumer tasks sharing the work; `process_all` returning the moment the
last item is handled, with the results in the order of `items` and no task left
running; and one `task_done()` per get().
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

Handle = Callable[[str], Awaitable[str]]

STOP = None  # the sentinel: a value that is never a real (index, item) pair


async def producer(queue: asyncio.Queue, items: list[str], consumers: int) -> None:
    """Put every item on the queue, then one `STOP` per consumer.

    Put each item once, as an `(index, item)` pair, in the order of `items`: the index
    travels with the item so that a consumer can store its result at the right place.
    Then, if your consumers stop on sentinels, put `STOP` once for each of the
    `consumers` consumers, after the items, so every one of them takes one and stops.
    (With join + cancel the consumers are stopped by process_all instead: the producer
    puts only the items.)
    """
    # TODO: for index, item in enumerate(items): await queue.put((index, item))
    # TODO: then put STOP `consumers` times (one sentinel per consumer, not just one).
    raise NotImplementedError("TODO: put the items, then one STOP per consumer")


async def consumer(queue: asyncio.Queue, handle: Handle, results: list[str | None]) -> None:
    """Take pairs off the queue and handle them, until you take `STOP`; then return.

    For each `(index, item)` pair, store `results[index] = await handle(item)`.
    Call `queue.task_done()` once for every get(), STOP included, so that
    `await queue.join()` would work too: this is checked, even if you stop with
    sentinels. (With join + cancel, the consumer never takes a STOP: it handles items
    until process_all cancels it.)

    What to do when `handle` raises is not graded: the checks' handle never raises.
    (Letting the exception end the consumer, so that gather raises it in process_all,
    is the usual choice.)
    """
    # TODO: loop: take a pair with `await queue.get()`; if it is STOP, return.
    # TODO: otherwise unpack it, await handle(item), store the result at its index.
    # TODO: call queue.task_done() after each get() (a try/finally makes it hard to forget).
    raise NotImplementedError("TODO: handle items until STOP")


async def process_all(items: list[str], handle: Handle, consumers: int = 3) -> list[str]:
    """Handle every item with `consumers` consumer tasks sharing one queue.

    Start `consumers` consumer tasks on one `asyncio.Queue`, run the producer, and
    return the results of `handle`, in the order of `items` (not sorted, not in the
    order they finished in). Return the moment every item has been handled AND every
    task you started has finished: not before (results would be missing), not after a
    fixed sleep (how long `handle` takes is not yours to guess), and with no consumer
    left waiting in queue.get().
    """
    # TODO: create an asyncio.Queue() and a results list with one slot per item.
    # TODO: start `consumers` tasks with asyncio.create_task(consumer(...)) (use the parameter).
    # TODO: await the producer, then await all the consumer tasks (asyncio.gather).
    raise NotImplementedError("TODO: start the consumers, produce, wait for everyone")


async def main() -> None:
    items = ["apple", "banana", "cherry", "date", "elder", "fig", "grape"]
    print(f"{len(items)} items of 1 s, 3 consumers: expect three rounds of at most 3 items, 3 s in all")
    started = time.perf_counter()

    async def shout(item: str) -> str:
        """A demo handler: takes 1 s without blocking the loop, then returns the item in capitals."""
        task = asyncio.current_task()
        print(f"  t={time.perf_counter() - started:.1f} s  {task.get_name() if task else '?'} handles {item}")
        await asyncio.sleep(1)
        return item.upper()

    try:
        results = await asyncio.wait_for(process_all(items, shout, consumers=3), timeout=10)
    except TimeoutError:
        print("process_all had not returned after 10 s: is a consumer still waiting in queue.get()?")
    else:
        print(f"{results} in {time.perf_counter() - started:.1f} s (expect 3.0 s, in the order of the items)")
    still_running = asyncio.all_tasks() - {asyncio.current_task()}
    for task in still_running:
        print(f"  still running: {task.get_name()} ({getattr(task.get_coro(), '__qualname__', 'a task')})")
    print(f"tasks still running after process_all: {len(still_running)} (expect 0)")


if __name__ == "__main__":
    asyncio.run(main())
