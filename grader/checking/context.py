"""Where the exercise under test lives, and how to load it as a module.

The runner sets the path once per child process before pytest starts; checks reach the
student's code only through :func:`load_exercise`, so an import that crashes, exits or
hangs is turned into a failure of the check that needed it.
"""

from __future__ import annotations

import importlib.util
import linecache
import sys
import traceback
from pathlib import Path
from types import CodeType, ModuleType, TracebackType

from grader.checking.feedback import Failure
from grader.model import SourceRef

_exercise_path: Path | None = None
_exercise_file = ""  # str(_exercise_path): what the module's code objects name as their file
_module: ModuleType | None = None
_load_error: Failure | None = None

NOT_IMPLEMENTED_HELP = "This part still raises NotImplementedError: replace the TODO with your code."


class NotStarted(Failure):
    """The student's function still raises the stub's ``NotImplementedError``."""


def set_exercise(path: Path) -> None:
    """Point the checks of this process at one exercise file."""
    global _exercise_path, _exercise_file, _module, _load_error
    _exercise_path, _exercise_file, _module, _load_error = path, str(path), None, None


def in_exercise(code: CodeType) -> bool:
    """Whether ``code`` belongs to the student's file (a string comparison: frames are many)."""
    return bool(_exercise_file) and code.co_filename == _exercise_file


def exercise_path() -> Path:
    if _exercise_path is None:
        raise RuntimeError("no exercise file was set for this check run")
    return _exercise_path


def load_exercise() -> ModuleType:
    """Import the student's file once; later calls return the module or re-raise the failure."""
    global _module, _load_error
    if _module is not None:
        return _module
    if _load_error is not None:
        raise _load_error
    path = exercise_path()
    name = "exercise_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are student mistakes here
        _load_error = Failure(
            f"importing {path.name} raised {describe_exception(exc)}",
            _import_help(exc),
            source=student_line(exc.__traceback__),
        )
        raise _load_error from None
    _module = module
    return module


def _import_help(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return "Don't call sys.exit() or exit() in the exercise file: the checks import it as a module."
    if isinstance(exc, RuntimeError) and "running event loop" in str(exc):
        return "Code at the top level ran asyncio.run(); put it under `if __name__ == \"__main__\":`."
    if isinstance(exc, ModuleNotFoundError):
        return f"The module {exc.name!r} is not installed where the checks run: use only the standard library."
    return "Code at the top level of the file runs on import: keep demos under `if __name__ == \"__main__\":`."


def describe_exception(exc: BaseException) -> str:
    """``ValueError: bad value`` (or just the type when there is no message), on one line."""
    text = str(exc).strip().replace("Looptime_", "_").splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


def student_line(tb: TracebackType | None) -> SourceRef | None:
    """The deepest frame of a traceback that lies in the student's file, as file:line."""
    if tb is None or _exercise_path is None:
        return None
    found: SourceRef | None = None
    for frame, line in traceback.walk_tb(tb):
        if in_exercise(frame.f_code):
            found = source_ref(line)
    return found


def source_ref(line: int) -> SourceRef:
    """A reference to ``line`` of the exercise file, with the line's text as an excerpt."""
    path = exercise_path()
    return SourceRef(path.name, line, linecache.getline(str(path), line).strip())


def caller_in_exercise() -> SourceRef | None:
    """The innermost line of the student's file on the current call stack, if any."""
    if _exercise_path is None:
        return None
    frame = sys._getframe(1)
    while frame is not None:
        if in_exercise(frame.f_code):
            return source_ref(frame.f_lineno)
        frame = frame.f_back
    return None
