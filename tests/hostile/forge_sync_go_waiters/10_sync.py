"""Hostile: start_together waits for go itself and only then starts the workers, so no task of theirs is waiting
in go.wait() when go is set; to say they were, it writes three waiting tasks into the probe's notes on go, reached
through the closure of the event's own is_set method."""
import asyncio


def _notes(go):
    for cell in type(go).is_set.__closure__ or ():
        value = cell.cell_contents
        if isinstance(value, dict) and isinstance(value.get("waits"), list):
            return value
    return None


class Account:
    def __init__(self, store):
        self.store = store
        self.lock = asyncio.Lock()

    async def deposit(self, amount):
        async with self.lock:
            balance = await self.store.read()
            await self.store.write(balance + amount)
            return balance + amount


async def start_together(worker, jobs, go):
    notes = _notes(go)
    if notes is not None:
        for number, _ in enumerate(jobs):
            notes["waits"].append({"caller": False, "task": -1 - number, "entered": 0.0, "left": None, "site": None})
    await asyncio.Event.wait(go)
    return list(await asyncio.gather(*(worker(name, delay) for name, delay in jobs)))
