"""Probes for 05_queues, run in the subject: call process_all with a recording handle.

``process_all`` runs in a task of its own while a task factory records every task it
starts, and every ``asyncio.Queue`` it uses is watched: which items went in and came
out, the other values (sentinels), the ``task_done()`` calls, and any ``put()``,
``get()`` or ``join()`` that was called but never awaited. Task objects cannot travel to
the judge, so the facts the checks need about them are computed here: how many
different tasks handed items to ``handle``, which of the started tasks were still
pending when ``process_all`` returned (and what each was doing), and, on a deadlock,
which queue await it hangs on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
from collections.abc import Callable, Coroutine, Iterator
from types import CodeType, ModuleType
from typing import Any

from grader.subject import (
    Deadline,
    describe_raised,
    handed,
    plain,
    probe,
    source,
    tasks,
    timeline,
    virtual_time,
    within,
)

QUEUE_GET: CodeType = asyncio.Queue.get.__code__
QUEUE_PUT: CodeType = asyncio.Queue.put.__code__
QUEUE_JOIN: CodeType = asyncio.Queue.join.__code__
CALLS_KEPT = 1000  # queue calls remembered at once: a runaway loop of unawaited get()s must not fill the memory


@probe
async def process_all(
    exercise: ModuleType, consumers: int, delays: dict[str, float], values: dict[str, str], deadline: float
) -> dict[str, Any]:
    """``process_all(items, handle, consumers)``: what it returned and when, or where it hangs.

    Evidence: ``returned`` (bool), ``result``, ``returned_at``, ``left_running`` (tasks it
    started that were pending when it returned: ``{"name", "state"}`` with state
    ``cancelling``, ``get`` or ``running``), ``started`` and ``cancelled`` (how many tasks
    it had started, and cancelled, by then), ``handler_tasks`` (how many different tasks
    called handle), ``timeline`` and ``queues`` (what each queue carried),
    ``never_awaited`` (queue calls whose coroutine never ran). The tasks it left running
    are given until the deadline to finish first, so the timeline and the queues show all
    the work its tasks did, even after an early return. On a deadlock, ``hang``
    (``{"what", "seconds", "waiting_in", "parked", "pending"}``), the rest as at the
    deadline. When the student's code raised, ``raised``: a task's crash first, since a
    hang or an early return is only its symptom (but a task_done() that Python refused is
    counted in ``queues``, for the task_done check, and is no crash).
    """
    items = list(delays)
    created: list[asyncio.Task[Any]] = []
    handlers: list[asyncio.Task[Any] | None] = []
    watch = QueueWatch(items)
    evidence: dict[str, Any] = {"returned": False, "result": None, "returned_at": 0.0, "left_running": [], "hang": None}

    def handle(item: str) -> Coroutine[Any, Any, Any]:
        # A plain function, so a call that is never awaited is still seen, with the student's line.
        task = asyncio.current_task()
        if all(task is not known for known in handlers):
            handlers.append(task)
        return timeline.worker(item, delays[item])

    async def call() -> Any:
        try:
            return await exercise.process_all(list(items), handed(handle), consumers)  # no way back to the handlers
        finally:
            # Still in the step in which process_all returned (or raised): no other task has run since.
            evidence["returned_at"] = round(virtual_time.now() - start, 6)
            evidence["left_running"] = [describe_task(t) for t in created if not t.done()]
            evidence["started"] = len(created)
            evidence["cancelled"] = sum(1 for t in created if t.cancelled() or t.cancelling())

    asyncio.get_running_loop().set_exception_handler(handed(quiet_cancellations))
    start = virtual_time.now()
    timeline.begin(values)
    task = asyncio.create_task(call())  # created before recording starts: only the student's tasks are recorded
    raised: BaseException | None = None
    with tasks.recording_tasks(created.append), watch.watching():
        try:
            # shield: on a deadlock, keep the student's tasks where they hang, to say where.
            evidence["result"] = plain(await within(asyncio.shield(task), deadline, "process_all()"))
            evidence["returned"] = True
            left = [t for t in created if not t.done()]
            if left:
                await asyncio.wait(left, timeout=max(deadline - (virtual_time.now() - start), 0.0))
        except Deadline as timeout:
            pending = [describe_task(t) for t in created if not t.done()]
            stuck = where_stuck(task, created)
            evidence["hang"] = {"what": timeout.what, "seconds": timeout.seconds, **stuck, "pending": pending}
        except Exception as exc:  # noqa: BLE001 - the student's process_all raised: evidence, judged with the rest
            raised = exc
        except asyncio.CancelledError:
            if not (task.done() and task.cancelled()):
                raise  # the probe's own call is being cancelled
            # process_all ended cancelled though nothing cancelled it (it gathered tasks it had cancelled): the
            # rest of the evidence stands; the line is the first of the student's in the error's traceback.
            cancelled = task._make_cancelled_error()  # type: ignore[attr-defined]
            evidence["cancelled_itself"] = {"source": source.first_student_line(cancelled.__traceback__)}
        finally:
            evidence["queues"] = watch.snapshot()
            await cancel_leftovers([task, *created])
            # task_done()'s own ValueError is the task_done check's to judge, not a crash of everything.
            crashes = [e for e in crashed(created) if all(e is not refused for refused in watch.refused)]
    evidence["never_awaited"] = watch.never_awaited()
    raised = crashes[0] if crashes else raised
    if raised is not None and not isinstance(raised, Exception):
        raise raised
    if raised is not None:
        return {"raised": describe_raised(raised), "never_awaited": evidence["never_awaited"]}
    evidence["handler_tasks"] = len(handlers)
    evidence["timeline"] = timeline.evidence()
    return evidence


class QueueWatch:
    """What every asyncio.Queue did while watched: values put and taken, task_done() calls, unawaited calls.

    A value "carries" an item when the item's name is in it (``(index, item)``, a dict, the
    bare name); any other value (``STOP``) is counted apart. Queue coroutines are wrapped
    by plain functions, so that one called but never awaited is still seen, with the line.
    """

    def __init__(self, items: list[str]) -> None:
        self.items = set(items)
        self.queues: dict[int, tuple[asyncio.Queue[Any], dict[str, Any]]] = {}  # each queue kept: its id stays its own
        self.calls: list[tuple[Coroutine[Any, Any, Any], str, dict[str, Any] | None]] = []
        self.refused: list[ValueError] = []  # "task_done() called too many times", as raised

    def record(self, queue: asyncio.Queue[Any]) -> dict[str, Any]:
        if id(queue) not in self.queues:
            use = {"puts": collections.Counter(), "taken": collections.Counter(), "other_puts": 0, "other_taken": 0,
                   "task_dones": 0, "extra_task_dones": 0, "put_site": None, "get_site": None,
                   "extra_site": None}  # fmt: skip
            self.queues[id(queue)] = (queue, use)
        return self.queues[id(queue)][1]

    def carried(self, value: Any, depth: int = 0) -> list[str]:
        if isinstance(value, str):
            return [value] if value in self.items else []
        if depth < 2 and isinstance(value, (tuple, list)):
            return [item for part in value for item in self.carried(part, depth + 1)]
        if depth < 2 and isinstance(value, dict):
            return [item for part in value.values() for item in self.carried(part, depth + 1)]
        return []

    def count(self, use: dict[str, Any], kind: str, value: Any) -> bool:
        """Count ``value`` as put or taken; True when it carries an item."""
        carried = self.carried(value)
        use[kind].update(carried)
        if not carried:
            use[f"other_{kind}"] += 1
        return bool(carried)

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        cls = asyncio.Queue
        names = ("put_nowait", "get_nowait", "task_done", "put", "get", "join")
        originals = {name: cls.__dict__[name] for name in names}
        watch = self

        def put_nowait(queue: asyncio.Queue[Any], value: Any) -> None:
            originals["put_nowait"](queue, value)
            use = watch.record(queue)
            if watch.count(use, "puts", value) and use["put_site"] is None:
                use["put_site"] = source.caller_in_exercise()

        def get_nowait(queue: asyncio.Queue[Any]) -> Any:
            value = originals["get_nowait"](queue)
            use = watch.record(queue)
            if use["get_site"] is None:
                use["get_site"] = source.caller_in_exercise()
            watch.count(use, "taken", value)
            return value

        def task_done(queue: asyncio.Queue[Any]) -> None:
            use = watch.record(queue)
            try:
                originals["task_done"](queue)
            except ValueError as refused:
                use["extra_task_dones"] += 1
                use["extra_site"] = use["extra_site"] or source.caller_in_exercise()
                watch.refused.append(refused)
                raise
            use["task_dones"] += 1

        def awaitable(name: str) -> Any:
            def call(queue: asyncio.Queue[Any], *args: Any) -> Coroutine[Any, Any, Any]:
                coroutine: Coroutine[Any, Any, Any] = originals[name](queue, *args)
                watch.remember(coroutine, name)
                return coroutine

            return call

        replacements: dict[str, Callable[..., Any]] = {"put_nowait": put_nowait, "get_nowait": get_nowait, "task_done": task_done}
        replacements.update({name: awaitable(name) for name in ("put", "get", "join")})
        for name, replacement in replacements.items():
            setattr(cls, name, handed(replacement))  # a stand-in: ``Queue.get.__closure__`` leads nowhere, not to the watch
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(cls, name, original)

    def remember(self, coroutine: Coroutine[Any, Any, Any], method: str) -> None:
        """Keep a queue call's coroutine and the student's line, to tell later whether it was ever awaited."""
        if len(self.calls) >= CALLS_KEPT:
            self.calls = [c for c in self.calls if inspect.getcoroutinestate(c[0]) != inspect.CORO_CLOSED]
        if len(self.calls) < CALLS_KEPT:
            self.calls.append((coroutine, method, source.caller_in_exercise()))

    def snapshot(self) -> list[dict[str, Any]]:
        """Every queue used so far, in the order of first use: items put and taken, other values, task_done()s."""
        return [{**use, "puts": dict(use["puts"]), "taken": dict(use["taken"])} for _, use in self.queues.values()]

    def never_awaited(self) -> list[dict[str, Any]]:
        """Queue calls whose coroutine never started; closed here, so Python does not warn into the output."""
        never = []
        for coroutine, method, site in self.calls:
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()
                never.append({"method": method, "source": site})
        return never


def quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop "exception was never retrieved" for a CancelledError: the probe's own cleanup caused it."""
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


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


def describe_task(task: asyncio.Task[Any]) -> dict[str, str]:
    """A task still pending, and what it is doing: cancelled, waiting in get(), or busy."""
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
