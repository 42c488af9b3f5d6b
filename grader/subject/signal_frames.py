"""Signal handlers set by the student's code are handed no frame: a frame leads into the grader's hooks.

Python calls a signal handler with the frame that was running when the signal came. That
may be a frame of the sealed core or of a probe's hook, in the middle of its work, and
from it ``f_back`` and ``f_locals`` reach the records the evidence is made of, with no
audited accessor on the way (the guard refuses every other way to a frame). From
:func:`install` on, a handler set through ``signal.signal`` is called with ``None`` for its
frame, which Python's documentation allows. ``_signal.signal`` becomes a stand-in
(:mod:`grader.subject.handout`): the function that really sets a handler is held only by
a hook's closure. A second copy of ``_signal`` (``_imp.create_builtin``) or a fresh run of
its initialisation (``importlib.reload``) would bring that function back: for ``_signal``
and ``_imp``, the import system gets the modules already set up.
"""

from __future__ import annotations

import _imp
import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any

from grader.subject import handout

_signal = importlib.import_module("_signal")  # the C module under ``signal``, which sets the handlers


def install() -> None:
    """From now on, every handler set through ``signal.signal`` (and ``_signal.signal``) gets ``None`` for its frame."""
    set_handler, create_builtin, exec_builtin = _signal.signal, _imp.create_builtin, _imp.exec_builtin
    set_up = {"_signal": _signal, "_imp": _imp}

    def set_frameless(signalnum: int, handler: Any) -> Any:
        return set_handler(signalnum, _without_frame(handler) if callable(handler) else handler)

    def create(spec: Any) -> ModuleType:
        name = getattr(spec, "name", None)
        return set_up[name] if name in set_up else create_builtin(spec)

    def execute(module: ModuleType) -> int:
        return 0 if any(module is known for known in set_up.values()) else int(exec_builtin(module))

    for module, name, function in (
        (_signal, "signal", set_frameless),
        (_imp, "create_builtin", create),
        (_imp, "exec_builtin", execute),
    ):
        setattr(module, name, handout.handed(function))


def _without_frame(handler: Callable[[int, Any], Any]) -> Callable[[int, Any], Any]:
    def handler_without_frame(signum: int, frame: Any) -> Any:
        return handler(signum, None)

    return handler_without_frame
