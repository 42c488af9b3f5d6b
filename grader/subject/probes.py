"""What a kit's probe file is written with: the probe registry, a virtual deadline, plain values.

A probe is a function of the probe file, decorated with :func:`probe`, that the judge
calls by name with JSON arguments. It calls the student's code and returns evidence:
JSON-able values only (:func:`plain` turns anything into such a value). It never decides
whether the evidence is right; the judge does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from grader.subject import source

F = TypeVar("F", bound=Callable[..., Any])
LOOK_BEFORE_DEADLINE = 0.001  # virtual seconds: where the code waits is read this long before its deadline

registry: dict[str, Callable[..., Any]] = {}


def probe(function: F) -> F:
    """Make ``function`` callable by the judge under its own name."""
    registry[function.__name__] = function
    return function


class Deadline(Exception):
    """A call did not finish within its virtual-time deadline: the judge explains it."""

    def __init__(self, what: str, seconds: float, detail: dict[str, Any] | None = None) -> None:
        super().__init__(f"{what} had not finished after {seconds:g} s of event-loop time")
        self.what = what
        self.seconds = seconds
        self.detail = detail or {}


async def within(
    awaitable: Awaitable[Any], seconds: float, what: str, detail: Callable[[], dict[str, Any]] | None = None
) -> Any:
    """Await ``awaitable``, but give up after ``seconds`` of virtual time.

    A deadlock (a consumer parked in ``queue.get()`` forever) then ends in ~0 real
    seconds at virtual time ``seconds``. Only this deadline's own expiry counts: a
    ``TimeoutError`` the student's code raised or let through is theirs, and goes on up.
    ``detail`` is asked, at the deadline, for what was still waiting; just before it
    (the deadline's cancellation unwinds the code), the student's line ``awaitable`` was
    parked at, and the coroutines its frames made but never started, are added.
    """
    timeout = asyncio.timeout(seconds)
    found: dict[str, Any] = {}
    look = asyncio.get_running_loop().call_later(
        max(seconds - LOOK_BEFORE_DEADLINE, 0), lambda: found.update(source.parked(awaitable))
    )
    try:
        async with timeout:
            return await awaitable
    except TimeoutError:
        if not timeout.expired():
            raise
        raise Deadline(what, seconds, {**(detail() if detail else {}), **found}) from None
    finally:
        look.cancel()


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON can carry it: containers kept, anything else as its ``repr``.

    A value JSON cannot carry becomes ``{"repr": "..."}``, so the judge can show it
    and never mistakes it for a right answer.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth < 8 and type(value) in (list, tuple):
        return [plain(item, depth + 1) for item in value]
    if depth < 8 and type(value) is dict and all(isinstance(key, str) for key in value):
        return {key: plain(item, depth + 1) for key, item in value.items()}
    try:
        text = repr(value)
    except Exception as exc:  # noqa: BLE001 - a student's __repr__ may raise anything
        text = f"<{type(value).__name__} whose repr raised {type(exc).__name__}>"
    return {"repr": text[:500]}
