"""Probes for 05_queues, run in the subject: call process_all with a recording handle.

``process_all`` runs in a task of its own while a task factory records every task it
starts. Task objects cannot travel to the judge, so the facts the checks need about them
are computed here: how many different tasks handled items, which of the started tasks
were still pending at the moment ``process_all`` returned (and what each was doing), and,
on a deadlock, which queue await it hangs on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from types import CodeType, ModuleType
from typing import Any

from grader.subject import Deadline, plain, probe, timeline, virtual_time, within

QUEUE_GET: CodeType = asyncio.Queue.get.__code__
QUEUE_PUT: CodeType = asyncio.Queue.put.__code__
QUEUE_JOIN: CodeType = asyncio.Queue.join.__code__


@probe
async def process_all(
    exercise: ModuleType, consumers: int, delays: dict[str, float], values: dict[str, str], deadline: float
) -> dict[str, Any]:
    """``process_all(items, handle, consumers)``: what it returned and when, or where it hangs.

    Evidence: ``returned`` (bool), ``result``, ``returned_at``, ``left_running`` (tasks it
    started that were pending when it returned: ``{"name", "state"}`` with state
    ``cancelling``, ``get`` or ``running``), ``handler_tasks`` (how many different tasks
    called handle), ``timeline``, and on a deadlock ``hang`` (``{"what", "seconds",
    "waiting_in", "parked"}``). A task of the student's that died of an exception is
    raised instead: that crash is the real story, a hang only its symptom.
    """
    items = list(delays)
    created: list[asyncio.Task[Any]] = []
    handlers: list[asyncio.Task[Any] | None] = []
    evidence: dict[str, Any] = {"returned": False, "result": None, "returned_at": 0.0, "left_running": [], "hang": None}

    async def handle(item: str) -> Any:
        task = asyncio.current_task()
        if all(task is not known for known in handlers):
            handlers.append(task)
        return await timeline.worker(item, delays[item])

    async def call() -> Any:
        result = await exercise.process_all(list(items), handle, consumers)
        # Still in the step in which process_all returned: no other task has run since.
        evidence["returned_at"] = round(virtual_time.now() - start, 6)
        evidence["left_running"] = [left_task(t) for t in created if not t.done()]
        return result

    start = virtual_time.now()
    timeline.begin(values)
    task = asyncio.create_task(call())  # created before recording starts: only the student's tasks are recorded
    with recording_tasks(created):
        try:
            # shield: on a deadlock, keep the student's tasks where they hang, to say where.
            evidence["result"] = plain(await within(asyncio.shield(task), deadline, "process_all()"))
            evidence["returned"] = True
        except Deadline as timeout:
            evidence["hang"] = {"what": timeout.what, "seconds": timeout.seconds, **where_stuck(task, created)}
        finally:
            await cancel_leftovers([task, *created])
            crashes = crashed(created)
    if crashes:
        raise crashes[0]
    evidence["handler_tasks"] = len(handlers)
    evidence["timeline"] = timeline.evidence()
    return evidence


def awaiting(task: asyncio.Task[Any]) -> list[CodeType]:
    """The chain of coroutines a suspended task is inside, outermost first."""
    codes = []
    awaited: Any = task.get_coro()
    while awaited is not None and hasattr(awaited, "cr_code"):
        codes.append(awaited.cr_code)
        awaited = awaited.cr_await
    return codes


def task_name(task: asyncio.Task[Any]) -> str:
    """The student's coroutine's name (``consumer``), which means more to them than ``Task-7``."""
    coro = task.get_coro()
    return str(getattr(coro, "__qualname__", None) or task.get_name())


def left_task(task: asyncio.Task[Any]) -> dict[str, str]:
    """A task still pending when process_all returned, and what it was doing."""
    if task.cancelling():
        state = "cancelling"
    else:
        state = "get" if QUEUE_GET in awaiting(task) else "running"
    return {"name": task_name(task), "state": state}


def where_stuck(task: asyncio.Task[Any], created: list[asyncio.Task[Any]]) -> dict[str, Any]:
    """The queue await a deadlocked process_all hangs on: ``join``, ``put``, ``get`` or None."""
    pending = [t for t in [task, *created] if not t.done()]
    if any(QUEUE_JOIN in awaiting(t) for t in pending):
        return {"waiting_in": "join", "parked": 0}
    if any(QUEUE_PUT in awaiting(t) for t in pending):
        return {"waiting_in": "put", "parked": 0}
    parked = sum(1 for t in created if not t.done() and QUEUE_GET in awaiting(t))
    return {"waiting_in": "get" if parked else None, "parked": parked}


@contextlib.contextmanager
def recording_tasks(created: list[asyncio.Task[Any]]) -> Iterator[None]:
    """Remember every task created on the running loop inside the block."""
    loop = asyncio.get_running_loop()
    previous = loop.get_task_factory()

    def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        task = previous(loop, coro, **kwargs) if previous else asyncio.Task(coro, loop=loop, **kwargs)
        created.append(task)
        return task  # type: ignore[return-value]

    loop.set_task_factory(factory)  # type: ignore[arg-type]
    try:
        yield
    finally:
        loop.set_task_factory(previous)


def crashed(tasks: list[asyncio.Task[Any]]) -> list[BaseException]:
    """The exceptions the tasks died of. Retrieving them also keeps asyncio from logging
    "Task exception was never retrieved" later, from a garbage collection at a random moment."""
    return [e for t in tasks if t.done() and not t.cancelled() and (e := t.exception()) is not None]


async def cancel_leftovers(tasks: list[asyncio.Task[Any]]) -> None:
    """Stop whatever the student's code left running, so the next probe starts clean."""
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1.0)
