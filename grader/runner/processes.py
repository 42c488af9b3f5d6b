"""Process hygiene for check runs, in one place: a scrubbed environment, and no process left behind.

The parent ends a worker's whole session (:func:`kill_tree`); the worker, after each
submission, ends every process the submission left (:func:`sweep`) and empties what it
left in shared memory; both read the process table from ``/proc``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

# Variables a check process may inherit. Everything else is dropped, so PYTHONPATH,
# PYTHONSTARTUP, PYTEST_ADDOPTS, PYTEST_PLUGINS and friends never reach it.
SWEEP_ROUNDS = 100  # 10 ms apart: processes still forking as they die need a few rounds
SHARED_MEMORY = "/dev/shm"
IPC_RMID = 0
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


def reaped() -> Iterator[tuple[int, int]]:
    """Each child that has ended (pid, wait status), reaped; never blocks."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        yield pid, status


def sweep(whole_namespace: bool) -> bool:
    """Kill every process a submission left behind; whether none is left.

    Each round stops, then kills, every descendant of the worker (as a child subreaper on
    Linux, it inherits the orphans of its children, even of those that called ``setsid()``),
    and with ``whole_namespace`` (bwrap: a pid namespace of the worker's own) every process
    in it but its init and the worker: a chain that forks as it dies loses all its links
    at once, not one a round.
    """
    for _ in range(SWEEP_ROUNDS):
        for _ in reaped():  # ended already (the judge's template, say): not left over
            pass
        left = _leftovers(whole_namespace)
        if not left:
            if whole_namespace:
                _empty_private_ipc()
            return True
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in left:
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        time.sleep(0.01)
    for _ in reaped():
        pass
    return not _leftovers(whole_namespace)


def _empty_private_ipc() -> None:
    """Remove what a submission left in the sandbox's own /dev/shm and System V IPC namespace."""
    for entry in os.scandir(SHARED_MEMORY):
        try:
            shutil.rmtree(entry.path) if entry.is_dir(follow_symlinks=False) else os.unlink(entry.path)
        except OSError:
            pass
    libc = ctypes.CDLL(None, use_errno=True)
    for ipc_id in _ipc_ids("shm"):
        libc.shmctl(ipc_id, IPC_RMID, None)
    for ipc_id in _ipc_ids("sem"):
        libc.semctl(ipc_id, 0, IPC_RMID)
    for ipc_id in _ipc_ids("msg"):
        libc.msgctl(ipc_id, IPC_RMID, None)


def _ipc_ids(kind: str) -> list[int]:
    try:
        rows = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()[1:]
    except OSError:
        return []
    return [int(row.split()[1]) for row in rows if row.strip()]


def _leftovers(whole_namespace: bool) -> set[int]:
    me = os.getpid()
    if whole_namespace:
        return set(all_pids()) - {1, me}
    return descendants(me)


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
