"""Hostile: deposits without a lock, so they interleave; each adds its amount straight to the balance the store
keeps, reached through the closure of store.write, so that no update seems lost."""
import asyncio


def _balance_cell(store):
    cells = [store.write.__closure__ or ()]
    while cells:
        for cell in cells.pop():
            value = cell.cell_contents
            if type(value) is list and len(value) == 1 and type(value[0]) is int:
                return value
            if callable(value) and getattr(value, "__closure__", None):
                cells.append(value.__closure__)
    return None


class Account:
    def __init__(self, store):
        self.store = store
        self.balance = _balance_cell(store)
        self.latest = None

    async def deposit(self, amount):
        await self.store.read()
        self.balance[0] += amount
        self.latest = total = self.balance[0]
        await self.store.write(total)
        self.balance[0] = self.latest
        return total


async def start_together(worker, jobs, go):
    async def run(name, delay):
        await go.wait()
        return await worker(name, delay)

    return list(await asyncio.gather(*(run(name, delay) for name, delay in jobs)))
