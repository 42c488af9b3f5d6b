"""Whether an exercise left its check process fit to check the next one.

A check process takes a submission's exercises in turn, so whatever an exercise's code
leaves behind could change how the next one is checked: a thread or process still
running, a file or socket left open, a changed signal handler or mask, working folder or
environment, an event loop left set, a trace or exception hook, a patched import system
or module cache, a replaced builtin, function or class the checks run on, a lowered
resource limit, memory still held. Before the first exercise the process notes all of
these; after each one but its last it compares. Anything different, or any call whose effect can
outlast an exercise (starting a process, loading native code, adding an audit hook,
walking the garbage collector's objects), and the process stops: the worker forks a
fresh one for the exercises left.
"""

from __future__ import annotations

import asyncio
import builtins
import gc
import os
import signal
import sys
import threading
import types
from typing import Any

import looptime

from grader.runner import channels
from grader.runner.integrity import Identities

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

MiB = 1 << 20
# More address space than this, kept after an exercise, would shrink the next one's memory limit.
GROWTH_ALLOWED = 128 * MiB
# Audit events of calls whose effects can outlast the exercise that made them.
LASTING_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.posix_spawn", "os.spawn", "os.system", "os.startfile",
    "subprocess.Popen", "pty.spawn",
    "ctypes.dlopen", "ctypes.dlsym", "ctypes.cdata", "ctypes.call_function",
    "sys.addaudithook", "sys.setprofile", "sys.settrace",
    "gc.get_objects", "gc.get_referrers", "gc.get_referents",
})  # fmt: skip
# What the exercises' code runs on: these packages' functions and classes, and every
# attribute of their classes...
RUNTIME = ("asyncio", "looptime")
# ...and the functions and classes of what the checks run on, and the standard modules under both.
FOUNDATIONS = (
    "pytest_asyncio", "pytest_timeout", "_pytest", "pytest", "pluggy", "grader",
    "builtins", "collections", "contextlib", "contextvars", "dataclasses", "enum", "functools", "gc", "heapq",
    "inspect", "io", "json", "linecache", "os", "posix", "queue", "selectors", "signal", "socket", "sys",
    "threading", "time", "traceback", "types", "weakref", "_weakrefset",
)  # fmt: skip


def watched_modules() -> Identities:
    """The functions and classes of the modules the exercises and checks run on, and asyncio's class attributes.

    Listed once, in the worker before it forks (walking them all costs milliseconds). Each
    object compared costs a check process a copy-on-write page fault the first time, so
    the tamper fingerprint, not this, watches pytest's and the grader's classes.
    """
    identities = Identities()
    for name, module in list(sys.modules.items()):
        package = name.split(".")[0]
        if isinstance(module, types.ModuleType) and package in (*RUNTIME, *FOUNDATIONS):
            identities.watch_module(module, with_classes=package in RUNTIME)
    looptime_class = _virtual_time_loop_class()
    identities.watch(looptime_class.__qualname__, vars(looptime_class), list(vars(looptime_class)), closed=True)
    return identities


def _virtual_time_loop_class() -> type:
    """The class looptime makes for the loops the checks run, made here so every check process shares it.

    looptime makes it on first use and keeps it in a cache, out of any module's names: made
    in a check process, no comparison would see a change to it.
    """
    loop = asyncio.new_event_loop()
    try:
        assert isinstance(loop, asyncio.BaseEventLoop)
        looptime.patch_event_loop(loop)
        return type(loop)
    finally:
        loop.close()


# As plain numbers: the signal module's own functions wrap every number in an enum, which costs.
SIGNALS = sorted(int(sig) for sig in signal.valid_signals())
_getsignal = getattr(signal, "_signal", signal).getsignal


