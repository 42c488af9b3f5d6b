"""Probes for 10_sync, run in the subject: deposits on the judge's slow stores, workers released by the judge's event.

``deposits`` makes one ``Account(store)`` per store and runs ``deposit(amount)`` for every
planned deposit, each in a task of its own, all started at once: deposits to one account
then overlap, exactly as the judge's read and write times make them, unless the
student's lock keeps them apart. The stores log every read and write (which deposit, when
on the virtual clock, the value, the student's line) and keep the balance where only
their own write reaches it. The evidence also says which locks the student's code keeps
and where (module, class, instance), and where ``deposit`` makes a new one on every call.

Two things would otherwise spoil the evidence of later calls or stop the subject:

* every probe runs on a fresh event loop, as a fresh program would; an asyncio primitive
  kept by the module or a class stays bound to the first loop that made a task wait on
  it, so the probe unbinds those before it starts (an unlocked one, with no waiter);
* a ``threading`` lock held across an ``await`` and asked for by a second task would block
  the loop's only thread for ever. Such locks are watched: instead of blocking, the ask
  is recorded (which lock, the student's line, the deposit) and that deposit is stopped.

``together`` calls ``start_together(worker, jobs, go)`` with the recording worker and a
``go`` the probe sets at the moment the judge chose; ``go`` notes who waited on it, who
polled ``is_set()`` (a poll that never lets the clock move on is stopped), and who set it.
"""

from __future__ import annotations

import asyncio
import contextvars
import dis
import functools
import inspect
import linecache
import re
import threading
from collections.abc import Callable, Coroutine, Iterator
from types import CodeType, FunctionType, ModuleType
from typing import Any

from grader.subject import (
    describe_raised,
    handed,
    plain,
    probe,
    source,
    source_ref,
    timeline,
    virtual_time,
    within,
)

DEPOSIT: contextvars.ContextVar[int | None] = contextvars.ContextVar("deposit", default=None)  # which planned deposit runs
PRIMITIVES = (
    (asyncio.Condition, "asyncio.Condition"),
    (asyncio.BoundedSemaphore, "asyncio.BoundedSemaphore"),
    (asyncio.Semaphore, "asyncio.Semaphore"),
    (asyncio.Lock, "asyncio.Lock"),
    (type(threading.Lock()), "threading.Lock"),
    (type(threading.RLock()), "threading.RLock"),
    (threading.BoundedSemaphore, "threading.BoundedSemaphore"),
    (threading.Semaphore, "threading.Semaphore"),
    (threading.Condition, "threading.Condition"),
)
MADE_BY = {"Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition"}
WATCHED = ("threading.Lock", "threading.Semaphore", "threading.BoundedSemaphore")  # a second ask blocks the thread
LOADS = {"LOAD_ATTR", "LOAD_METHOD", "LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF", "LOAD_FROM_DICT_OR_GLOBALS"}
SPIN_LIMIT = 5000  # go.is_set() asked this many times at one instant of the clock: a poll that never yields time


class ThreadLockBlocked(Exception):
    """A task asked for a threading lock another task holds: in a real program the loop's thread would block for ever."""


class BusyPolling(Exception):
    """go.is_set() was asked again and again without the clock moving on: the loop could never set go."""


