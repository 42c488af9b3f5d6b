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
import weakref
from collections.abc import Callable, Generator
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
        _keeper_of(self)  # the clock as the loop starts: where its first step must find it
        seal.note("loop", LoopRecord(self))

    asyncio.selector_events.BaseSelectorEventLoop.__init__ = init  # type: ignore[method-assign]  # every loop made from now on runs on virtual time
    looptime.LoopTimeEventLoop._LoopTimeEventLoop__replaced_select = _step  # type: ignore[attr-defined]  # looptime's private step


# looptime keeps a loop's clock in name-mangled attributes: its ticks, and ticks per second.
NOW, TICKS_PER_SECOND = "_LoopTimeEventLoop__now", "_LoopTimeEventLoop__resolution_reciprocal"
ENABLED = "_LoopTimeEventLoop__enabled"  # off, the loop's clock reads time.monotonic(): anyone's to replace
FOREVER = 1e9  # seconds: no charge is longer (nor infinite, nor NaN)
CLOCK_MOVED = "move the event loop's virtual clock, which only the loop itself moves, as it waits for its timers"


def _keepers(select: Callable[[Any, Any], Any]) -> Callable[[Any], Callable[[tuple[str, Any]], tuple[bool, Any]]]:
    """Keepers of every loop's clock: it moves only as the loop steps, or as :func:`advance` charges it.

    The clock is in the loop's ``__dict__``, and the loop is in the student's hands
    (``get_running_loop()``): pushed forward, it would make a job seem to have waited. Each
    step of a loop (its selector's ``select``, where looptime moves the clock on to the
    next timer) is taken by a keeper of that loop's clock (:func:`_step`): the step must
    find the clock where the last step, the loop's creation or a charge left it, and so
    must every reading of a job's time (see :func:`check_clock`); a clock moved otherwise
    is reported, and the exercise scores 0.

    Where a clock was left lives in a generator's frame, which the guard shows to no code
    of the student's (``gi_frame``): what the student's code can reach is a generator's
    ``send``, which only checks, steps, charges or records as the functions here do. Each
    loop has a keeper of its own (a loop steps in one thread; another loop may step in
    another meanwhile), found through a registry kept the same way. Returns the finder of
    a loop's keeper, which the functions below take as a default: a function's defaults
    are the guard's to keep, a closure's cells anyone's to write.
    """
    registry = _registry(select, _keeper, next)
    next(registry)

    def keeper_of(loop: Any, _find: Callable[[Any], Callable[[tuple[str, Any]], tuple[bool, Any]] | None] = registry.send) -> Callable[[tuple[str, Any]], tuple[bool, Any]]:
        while True:
            try:
                keeper = _find(loop)
            except ValueError:  # another thread is looking one up this instant
                continue
            if keeper is None:
                raise TypeError(f"not an event loop: {loop!r}")
            return keeper

    return keeper_of


def _registry(
    select: Callable[[Any, Any], Any], make: Callable[..., Generator[Any, Any, None]], start: Callable[[Any], Any]
) -> Generator[Callable[..., Any] | None, Any, None]:
    """Each loop's keeper, made (by ``make``, started by ``start``) when the loop is first shown: sent a loop, yields its keeper's ``send``."""
    keepers: weakref.WeakKeyDictionary[Any, Callable[..., Any]] = weakref.WeakKeyDictionary()
    found: Callable[..., Any] | None = None
    while True:
        loop = yield found
        try:
            if loop not in keepers:
                keeper = make(loop, select)
                start(keeper)
                keepers[loop] = keeper.send
            found = keepers[loop]
        except TypeError:  # not a loop: no keeper
            found = None


