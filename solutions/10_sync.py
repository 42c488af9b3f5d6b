"""Exercise 10 — shared state between tasks: asyncio.Lock and asyncio.Event (reference solution)."""

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
        # One lock per account, made once: every deposit to this account takes this same lock.
        self.lock = asyncio.Lock()

    async def deposit(self, amount: int) -> int:
        """Add `amount` to the balance in the store and return the new balance."""
        # Held across the read, the awaits and the write: no other deposit to this account can
        # read the old balance in between. `async with` releases it even if the store raises.
        async with self.lock:
            balance = await self.store.read()
            new_balance = balance + amount
            await self.store.write(new_balance)
            return new_balance


async def start_together(worker: Worker, jobs: list[tuple[str, float]], go: asyncio.Event) -> list[str]:
    """Start a task per job now; each waits for `go`, then runs `worker(name, delay)`."""

    async def run(name: str, delay: float) -> str:
        await go.wait()  # parked here, without polling, until the caller sets go: then all wake at once
        return await worker(name, delay)

    # gather wraps each coroutine in a task at once: every task is waiting on go before it is set.
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
