"""Pipes that a worker inherits, on POSIX (file descriptors) and Windows (handles).

A pipe's write end is named to the worker by a number: the descriptor itself on POSIX,
the OS handle on Windows, where descriptors do not survive process creation.

Runs in the parent (which makes the pipes) and in the worker (which opens its ends).
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

WINDOWS = sys.platform == "win32"


def pipe() -> tuple[int, int, int]:
    """A new pipe: (read fd, write fd, the number the worker uses for the write end)."""
    read_fd, write_fd = os.pipe()
    if not WINDOWS:
        return read_fd, write_fd, write_fd
    import msvcrt

    os.set_inheritable(write_fd, True)
    return read_fd, write_fd, msvcrt.get_osfhandle(write_fd)  # type: ignore[attr-defined]  # Windows only (WINDOWS, not sys.platform, so tests can fake it)


def open_in_child(number: int) -> int:
    """The worker's descriptor for a pipe end the parent named by ``number``."""
    if not WINDOWS:
        return number
    import msvcrt

    return msvcrt.open_osfhandle(number, os.O_WRONLY)  # type: ignore[attr-defined,no-any-return]  # Windows only, as above


def inherit(numbers: list[int]) -> dict[str, Any]:
    """``Popen`` arguments that pass exactly these pipe ends, and nothing else, to the worker."""
    if not WINDOWS:
        return {"pass_fds": numbers, "start_new_session": True}
    return {"startupinfo": subprocess.STARTUPINFO(lpAttributeList={"handle_list": numbers}), "close_fds": True}  # type: ignore[attr-defined]  # Windows only, as above


def open_descriptors() -> set[int] | None:
    """This process's open descriptors, or ``None`` where the system cannot list them."""
    for folder in ("/proc/self/fd", "/dev/fd"):
        try:
            return {int(name) for name in os.listdir(folder)}
        except OSError:
            continue
    return None


def close_quietly(*fds: int) -> None:
    """Close each descriptor, ignoring those already closed."""
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
