"""Callables handed to the student's code that lead nowhere: no way back to the probe's records.

A probe's recording function closes over its records (a book of calls, a watch on the
loop, a balance): handed to the student's code as it is, its ``__closure__``,
``__self__`` or ``__globals__`` lead to them, and a submission could edit the evidence
instead of earning it. :func:`handed` gives the student's code a stand-in instead: a
function with no closure, no defaults and globals of its own that hold only
``sys.audit`` and the event's name. A call of the stand-in raises an audit event; the one
hook installed here answers it, for the stand-in's own code running with those very
globals, by calling the probe's function, which only the hook's closure holds (audit hooks cannot be listed from
Python, and the garbage collector's walks are refused in the subject, see
:mod:`grader.subject.guard`). What the probe's function returns or raises, the stand-in
returns or raises.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from typing import Any, TypeVar

EVENT = "asynclings.handout"
STAND_IN_FRAMES = 2  # between a function called through its stand-in and the caller: the hook's, the stand-in's
F = TypeVar("F", bound=Callable[..., Any])
REGISTER, CALL = -1, 0


def _stand_in(*args: Any, **kwargs: Any) -> Any:
    out: list[Any] = []
    _audit(_EVENT, _KEY, args, kwargs, out)  # type: ignore[name-defined]  # noqa: F821 - names in the stand-in's own globals
    return out[0]


# ``sys.audit`` is bound as a default, when this was defined: rebinding a name of this
# module, even for a moment, cannot take a function as it is registered.
def handed(function: F, _audit: Callable[..., None] = sys.audit) -> F:
    """A stand-in for ``function`` to hand to the student's code: it calls ``function``, and leads nowhere else."""
    scope = {"_audit": _audit, "_EVENT": EVENT, "_KEY": CALL, "__builtins__": {}}
    _audit(EVENT, REGISTER, (scope, function), {}, [])
    stand_in = types.FunctionType(_stand_in.__code__, scope, getattr(function, "__name__", "function"))
    stand_in.__qualname__ = getattr(function, "__qualname__", stand_in.__name__)
    stand_in.__doc__ = getattr(function, "__doc__", None)
    return stand_in  # type: ignore[return-value]  # called as ``function`` is


def install() -> None:
    """Add the hook that keeps the probes' functions and calls them for their stand-ins, before any student code runs."""
    # The builtins the hook's code calls, bound now: one rebound in ``builtins`` for the moment of a call is never called here.
    from builtins import id

    functions: dict[int, tuple[dict[str, Any], Callable[..., Any]]] = {}  # by the id of the stand-in's globals
    getframe, calls, registers, own_globals = sys._getframe, _stand_in.__code__, handed.__code__, globals()

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != EVENT:
            return
        key, arguments, keywords, out = args
        frame = getframe(1)
        caller = frame.f_code
        # ``handed`` itself, not its code rebuilt with globals of another's.
        if key == REGISTER and caller is registers and frame.f_globals is own_globals:
            scope, function = arguments
            functions[id(scope)] = (scope, function)
        elif caller is calls:
            # A stand-in is known by its globals themselves, not by what they hold, which the
            # student's code could change (``stand_in.__globals__``).
            scope, function = functions.get(id(frame.f_globals), (None, None))
            if scope is frame.f_globals and function is not None:
                out.append(function(*arguments, **keywords))

    sys.addaudithook(hook)
