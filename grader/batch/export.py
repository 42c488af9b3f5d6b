"""A whole class as a platform lets a teacher download it: ``grade batch submissions.zip``.

Canvas, Moodle, Blackboard and Gradescope all export a class as one archive. It is
unpacked whole (a student's upload may be any file: a ``.rar`` must still reach its
student) with the times the platform recorded, as safely as a student's archive and
within one budget for the class, into the batch's output folder. A folder that wraps the
whole class (Gradescope's ``assignment_123_export/``) is stepped into.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.batch.archives import (
    ArchiveLimits,
    ArchiveProblem,
    Budget,
    extract,
    is_archive,
    unsupported_archive,
)
from grader.batch.export_names import parse_entry_name
from grader.batch.matching import junk
from grader.errors import GraderError

CLASS_LIMITS = ArchiveLimits(student_bytes=4 << 30, student_members=200_000, total_bytes=4 << 30)
UNREADABLE_EXPORT = "{path}: cannot be graded as a class export: {problem}"


class ExportError(GraderError):
    """The export archive cannot be unpacked; the message says why, in one line."""


def unpack_export(archive: Path, destination: Path) -> Path:
    """Unpack ``archive`` into ``destination`` (emptied first); the folder that holds the students' entries."""
    shutil.rmtree(destination, ignore_errors=True)
    try:
        extract(archive, destination, Budget(CLASS_LIMITS), everything=True)
    except ArchiveProblem as problem:
        raise ExportError(UNREADABLE_EXPORT.format(path=archive, problem=problem)) from None
    return class_folder(destination)


def class_folder(root: Path) -> Path:
    """``root``, or the one folder that wraps everything in it, as long as that folder holds students' entries."""
    while True:
        entries = [e for e in root.iterdir() if not junk(e.name)]
        if len(entries) != 1 or not entries[0].is_dir() or parse_entry_name(entries[0].name):
            return root
        inside = [e for e in entries[0].iterdir() if not junk(e.name)]
        if not any(e.is_dir() or is_archive(e) or unsupported_archive(e) or parse_entry_name(e.name) for e in inside):
            return root  # one student's folder, not a wrapper
        root = entries[0]
