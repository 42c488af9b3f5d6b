"""A tripwire: what the grader relies on inside a check process, fingerprinted before student code runs.

A submission runs in the same process as pytest and the checks, so it can replace
``Function.runtest``, register a plugin that swallows failures, or rebind a check's
helpers. None of that can be prevented from inside the process; all of it can be
*noticed*: the fingerprint taken before the student's module is imported is compared
after every check, and any difference is reported to the parent, which scores the
exercise 0. (SECURITY.md: a tripwire, not a wall.)
"""

from __future__ import annotations

import copy
import inspect
import types
from collections.abc import Iterable, Mapping
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


class Fingerprint:
    """Identities of functions and classes that must not change while the checks run.

    What to look at (which names in which namespaces) is listed once, in the worker before
    it forks; each comparison then only looks each name up again, which keeps it cheap
    enough to run after every check.
    """

    def __init__(self, modules: Iterable[types.ModuleType], config: pytest.Config) -> None:
        self.config = config
        self.namespaces: list[tuple[str, Mapping[str, Any], str]] = []  # (label, namespace, name)
        self.attributes: list[tuple[str, object, str]] = [  # (label, owner, name), looked up statically
            (f"pytest {getattr(owner, '__name__', owner)}.{name}", owner, name) for owner, name in PYTEST_INTERNALS
        ]
        for module in modules:
            for name, value in list(vars(module).items()):
                if callable(value) or isinstance(value, type):
                    self.namespaces.append((f"{module.__name__}.{name}", vars(module), name))
                if isinstance(value, type) and value.__module__ == module.__name__:
                    for attribute in list(vars(value)):
                        self.namespaces.append((f"{module.__name__}.{name}.{attribute}", vars(value), attribute))
        self.expected = self._take()

    def watching(self, item: object) -> Fingerprint:
        """This fingerprint, also over ``item``'s methods and the plugins registered now.

        For each exercise's reporter, once it is registered: the same process checks the
        next exercise only if nothing changed, so the rest still holds.
        """
        view = copy.copy(self)
        view.attributes = [*self.attributes]
        for name in {*dir(type(item)), *vars(item)}:
            value = _static(item, name)
            if callable(value) or isinstance(value, (staticmethod, classmethod)):
                view.attributes.append((f"{type(item).__name__}().{name}", item, name))
        view.expected = view._take()
        return view

    def _take(self) -> dict[str, int]:
        seen = {label: id(_static(owner, name)) for label, owner, name in self.attributes}
        # A class's __dict__ is a read-only view of the live one, so it sees later changes.
        seen.update((label, id(namespace.get(name))) for label, namespace, name in self.namespaces)
        seen["pytest plugins"] = hash(frozenset(id(p) for p in self.config.pluginmanager.get_plugins()))
        return seen

    def changes(self) -> list[str]:
        """What differs from the fingerprint, by name (empty when nothing was touched)."""
        now = self._take()
        return sorted(name for name, identity in self.expected.items() if now.get(name) != identity)


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
        classes = _type_mro(type(owner))
    namespaces += [_type_dict(cls) for cls in classes]
    for namespace in namespaces:
        found = namespace.get(name, _MISSING)
        if found is not _MISSING:
            return found
    return None


_MISSING = object()
_type_mro = type.__dict__["__mro__"].__get__
_type_dict = type.__dict__["__dict__"].__get__
_module_dict = types.ModuleType.__dict__["__dict__"].__get__  # type: ignore[index]


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
