"""Where the student's file is, and how lines of it are named in evidence.

A source reference is a plain dict ``{"file", "line", "excerpt"}``: it travels to the
judge as JSON. Only the file's name is given, never the folder it was copied to.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import io
import linecache
import sys
import tokenize
import traceback
from pathlib import Path
from types import CodeType, FrameType, FunctionType, ModuleType, TracebackType
from typing import Any

# BaseExceptions that are part of asyncio's normal life, not attempts to stop the run.
ORDINARY_BASE_EXCEPTIONS = (asyncio.CancelledError, GeneratorExit)

_path: Path | None = None
_file = ""  # str(_path): what the module's code objects name as their file
_source = b""
_module: ModuleType | None = None
_globals: dict[str, Any] | None = None  # the module's namespace, from the moment its import begins


def set_exercise(path: Path, source: bytes) -> None:
    """The student's module is ``source``, named as the file ``path``; its lines are read from ``source`` too."""
    global _path, _file, _source, _module, _globals
    _path, _file, _source, _module, _globals = path, str(path), source, None, None
    try:
        encoding = tokenize.detect_encoding(io.BytesIO(source).readline)[0]
    except SyntaxError:  # a broken coding line: compiling says so, with its line
        encoding = "utf-8"
    lines = source.decode(encoding, errors="replace").splitlines(keepends=True)
    # No modification time: linecache never re-reads it from the folder, whatever lies there.
    linecache.cache[_file] = (len(source), None, lines, _file)


def imported() -> bool:
    """Whether the student's module has finished importing (an import that raised has not)."""
    return _module is not None


def in_exercise(code: CodeType) -> bool:
    """Whether ``code`` belongs to the student's file (a string comparison: frames are many)."""
    return bool(_file) and code.co_filename == _file


def exercise_globals() -> dict[str, Any] | None:
    """The student's module's namespace, once its import has begun: its frames run with it."""
    return _globals


def exercise_module() -> ModuleType:
    """The student's module, run from its source on first use; an import that raises re-raises each time.

    Compiled from the bytes the judge sent, as an import of the file would be, but with no
    import system in between: no ``__pycache__`` to take instead, no file to read again.
    """
    global _module, _globals
    if _module is not None:
        return _module
    assert _path is not None, "no exercise file was set"
    name = "exercise_" + _path.stem
    spec = importlib.util.spec_from_file_location(name, _path)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    code = compile(_source, _file, "exec", dont_inherit=True)
    _globals = vars(module)
    exec(code, _globals)  # noqa: S102 - the student's module, in the subject that exists to run it
    _module = module
    return module


def source_ref(line: int) -> dict[str, Any]:
    """Line ``line`` of the student's file, with its text."""
    assert _path is not None
    return {"file": _path.name, "line": line, "excerpt": linecache.getline(_file, line).strip()}


def student_line(tb: TracebackType | None) -> dict[str, Any] | None:
    """The deepest frame of a traceback that lies in the student's file."""
    found = None
    for frame, line in traceback.walk_tb(tb):
        if in_exercise(frame.f_code):
            found = source_ref(line)
    return found


def first_student_line(tb: TracebackType | None) -> dict[str, Any] | None:
    """The outermost frame of a traceback that lies in the student's file: the await that let an error in."""
    return next((source_ref(line) for frame, line in traceback.walk_tb(tb) if in_exercise(frame.f_code)), None)


def caller_in_exercise() -> dict[str, Any] | None:
    """The innermost line of the student's file on the current call stack, if any."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        if in_exercise(frame.f_code):
            return source_ref(frame.f_lineno)
        frame = frame.f_back
    return None


def suspended_at(awaitable: Any) -> dict[str, Any] | None:
    """The deepest line of the student's file at which a suspended coroutine (or task) is waiting."""
    frames = _student_frames(awaitable)
    return source_ref(frames[-1].f_lineno) if frames else None


