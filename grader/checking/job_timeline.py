"""The judge's reading of a timeline the subject recorded: spans, order, overlap, in words.

The subject's workers record when each job started and finished on the loop's virtual
clock (:mod:`grader.subject.timeline`); this is the same record as the judge sees it.
"""

from __future__ import annotations

import itertools
from typing import Any

from grader.checking.feedback import Failure
from grader.model import SourceRef, Span

NEVER_AWAITED_HELP = (
    "Calling a coroutine function only creates a coroutine object: nothing runs until it is awaited "
    "(or wrapped in a task). Put `await` before the call, or pass it to asyncio.create_task / gather."
)
TASK_NEVER_RAN_HELP = (
    "A task runs only while your code awaits something: await the tasks (`await asyncio.gather(*tasks)`) "
    "before returning, or they never get to run."
)


class Timeline:
    """What the injected workers saw during one call of the student's code."""

    def __init__(self, evidence: dict[str, Any]) -> None:
        self.calls: list[str] = list(evidence.get("calls", []))
        self.started: dict[str, float] = dict(evidence.get("started", {}))
        self.finished: dict[str, float] = dict(evidence.get("finished", {}))
        self.in_caller: list[str] = list(evidence.get("in_caller", []))
        self.never_awaited: list[dict[str, Any]] = list(evidence.get("never_awaited", []))
        self.clock_went_backwards = bool(evidence.get("clock_went_backwards", False))
        self._created: list[dict[str, Any]] = list(evidence.get("created", []))
        self._waited_at: dict[str, Any] = dict(evidence.get("waited_at", {}))

    def spans(self) -> list[Span]:
        """Every job that started, in start order (unfinished ones end where they started)."""
        names = sorted(self.started, key=lambda n: (self.started[n], self.calls.index(n) if n in self.calls else 0))
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
        return all(later.start >= earlier.end for earlier, later in itertools.pairwise(spans))

    def describe(self) -> str:
        """``a 0.0→3.0, b 3.0→4.0``: the spans in a line, for messages."""
        return ", ".join(f"{s.name} {s.start:.1f}→{s.end:.1f} s" for s in self.spans()) or "no job ran"

    def first_call_site(self) -> SourceRef | None:
        """The student's line that started the first job: where a timing failure points."""
        sites = self.created_sites()
        return sites[0] if sites else None

    def created_sites(self) -> list[SourceRef]:
        return [SourceRef.from_json(c["source"]) for c in self._created if c.get("source")]

    def waiting_site(self, job: str) -> SourceRef | None:
        """The student's line the caller was waiting at when ``job`` finished: the await that held it up."""
        where = self._waited_at.get(job)
        return SourceRef.from_json(where) if where else None

    def first_wait_site(self) -> SourceRef | None:
        """Where the caller waited while the first job ran (the await that serialised the jobs), else the first call."""
        spans = self.spans()
        return (self.waiting_site(spans[0].name) if spans else None) or self.first_call_site()

    def unfinished(self) -> list[str]:
        """Jobs that started but had not finished when the evidence was taken (when the student's function returned)."""
        return [name for name in self.started if name not in self.finished]

    def expect_every_job_awaited(self) -> None:
        """Fail with the student's line when a worker was called but its coroutine never ran."""
        if self.never_awaited:
            first = self.never_awaited[0]
            where = SourceRef.from_json(first["source"]) if first.get("source") else None
            if first.get("task"):
                at = f"line {where.line} starts" if where else "your code started"
                raise Failure(
                    f"{at} {first['call']} as a task, but returned before that task ever ran", TASK_NEVER_RAN_HELP, source=where
                )
            at = f"line {where.line} calls" if where else "your code called"
            raise Failure(f"{at} {first['call']} but never awaits the coroutine it returns", NEVER_AWAITED_HELP, source=where)

    def expect_clock_kept_forward(self) -> None:
        expect_clock_kept_forward(self.clock_went_backwards)


def expect_clock_kept_forward(went_backwards: bool) -> None:
    """Fail when a probe saw the loop's clock go back: no time it recorded can be trusted."""
    if went_backwards:
        raise Failure(
            "the event loop's clock went backwards while the jobs ran: the timeline cannot be trusted",
            "Don't touch the event loop's clock: time on the loop only moves forward.",
        )
