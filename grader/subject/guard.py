"""A tripwire in the subject process: forbidden reads, writes, imports and introspection are refused.

Audit hooks cannot be removed from Python code, so from the moment the guard is armed a
submission that opens the kit's reference solutions, imports the kit's solutions or
checks, or writes, deletes or renames anything outside its temporary folder is stopped at
that call, and the attempt is reported to the parent, which scores the exercise 0. It is a
tripwire, not a wall (native code can bypass it): the bwrap sandbox hides the solutions
and makes everything but the temporary folder read-only.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType, FunctionType, SimpleNamespace
from typing import Any

READ_VIOLATION = "read {name}, one of the kit's hidden files (its reference solutions and checks)"
WRITE_VIOLATION = "change a file outside its temporary folder: {path}"
IMPORT_VIOLATION = "import {module}, the kit's own reference solutions or checks"
FORBIDDEN_MODULES = ("solutions", "grader.default_kit", "grader.checking", "grader.runner", "grader.cli")
CHANGE_VIOLATION = "change {what}, which the grader's evidence relies on"
REBUILD_VIOLATION = "rebuild a function from a code object (types.FunctionType), as the grader's own could be copied"
# Classes and functions of these packages are what the evidence is made with: none may change.
EVIDENCE_PACKAGES = ("asyncio", "looptime", "grader", "asynclings_probes")
INTROSPECTION_VIOLATION = "walk the interpreter's {what}, which the grader's own records live behind"
# Walks of the garbage collector's objects: the only way from student code to an audit hook.
GC_WALKS = ("gc.get_objects", "gc.get_referrers", "gc.get_referents")
# Frames: the way to the executor's locals. Handed only to the grader's and the standard library's own code.
FRAME_EVENTS = ("sys._getframe", "sys._current_frames", "sys._getframemodulename")
FRAME_NAMES = tuple((name,) for name in ("tb_frame", "cr_frame", "gi_frame", "ag_frame"))
# Hooks that are handed every frame the interpreter runs: the probes' included.
TRACE_EVENTS = ("sys.settrace", "sys.setprofile")
# Standard modules that hand frames to whoever calls them (inspect.currentframe, inspect.stack,
# getcoroutinelocals, traceback.walk_stack, Task.get_stack, a debugger's stack): a frame they
# ask for on the student's behalf is the student's asking. (traceback reading a traceback's
# frames, to print an exception, stays allowed.)
ON_BEHALF = {"inspect", "asyncio.base_tasks", "traceback", "bdb", "pdb"}
TRACEBACK_READERS = {"traceback"}
# Functions that hand their caller its own frame (``logging.currentframe``): asked on the caller's behalf.
RETURNS_FRAMES = {("logging", "<lambda>")}
# traceback's generators that yield a traceback's frames to whoever iterates them: allowed
# only to traceback's own printing (a traceback through a grader's hook leads into it).
FRAME_YIELDERS = {"walk_tb", "_walk_tb_with_full_positions"}
GRADER_READERS = ("grader.", "asynclings_probes")  # the subject's own code: its walks hand frames to no one
STATE_READERS = {"getcoroutinestate", "getgeneratorstate", "getasyncgenstate"}  # they read a frame, hand back a word
WRITABLE_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/tty", os.devnull, os.path.realpath(os.devnull))
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Audit events that change the filesystem, and which of their arguments are paths.
CHANGING_EVENTS = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.rename": (0, 1),
    "os.truncate": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.mkdir": (0,),
    "os.symlink": (1,),
    "os.link": (1,),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.move": (0, 1),
}


HELPERS = ("_graders", "_is_path", "_may_write", "_real")


def arm(
    unreadable: list[Path], writable: list[Path], report: Callable[[str], None], trusted: Callable[[FrameType], bool]
) -> None:
    """From now on, refuse and report what this module forbids, in this process and its forks.

    ``trusted(frame)`` tells whether a frame runs the grader's, looptime's or the standard
    library's own code (see :mod:`grader.subject.known_code`): frames are handed only to
    such code, and never on behalf of any other.
    """
    hidden = _roots(unreadable)
    allowed = _roots(writable)
    # Everything the decisions below use is bound here, in the hook's closure: no name a
    # submission can rebind, no flag it can set.
    getframe, thread = sys._getframe, threading.get_ident
    asking: set[int] = set()  # the threads asking for a frame on the guard's own behalf
    # This module's constants and helpers as they are now: one rebound for the moment of an event changes no decision.
    from builtins import any, getattr, int, isinstance, len, str  # noqa: UP029 - and the builtins it calls, likewise

    fixed = SimpleNamespace(**{name: value for name, value in globals().items() if name.isupper() or name in HELPERS})

    def refuse(what: str, error: type[Exception] = PermissionError) -> None:
        report(what)
        raise error(f"not allowed while grading: {what}")

    def asked_by_others(on_behalf: set[str]) -> bool:
        """Whether the code that raised the event being handled is not trusted, or is a trusted
        function of ``on_behalf`` (or one of :data:`RETURNS_FRAMES`) that untrusted code called."""
        me = thread()
        if me in asking:
            return False  # the guard's own getframe, below
        asking.add(me)
        try:
            frame = getframe(2)
            name = frame.f_globals.get("__name__")
            if frame.f_code.co_name in fixed.STATE_READERS and name == "inspect" and trusted(frame):
                return False
            while frame.f_back is not None and trusted(frame) and (name in on_behalf or (name, frame.f_code.co_name) in fixed.RETURNS_FRAMES):
                frame = frame.f_back
                name = frame.f_globals.get("__name__")
            return not trusted(frame)
        finally:
            asking.discard(me)

    def yielded_to_others() -> bool:
        """Whether a traceback's frame is being read by one of traceback's generators for code other than traceback's or the grader's."""
        reader = getframe(2)
        if reader.f_globals.get("__name__") != "traceback" or reader.f_code.co_name not in fixed.FRAME_YIELDERS:
            return False
        consumer = reader.f_back
        if consumer is None or not trusted(consumer):
            return True
        name = str(consumer.f_globals.get("__name__"))
        return name != "traceback" and not name.startswith(fixed.GRADER_READERS)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and args and fixed._is_path(args[0]):
            path = fixed._real(args[0])
            if path.startswith(hidden):
                refuse(fixed.READ_VIOLATION.format(name=Path(path).name))
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            writing = flags & fixed.WRITE_FLAGS or (isinstance(args[1], str) and any(c in args[1] for c in "wax+"))
            if writing and not fixed._may_write(path, allowed):
                refuse(fixed.WRITE_VIOLATION.format(path=path))
        elif event in fixed.CHANGING_EVENTS:
            for index in fixed.CHANGING_EVENTS[event]:
                if index < len(args) and fixed._is_path(args[index]) and not fixed._may_write(fixed._real(args[index]), allowed):
                    refuse(fixed.WRITE_VIOLATION.format(path=fixed._real(args[index])))
        elif event in fixed.GC_WALKS:
            refuse(fixed.INTROSPECTION_VIOLATION.format(what=f"objects ({event})"))
        elif event in fixed.TRACE_EVENTS:
            refuse(fixed.INTROSPECTION_VIOLATION.format(what=f"frames ({event})"))
        elif (event in fixed.FRAME_EVENTS or (event == "object.__getattr__" and args[1:2] in fixed.FRAME_NAMES)) and (
            asked_by_others(fixed.ON_BEHALF - fixed.TRACEBACK_READERS if args[1:2] == ("tb_frame",) else fixed.ON_BEHALF)
            or (args[1:2] == ("tb_frame",) and yielded_to_others())
        ):
            refuse(fixed.INTROSPECTION_VIOLATION.format(what=f"frames ({args[1] if event.startswith('object') else event})"))
        elif event == "object.__setattr__" and len(args) >= 2 and fixed._graders(args[0]):
            refuse(fixed.CHANGE_VIOLATION.format(what=f"{getattr(args[0], '__qualname__', args[0])}.{args[1]}"))
        elif (
            event == "object.__setattr__"
            and args[1:2] == ("__class__",)
            and isinstance(args[0], asyncio.AbstractEventLoop)
            and asked_by_others(set())
        ):
            # looptime gives each loop its class; a class of the student's could tell another time.
            refuse(fixed.CHANGE_VIOLATION.format(what="the event loop's class"))
        elif event == "function.__new__" and asked_by_others(set()):
            # A copy of a grader function with defaults or globals of the student's passes for the original.
            refuse(fixed.REBUILD_VIOLATION)
        elif (
            event == "import"
            and args
            and isinstance(args[0], str)
            and any(args[0] == m or args[0].startswith(m + ".") for m in fixed.FORBIDDEN_MODULES)
        ):
            refuse(fixed.IMPORT_VIOLATION.format(module=args[0]), ImportError)

    sys.addaudithook(hook)


def _graders(target: object) -> bool:
    """Whether ``target`` (a class whose attribute, or a function whose code, is being set) is one the evidence uses."""
    if not isinstance(target, (type, FunctionType)):
        return False  # an object's own attributes (looptime sets a loop's __class__) are its own
    module = getattr(target, "__module__", None)
    return isinstance(module, str) and module.split(".")[0] in EVIDENCE_PACKAGES


def _roots(folders: list[Path]) -> tuple[str, ...]:
    return tuple(_fold(os.path.join(os.path.realpath(f), "")) for f in folders)


def _is_path(value: object) -> bool:
    return isinstance(value, (str, bytes, os.PathLike))


def _real(value: Any) -> str:
    return _fold(os.path.realpath(os.fsdecode(value)))


def _fold(path: str) -> str:
    """Paths as the filesystem compares them: macOS and Windows disks ignore case by default."""
    return path.casefold() if sys.platform in ("darwin", "win32") else path


def _may_write(path: str, allowed: tuple[str, ...]) -> bool:
    devices = {_fold(device) for device in WRITABLE_DEVICES}
    return path.startswith(allowed) or path in devices or os.path.join(path, "") in allowed
