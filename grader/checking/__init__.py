"""What a hidden check needs: the student's module, feedback types, and asyncio probes.

A check is a pytest function decorated with :func:`check`, whose id, name, points and
dependencies are declared in the kit's metadata. It observes what the student's code
*did* (injected workers on a virtual clock, recorded loops, blocking probes) and raises
:class:`Failure` or :class:`Mismatch` with a message that teaches.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any, TypeVar

import pytest

from grader.checking import blocking, virtual_time
from grader.checking.context import NotStarted, load_exercise, source_ref
from grader.checking.feedback import Failure, Mismatch, expect
from grader.checking.timeline import Timeline
from grader.checking.virtual_time import within

__all__ = [
    "Failure",
    "Mismatch",
    "NotStarted",
    "Timeline",
    "blocking",
    "check",
    "expect",
    "load_exercise",
    "require",
    "source_ref",
    "unawaited_coroutines",
    "virtual_time",
    "within",
]

F = TypeVar("F", bound=Callable[..., Any])


def check(check_id: str) -> Callable[[F], F]:
    """Mark a function as the implementation of the check ``check_id`` in the kit metadata."""

    def mark(function: F) -> F:
        marked = pytest.mark.asynclings_check(check_id)(function)
        if inspect.iscoroutinefunction(function):
            marked = pytest.mark.asyncio(marked)
        return marked  # type: ignore[no-any-return]

    return mark


def require(module: ModuleType, name: str, kind: str = "function") -> Any:
    """The attribute ``name`` of the student's module, checked to be of ``kind``.

    ``kind`` is ``"function"`` (plain ``def``), ``"coroutine function"`` (``async def``),
    or ``"defined"`` (any value: a later check judges what it is).
    """
    value = getattr(module, name, None)
    file = f"{module.__name__.removeprefix('exercise_')}.py"
    if value is None:
        raise Failure(f"{file} does not define `{name}`", f"Keep the name `{name}` from the stub: the checks call it.")
    if kind == "coroutine function" and not inspect.iscoroutinefunction(value):
        raise Failure(
            f"`{name}` is a plain function, not a coroutine function",
            f"Define it with `async def {name}(...)` so that calling it returns a coroutine.",
        )
    if kind == "function" and (not callable(value) or inspect.iscoroutinefunction(value)):
        raise Failure(
            f"`{name}` should be a plain (synchronous) function",
            f"Define it with `def {name}(...)`, not `async def`: it is called from synchronous code.",
        )
    return value


@contextlib.contextmanager
def unawaited_coroutines() -> Iterator[list[str]]:
    """Collect the names of coroutines created but never awaited inside the block."""
    names: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            yield names
        finally:
            gc.collect()
    for warning in caught:
        text = str(warning.message)
        if "was never awaited" in text:
            names.append(text.split("'")[1] if "'" in text else text)
