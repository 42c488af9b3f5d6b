"""The blocking probe's records, as the judge words them for the student.

The subject records every stretch in which the event loop's thread did not return to
the loop (:mod:`grader.subject.blocking_probe`): a ``time.sleep``, a busy loop, a blocking
call. On virtual time none of these costs loop time, so a timing check fails on any
record, and the message names the coroutine and the line.
"""

from __future__ import annotations

from typing import Any

from grader.checking.feedback import Failure
from grader.model import SourceRef

MANY = 10  # blocked stretches counted in words from here on
BLOCKING_HELP = (
    "Inside a coroutine, wait with `await asyncio.sleep(...)`: time.sleep(), blocking calls and busy loops "
    "block the whole event loop, so no other task can run meanwhile."
)


def describe(records: list[dict[str, Any]]) -> str:
    """The first time the loop was blocked, in the student's terms."""
    first = records[0]
    where = f" at line {first['source']['line']}" if first.get("source") else ""
    inside = f"the coroutine {first['coroutine']}()" if first.get("coroutine") else "a coroutine"
    more = len(records) - 1
    # A count past a few depends on how long the loop was held, which a loaded machine stretches: not shown.
    again = f" (and {more} more time{'s' if more > 1 else ''})" if 0 < more < MANY else " (and many more times)" if more else ""
    if first.get("kind") == "time.sleep":
        text = f"time.sleep({first.get('seconds', 0):g}) ran inside {inside}{where}, freezing the event loop"
    elif first.get("kind") == "busy":
        text = f"{inside} kept the CPU busy{where} without awaiting (a busy loop?), freezing the event loop"
    else:
        text = f"{inside} waited in a blocking call{where} without awaiting, freezing the event loop"
    return text + again


def explain(records: list[dict[str, Any]]) -> Failure:
    """The failure that blocking explains: the first record, its line, and how to wait instead."""
    first = records[0]
    source = SourceRef.from_json(first["source"]) if first.get("source") else None
    return Failure(describe(records), BLOCKING_HELP, source=source)


def expect_no_blocking(records: list[dict[str, Any]]) -> None:
    """Fail a timing check when the loop was blocked at all: virtual time cannot see it."""
    if records:
        raise explain(records)
