"""Paths more than one process needs: where a subject sees the submission, and whether a path lies within a folder."""

from __future__ import annotations

from pathlib import Path

# Where the subject's sandbox shows the student's files: the judge binds them there, and
# the verdict turns the path back into a plain file name in what the student reads.
SUBJECT_SUBMISSION = Path("/submission")


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path``, links resolved, is ``folder`` or lies inside it."""
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True
