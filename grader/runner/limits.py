"""Bounds on a check process, and how each is enforced on the platform at hand.

Every limit has a default, a ``grade`` option, and a verdict the student can read when it
is hit. Where the platform lacks a mechanism (no ``resource`` module on Windows), the
limit is skipped and the report's ``protections`` says so; it never fails silently.

Made in the parent; set in the judge and, for each subject, by the subject template.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]  # no resource module on Windows: no limits to set

MiB = 1 << 20


@dataclasses.dataclass(frozen=True)
class Limits:
    """Bounds on one exercise's check process (``timeout`` overrides the kit's per-exercise limit)."""

    timeout: float | None = None
    cpu_seconds: int = 30
    memory_bytes: int = 1024 * MiB
    processes: int = 64
    file_bytes: int = 16 * MiB
    output_bytes: int = 64 * 1024
    sandbox: str = "auto"

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Limits:
        return cls(**data)


def rlimits(limits: Limits, exercises: int = 1) -> dict[str, tuple[int, int]]:
    """The ``resource`` limits to set in a check process that checks ``exercises`` in turn, by name.

    CPU time adds up over a process's life: its hard limit covers every exercise, and
    :func:`allow_cpu_for_next_exercise` moves the soft one on before each.
    """
    return {
        "RLIMIT_CPU": (limits.cpu_seconds, limits.cpu_seconds * exercises + 1),
        "RLIMIT_AS": (limits.memory_bytes, limits.memory_bytes),
        "RLIMIT_FSIZE": (limits.file_bytes, limits.file_bytes),
        "RLIMIT_CORE": (0, 0),
    }


def apply_rlimits(limits: Limits, exercises: int = 1) -> list[str]:
    """Set the limits this platform supports on the current process; name the ones set."""
    if resource is None:
        return []
    applied = []
    for name, (soft, hard) in rlimits(limits, exercises).items():
        number = getattr(resource, name, None)
        if number is None:
            continue
        try:
            current_hard = resource.getrlimit(number)[1]
            unbounded = current_hard == resource.RLIM_INFINITY
            resource.setrlimit(number, (soft, hard) if unbounded else (min(soft, current_hard), min(hard, current_hard)))
        except (ValueError, OSError):
            continue
        applied.append(name)
    return applied


def subject_rlimits(limits: Limits, capped_by_user: bool) -> dict[str, tuple[int, int]]:
    """The ``resource`` limits of one subject process: one exercise's CPU, and the process cap when this
    process has one (``RLIMIT_NPROC``, set by :func:`limit_processes_by_user`)."""
    chosen = rlimits(limits, 1)
    if capped_by_user and resource is not None:
        chosen["RLIMIT_NPROC"] = resource.getrlimit(resource.RLIMIT_NPROC)
    return chosen


def allow_cpu_for_next_exercise(limits: Limits) -> int | None:
    """Give the next exercise ``limits.cpu_seconds`` of CPU time from now (within the hard limit).

    Returns the soft limit now in force (``None`` where there is none).
    """
    if resource is None:
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    spent = math.ceil(usage.ru_utime + usage.ru_stime)
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if soft == resource.RLIM_INFINITY:
        return None  # never limited here: nothing to move on
    wanted = spent + limits.cpu_seconds
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))
    except (ValueError, OSError):
        pass
    return resource.getrlimit(resource.RLIMIT_CPU)[0]


def limit_processes_by_user(limits: Limits) -> bool:
    """Cap the number of processes through ``RLIMIT_NPROC``, where the kernel honours it.

    The kernel ignores it for root, and it counts every process of the user machine-wide,
    so the cap is the user's current count plus ``limits.processes``.
    """
    if resource is None or not hasattr(resource, "RLIMIT_NPROC") or os.geteuid() == 0:
        return False
    cap = count_user_processes() + limits.processes
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (cap, cap))
    except (ValueError, OSError):
        return False
    return True


def count_user_processes() -> int:
    """Processes owned by this user (Linux /proc; elsewhere a generous estimate)."""
    uid = os.getuid()
    try:
        entries = [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:
        return 1024
    count = 0
    for entry in entries:
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                count += 1
        except OSError:
            continue
    return count
