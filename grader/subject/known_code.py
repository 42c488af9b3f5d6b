"""Which code is the grader's, looptime's or the standard library's: known by identity, before any student code runs.

The guard hands frames only to code it trusts, and a file name proves nothing: the
student's code can compile anything under any name (``exec(compile(src, "x", "exec"))``),
and run it with any module's globals. What it cannot make is one of the code objects of
the modules loaded before it ran. :func:`learn` collects them, each with the globals it
runs with (a function rebuilt from known code with globals of another's is not known):
once in the template, for everything every subject imports, and again in the subject for
its probe file; :func:`trusting` then takes a copy for the guard alone (this module's own
records are as reachable as any module's). A module first imported after that is not
known: its frames count as the student's own.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import CodeType, FrameType, FunctionType, ModuleType
from typing import Any

_known: dict[CodeType, dict[str, Any]] = {}
_learned: dict[int, ModuleType] = {}  # the modules whose code is known, by id (kept, so no id is reused)


def learn() -> None:
    """Know every code object of every module loaded now and not learned yet, nested ones included."""
    seen: set[int] = set()
    for module in list(sys.modules.values()):
        if id(module) in _learned or not isinstance(getattr(module, "__dict__", None), dict):
            continue
        _learned[id(module)] = module
        for value in list(vars(module).values()):
            _learn_value(value, seen)


def trusting() -> Callable[[FrameType], bool]:
    """Whether a frame runs known code, with the globals that code was defined with: a test
    over a copy of what is known now, which nothing learned (or added) later changes."""
    known = dict(_known)

    def trusted(frame: FrameType) -> bool:
        return known.get(frame.f_code) is frame.f_globals

    return trusted


def _learn_value(value: Any, seen: set[int]) -> None:
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, FunctionType):
        _learn_code(value.__code__, value.__globals__)
        wrapped = value.__dict__.get("__wrapped__")
        if wrapped is not None:
            _learn_value(wrapped, seen)
    elif isinstance(value, (staticmethod, classmethod)):
        _learn_value(value.__func__, seen)
    elif isinstance(value, property):
        for accessor in (value.fget, value.fset, value.fdel):
            _learn_value(accessor, seen)
    elif isinstance(value, type):
        for member in list(vars(value).values()):
            _learn_value(member, seen)


def _learn_code(code: CodeType, globals_: dict[str, Any]) -> None:
    """``code`` and the code nested in it (functions, lambdas, comprehensions, class bodies), with their globals."""
    if code in _known:
        return
    _known[code] = globals_
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            _learn_code(constant, globals_)
