"""A tripwire: what the grader relies on inside a check process, fingerprinted before student code runs.

A submission runs in the same process as pytest and the checks, so it can replace
``Function.runtest``, register a plugin that swallows failures, or rebind a check's
helpers. None of that can be prevented from inside the process; all of it can be
*noticed*: the fingerprint taken before the student's module is imported is compared
after every check, and any difference is reported to the parent, which scores the
exercise 0. (SECURITY.md: a tripwire, not a wall.)
"""

from __future__ import annotations

import inspect
import operator
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import _pytest.python
import _pytest.reports
import _pytest.runner
import pluggy
import pytest

# Attributes of pytest's machinery that decide whether a check passed.
PYTEST_INTERNALS: tuple[tuple[object, str], ...] = (
    (_pytest.python.Function, "runtest"),
    (_pytest.python.Function, "setup"),
    (_pytest.runner.CallInfo, "from_call"),
    (_pytest.runner, "call_and_report"),
    (_pytest.runner, "call_runtest_hook"),
    (_pytest.runner, "runtestprotocol"),
    (_pytest.runner, "check_interactive_exception"),
    (_pytest.reports.TestReport, "from_item_and_call"),
    (pluggy.PluginManager, "register"),
    (pluggy.HookCaller, "__call__"),
)


class Identities:
    """Names in namespaces that must keep holding the very same objects.

    Listed once; :meth:`unchanged` then looks every name up in C (one ``itemgetter`` call
    per namespace, compared with ``is``, never ``==``), cheap enough to run after every
    check. A name added to a class can shadow what its bases provide, so a class's number
    of names counts too (a module's does not: Python adds ``__warningregistry__`` and
    ``sys.last_value`` on its own).
    """

    def __init__(self) -> None:
        self.namespaces: list[tuple[str, Mapping[str, Any], tuple[str, ...], Callable[[Mapping[str, Any]], Any], bool]] = []

    def watch(self, label: str, namespace: Mapping[str, Any], names: Iterable[str], closed: bool = False) -> None:
        """Watch ``names`` in ``namespace``; ``closed``: no name may be added to it either."""
        names = tuple(names)
        if names or closed:
            # itemgetter returns a bare value for a single key: asked twice, it still gives a tuple.
            getter = operator.itemgetter(*(names if len(names) != 1 else names * 2)) if names else _no_names
            self.namespaces.append((label, namespace, names, getter, closed))

    def watch_module(self, module: types.ModuleType, with_classes: bool) -> None:
        """A module's functions and classes, and (``with_classes``) every attribute of the classes it defines."""
        namespace = vars(module)
        self.watch(module.__name__, namespace, [k for k, v in namespace.items() if callable(v) or isinstance(v, type)])
        if with_classes:
            for name, value in list(namespace.items()):
                if isinstance(value, type) and value.__module__ == module.__name__:
                    self.watch(f"{module.__name__}.{name}", vars(value), list(vars(value)), closed=True)

    def values(self) -> list[tuple[int, tuple[Any, ...]] | None]:
        """What every watched name holds now (``None`` for a namespace that lost a name)."""
        found: list[tuple[int, tuple[Any, ...]] | None] = []
        for _, namespace, _, getter, closed in self.namespaces:
            try:
                found.append((len(namespace) if closed else 0, getter(namespace)))
            except KeyError:
                found.append(None)
        return found

    def _unchanged(self, expected: list[tuple[int, tuple[Any, ...]] | None]) -> bool:
        for now, before in zip(self.values(), expected):
            if now is None or before is None:
                if now is not before:
                    return False
            elif now[0] != before[0] or not all(map(operator.is_, now[1], before[1])):
                return False
        return True

    def changed(self, expected: list[tuple[int, tuple[Any, ...]] | None]) -> list[str]:
        """Which names changed, or which namespaces gained one (none, found quickly, is the usual answer)."""
        if self._unchanged(expected):
            return []
        found = []
        for (label, namespace, names, _, closed), before in zip(self.namespaces, expected):
            for index, name in enumerate(names):
                if before is None or namespace.get(name, _MISSING) is not before[1][index]:
                    found.append(f"{label}.{name}")
            if closed and before is not None and len(namespace) > before[0]:
                found.append(f"{label} (a name added)")
        return found


