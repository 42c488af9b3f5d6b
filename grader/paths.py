"""One question about paths that preflight and the sandbox both ask."""

from __future__ import annotations

from pathlib import Path


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path``, links resolved, is ``folder`` or lies inside it."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