class CarryOver:
    """Taken once the process is armed and before any student code runs; asked after each exercise."""

    def __init__(self, modules: Identities) -> None:
        self.cpu_limit: int | None = None  # the soft CPU limit set for the current exercise
        self.calls: set[str] = set()
        sys.addaudithook(self._note)
        self.watched = modules
        self.expected_values = modules.values()
        self.imported = Identities()
        self.imported.watch("sys.modules", sys.modules, list(sys.modules))
        self.expected_imports = self.imported.values()
        self.expected = _interpreter_state()
        self.descriptors = channels.open_descriptors() or set()
        self.address_space = _address_space()

    def closed(self, fds: list[int]) -> None:
        """These descriptors were the exercise's own and are closed: their numbers may be reused."""
        self.descriptors -= set(fds)

    def _note(self, event: str, args: tuple[Any, ...]) -> None:
        if event in LASTING_EVENTS:
            self.calls.add(event)

    def leftovers(self) -> list[str]:
        """What the exercise left behind, in words (empty: the process may check the next one)."""
        found = [f"called {event}" for event in sorted(self.calls)]
        if threading.active_count() > 1 or _native_threads() > 1:
            found.append("a thread still running")
        if _has_children():
            found.append("a process still running")
        if (channels.open_descriptors() or set()) - self.descriptors:
            found.append("a file, pipe or socket still open")
        now = _interpreter_state()
        found += [f"changed {name}" for name, value in self.expected.items() if now.get(name) != value]
        if self.imported.changed(self.expected_imports):
            found.append("changed a module already imported")
        changed = self.watched.changed(self.expected_values)
        if changed:
            found.append(f"changed {', '.join(changed[:3])}: functions or classes the checks run on")
        if self.cpu_limit is not None and _cpu_limit() != self.cpu_limit:
            found.append("changed its CPU time limit")
        if _address_space() - self.address_space > GROWTH_ALLOWED:
            found.append("memory still held")
        return found


def _interpreter_state() -> dict[str, object]:
    """Settings of the interpreter and the process that outlive a module, by name."""
    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    return {
        "working folder": _working_folder(),
        "environment": dict(os.environ),
        "umask": _umask(),
        "signal handlers": _signal_handlers(),
        "signal mask": _signal_mask(),
        "import system": tuple(map(id, (*sys.meta_path, *sys.path_hooks))),
        "hooks": tuple(map(id, (sys.gettrace(), sys.getprofile(), sys.excepthook, sys.unraisablehook,
                                 sys.displayhook, sys.breakpointhook, threading.excepthook))),
        "interpreter settings": (sys.getrecursionlimit(), sys.getswitchinterval(), gc.isenabled(), gc.get_threshold()),
        "event loop policy": (id(policy), id(getattr(local, "_loop", None))),
        "builtins": tuple(map(id, vars(builtins).values())),
        "resource limits": _resource_limits(),
    }  # fmt: skip


def _signal_handlers() -> dict[int, int]:
    found: dict[int, int] = {}
    for sig in SIGNALS:
        try:
            found[sig] = id(_getsignal(sig))
        except (ValueError, OSError):
            continue
    return found


def _signal_mask() -> tuple[int, ...]:
    """The signals this thread blocks (where the platform can tell)."""
    if not hasattr(signal, "pthread_sigmask"):
        return ()
    return tuple(sorted(int(sig) for sig in signal.pthread_sigmask(signal.SIG_BLOCK, ())))


def _working_folder() -> str:
    try:
        return os.getcwd()
    except OSError:  # it was removed
        return ""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _resource_limits() -> dict[str, tuple[int, int]]:
    """Every limit but the CPU time's soft one, which the process moves on at each exercise."""
    if resource is None:
        return {}
    found = {}
    for name in dir(resource):
        if name.startswith("RLIMIT_"):
            soft, hard = resource.getrlimit(getattr(resource, name))
            found[name] = (hard, hard) if name == "RLIMIT_CPU" else (soft, hard)
    return found


def _cpu_limit() -> int | None:
    return resource.getrlimit(resource.RLIMIT_CPU)[0] if resource is not None else None


def _native_threads() -> int:
    """Threads the kernel counts, native ones included (Linux; elsewhere Python's count)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _has_children() -> bool:
    """Whether any child process is still running (or ended unreaped: it is reaped here).

    The check process is a child subreaper, so this also finds what its children left.
    """
    if not hasattr(os, "waitpid") or sys.platform == "win32":
        return False
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return False
    return True


def _address_space() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return 0
