"""Injected workers that record when they really ran, on the loop's virtual clock.

Probes hand :func:`worker` to the student's code instead of trusting its return value:
a worker that never ran has no span, a worker awaited one at a time has spans that do
not overlap, and a worker called but never awaited is named with the line that called
it. The values the workers return are chosen by the judge, so a result built from the
job names instead of the workers' returns does not match.

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
from collections.abc import Coroutine
from typing import Any

from grader.subject import source, virtual_time

EVENT = "asynclings.timeline"
_audit = sys.audit
_current_task = asyncio.current_task


class Records:
    """What one probe's jobs did; lives only inside the recording hook."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.origin = virtual_time.now_if_running()
        self.created: list[dict[str, Any]] = []
        self.calls: list[str] = []
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.tasks: dict[str, Any] = {}
        self.unstarted: list[tuple[Coroutine[Any, Any, Any], dict[str, Any]]] = []
        self.last = 0.0
        self.went_backwards = False

    def clock(self) -> float:
        now = round(virtual_time.now() - self.origin, 6)
        self.went_backwards = self.went_backwards or now < self.last
        self.last = max(self.last, now)
        return now

    def evidence(self, caller: Any) -> dict[str, Any]:
        never = []
        for job, call in self.unstarted:
            if inspect.getcoroutinestate(job) == inspect.CORO_CREATED:
                job.close()  # closed by us: Python does not warn "never awaited" into the student's output
                never.append(call)
        self.unstarted.clear()
        return {
            "calls": list(self.calls),
            "started": dict(self.started),
            "finished": dict(self.finished),
            "created": list(self.created),
            "never_awaited": never,
            "in_caller": [name for name, task in self.tasks.items() if caller is not None and task is caller],
            "clock_went_backwards": self.went_backwards,
        }


def worker(name: str, delay: float) -> Coroutine[Any, Any, Any]:
    """A job that waits ``delay`` virtual seconds and returns the judge's value for ``name``.

    A plain function returning the coroutine, so that the student's line that called it
    is on the stack and can be remembered.
    """
    job = _job(name, delay)
    _audit(EVENT, "created", (name, delay, source.caller_in_exercise(), job))
    return job


async def _job(name: str, delay: float) -> Any:
    box: list[Any] = []
    _audit(EVENT, "started", (name, _current_task(), box))
    await asyncio.sleep(delay)
    _audit(EVENT, "finished", (name, None, box))
    return box[0] if box else None


def begin(values: dict[str, Any]) -> None:
    """Start recording afresh: "now" is t=0, and the jobs named in ``values`` return those values."""
    _audit(EVENT, "begin", values)


def evidence(caller: Any = None) -> dict[str, Any]:
    """What the jobs did since :func:`begin`; ``in_caller`` lists jobs run inside ``caller``'s own task."""
    out: list[dict[str, Any]] = []
    _audit(EVENT, "evidence", (caller, out))
    return out[0] if out else {}


def install() -> None:
    """Add the recording hook, once, before any student code is imported."""
    trusted = {begin.__code__, evidence.__code__, worker.__code__, _job.__code__}
    current: list[Records] = [Records({})]
    getframe = sys._getframe
    inside = [False]

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != EVENT or inside[0]:
            return
        inside[0] = True
        try:
            if getframe(1).f_code in trusted:
                _record(current, args[0], args[1])
        finally:
            inside[0] = False

    sys.addaudithook(hook)


def _record(current: list[Records], what: str, data: Any) -> None:
    if what == "begin":
        current[0] = Records(dict(data))
        return
    records = current[0]
    if what == "evidence":
        caller, out = data
        out.append(records.evidence(caller))
    elif what == "created":
        name, delay, site, job = data
        call = {"call": f"worker({name!r}, {delay!r})", "source": site}
        records.created.append(call)
        records.unstarted.append((job, call))
    elif what == "started":
        name, task, _ = data
        records.calls.append(name)
        records.started[name] = records.clock()
        records.tasks[name] = task
    elif what == "finished":
        name, _, box = data
        records.finished[name] = records.clock()
        box.append(records.values.get(name, f"{name} done"))
