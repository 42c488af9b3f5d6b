"""The probe file's names, fixed once it is loaded: rebound later, even for a moment, they change nothing the probe finds.

A probe finds its helpers through the probe file's globals (``timeline``, ``asyncio``, a
function of its own) and their functions through those modules' attributes
(``timeline.evidence``). Both are plain dicts that any code in the process can write
without an audit event (a function's ``__globals__``, a module's ``__dict__``): a
submission could rebind ``timeline.evidence`` while the probe calls it, and put it back
before the seal compares. So the probe file runs in a :class:`SealedNamespace`; once
:func:`seal` has taken its snapshot (before the student's module is imported), every name
the probe's code looks up comes from that snapshot, and a module among them is a
:class:`FrozenModule`, whose attributes are those its module had then (writing one still
writes the module: a probe may patch ``time.monotonic`` for the student's code to meet).
The snapshots live in a generator's frame, which the guard shows to no code of the
student's: what its code can reach is the generator's ``send``, which only reads, and
seals each namespace once.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Generator
from types import ModuleType
from typing import Any

_UNSEALED, _MISSING = object(), object()
# An object's identity, as id() gives it but without id()'s audit event: a probe's own audit
# hook reads the probe file's globals, and so would be asked again while it asks.
_identity = object.__hash__


def _snapshots(_plain: tuple[type[dict[Any, Any]], type[str], type[type]] = (dict, str, type)) -> Generator[Any, tuple[str, int, Any], None]:
    """Sent ``("seal", id, snapshot)`` once per id, then ``("read", id, name)``: the name's value then."""
    plain_dict, plain_str, type_of = _plain  # the builtins as they were when this module was loaded
    sealed: dict[int, dict[str, Any]] = {}
    found: Any = None
    while True:
        what, key, argument = yield found
        found = _UNSEALED
        if what == "seal" and key not in sealed and type_of(argument) is plain_dict:
            sealed[key] = argument
        elif what == "read" and key in sealed:
            found = sealed[key].get(argument, _MISSING) if type_of(argument) is plain_str else _MISSING


_store = _snapshots()
next(_store)


def _read(key: int, name: str, _send: Callable[..., Any] = _store.send) -> Any:
    """``name`` as sealed under ``key``; another thread reading this instant makes this one wait its turn."""
    while True:
        try:
            return _send(("read", key, name))
        except ValueError:  # "generator already executing": the other thread is in it
            continue


class SealedNamespace(dict):  # type: ignore[type-arg]  # a module's globals: names to anything
    """The probe file's globals: written as the file runs (and into ``mirror``, its module's
    dict, which dataclasses and pickling read); read from the snapshot once sealed."""

    def __init__(self, mirror: dict[str, Any]) -> None:
        super().__init__()
        self.mirror = mirror

    def __setitem__(self, name: str, value: Any) -> None:
        dict.__setitem__(self, name, value)
        self.mirror[name] = value

    def __getitem__(self, name: str, _read: Callable[[int, str], Any] = _read, _identity: Callable[[Any], int] = _identity) -> Any:
        value = _read(_identity(self), name)
        if value is _UNSEALED:
            return dict.__getitem__(self, name)
        if value is _MISSING:
            raise KeyError(name)  # then a builtin, as for any module
        return value


class FrozenModule:
    """A module as the probe file had it when sealed: its attributes then; a write goes to the module."""

    __slots__ = ("__weakref__",)

    def __getattr__(self, name: str, _read: Callable[[int, str], Any] = _read, _identity: Callable[[Any], int] = _identity) -> Any:
        value = _read(_identity(self), name)
        if value is _MISSING or value is _UNSEALED:
            raise AttributeError(name)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self.__module, name, value)

    def __delattr__(self, name: str) -> None:
        delattr(self.__module, name)

    @property
    def __dict__(self) -> dict[str, Any]:  # type: ignore[override]  # vars() of a frozen module is its module's
        return vars(self.__module)

    @property
    def __module(self) -> ModuleType:
        module: ModuleType = self.__getattr__(_MODULE)
        return module

    def __repr__(self) -> str:
        return repr(self.__module)


_MODULE = "\0module"  # no attribute name can be this: where a frozen module keeps its module


def seal(namespace: SealedNamespace) -> None:
    """From now on, ``namespace`` answers with what it holds now, and its modules with what they hold now.

    Builtins too: a name the probe's code does not define is looked up in ``builtins``,
    whose dict any code can write (``round`` rebound for the moment of a probe's call).
    """
    own = dict(dict.items(namespace))
    snapshot = {**vars(builtins), **own}
    for name, value in own.items():
        if isinstance(value, ModuleType):
            frozen = FrozenModule()
            _store.send(("seal", _identity(frozen), {**vars(value), _MODULE: value}))
            snapshot[name] = frozen  # held by the snapshot for good: no id sealed is ever reused
    _store.send(("seal", _identity(namespace), snapshot))
