"""Injected workers that record when they really ran, on the loop's virtual clock.

Probes hand :func:`worker` to the student's code instead of trusting its return value:
a worker that never ran has no span, a worker awaited one at a time has spans that do
not overlap, and a worker called but never awaited is named with the line that called
it. The values the workers return are chosen by the judge, so a result built from the
job names instead of the workers' returns does not match; so, where the judge says, is
how long each job takes, so a wait of a fixed time (the longest delay) does not match
the jobs' end. Each job's end also records where the caller was waiting meanwhile: the
``await`` that held it up.

The recorder is out of the student's reach: the worker carries no reference to it (no
``__self__``, no closure, no global). Each job announces itself with an audit event,
and the one audit hook that keeps the records accepts an event only from the job's own
code object, reads the time from the loop's real clock, and notes a clock that went
backwards. Audit hooks cannot be listed or removed from Python, and the garbage
collector's walks that could find one are refused in the subject (see
:mod:`grader.subject.guard`).
"""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from grader.subject import source, virtual_time

EVENT = "asynclings.timeline"


# These functions take ``sys.audit`` as a default, bound when they were defined: rebinding a
# name of this module, even for a moment, cannot take their events (or make up evidence).
def worker(
    name: str,
    delay: float,
    _audit: Callable[..., None] = sys.audit,
    _plain: tuple[type[str], type[int], type[float], Callable[..., Any], Callable[..., Any], Callable[..., Any]] = (str, int, float, isinstance, repr, type),
) -> Coroutine[Any, Any, Any]:
    """A job that waits ``delay`` virtual seconds and returns the judge's value for ``name``.

    A plain function returning the coroutine, so that the student's line that called it
    is on the stack and can be remembered. A name or delay of a type of the student's
    (a ``str`` whose ``__hash__`` or ``__repr__`` is theirs) is made a plain one here, so
    that no code of theirs runs inside the recorder.
    """
    str_, int_, float_, isinstance_, repr_, type_ = _plain  # bound at definition, as ``_audit`` is
    name = str_.__str__(name) if isinstance_(name, str_) else repr_(name)
    delay = delay if type_(delay) in (int_, float_) else float_(delay)
    job = _job(name, delay)
    _audit(EVENT, "created", (name, delay, source.caller_in_exercise(), job))
    return job


async def _job(name: str, delay: float, _audit: Callable[..., None] = sys.audit) -> Any:
    box: list[Any] = []
    takes: list[float] = []
    _audit(EVENT, "started", (name, takes, delay))
    await asyncio.sleep(takes[0] if takes else delay)
    _audit(EVENT, "finished", (name, None, box))
    return box[0] if box else None


# A coroutine of the judge's worker reads as the worker's in the student's reprs and warnings.
_job.__name__ = _job.__qualname__ = "worker"


def begin(values: dict[str, Any], durations: dict[str, float] | None = None, _audit: Callable[..., None] = sys.audit) -> None:
    """Start recording afresh: "now" is t=0, the jobs named in ``values`` return those values,
    and those named in ``durations`` take that long whatever delay they were given."""
    _audit(EVENT, "begin", (values, durations or {}))


def evidence(caller: Any = None, _audit: Callable[..., None] = sys.audit) -> dict[str, Any]:
    """What the jobs did since :func:`begin`; ``in_caller`` lists jobs run inside ``caller``'s own task."""
    out: list[dict[str, Any]] = []
    _audit(EVENT, "evidence", (caller, out))
    return out[0] if out else {}