def parked(awaitable: Any) -> dict[str, Any]:
    """Where a suspended coroutine waits in the student's file, and the coroutines its frames made but never started.

    A wait that nothing will end is often one for work that was never started: a
    coroutine made (``run_one(...)``) but never awaited nor wrapped in a task.
    """
    frames = _student_frames(awaitable)
    if not frames:
        return {}
    held = [value for frame in frames for local in frame.f_locals.values() for value in _held(local)]
    unstarted = [c.__name__ for c in held if inspect.iscoroutine(c) and inspect.getcoroutinestate(c) == inspect.CORO_CREATED]
    return {"waiting_at": source_ref(frames[-1].f_lineno), "never_started": list(dict.fromkeys(unstarted))}


def _student_frames(awaitable: Any) -> list[FrameType]:
    """The frames of the student's file along a suspended coroutine chain, outermost first.

    None of a running chain: a running frame's ``f_back`` leads up into the probe's and the
    executor's frames, and these frames are used where the student's code could ask for them.
    """
    frames = []
    awaited: Any = awaitable.get_coro() if isinstance(awaitable, asyncio.Task) else awaitable
    if getattr(awaited, "cr_running", False):
        return []
    while awaited is not None and hasattr(awaited, "cr_code"):
        if in_exercise(awaited.cr_code) and awaited.cr_frame is not None:
            frames.append(awaited.cr_frame)
        awaited = awaited.cr_await
    return frames


def _held(value: Any) -> list[Any]:
    """``value``, or what a list, tuple, set or dict of it holds: one level deep."""
    if type(value) in (list, tuple, set):
        return list(value)
    if type(value) is dict:
        return list(value.values())
    return [value]


def describe_raised(exc: BaseException) -> dict[str, Any]:
    """An exception of the student's code as the judge reads it: type, Python's own text, their line."""
    return {
        "type": type(exc).__name__,
        "message": describe_exception(exc),
        "python_says": python_says(exc).replace("Looptime_", "_"),
        "source": student_line(exc.__traceback__),
        "todo": isinstance(exc, NotImplementedError),
        "fatal": not isinstance(exc, (Exception, *ORDINARY_BASE_EXCEPTIONS)),
        "name": getattr(exc, "name", None) if isinstance(exc, (NameError, ImportError, AttributeError)) else None,
        **_missing_function(exc),
    }


def python_says(exc: BaseException) -> str:
    """The last line Python would print for ``exc``, with its "Did you mean …?" where it offers one.

    Up to Python 3.11 only the interpreter's own exception printer makes the suggestion
    (it reads the frame the name was missing from), so its words are taken from there.
    """
    lines = traceback.format_exception_only(type(exc), exc)
    text = lines[-1].strip() if lines else type(exc).__name__
    if not isinstance(exc, (NameError, AttributeError, ImportError)) or "Did you mean" in text:
        return text
    saved, sys.stderr = sys.stderr, io.StringIO()
    try:
        sys.__excepthook__(type(exc), exc, exc.__traceback__)
        printed = sys.stderr.getvalue().rstrip().splitlines()
    finally:
        sys.stderr = saved
    return printed[-1] if printed and printed[-1].startswith(text) else text


def _missing_function(exc: BaseException) -> dict[str, Any]:
    """A probe asked the module for a name it does not define (``getattr(module, "poll_task")``)."""
    if not isinstance(exc, AttributeError) or _module is None or exc.obj is not _module:
        return {}
    return {"missing": str(exc.name), "defined": defined_functions()}


def defined_functions() -> dict[str, dict[str, Any]]:
    """Every function the student's file defines at its top level, with the line of its ``def``."""
    found = {}
    for name, value in vars(_module).items() if _module is not None else ():
        if isinstance(value, FunctionType) and in_exercise(value.__code__):
            found[name] = source_ref(value.__code__.co_firstlineno)
    return found


def describe_exception(exc: BaseException) -> str:
    """``ValueError: bad value`` (or just the type when there is no message), on one line."""
    text = str(exc).strip().replace("Looptime_", "_").splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
