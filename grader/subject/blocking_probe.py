"""Catch code that blocks the event loop, in the subject process, and record where.

On virtual time a blocking call costs *zero* loop time, so a timing check alone would
pass it. Two probes record it instead:

* ``time.sleep`` called from a thread that is running an event loop is recorded (with
  the student's line) and charged to that loop's virtual clock rather than slept for
  real: the timeline then shows what the blocking did, and grading stays fast.
* every callback the loop runs is timed: one that burns more than
  :data:`BUSY_CPU_SECONDS` of the thread's CPU is a busy-wait, and one that holds the
  loop for :data:`BLOCKED_WALL_SECONDS` of real time while barely using the CPU is
  parked in a blocking call (``select.select``, ``threading.Event().wait``, a socket).
  Both thresholds sit far above what any awaiting step costs, on an idle laptop or a
  loaded CI box, so the verdict does not depend on the machine.

The judge fails timing checks on any record, and words the record for the student.
"""

from __future__ import annotations

import asyncio
import asyncio.events
import time
from collections.abc import Callable
from typing import Any

from grader.subject import handout, seal, source, virtual_time

BUSY_CPU_SECONDS = 0.2
BLOCKED_WALL_SECONDS = 0.5

_real_sleep = time.sleep
_thread_time = time.thread_time
_wall = time.perf_counter
_installed = False


def install() -> None:
    """Install both probes once, before any student code is imported."""
    global _installed
    if _installed:
        return
    _installed = True
    # What both call is bound now, where no code of the student's can change it: the sleep is
    # a stand-in (its closure held by a hook, see handout); the timed step, which asyncio calls
    # with no arguments, takes its helpers as defaults, which the guard keeps as they are.
    from builtins import float  # bound now, as below: rebound in ``builtins`` for a moment, it is not the one called

    running, charge, site = asyncio.events._get_running_loop, virtual_time.advance, source.caller_in_exercise

    def sleep(seconds: float) -> None:
        loop = running()
        if loop is None:
            _real_sleep(seconds)
            return
        charge(loop, float(seconds), {"kind": "time.sleep", "seconds": float(seconds), "source": site(), "coroutine": None})

    time.sleep = handout.handed(sleep)  # type: ignore[assignment]  # the probe replaces the function for the student's code

    def _timed_run(
        self: asyncio.events.Handle,
        _run: Callable[[Any], None] = asyncio.events.Handle._run,
        _note: Callable[[str, Any], None] = seal.note,
        _cpu: Callable[[], float] = _thread_time,
        _clock: Callable[[], float] = _wall,
        _source: Callable[[Any], dict[str, Any]] = _callback_source,
        _round: Callable[..., float] = round,
        _busy: float = BUSY_CPU_SECONDS,
        _blocked: float = BLOCKED_WALL_SECONDS,
    ) -> None:
        cpu, wall = _cpu(), _clock()
        try:
            _run(self)
        finally:
            # Also when the judge's time limit ends a callback that never returns.
            cpu, wall = _cpu() - cpu, _clock() - wall
            if cpu > _busy or wall > _blocked:
                kind = "busy" if cpu > _busy else "blocked"
                _note("blocked", {"kind": kind, "seconds": _round(wall, 2), **_source(self)})

    asyncio.events.Handle._run = _timed_run  # type: ignore[method-assign]  # every callback is timed


def _callback_source(handle: asyncio.events.Handle) -> dict[str, Any]:
    """The student's coroutine a task step was running, and its line: the deepest of theirs it awaits."""
    callback: Any = getattr(handle, "_callback", None)
    task = getattr(callback, "__self__", None)
    coro: Any = task.get_coro() if isinstance(task, asyncio.Task) else None  # then whatever each coroutine awaits
    found: dict[str, Any] = {"source": None, "coroutine": None}
    while coro is not None and hasattr(coro, "cr_code"):
        frame = coro.cr_frame
        if source.in_exercise(coro.cr_code):
            line = frame.f_lineno if frame else coro.cr_code.co_firstlineno
            found = {"source": source.source_ref(line), "coroutine": coro.cr_code.co_name}
        coro = coro.cr_await
    return found
