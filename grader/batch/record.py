"""One student's stored result: the report plus what batch grading learned around it.

Records are written to ``OUTDIR/reports/<slug>.json`` as each student finishes, and the
gradebook is rebuilt from them, so the class is never held in memory and an interrupted
run keeps what is done. A record holds nothing that varies between runs of the same
submission: no wall-clock time, no absolute path, no memory address.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tempfile
from typing import Any

from grader.model import Report

UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9._@+-]")
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,16}\b")
# Where the checks ran, under the temporary folder: the grader's folder, and in it the
# folder a kept worker made for this submission (random names both).
SCRATCH = r"/asynclings-[^/\s]+/(?:submission-[^/\s]+/)?"
SUBMISSION_FOLDER = "the submission folder"


def slug(student: str) -> str:
    """A file name for ``student``: safe on every platform, and distinct for distinct ids."""
    safe = UNSAFE_CHARACTERS.sub("_", student).strip("._") or "student"
    if safe != student:
        safe = f"{safe}-{hashlib.sha256(student.encode()).hexdigest()[:8]}"
    return safe


@dataclasses.dataclass
class StudentRecord:
    """A graded student. ``own`` holds the code signatures of files that are the student's own work,
    ``shapes`` their statements' fingerprints (for near-copies); ``submitted`` is when the newest
    upload graded was recorded (ISO 8601, UTC), ``marked_late`` whether the platform marked it late."""

    student: str
    name: str
    key: str
    report: Report
    sources: list[str] = dataclasses.field(default_factory=list)
    files: dict[str, str] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    flags: list[str] = dataclasses.field(default_factory=list)
    own: dict[str, str] = dataclasses.field(default_factory=dict)
    shapes: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    submitted: str = ""
    marked_late: bool = False

    @property
    def slug(self) -> str:
        return slug(self.student)

    def to_json(self) -> dict[str, Any]:
        data = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        data["report"] = self.report.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StudentRecord:
        return cls(**{**data, "report": Report.from_json(data["report"])})


def stable_report(report: Report, folder: str, relative: str) -> Report:
    """``report`` without what differs between two gradings of the same files.

    The duration is zeroed, the graded folder's absolute path becomes ``relative``, and
    temporary folders and memory addresses in messages and output are masked.
    """
    report.duration = 0.0
    report.submission = relative
    for exercise in report.exercises:
        exercise.message = _scrub(exercise.message, folder)
        exercise.output = _scrub(exercise.output, folder)
        for check in exercise.checks:
            check.message = _scrub(check.message, folder)
    return report


def _scrub(text: str, folder: str) -> str:
    text = text.replace(folder, SUBMISSION_FOLDER)
    text = re.sub(re.escape(tempfile.gettempdir()) + SCRATCH, "", text)
    return ADDRESS.sub("0x…", text)
