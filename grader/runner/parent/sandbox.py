"""Which isolation a run gets, decided from what this platform really has.

``bwrap`` (Linux bubblewrap): a read-only view of the machine, the temporary copy as the
only writable place, the kit's solutions and the student's own folder hidden, no network,
a private pid namespace (nothing survives the worker) and a non-root uid. ``process``:
the same worker without the namespaces — resource limits, process groups, a scrubbed
environment, and on Linux as root a user namespace so the checks do not run as uid 0.
``auto`` takes ``bwrap`` where it is installed and allowed. The report names what ran.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from grader.errors import GraderError
from grader.paths import is_within
from grader.runner.worker.identity import NOBODY

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]  # no resource module on Windows: no limits to set

MODES = ("auto", "bwrap", "process")

BWRAP_MISSING = (
    "--sandbox bwrap: bubblewrap is not installed or not permitted here "
    "(install it with `apt-get install bubblewrap`, or use --sandbox process)"
)


class SandboxError(GraderError):
    """The requested sandbox cannot run on this machine."""


@dataclasses.dataclass(frozen=True)
class Platform:
    """The facts about this machine that decide which protections can be had."""

    system: str
    has_fork: bool
    has_resource: bool
    bwrap: str | None
    is_root: bool

    @property
    def is_linux(self) -> bool:
        return self.system.startswith("linux")


@functools.cache
def detect() -> Platform:
    """This machine's platform facts (bwrap is probed once by really running it)."""
    return Platform(
        system=sys.platform,
        has_fork=hasattr(os, "fork"),
        has_resource=resource is not None,
        bwrap=_working_bwrap(),
        is_root=hasattr(os, "geteuid") and os.geteuid() == 0,
    )


def _working_bwrap() -> str | None:
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = [path, *_namespace_flags(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"]
    try:
        result = subprocess.run(probe, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if result.returncode == 0 else None


def resolve(requested: str, platform: Platform) -> str:
    """The mode that will run: ``bwrap`` or ``process``."""
    if requested not in MODES:
        raise SandboxError(f"unknown sandbox {requested!r}; choose one of {', '.join(MODES)}")
    if requested == "bwrap" and platform.bwrap is None:
        raise SandboxError(BWRAP_MISSING)
    if requested == "auto":
        return "bwrap" if platform.bwrap else "process"
    return requested


def _namespace_flags() -> list[str]:
    return [
        "--unshare-all",
        "--unshare-user",
        "--uid", str(NOBODY),
        "--gid", str(NOBODY),
        "--die-with-parent",
        "--new-session",
    ]  # fmt: skip


def bwrap_prefix(platform: Platform, workdir: Path, hidden: list[Path]) -> list[str]:
    """The bwrap command line that wraps the worker: read-only root, one writable folder."""
    assert platform.bwrap is not None
    command = [platform.bwrap, *_namespace_flags(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    # /dev read-only but for /dev/shm, which a kept worker empties between submissions.
    command += ["--remount-ro", "/dev", "--tmpfs", "/dev/shm"]
    for path in (p.resolve() for p in hidden):
        if path.is_dir() and not is_within(workdir, path) and not is_within(Path(sys.prefix), path):
            command += ["--tmpfs", str(path)]
    command += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    return command


@dataclasses.dataclass(frozen=True)
class Applied:
    """What the worker and its check processes report they really put in place."""

    left_root: bool = False
    rlimits: bool = False
    process_cap_by_user: bool = False


def protections(mode: str, process_cap: bool, applied: Applied) -> list[str]:
    """Plain words for what guarded this run, for the report: only what was really in force."""
    active = ["exercises kept apart", "scrubbed environment", "wall-clock limit"]
    if applied.rlimits:
        active.append("cpu/memory/file-size limits")
    if process_cap:
        active.append("process-count cap (cgroup)")
    elif applied.process_cap_by_user:
        active.append("process-count cap (RLIMIT_NPROC)")
    if mode == "bwrap":
        active += ["read-only filesystem", "no network", "private pid namespace", "non-root uid"]
    elif applied.left_root:
        active.append("non-root uid (user namespace)")
    return active
