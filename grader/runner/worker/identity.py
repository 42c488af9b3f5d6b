"""Who the worker runs as: never root, where it can help it.

Runs in the worker process, before it starts anything. A worker started as root outside
bubblewrap (process mode) leaves root for a uid that owns nothing, so that nothing it
starts (the judge, the subject template, the student's code) holds root's powers.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

NOBODY = 65534
CLONE_NEWUSER = 0x10000000


def leave_root() -> bool:
    """In a process running as root on Linux, become uid 65534 in a new user namespace.

    The process keeps working (files it could read stay readable) but holds no
    capabilities outside the namespace: it cannot raise its resource limits back, and
    its uid inside is not 0. Returns whether it happened.
    """
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUSER) != 0:
        return False
    try:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{NOBODY} 0 1")
        Path("/proc/self/gid_map").write_text(f"{NOBODY} 0 1")
    except OSError:
        return False
    return True