@probe
async def deposits(
    exercise: ModuleType,
    balances: list[int],
    plan: list[list[int]],
    read: float,
    write: float,
    fail: int | None,
    error: str,
    deadline: float,
) -> dict[str, Any]:
    """``Account(store).deposit(amount)`` for every ``[account, amount]`` of ``plan``, each in a task, all at once.

    The write of deposit ``fail`` (an index of ``plan``) raises ``ConnectionError(error)``
    after its time. Evidence: ``deposits`` (per deposit: ``result`` and ``returned_at``, or
    ``raised`` with ``store_error`` (it is the very error the store raised), or ``pending``
    with ``waiting_at`` at the deadline), ``log`` (the reads and writes), ``balances`` (each
    store's balance at the end), ``never_awaited`` (store calls whose coroutine never ran),
    ``locks`` (the locks the code keeps), ``made_in_deposit`` (where deposit makes one),
    ``thread_blocked`` (asks for a held threading lock), ``deposit_kind``.
    """
    origin = virtual_time.now()

    def clock() -> float:
        return round(virtual_time.now() - origin, 6)

    log: list[dict[str, Any]] = []
    calls: list[tuple[Coroutine[Any, Any, Any], dict[str, Any]]] = []
    failure = ConnectionError(error)
    cells = [[balance] for balance in balances]
    stores = [make_store(n, cell, read, write, fail, failure, log, calls, clock) for n, cell in enumerate(cells)]
    accounts = [exercise.Account(store) for store in stores]
    kind = deposit_kind(accounts[0])
    if kind != "coroutine function":
        return {"deposit_kind": kind, "defined_at": definition(type(accounts[0]), "deposit")}
    blocked: list[dict[str, Any]] = []
    ends: dict[int, float] = {}

    async def one(index: int, account: Any, amount: int) -> Any:
        DEPOSIT.set(index)
        result = await account.deposit(amount)
        ends[index] = clock()
        return result

    with watching_locks(exercise, accounts, blocked, clock):
        tasks = [asyncio.create_task(one(n, accounts[which], amount)) for n, (which, amount) in enumerate(plan)]
        await asyncio.wait(tasks, timeout=deadline)
        outcomes = [ending(task, ends.get(n), failure) for n, task in enumerate(tasks)]
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
    never = []
    for coroutine, entry in calls:
        if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
            coroutine.close()  # closed here: Python does not warn "never awaited" into the student's output
            never.append({"op": entry["op"], "deposit": entry["deposit"], "site": entry["site"]})
    return {
        "deposit_kind": kind,
        "deposits": outcomes,
        "log": sorted(log, key=lambda e: (e["start"], e["deposit"] if e["deposit"] is not None else -1)),
        "balances": [plain(cell[0]) for cell in cells],
        "never_awaited": never,
        "locks": public(survey(exercise, accounts)),
        "made_in_deposit": made_in(type(accounts[0]).deposit),
        "thread_blocked": blocked,
    }


class Store:
    """The judge's store: a balance only its own ``read()`` and ``write()`` reach, each taking the judge's time."""

    __slots__ = ("read", "write")
    read: Callable[[], Coroutine[Any, Any, Any]]
    write: Callable[[Any], Coroutine[Any, Any, None]]

    def __repr__(self) -> str:
        return "<Store>"


def make_store(
    account: int,
    cell: list[Any],
    read_time: float,
    write_time: float,
    fail: int | None,
    failure: Exception,
    log: list[dict[str, Any]],
    calls: list[tuple[Coroutine[Any, Any, Any], dict[str, Any]]],
    clock: Callable[[], float],
) -> Store:
    """A store whose calls are plain functions returning coroutines: one never awaited is still seen, with its line."""

    def entry(op: str) -> dict[str, Any]:
        return {"op": op, "account": account, "deposit": DEPOSIT.get(), "site": source.caller_in_exercise(),
                "start": None, "end": None, "value": None, "failed": False}  # fmt: skip

    async def reading(note: dict[str, Any]) -> Any:
        note["start"] = clock()
        # A deposit that reads again after its own write waits as long as another read and write
        # take: a read-back after the lock is released then sees the next deposit's money.
        again = any(e["op"] == "write" and e["deposit"] == note["deposit"] and e["account"] == account for e in log)
        log.append(note)
        await asyncio.sleep(read_time + (read_time + write_time if again else 0.0))
        note["end"], note["value"] = clock(), plain(cell[0])
        return cell[0]

    async def writing(note: dict[str, Any], balance: Any) -> None:
        note["start"], note["value"] = clock(), plain(balance)
        log.append(note)
        await asyncio.sleep(write_time)
        note["end"] = clock()
        if fail is not None and note["deposit"] == fail and not any(e["failed"] for e in log):
            note["failed"] = True
            raise failure
        cell[0] = balance

    def read() -> Coroutine[Any, Any, Any]:
        note = entry("read")
        coroutine = reading(note)
        calls.append((coroutine, note))
        return coroutine

    def write(balance: Any) -> Coroutine[Any, Any, None]:
        note = entry("write")
        coroutine = writing(note, balance)
        calls.append((coroutine, note))
        return coroutine

    reading.__name__ = reading.__qualname__ = "read"
    writing.__name__ = writing.__qualname__ = "write"
    store = Store()
    store.read, store.write = handed(read), handed(write)  # the student's code gets no way back to the balance
    return store


