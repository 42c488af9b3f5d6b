"""A pids cgroup per worker: a hard cap on processes, and a list of every one to kill.

``RLIMIT_NPROC`` does not bind root and counts per user across the machine; a cgroup's
``pids.max`` binds everyone and only this worker's tree. Its ``cgroup.procs`` also names
every process still inside, including those that called ``setsid()`` to escape their
process group, so cleanup finds them all. Used only where the grader may create cgroups
(Linux, usually as root); elsewhere :func:`create` returns ``None`` and other layers apply.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

ROOTS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))
KILL_ATTEMPTS = 300  # 10 ms apart: processes still forking as they die need a few rounds


class ProcessCap:
    """One pids cgroup; processes added to it and all their descendants count against the cap."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def procs_file(self) -> Path:
        """Writing a pid here moves that process (and its future children) into the group."""
        return self.path / "cgroup.procs"

    def pids(self) -> list[int]:
        try:
            return [int(line) for line in self.procs_file.read_text().split()]
        except OSError:
            return []

    def kill_all(self) -> None:
        """Kill everything inside, then remove the group (retrying while the kernel reaps)."""
        for _ in range(KILL_ATTEMPTS):
            members = self.pids()
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.01)


def create(limit: int) -> ProcessCap | None:
    """A fresh cgroup capped at ``limit`` processes, or ``None`` where none can be made."""
    for root in ROOTS:
        if not _has_pids_controller(root):
            continue
        path = root / f"asynclings-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(limit))
        except OSError:
            _remove_quietly(path)
            continue
        return ProcessCap(path)
    return None


def _has_pids_controller(root: Path) -> bool:
    if root.name == "pids":
        return (root / "cgroup.procs").exists()
    try:
        return "pids" in (root / "cgroup.subtree_control").read_text().split()
    except OSError:
        return False


def _remove_quietly(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass
