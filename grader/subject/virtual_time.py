"""Every event loop in a check process runs on virtual time, and is remembered.

Runs in the subject process. ``looptime`` fast-forwards a loop's clock whenever the loop would otherwise sleep, so
``asyncio.sleep(3)`` costs no real time and timings are exact on any machine. Its pytest
plugin only patches the loops pytest-asyncio creates; the exercises also create loops of
their own (``asyncio.run``, ``new_event_loop``), so this module patches loop *creation*
instead and keeps a registry that lets checks prove which loop ran what, and that it closed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import importlib.util
import sys
import types
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from grader.subject import seal

if TYPE_CHECKING:
    from looptime._internal import loops


@dataclasses.dataclass
class Looptime:
    """The two parts of looptime that a subject uses."""

    LoopTimeEventLoop: type[loops.LoopTimeEventLoop]
    patch_event_loop: Callable[..., loops.LoopTimeEventLoop]


def _looptime_core() -> Looptime:
    """looptime's loop classes, without its package's ``__init__``, which imports all of pytest.

    The subject never runs pytest; importing it would cost four times the subject's start.
    Where pytest is loaded already (the kit's own tests), looptime is imported as usual.
    """
    if "looptime" not in sys.modules and "_pytest" not in sys.modules:
        spec = importlib.util.find_spec("looptime")
        assert spec is not None and spec.submodule_search_locations is not None
        for name, folder in (("looptime", ""), ("looptime._internal", "_internal")):
            package = types.ModuleType(name)
            package.__path__ = [f"{location}/{folder}".rstrip("/") for location in spec.submodule_search_locations]
            sys.modules[name] = package
    from looptime._internal import loops, patchers

    return Looptime(LoopTimeEventLoop=loops.LoopTimeEventLoop, patch_event_loop=patchers.patch_event_loop)


looptime = _looptime_core()

_installed = False
# Taken at import, before student code runs: a submission that rebinds `time` on its
# loop's class (to make sequential jobs look concurrent) does not change these.
_loop_time = looptime.LoopTimeEventLoop.time
_running_loop = asyncio.get_running_loop


@dataclasses.dataclass
class LoopRecord:
    """One event loop created while the checks ran, kept alive so "closed" means closed."""

    loop: asyncio.AbstractEventLoop


def install() -> None:
    """Patch loop creation once per process, before any student code is imported."""
    global _installed
    if _installed:
        return
    _installed = True
    # MUST wrap BaseSelectorEventLoop, not BaseEventLoop: looptime needs the selector,
    # which BaseEventLoop.__init__ has not created yet.
    original_init = asyncio.selector_events.BaseSelectorEventLoop.__init__

    @functools.wraps(original_init)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        looptime.patch_event_loop(self)
        seal.note("loop", LoopRecord(self))

    asyncio.selector_events.BaseSelectorEventLoop.__init__ = init  # type: ignore[method-assign]  # every loop made from now on runs on virtual time


def created_loops() -> list[LoopRecord]:
    """Loops created since the judge's current request began, oldest first."""
    return list(seal.noted("loop"))


def advance(loop: asyncio.AbstractEventLoop, seconds: float) -> None:
    """Move a virtual clock forward, as if the loop's thread had been busy for ``seconds``.

    Used to charge a blocking ``time.sleep`` to the loop that it froze, so timelines show
    the blocked tasks running one after another, as they would in real time.
    """
    if isinstance(loop, looptime.LoopTimeEventLoop) and seconds > 0:
        # looptime keeps its clock in integer ticks in name-mangled attributes.
        ticks_per_second = loop._LoopTimeEventLoop__resolution_reciprocal  # type: ignore[attr-defined]  # looptime's private, name-mangled clock
        loop._LoopTimeEventLoop__now += round(seconds * ticks_per_second)  # type: ignore[attr-defined]  # looptime's private, name-mangled clock


def now() -> float:
    """The running loop's virtual time, rounded to the microsecond."""
    loop = _running_loop()
    return round(_loop_time(loop) if isinstance(loop, looptime.LoopTimeEventLoop) else loop.time(), 6)