def _keeper(
    loop: Any,
    select: Callable[[Any, Any], Any],
    _note: Callable[[str, Any], None] = seal.note,
    _builtins: tuple[Callable[..., Any], ...] = (vars, type, len, round, weakref.ref),
    _names: tuple[str, str, str] = (NOW, TICKS_PER_SECOND, ENABLED),
    _forever: float = FOREVER,
    _moved: str = CLOCK_MOVED,
) -> Generator[tuple[bool, Any], tuple[str, Any], None]:
    """Keep ``loop``'s clock: see :func:`_keepers`. Sent ``(what, argument)``; yields ``(raised, value)``.

    A keeper is made when its loop is, maybe while code of the student's runs: what it calls
    and the names it reads are its defaults, bound when this module was loaded.
    """
    vars, type, len, round, ref = _builtins  # the builtins as they were, under their own names
    now_field, ticks_field, enabled_field = _names
    reference = ref(loop)  # no reference to the loop: a keeper dies with its loop

    def clock() -> tuple[Any, Any, Any]:
        fields = vars(reference())  # read afresh each time: a loop's __dict__ can be replaced whole
        return fields.get(now_field), fields.get(ticks_field), fields.get(enabled_field)

    left = clock()
    del loop
    answer: tuple[bool, Any] = (False, None)
    while True:
        what, argument = yield answer
        answer = (False, None)
        if clock() != left:
            _note("violation", _moved)
        if what == "step":
            try:
                answer = (False, select(reference(), argument))
            except BaseException as exc:  # noqa: BLE001 - the step's own error: the wrapper raises it
                answer = (True, exc)
        elif what == "charge" and type(argument) is tuple and len(argument) == 2:
            seconds, record = argument
            # Whoever charges the clock, the judge sees a blocked stretch: never a wait for free.
            _note("blocked", record)
            if type(seconds) is float and 0 < seconds < _forever:
                fields = vars(reference())
                fields[now_field] += round(seconds * fields[ticks_field])
        left = clock()


_keeper_of = _keepers(looptime.LoopTimeEventLoop._LoopTimeEventLoop__replaced_select)  # type: ignore[attr-defined]  # looptime's private step


def _step(loop: Any, timeout: float | None, _keeper_of: Callable[[Any], Any] = _keeper_of) -> Any:
    """looptime's step of ``loop``, taken by the keeper of its clock (installed in its place by :func:`install`)."""
    raised, value = _keeper_of(loop)(("step", timeout))
    if raised:
        raise value
    return value


def created_loops() -> list[LoopRecord]:
    """Loops created since the judge's current request began, oldest first."""
    return list(seal.noted("loop"))


def advance(
    loop: asyncio.AbstractEventLoop,
    seconds: float,
    blocked: dict[str, Any],
    _keeper_of: Callable[[Any], Any] = _keeper_of,
    _class: type = looptime.LoopTimeEventLoop,
    _note: Callable[[str, Any], None] = seal.note,
    _is: Callable[[Any, Any], bool] = isinstance,
    _float: type[float] = float,
) -> None:
    """Move a virtual clock forward, as if the loop's thread had been busy for ``seconds``, and note ``blocked``.

    Used to charge a blocking ``time.sleep`` to the loop that it froze, so timelines show
    the blocked tasks running one after another, as they would in real time. The charge
    and the blocking record go together: no code can move a clock without the judge
    seeing a blocked stretch.
    """
    if _is(loop, _class):
        _keeper_of(loop)(("charge", (_float(seconds), blocked)))
    else:
        _note("blocked", blocked)


def check_clock(
    loop: asyncio.AbstractEventLoop,
    _keeper_of: Callable[[Any], Any] = _keeper_of,
    _class: type = looptime.LoopTimeEventLoop,
    _is: Callable[[Any, Any], bool] = isinstance,
) -> None:
    """Report a clock of ``loop`` that moved since its last step otherwise than by :func:`advance`."""
    if _is(loop, _class):
        _keeper_of(loop)(("check", None))


def now(
    _running: Callable[[], Any] = _running_loop,
    _check: Callable[[Any], None] = check_clock,
    _time: Callable[[Any], float] = _loop_time,
    _class: type = looptime.LoopTimeEventLoop,
    _round: Callable[..., float] = round,
    _is: Callable[[Any, Any], bool] = isinstance,
) -> float:
    """The running loop's virtual time, rounded to the microsecond (what it calls, bound when it was defined)."""
    loop = _running()
    _check(loop)
    return _round(_time(loop) if _is(loop, _class) else loop.time(), 6)
