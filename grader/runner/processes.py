"""Process hygiene for check runs: a scrubbed environment, and no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

# Variables a check process may inherit. Everything else is dropped, so PYTHONPATH,
# PYTHONSTARTUP, PYTEST_ADDOPTS, PYTEST_PLUGINS and friends never reach it.
KEPT_VARIABLES = ("PATH", "LANG", "LC_ALL", "SYSTEMROOT")
# Fields of /proc/PID/stat after "pid (comm)": state, ppid, pgrp, session, ...
PARENT_FIELD, SESSION_FIELD = 1, 3


def clean_environment(workdir: Path) -> dict[str, str]:
    """The environment for a worker: a few harmless variables and the grader's own switches."""
    env = {key: os.environ[key] for key in KEPT_VARIABLES if key in os.environ}
    # No PYTHON* variables: the worker runs with -I, which ignores them all.
    env.update(
        TMPDIR=str(workdir),
        TEMP=str(workdir),
        TMP=str(workdir),
        HOME=str(workdir),
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        NO_COLOR="1",
    )
    return env


def kill_tree(pid: int) -> None:
    """Kill a worker's session: its process group, and every process still in its session.

    Children of the worker sit in process groups of their own, so killing the worker's
    group alone would leave them; on Linux the session id finds them all.
    """
    if not hasattr(os, "killpg"):  # Windows: no groups, no sessions
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(pid)], capture_output=True, check=False)
        return
    for target in [pid, *session_members(pid)]:
        try:
            os.killpg(target, signal.SIGKILL) if target == pid else os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            pass


def session_members(session_id: int) -> list[int]:
    """Pids whose session id is ``session_id`` (Linux only; elsewhere an empty list)."""
    return _processes_where(SESSION_FIELD, session_id)


def children(parent: int) -> list[int]:
    """Pids whose parent is ``parent`` (Linux only; elsewhere an empty list)."""
    return _processes_where(PARENT_FIELD, parent)


def descendants(ancestor: int) -> set[int]:
    """Pids below ``ancestor`` in the process tree, from one read of /proc (Linux only)."""
    below: dict[int, list[int]] = {}
    for pid, fields in _stats():
        below.setdefault(int(fields[PARENT_FIELD]), []).append(pid)
    found: set[int] = set()
    frontier = [ancestor]
    while frontier:
        fresh = set(below.get(frontier.pop(), ())) - found
        found |= fresh
        frontier += fresh
    return found


def all_pids() -> list[int]:
    """Every pid this process can see (Linux only; elsewhere an empty list)."""
    return [pid for pid, _ in _stats()]


def _processes_where(field: int, value: int) -> list[int]:
    """Pids whose ``/proc/PID/stat`` field (counted after the command name) equals ``value``."""
    return [pid for pid, fields in _stats() if len(fields) > field and int(fields[field]) == value]


def _stats() -> list[tuple[int, list[str]]]:
    """Each visible process's pid and the fields of its ``/proc/PID/stat`` after the command name."""
    proc = Path("/proc")
    if not sys.platform.startswith("linux") or not proc.is_dir():
        return []
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        found.append((int(entry.name), stat.rsplit(")", 1)[-1].split()))
    return found
