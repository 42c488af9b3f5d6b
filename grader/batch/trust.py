"""Whether a class's code may run on this machine: as root on Linux, only inside bubblewrap.

In ``process`` mode the checks run without namespaces, so as root a whole class of
untrusted code is one guard away from root's files (the user namespace that the worker
enters still maps its uid to root outside). A batch there is refused with the fix, unless
the teacher vouches for the code (``--trust-submissions``: the kit's own tests, a benchmark).
"""

from __future__ import annotations

from shutil import which

from grader.runner.parent.sandbox import Platform, resolve

ROOT_NEEDS_BWRAP = "bubblewrap is required to grade a class as root: {fix} (or run as an unprivileged user)"


def root_refusal(requested: str, platform: Platform) -> str | None:
    """Why a batch must not run its code here with the ``requested`` sandbox, or ``None`` when it may."""
    if not (platform.is_linux and platform.is_root) or resolve(requested, platform) != "process":
        return None
    installed = which("bwrap")
    if platform.bwrap:
        fix = "leave out --sandbox process"
    elif installed:
        fix = f"{installed} is installed but cannot start its sandbox here (are user namespaces allowed?)"
    else:
        fix = "apt-get install bubblewrap"
    return ROOT_NEEDS_BWRAP.format(fix=fix)
