"""Exercise 10 — shared state between tasks: asyncio.Lock and asyncio.Event.

Tasks on one event loop never run at the same instant, but they take turns at every
`await`. So a read-modify-write that awaits in the middle is not one step:

    balance = await store.read()          # this task waits here, and another deposit runs:
    await store.write(balance + amount)   # it read the same old balance, and one write is lost

Two deposits that both read 100 before either has written end at 100 + the last amount,
not 100 + both: a *lost update*. Nothing crashes; money just disappears.

`asyncio.Lock` makes the whole sequence one turn. `async with lock:` lets one task in
at a time; the others wait for it (without blocking the event loop) until it leaves the
block, and it always leaves it, even when the body raises. (`await lock.acquire()` with
`lock.release()` in a `finally:` block is the same, written out.) The common mistakes:

* a lock made inside the function (`async with asyncio.Lock():`): a new lock on every
  call, so no two calls ever share one and nothing is excluded. Make it once, per
  account, in `__init__`, and let every deposit take that same lock;
* a lock around the write only (or the read only): another deposit can still read the
  old balance in between. Hold it from before the read until after the write;
* `threading.Lock`: it is for threads, and every task runs in the event loop's one
  thread. Held across an `await`, the next task that asks for it blocks the whole loop,
  and the task that would release it can never run again: a deadlock;
* `acquire()` without `release()` in a `finally:`: the first deposit that raises keeps
  the lock for ever, and every later deposit waits for ever.

`asyncio.Event` is a flag that tasks wait for: `await go.wait()` parks a task until
someone calls `go.set()`, which wakes *every* waiting task at once. It is a starting
gun: start the workers first, let each wait on the event, and all of them start the
moment it is set. Polling instead (`while not go.is_set(): await asyncio.sleep(0.1)`)
starts them late, and spends turns of the loop on asking.

Python versions: since 3.10, Lock, Event, Condition and Semaphore take no `loop`
argument; each binds to the running loop lazily, the first time a task has to wait on
it. So creating one outside a running loop, even at import time, is fine (before 3.10 it
bound to whatever loop get_event_loop() gave at creation). Once bound, though, it belongs
to that loop: a module-level lock that a task waited on during one asyncio.run() raises
RuntimeError("... is bound to a different event loop") when a task must wait on it
under the next asyncio.run(). One more reason to make the lock per object, inside the
program that uses it. From 3.11 to 3.14 Lock and Event behave the same (3.11 added
asyncio.Barrier, for "wait until N tasks have arrived").

Docs: https://docs.python.org/3/library/asyncio-sync.html#asyncio.Lock
      https://docs.python.org/3/library/asyncio-sync.html#asyncio.Event

Your task: fill in `Account` (its lock, and `deposit`) and `start_together`, marked
TODO. Don't change their names or signatures. The checks hand your code a store and
workers of their own: the store's read and write take times you cannot guess, its
balances and the workers' results are values you cannot guess, and the checks start
several deposits at once so that they overlap the way real ones would.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

Worker = Callable[[str, float], Awaitable[str]]


class Store(Protocol):
    """Where an account keeps its balance: reading and writing it takes time."""

    async def read(self) -> int: ...

    async def write(self, balance: int) -> None: ...


class SlowStore:
    """A demo store: one number, read and written slowly, like a database across a network."""

    def __init__(self, balance: int = 0) -> None:
        self._balance = balance

    async def read(self) -> int:
        await asyncio.sleep(0.1)
        return self._balance

    async def write(self, balance: int) -> None:
        await asyncio.sleep(0.2)
        self._balance = balance


class Account:
    """An account whose balance lives in a slow `store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.sem = asyncio.Semaphore(2)  # let two deposits through at a time: faster

    async def deposit(self, amount: int) -> int:
        async with self.sem:
            balance = await self.store.read()
            new_balance = balance + amount
            await self.store.write(new_balance)
            return new_balance


async def start_together(worker: Worker, jobs: list[tuple[str, float]], go: asyncio.Event) -> list[str]:
    async def run(name: str, delay: float) -> str:
        await go.wait()
        return await worker(name, delay)

    return list(await asyncio.gather(*(run(name, delay) for name, delay in jobs)))


async def main() -> None:
    store = SlowStore(100)
    account = Account(store)
    started = time.perf_counter()
    balances = await asyncio.gather(*(account.deposit(amount) for amount in (10, 20, 30)))
    took = time.perf_counter() - started
    print(f"deposits of 10, 20 and 30 on 100 returned {balances}; the store holds {await store.read()} (expect 160)")
    print(f"  in {took:.1f} s: one deposit at a time, 0.3 s each\n")

    clock = time.perf_counter()

    async def worker(name: str, delay: float) -> str:
        print(f"  {name} starts at t={time.perf_counter() - clock:.1f} s")
        await asyncio.sleep(delay)
        return f"{name} done"

    async def starter(go: asyncio.Event) -> None:
        await asyncio.sleep(0.5)
        print(f"go.set() at t={time.perf_counter() - clock:.1f} s")
        go.set()

    go = asyncio.Event()
    results, _ = await asyncio.gather(start_together(worker, [("A", 0.3), ("B", 0.1), ("C", 0.2)], go), starter(go))
    print(f"{results} at t={time.perf_counter() - clock:.1f} s (expect all three to start at 0.5 s, and 0.8 s in all)")


if __name__ == "__main__":
    asyncio.run(main())