class Fingerprint:
    """Identities of functions and classes that must not change while the checks run.

    What to look at is listed once, in the worker before it forks: pytest's internals that
    decide a check's outcome, the checks' and the grader's modules and classes, and (per
    exercise) the reporter object; each comparison is then cheap enough to run after every check.
    """

    def __init__(self, modules: Iterable[types.ModuleType], config: pytest.Config) -> None:
        self.config = config
        self.internals = [
            (f"pytest {getattr(owner, '__name__', owner)}.{name}", owner, name, id(_static(owner, name)))
            for owner, name in PYTEST_INTERNALS
        ]
        self.identities = Identities()
        for module in modules:
            self.identities.watch_module(module, with_classes=True)
        self.expected = self.identities.values()
        # (label, object, its class, that class's MRO)
        self.objects: list[tuple[str, object, type, tuple[type, ...]]] = []
        self.own = self._own_namespaces()
        self.own_expected = self.own.values()
        self.plugins = self._plugins()

    def watching(self, item: object) -> Fingerprint:
        """This fingerprint, also over ``item`` and the plugins registered now.

        For each exercise's reporter, once it is registered. ``item``'s methods live in its
        class, watched with its module; what could change them for ``item`` alone is another
        class, another MRO, or its own ``__dict__``: a function it holds rebound, or a name
        added that shadows a method.
        """
        view = object.__new__(Fingerprint)  # not copy.copy: it would add __slotnames__ to this class
        vars(view).update(vars(self))
        cls = _class_of(item)
        label = f"{cls.__name__}()"
        view.objects = [*self.objects, (label, item, cls, _type_mro(cls))]
        view.own = view._own_namespaces()
        view.own_expected = view.own.values()
        view.plugins = view._plugins()
        return view

    def _own_namespaces(self) -> Identities:
        """The watched objects' own functions, and their number of names."""
        own = Identities()
        for label, item, _, _ in self.objects:
            namespace = _instance_dict(item)
            own.watch(label, namespace, [name for name, value in namespace.items() if callable(value)], closed=True)
        return own

    def _plugins(self) -> int:
        return hash(frozenset(map(id, self.config.pluginmanager.get_plugins())))

    def changes(self) -> list[str]:
        """What differs from the fingerprint, by name (empty when nothing was touched)."""
        found = [label for label, owner, name, identity in self.internals if id(_static(owner, name)) != identity]
        found += self.identities.changed(self.expected)
        for label, item, cls, mro in self.objects:
            if _class_of(item) is not cls or _type_mro(cls) is not mro:
                found.append(label)
        found += self.own.changed(self.own_expected)
        if self._plugins() != self.plugins:
            found.append("pytest plugins")
        return sorted(found)


def _static(owner: object, name: str) -> object:
    """What ``owner.name`` is without running any code: the instance's own dict, then its classes'.

    ``inspect.getattr_static`` for plain modules, classes and instances, at a fraction of its
    cost; like it, it reads a class's ``__mro__`` and ``__dict__`` through ``type`` itself, so
    a replaced metaclass cannot hide a replaced method.
    """
    if isinstance(owner, types.ModuleType):
        return _module_dict(owner).get(name)
    if isinstance(owner, type):
        namespaces: list[Mapping[str, Any]] = []
        classes = _type_mro(owner)
    else:
        namespaces = [_instance_dict(owner)]
        classes = _type_mro(_class_of(owner))
    namespaces += [_type_dict(cls) for cls in classes]
    for namespace in namespaces:
        found = namespace.get(name, _MISSING)
        if found is not _MISSING:
            return found
    return None


_MISSING = object()
_class_of = type
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_module_dict = types.ModuleType.__dict__["__dict__"].__get__  # type: ignore[index]


def _no_names(namespace: Mapping[str, Any]) -> tuple[Any, ...]:
    return ()


def _instance_dict(owner: object) -> Mapping[str, Any]:
    try:
        return object.__getattribute__(owner, "__dict__")  # type: ignore[no-any-return]
    except AttributeError:
        return {}


def describe(changes: list[str]) -> str:
    first = changes[0]
    more = f" (and {len(changes) - 1} more)" if len(changes) > 1 else ""
    return f"tamper with the grader's checks or machinery: {first} was replaced{more}"


def modules_of(objects: Iterable[Any]) -> list[types.ModuleType]:
    """The modules that define ``objects`` (used to fingerprint the checks and their helpers)."""
    found: list[types.ModuleType] = []
    for item in objects:
        module = inspect.getmodule(item)
        if module is not None and module not in found:
            found.append(module)
    return found