def ending(task: asyncio.Task[Any], returned_at: float | None, failure: Exception) -> dict[str, Any]:
    """One deposit's end: its result, its exception (and whether it is the store's own), or where it still waits."""
    if not task.done():
        return {"pending": True, "waiting_at": source.suspended_at(task)}
    if task.cancelled():
        return {"cancelled": True}
    exc = task.exception()
    if exc is not None:
        return {
            "raised": describe_raised(exc), "store_error": exc is failure, "thread_lock": isinstance(exc, ThreadLockBlocked),
            "made_from_store_error": failure in (exc.__cause__, exc.__context__),  # raised while handling it
        }  # fmt: skip
    return {"result": plain(task.result()), "returned_at": returned_at}


def deposit_kind(account: Any) -> str:
    method = getattr(type(account), "deposit", None)
    if method is None:
        return "missing"
    return "coroutine function" if inspect.iscoroutinefunction(method) else "function"


def definition(cls: type, name: str) -> dict[str, Any] | None:
    function = vars(cls).get(name)
    code = getattr(function, "__code__", None)
    return source_ref(code.co_firstlineno) if isinstance(code, CodeType) and source.in_exercise(code) else None


def kind_of(value: Any) -> str | None:
    for cls, name in PRIMITIVES:
        if isinstance(value, cls):
            return name
    return None


def places(exercise: ModuleType, accounts: list[Any]) -> Iterator[tuple[str, str, Any, Callable[[Any], None]]]:
    """``(where, name, value, set)`` for every value the module, the account's classes and the accounts keep,
    and one level into the dicts and lists among them."""
    found: list[tuple[str, str, Any, Callable[[Any], None]]] = []

    def keep(where: str, name: str, value: Any, put: Callable[[Any], None]) -> None:
        found.append((where, name, value, put))
        if type(value) is dict:
            for key, item in list(value.items())[:100]:
                found.append((where, f"{name}[{key!r}]", item, functools.partial(value.__setitem__, key)))
        elif type(value) is list:
            for index, item in enumerate(value[:100]):
                found.append((where, f"{name}[{index}]", item, functools.partial(value.__setitem__, index)))

    for name, value in list(vars(exercise).items()):
        if not name.startswith("__"):
            keep("module", name, value, functools.partial(setattr, exercise, name))
    for cls in type(accounts[0]).__mro__:
        if cls.__module__ == exercise.__name__:
            for name, value in list(vars(cls).items()):
                if not name.startswith("__"):
                    keep("class", f"{cls.__name__}.{name}", value, functools.partial(setattr, cls, name))
    for account in accounts:
        attributes = dict(vars(account)) if hasattr(account, "__dict__") else {}
        for slot in getattr(type(account), "__slots__", ()):
            if isinstance(slot, str) and hasattr(account, slot):
                attributes[slot] = getattr(account, slot)
        for name, value in attributes.items():
            keep("instance", f"self.{name}", value, functools.partial(setattr, account, name))
    return iter(found)


def survey(exercise: ModuleType, accounts: list[Any]) -> list[dict[str, Any]]:
    """The locks (and semaphores, conditions) the code keeps: where, which kind, the line that made them; with the
    value itself and how to put another in its place (``value``, ``set``), which stay in the subject."""
    locks = []
    for where, name, value, put in places(exercise, accounts):
        kind = kind_of(value)
        if kind is not None:
            slots = getattr(value, "_value", None) if isinstance(value, asyncio.Semaphore) else None  # free slots, before any deposit
            locks.append({"where": where, "name": name, "kind": kind, "line": assignment(exercise, where, name),
                          "slots": slots if isinstance(slots, int) else None, "value": value, "set": put})  # fmt: skip
    return locks


