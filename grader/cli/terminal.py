"""What the terminal behind standard output can show: colours, escapes, characters.

A report goes to a person at a terminal (colour, symbols), or to a file, pipe or CI log
(plain UTF-8, never escapes), on POSIX and on Windows consoles alike.
"""

from __future__ import annotations

import codecs
import os
import sys
from typing import Any, TextIO

WINDOWS = sys.platform == "win32"
# SetConsoleMode flag: the Windows console acts on ANSI escapes (colours, clearing).
VIRTUAL_TERMINAL_PROCESSING = 0x0004


def text_look() -> dict[str, Any]:
    """How text for a person is shown on standard output: the text renderer's ``color``,
    ``symbols`` and ``width``."""
    return {"color": use_color(), "symbols": use_symbols(), "width": wrap_width()}


def use_color() -> bool:
    """Colour only for a person at a terminal: never when piped, in CI, or with NO_COLOR.

    And only where it shows: a terminal that acts on ANSI escapes and takes UTF-8 (the
    report's symbols). Elsewhere the plain ASCII report, never escapes printed as text.
    """
    if os.environ.get("NO_COLOR") or os.environ.get("CI"):
        return False
    return speaks_utf8(sys.stdout) and ansi_terminal(sys.stdout)


def use_symbols() -> bool:
    """Symbols and bars (✔, █) on a terminal that takes UTF-8, with or without colour:
    ``NO_COLOR`` takes the colours away, not the layout. CI logs keep to ASCII."""
    return not os.environ.get("CI") and speaks_utf8(sys.stdout) and is_terminal(sys.stdout)


def wrap_width() -> int | None:
    """The width of the terminal the text will be read on (``COLUMNS`` overrides it), to wrap at.

    Piped into ``less`` or a file from a terminal, that is standard error's terminal. ``None``
    where there is no terminal at all (a CI log, a file read by tools): never wrapped.
    """
    for stream in (sys.stdout, sys.stderr):
        if is_terminal(stream):
            columns = os.environ.get("COLUMNS", "")
            if columns.isdecimal() and int(columns) > 0:
                return int(columns)
            try:
                return os.get_terminal_size(stream.fileno()).columns or None
            except (OSError, ValueError):
                continue
    return None


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a replaced or closed stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def speaks_utf8(stream: TextIO) -> bool:
    """Whether ``stream`` can encode every character (a UTF encoding), whatever the locale."""
    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name.startswith("utf")
    except LookupError:
        return False


def ansi_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that acts on ANSI escapes (colours, clearing the screen).

    Every POSIX terminal does. A Windows console does once its virtual-terminal mode is on,
    which is asked for here: Windows 10's console starts with it off, and would print the
    escapes as text.
    """
    return is_terminal(stream) and (not WINDOWS or windows_vt_mode(stream))


def windows_vt_mode(stream: TextIO, kernel32: Any = None) -> bool:
    """Find, or turn on, virtual-terminal processing in the Windows console behind ``stream``.

    ``False`` wherever that cannot be had: not Windows, not a console (a file, a pipe, NUL),
    or a console too old for it.
    """
    try:
        import ctypes
        import msvcrt

        kernel32 = kernel32 or ctypes.windll.kernel32  # type: ignore[attr-defined]  # Windows only; elsewhere the AttributeError means no virtual terminal
        handle = ctypes.c_void_p(msvcrt.get_osfhandle(stream.fileno()))  # type: ignore[attr-defined]  # Windows only, as above
        mode = ctypes.c_uint32()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False
        if mode.value & VIRTUAL_TERMINAL_PROCESSING:
            return True
        return bool(kernel32.SetConsoleMode(handle, mode.value | VIRTUAL_TERMINAL_PROCESSING))
    except Exception:  # noqa: BLE001 - a probe: any failure means no virtual terminal
        return False


def safe_output(stream: TextIO | None = None) -> None:
    """Make standard output unable to fail on a character its locale lacks.

    Redirected output (a file, a pipe, a CI log) becomes UTF-8, which readers of a JSON,
    JUnit or Markdown report expect; Windows would write cp1252 there, and stop with
    UnicodeEncodeError at the first "→" of a timeline or emoji a student printed. A
    terminal keeps its encoding and shows what it cannot encode as "?".
    """
    stream = stream or sys.stdout
    reconfigure = getattr(stream, "reconfigure", None)
    if speaks_utf8(stream) or reconfigure is None:
        return
    if is_terminal(stream):
        reconfigure(errors="replace")
    else:
        reconfigure(encoding="utf-8", errors="replace")
