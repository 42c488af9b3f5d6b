"""Where the student's file is, and how lines of it are named in evidence.

A source reference is a plain dict ``{"file", "line", "excerpt"}``: it travels to the
judge as JSON. Only the file's name is given, never the folder it was copied to.
"""

from __future__ import annotations

import asyncio
import importlib.util
import linecache
import sys
import traceback
from pathlib import Path
from types import CodeType, ModuleType, TracebackType
from typing import Any

# BaseExceptions that are part of asyncio's normal life, not attempts to stop the run.
ORDINARY_BASE_EXCEPTIONS = (asyncio.CancelledError, GeneratorExit)

_path: Path | None = None
_file = ""  # str(_path): what the module's code objects name as their file
_module: ModuleType | None = None


def set_exercise(path: Path) -> None:
    global _path, _file, _module
    _path, _file, _module = path, str(path), None


def in_exercise(code: CodeType) -> bool:
    """Whether ``code`` belongs to the student's file (a string comparison: frames are many)."""
    return bool(_file) and code.co_filename == _file


def exercise_module() -> ModuleType:
    """The student's module, imported on first use; an import that raises re-raises each time."""
    global _module
    if _module is not None:
        return _module
    assert _path is not None, "no exercise file was set"
    name = "exercise_" + _path.stem
    spec = importlib.util.spec_from_file_location(name, _path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
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


def caller_in_exercise() -> dict[str, Any] | None:
    """The innermost line of the student's file on the current call stack, if any."""
    frame = sys._getframe(1)
    while frame is not None:
        if in_exercise(frame.f_code):
            return source_ref(frame.f_lineno)
        frame = frame.f_back  # type: ignore[assignment]
    return None


def describe_raised(exc: BaseException) -> dict[str, Any]:
    """An exception of the student's code as the judge reads it: type, Python's own text, their line."""
    lines = traceback.format_exception_only(type(exc), exc)
    text = lines[-1].strip() if lines else type(exc).__name__
    return {
        "type": type(exc).__name__,
        "message": describe_exception(exc),
        "python_says": text.replace("Looptime_", "_"),
        "source": student_line(exc.__traceback__),
        "todo": isinstance(exc, NotImplementedError),
        "fatal": not isinstance(exc, (Exception, *ORDINARY_BASE_EXCEPTIONS)),
        "name": getattr(exc, "name", None) if isinstance(exc, (NameError, ImportError, AttributeError)) else None,
    }


def describe_exception(exc: BaseException) -> str:
    """``ValueError: bad value`` (or just the type when there is no message), on one line."""
    text = str(exc).strip().replace("Looptime_", "_").splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