def public(locks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The locks as evidence: each place once (the same attribute of several accounts is one)."""
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for lock in locks:
        seen.setdefault((lock["where"], lock["name"]), {k: lock[k] for k in ("where", "name", "kind", "line", "slots")})
    return list(seen.values())


def assignment(exercise: ModuleType, where: str, name: str) -> dict[str, Any] | None:
    """The student's line that binds ``name``: ``LOCK = ...``, ``lock = ...`` in a class, ``self.lock = ...``."""
    bare = re.escape(name.split("[", maxsplit=1)[0].rsplit(".", maxsplit=1)[-1])
    pattern = {"module": rf"^{bare}\s*(:[^=]*)?=[^=]", "class": rf"^\s+{bare}\s*(:[^=]*)?=[^=]"}.get(
        where, rf"self\.{bare}\s*(:[^=]*)?=[^=]"
    )
    for number, line in enumerate(linecache.getlines(str(getattr(exercise, "__file__", ""))), 1):
        if re.search(pattern, line):
            return source_ref(number)
    return None


def unbind(value: Any) -> None:
    """Let an asyncio primitive bind afresh to the running loop, as in a program started anew (if nothing waits on it)."""
    for primitive in (value, getattr(value, "_lock", None)):
        if (
            isinstance(primitive, (asyncio.Lock, asyncio.Semaphore, asyncio.Condition))
            and not getattr(primitive, "_waiters", None)
            and getattr(primitive, "_loop", None) is not None
        ):
            primitive._loop = None  # type: ignore[union-attr]  # asyncio's own lazy binding (3.10+)


class WatchedThreadLock:
    """A threading lock of the student's, watched: an ask that would block the loop's thread is recorded and refused."""

    def __init__(self, lock: Any, name: str, kind: str, blocked: list[dict[str, Any]], clock: Callable[[], float]) -> None:
        self._lock, self._name, self._kind = lock, name, kind
        # Stand-ins: the student's code holds this lock, and must find no way back to the records or the clock.
        self._note, self._clock = handed(blocked.append), handed(clock)

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._lock.acquire(False):
            return True
        if not blocking:
            return False
        self._note({"name": self._name, "kind": self._kind, "site": source.caller_in_exercise(),
                              "at": self._clock(), "deposit": DEPOSIT.get()})  # fmt: skip
        raise ThreadLockBlocked(f"{self._kind} {self._name} is held by another task: this thread would block for ever")

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return bool(self._lock.locked()) if hasattr(self._lock, "locked") else False

    def __enter__(self) -> bool:
        return self.acquire()

    async def __aenter__(self) -> None:
        # What Python says of the student's own lock: a threading lock has no `async with`.
        kind = type(self._lock)
        name = kind.__name__ if kind.__module__ == "threading" else f"{kind.__module__}.{kind.__name__}"
        raise TypeError(f"'{name}' object does not support the asynchronous context manager protocol")

    async def __aexit__(self, *exc: object) -> None:
        self.release()

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return repr(self._lock)


class watching_locks:
    """Unbind the shared asyncio primitives, and watch the threading locks, for the time of the block."""

    def __init__(self, exercise: ModuleType, accounts: list[Any], blocked: list[dict[str, Any]], clock: Callable[[], float]) -> None:
        self.found = survey(exercise, accounts)
        self.blocked, self.clock = blocked, clock

    def __enter__(self) -> None:
        for lock in self.found:
            if lock["kind"].startswith("asyncio.") and lock["where"] != "instance":
                unbind(lock["value"])
            if lock["kind"] in WATCHED:
                lock["set"](WatchedThreadLock(lock["value"], lock["name"], lock["kind"], self.blocked, self.clock))

    def __exit__(self, *exc: object) -> None:
        for lock in self.found:
            if lock["kind"] in WATCHED:
                lock["set"](lock["value"])


def made_in(function: Any) -> list[dict[str, Any]]:
    """Where ``function`` (deposit) makes a lock each time it runs: ``asyncio.Lock()`` and the like, with the line."""
    function = getattr(function, "__func__", function)
    code = getattr(function, "__code__", None)
    if not isinstance(function, FunctionType) or not isinstance(code, CodeType) or not source.in_exercise(code):
        return []
    found = []
    for inner in codes(code):
        for instruction in dis.get_instructions(inner):
            if instruction.opname in LOADS and instruction.argval in MADE_BY:
                line = instruction.positions.lineno if instruction.positions else None
                if line:
                    found.append({"name": str(instruction.argval), "line": source_ref(line)})
    return found


def codes(code: CodeType) -> Iterator[CodeType]:
    yield code
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            yield from codes(constant)


@probe
async def together(
    exercise: ModuleType,
    jobs: list[list[Any]],
    values: dict[str, str],
    durations: dict[str, float],
    set_at: float,
    deadline: float,
) -> dict[str, Any]:
    """``start_together(worker, jobs, go)``, with ``go`` set by the probe at ``set_at``: what it returned (or raised),
    when, what the jobs did, and what happened to ``go``: ``waits`` (who waited, from when), ``parked`` (the tasks other
    than the caller waiting in go.wait() when it was set), ``caller_parked``, ``polls``, ``spinning``, ``sets`` (the
    student's own go.set() calls, each with those counts), ``unawaited_waits`` (go.wait() calls never awaited)."""
    caller = asyncio.current_task()
    notes: dict[str, Any] = {"waits": [], "made": [], "sets": [], "polls": 0, "poll_site": None, "poll_time": None,
                             "same": 0, "spinning": False, "set_at": None, "parked": 0, "caller_parked": False}  # fmt: skip
    timeline.begin(values, durations)
    origin = virtual_time.now()

    def clock() -> float:
        return round(virtual_time.now() - origin, 6)

    go = make_go(notes, clock, caller)

    def fire() -> None:
        notes["set_at"] = clock()
        notes.update(notes["parked_now"]())
        asyncio.Event.set(go)

    handle = asyncio.get_running_loop().call_later(set_at, handed(fire))  # in the loop's timers: no way back to the notes
    start_together = exercise.start_together
    outcome: dict[str, Any]
    try:
        result = await within(start_together(timeline.worker, [tuple(job) for job in jobs], go), deadline, "start_together()")
        outcome = {"result": plain(result)}
    except Exception as exc:  # noqa: BLE001 - the student's exception, judged with the rest of the evidence
        outcome = {"raised": describe_raised(exc)}
    finally:
        handle.cancel()
    returned_at = clock()
    unawaited = []
    for coroutine, site in notes["made"]:
        if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
            coroutine.close()  # closed here: Python does not warn "never awaited" into the student's output
            unawaited.append(site)
    waits = [{"caller": w["caller"], "entered": w["entered"], "site": w["site"]} for w in notes["waits"]]
    return {
        **outcome,
        "returned_at": returned_at,
        "timeline": timeline.evidence(caller),
        "set_at": notes["set_at"],
        "parked": notes["parked"],
        "caller_parked": notes["caller_parked"],
        "waits": waits,
        "polls": notes["polls"],
        "poll_site": notes["poll_site"],
        "spinning": notes["spinning"],
        "sets": notes["sets"],
        "unawaited_waits": unawaited,
    }


def make_go(notes: dict[str, Any], clock: Callable[[], float], caller: Any) -> asyncio.Event:
    """An asyncio.Event that notes its waiters (and the go.wait() calls never awaited), its polls, and who set it
    (with how many tasks were waiting then); a poll that never lets time pass is stopped."""

    def parked() -> dict[str, Any]:
        waiting = [w for w in notes["waits"] if w["left"] is None]
        return {"parked": len({w["task"] for w in waiting if not w["caller"]}), "caller_parked": any(w["caller"] for w in waiting)}

    async def waiting(event: asyncio.Event, site: dict[str, Any] | None) -> bool:
        task = asyncio.current_task()
        note = {"caller": task is caller, "task": id(task), "entered": clock(), "left": None, "site": site}
        notes["waits"].append(note)
        try:
            return await asyncio.Event.wait(event)
        finally:
            note["left"] = clock()

    waiting.__name__, waiting.__qualname__ = "wait", "Event.wait"

    def is_set(self: asyncio.Event) -> bool:
        now = clock()
        notes["polls"] += 1
        notes["poll_site"] = notes["poll_site"] or source.caller_in_exercise()
        notes["same"] = notes["same"] + 1 if now == notes["poll_time"] else 0
        notes["poll_time"] = now
        if notes["same"] >= SPIN_LIMIT and not asyncio.Event.is_set(self):
            notes["spinning"] = True
            raise BusyPolling(f"go.is_set() was asked {SPIN_LIMIT} times at t={now:g} s without time passing")
        return asyncio.Event.is_set(self)

    def wait(self: asyncio.Event) -> Coroutine[Any, Any, bool]:
        # A plain method, so that a call that is never awaited is still seen, with the student's line.
        site = source.caller_in_exercise()
        coroutine = waiting(self, site)
        notes["made"].append((coroutine, site))
        return coroutine

    def describe(self: asyncio.Event) -> str:
        return f"<asyncio.locks.Event object at {id(self):#x} [{'set' if asyncio.Event.is_set(self) else 'unset'}]>"

    def set_go(self: asyncio.Event) -> None:
        notes["sets"].append({"at": clock(), "site": source.caller_in_exercise(), **parked()})
        asyncio.Event.set(self)

    set_go.__name__ = set_go.__qualname__ = "set"
    describe.__name__ = describe.__qualname__ = "__repr__"

    # The methods are stand-ins: ``type(go).is_set.__closure__`` leads nowhere, not to the notes.
    methods = {"is_set": is_set, "wait": wait, "__repr__": describe, "set": set_go}
    event_class: type[asyncio.Event] = type("Event", (asyncio.Event,), {name: handed(method) for name, method in methods.items()})

    notes["parked_now"] = parked
    return event_class()
