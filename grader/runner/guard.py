"""A tripwire in the check process: reading the kit's reference solutions is refused and reported.

An audit hook cannot be removed from Python code, so a submission that opens or imports a
reference solution (to re-export it as its own) is stopped at the ``open`` and the
attempt is reported to the parent, which scores the exercise 0. It is a tripwire, not a
wall (native code can bypass it): the bwrap sandbox hides the folder altogether.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

VIOLATION = "read the kit's reference solution {path}"


def forbid_reading(folders: list[Path], report: Callable[[str], None]) -> None:
    """Refuse every ``open`` of a file inside ``folders`` from now on, reporting each attempt."""
    roots = tuple(os.path.join(os.path.realpath(f), "") for f in folders)
    if not roots:
        return

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        path = os.path.realpath(os.fsdecode(args[0]))
        if path.startswith(roots):
            report(VIOLATION.format(path=Path(path).name))
            raise PermissionError(f"reading {path} is not allowed while grading")

    sys.addaudithook(hook)
