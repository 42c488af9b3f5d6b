"""What a grader leaves on the machine while it runs, and its removal once its owner is dead.

A grader stopped by SIGKILL runs no cleanup: its workers' folders stay in the temporary
folder, and their pids cgroups in the cgroup tree. So every temporary folder the grader
makes for a run is named after the process that owns it (``asynclings-<kind>-<pid>-…``),
and each ``grade`` removes, as it starts, the folders whose owner has ended and the
grader's cgroups that no process is in any more. A cgroup's name does not say who made
it (nor does its time: cgroupfs dates a folder when it is first looked at), and a live
grader's is empty for the moment between making it and its worker joining, so a cgroup
is removed only when it is empty at two looks far longer than that moment apart.
Nothing is ever killed here.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from grader.runner.parent.cgroup import ROOTS

PREFIX = "asynclings-"
OWNED = re.compile(rf"^{PREFIX}[a-z]+-(\d+)-")
# A live grader's cgroup is empty for the milliseconds between its making and its worker
# joining (or between its worker's end and its removal); one empty at two looks this far
# apart is left behind.
SECOND_LOOK_SECONDS = 0.25


def owned_folder(kind: str) -> Path:
    """A new temporary folder that names this process as its owner."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-{os.getpid()}-"))


def remove_stale() -> int:
    """Remove the folders of owners that have ended, and the grader's empty cgroups; how many went."""
    if sys.platform == "win32":  # no cgroups, and no way to ask whether a pid lives that cannot kill it
        return 0
    # Only root makes cgroups (grader.runner.parent.kept_worker), and only root may remove them.
    cgroups = _remove_cgroups() if os.geteuid() == 0 else 0
    return _remove_folders(Path(tempfile.gettempdir())) + cgroups


def _remove_folders(temporary: Path) -> int:
    removed = 0
    try:
        entries = list(os.scandir(temporary))
    except OSError:
        return 0
    for entry in entries:
        owner = OWNED.match(entry.name)
        try:
            ours = entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_uid == os.getuid()
        except OSError:
            continue
        if owner and ours and not _alive(int(owner[1])):
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


def _remove_cgroups() -> int:
    empty = [group for root in ROOTS for group in _grader_cgroups(root) if _empty(group)]
    if not empty:
        return 0
    time.sleep(SECOND_LOOK_SECONDS)
    removed = 0
    for group in empty:
        if _empty(group):
            try:
                group.rmdir()  # refused if a process has joined since
                removed += 1
            except OSError:
                pass
    return removed


def _grader_cgroups(root: Path) -> list[Path]:
    try:
        return [path for path in root.iterdir() if path.name.startswith(PREFIX)]
    except OSError:
        return []


def _empty(group: Path) -> bool:
    try:
        return not (group / "cgroup.procs").read_text().split()
    except OSError:
        return False


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    if sys.platform.startswith("linux"):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
        except FileNotFoundError:
            return False
        except (OSError, IndexError):
            return True
        return state not in ("Z", "X")
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True
