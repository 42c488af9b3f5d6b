"""Catch code that blocks the event loop, and explain it.

On virtual time a blocking ``time.sleep`` or a busy loop costs *zero* loop time, so a
timing check alone would pass it. Two probes catch it instead:

* ``time.sleep`` called from a thread that is running an event loop is recorded (with
  the student's line) and charged to that loop's virtual clock rather than slept for
  real: the timeline then shows what the blocking did, and grading stays fast.
* every callback the loop runs is timed on the thread's CPU clock; one that burns more
  than :data:`BUSY_CPU_SECONDS` is a busy-wait. CPU time, unlike wall time, does not
  grow when the machine is loaded, so the verdict is the same on any box.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import dataclasses
import time
from typing import Any

from grader.checking import context, virtual_time
from grader.model import SourceRef

BUSY_CPU_SECONDS = 0.2

_records: list[Blocking] = []
_real_sleep = time.sleep
_thread_time = time.thread_time
_installed = False


@dataclasses.dataclass(frozen=True)
class Blocking:
    """One moment when the loop's thread did not return control to the loop."""

    kind: str  # "time.sleep" or "busy"
    seconds: float
    source: SourceRef | None

    def describe(self) -> str:
        where = f" at {self.source.file}:{self.source.line}" if self.source else ""
        if self.kind == "time.sleep":
            return f"time.sleep({self.seconds:g}) ran inside a coroutine{where}, freezing the event loop"
        # The seconds vary from run to run; the message must not.
        return f"a callback kept the CPU busy for more than {BUSY_CPU_SECONDS:g} s{where} without awaiting (a busy loop?)"


BLOCKING_HELP = (
    "Inside a coroutine, wait with `await asyncio.sleep(...)`: time.sleep() and busy loops "
    "block the whole event loop, so no other task can run meanwhile."
)


def install() -> None:
    """Install both probes once per process, before any student code is imported."""
    global _installed
    if _installed:
        return
    _installed = True
    time.sleep = _sleep  # type: ignore[assignment]
    original_run = asyncio.events.Handle._run

    def _timed_run(handle: asyncio.events.Handle) -> None:
        started = _thread_time()
        try:
            original_run(handle)
        finally:
            # Also when the check's time limit interrupts a callback that never returns.
            spent = _thread_time() - started
            if spent > BUSY_CPU_SECONDS:
                _records.append(Blocking("busy", round(spent, 2), _callback_source(handle)))

    asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]


def _sleep(seconds: float) -> None:
    loop = asyncio.events._get_running_loop()
    if loop is None:
        _real_sleep(seconds)
        return
    _records.append(Blocking("time.sleep", float(seconds), context.caller_in_exercise()))
    virtual_time.advance(loop, float(seconds))


def _callback_source(handle: asyncio.events.Handle) -> SourceRef | None:
    """The student's line a task step was running: the deepest coroutine of theirs it awaits."""
    callback: Any = getattr(handle, "_callback", None)
    task = getattr(callback, "__self__", None)
    coro = task.get_coro() if isinstance(task, asyncio.Task) else None
    found: SourceRef | None = None
    while coro is not None and hasattr(coro, "cr_code"):
        frame = coro.cr_frame
        if context.in_exercise(coro.cr_code):
            found = context.source_ref(frame.f_lineno if frame else coro.cr_code.co_firstlineno)
        coro = coro.cr_await
    return found


def records() -> list[Blocking]:
    return list(_records)


def reset() -> None:
    _records.clear()