def install() -> None:
    """Add the recording hook, once, before any student code is imported.

    Everything the hook uses is bound here, in its closure: a submission that rebinds a
    name in this module or in :mod:`virtual_time` changes nothing the hook does.
    """
    # The builtins the hook's code calls, bound now: one rebound in ``builtins`` for the moment of a call is never called here.
    from builtins import dict, float, id, isinstance, list, max, round, set  # noqa: UP029 - bound here on purpose

    trusted = {begin.__code__, evidence.__code__, worker.__code__, _job.__code__}
    own_globals = globals()  # a job's code rebuilt with globals of another's (its own asyncio.sleep) is no job
    getframe, getstate, created_state = sys._getframe, inspect.getcoroutinestate, inspect.CORO_CREATED
    current_task, running_loop, get_running = asyncio.current_task, asyncio.get_running_loop, asyncio.events._get_running_loop
    all_tasks = asyncio.all_tasks
    loop_class, loop_time = virtual_time.looptime.LoopTimeEventLoop, virtual_time.looptime.LoopTimeEventLoop.time

    check_clock = virtual_time.check_clock

    def now() -> float:
        loop = running_loop()
        check_clock(loop)
        return round(loop_time(loop) if isinstance(loop, loop_class) else loop.time(), 6)

    def now_if_running() -> float:
        return now() if get_running() is not None else 0.0

    caller_in_exercise, suspended_at = source.caller_in_exercise, source.suspended_at
    state: dict[str, Any] = _fresh({}, {}, 0.0, None)
    inside = [False]

    def waiting_in(caller: Any) -> dict[str, Any] | None:
        """The student's line where ``caller``'s task waits right now: the await that holds it up."""
        if caller is None:
            return None
        if caller is current_task():  # the job runs inside the caller's own task: its frames are on the stack
            return caller_in_exercise()
        return suspended_at(caller)

    def clock() -> float:
        moment: float = round(now() - state["origin"], 6)
        state["tampered"] = state["tampered"] or moment < state["last"]
        state["last"] = max(state["last"], moment)
        return moment

    def record(what: str, data: Any) -> None:
        nonlocal state
        if what == "begin":
            values, durations = data
            state = _fresh(dict(values), dict(durations), now_if_running(), current_task() if get_running() else None)
        elif what == "evidence":
            caller, out = data
            never = []
            in_tasks = {id(task.get_coro()) for task in all_tasks()} if get_running() is not None else set()
            for job, call in state["unstarted"]:
                if getstate(job) == created_state:
                    in_task = id(job) in in_tasks  # wrapped in a task that never got to run
                    if not in_task:
                        job.close()  # closed here: Python does not warn "never awaited" into the student's output
                    never.append({**call, "task": in_task})
            state["unstarted"] = []
            out.append({
                "calls": list(state["calls"]),
                "started": dict(state["started"]),
                "finished": dict(state["finished"]),
                "created": list(state["created"]),
                "never_awaited": never,
                "waited_at": dict(state["waited_at"]),
                "in_caller": [n for n, task in state["tasks"].items() if caller is not None and task is caller],
                "clock_went_backwards": state["tampered"],
            })
        elif what == "created":
            name, delay, site, job = data
            call = {"call": f"worker({name!r}, {delay!r})", "source": site}
            state["created"].append(call)
            state["unstarted"].append((job, call))
        elif what == "started":
            name, takes, delay = data
            takes.append(float(state["durations"].get(name, delay)))
            state["calls"].append(name)
            state["started"][name] = clock()
            state["delays"][name] = takes[0]
            state["tasks"][name] = current_task()
        elif what == "finished":
            name, _, box = data
            state["finished"][name] = clock()
            # A job that "finished" before its delay passed did not really wait: the clock was faked.
            waited = state["finished"][name] - state["started"].get(name, 0.0)
            state["tampered"] = state["tampered"] or waited + 1e-6 < state["delays"].get(name, 0.0)
            box.append(state["values"].get(name, f"{name} done"))
            state["waited_at"][name] = waiting_in(state["caller"])

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != EVENT or inside[0]:
            return
        inside[0] = True
        try:
            frame = getframe(1)
            if frame.f_code in trusted and frame.f_globals is own_globals:
                record(args[0], args[1])
        finally:
            inside[0] = False

    sys.addaudithook(hook)


def _fresh(values: dict[str, Any], durations: dict[str, float], origin: float, caller: Any) -> dict[str, Any]:
    return {
        "values": values, "durations": durations, "origin": origin, "caller": caller, "last": 0.0, "tampered": False,
        "created": [], "unstarted": [], "calls": [], "started": {}, "finished": {}, "delays": {}, "tasks": {},
        "waited_at": {},
    }  # fmt: skip
