"""What the hostile and bad-input tests share: expected verdicts, folder fingerprints, stray processes.

Fixtures that start processes give them a command line containing :data:`MARKER` (the
argument of a ``sleep``), so a test can tell, from ``/proc``, whether any of them
outlived grading, and clean up after a grader that let them.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

MARKER = b"1000.4242"
STRAY_GRACE_SECONDS = 2.0


def load_expected(folder: Path) -> dict[str, Any]:
    """A scenario's ``expected.json``."""
    return json.loads((folder / "expected.json").read_text(encoding="utf-8"))


def tree_digest(folder: Path) -> dict[str, str]:
    """Every entry below ``folder`` (hidden ones and links included) with a hash of what it is."""
    digest = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_symlink():
            digest[name] = "link:" + os.readlink(path)
        elif path.is_dir():
            digest[name] = "dir"
        else:
            digest[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digest


def marked_processes() -> set[int]:
    """Pids of live processes whose command line carries :data:`MARKER` (Linux; elsewhere none)."""
    proc = Path("/proc")
    if not sys.platform.startswith("linux") or not proc.is_dir():
        return set()
    found = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if MARKER in (entry / "cmdline").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue
    return found


def strays_after(before: set[int]) -> set[int]:
    """Marked processes that appeared since ``before`` and are still alive after a short grace.

    A process killed a moment ago may not be gone yet; whatever is left after the grace is
    killed here, by pid, so that a failing grader never leaves the machine littered.
    """
    deadline = time.monotonic() + STRAY_GRACE_SECONDS
    strays = marked_processes() - before
    while strays and time.monotonic() < deadline:
        time.sleep(0.05)
        strays = marked_processes() - before
    for pid in strays:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return strays
