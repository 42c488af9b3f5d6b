"""Injected workers that record when they really ran, on the loop's virtual clock.

Checks hand these workers to the student's code instead of trusting its return value:
a worker that never ran has no span, a worker awaited one at a time has spans that do
not overlap, and the spans drawn as a timeline show the student what happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from grader.checking import context, virtual_time
from grader.model import SourceRef, Span

# Lines of the student's file that started a job, in order, since the last reset: the
# line a timing failure points at ("this is where the jobs were started").
_call_sites: list[SourceRef] = []


class Timeline:
    """Records the start and end of every job the checks hand out."""

    def __init__(self) -> None:
        self.origin = 0.0
        self.started: dict[str, float] = {}
        self.finished: dict[str, float] = {}
        self.tasks: dict[str, asyncio.Task[Any] | None] = {}
        self.calls: list[str] = []

    def begin(self) -> None:
        """Make "now" t=0: spans are measured from the moment the student's code was called."""
        self.origin = virtual_time.now()

    def clock(self) -> float:
        return round(virtual_time.now() - self.origin, 6)

    def worker(self, name: str, delay: float) -> Coroutine[Any, Any, str]:
        """A job that waits ``delay`` virtual seconds and returns ``'<name> done'``.

        A plain function returning the coroutine, so that the student's line that called
        it is on the stack and can be remembered.
        """
        site = context.caller_in_exercise()
        if site is not None:
            _call_sites.append(site)
        return self._job(name, delay)

    async def _job(self, name: str, delay: float) -> str:
        self.calls.append(name)
        self.started[name] = self.clock()
        self.tasks[name] = asyncio.current_task()
        await asyncio.sleep(delay)
        self.finished[name] = self.clock()
        return f"{name} done"

    def spans(self) -> list[Span]:
        """Every job that started, in start order (unfinished ones end where they started)."""
        names = sorted(self.started, key=lambda n: (self.started[n], self.calls.index(n)))
        return [Span(n, self.started[n], self.finished.get(n, self.started[n])) for n in names]

    def end(self) -> float:
        return max(self.finished.values(), default=0.0)

    def overlapping(self) -> bool:
        """True when every pair of finished jobs was in flight at the same time."""
        spans = [s for s in self.spans() if s.name in self.finished]
        return all(a.start < b.end and b.start < a.end for a in spans for b in spans if a is not b)

    def sequential(self) -> bool:
        """True when each job started only once the previous one had finished."""
        spans = self.spans()
        return all(later.start >= earlier.end for earlier, later in zip(spans, spans[1:]))

    def describe(self) -> str:
        """``a 0.0→3.0, b 3.0→4.0``: the spans in a line, for messages."""
        return ", ".join(f"{s.name} {s.start:.1f}→{s.end:.1f} s" for s in self.spans()) or "no job ran"


def first_call_site() -> SourceRef | None:
    """The first line of the student's file that started a job since :func:`reset`."""
    return _call_sites[0] if _call_sites else None


def reset() -> None:
    _call_sites.clear()
