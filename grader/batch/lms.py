"""The grades as learning platforms import them: ``--gradebook canvas`` and ``--gradebook moodle``.

``canvas.csv`` follows the Canvas gradebook's CSV import: the columns ``Student``, ``ID``,
``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment named
``<Assignment name> (<assignment id>)`` (a name without an id creates a new assignment),
and a ``Points Possible`` row first. A student id of digits (what Canvas's own export
names carry) goes to ``ID``; any other to ``SIS Login ID``.

``moodle.csv`` follows the offline grading worksheet of a Moodle assignment (Assignment →
Submissions → Upload grading worksheet), whose importer needs the columns
``Identifier`` (``Participant <id>``, the number in Moodle's export folder names),
``Grade`` and ``Last modified (grade)``; the others are those of the worksheet Moodle
downloads. ``Email address`` also lets Moodle's general grade import map the rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from grader.batch.spreadsheet import csv_file, safe_cell

PLATFORMS = ("canvas", "moodle")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_COLUMNS = (
    "Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade", "Grade can be changed",
    "Last modified (submission)", "Last modified (grade)", "Feedback comments",
)  # fmt: skip
MOODLE_PARTICIPANT = "Participant "
NO_PLATFORM_ID = {
    "canvas": "{file}: {count} of {total} students have no Canvas user id (only digits): {ids}; Canvas can match them only by SIS Login ID",
    "moodle": "{file}: {count} of {total} students have no Moodle participant number: {ids}; only Moodle's grade import, by Email address, can match them",
}


@dataclasses.dataclass(frozen=True)
class Line:
    """One student as a platform's import sees them."""

    student: str
    name: str
    email: str
    total: float
    handed_in: bool
    submitted: str  # when the work was recorded, ISO 8601, when known
    comment: str


class PlatformFiles:
    """The import files of the chosen platforms, written one student at a time."""

    def __init__(self, stack: ExitStack, paths: dict[str, Path], assignment: str, max_score: float, bom: bool) -> None:
        self.writers: dict[str, Any] = {platform: stack.enter_context(csv_file(path, bom)) for platform, path in paths.items()}
        self.paths = paths
        self.unmatched: dict[str, list[str]] = {platform: [] for platform in paths}
        self.count = 0
        if "canvas" in self.writers:
            self.writers["canvas"].writerow([*CANVAS_COLUMNS, safe_cell(assignment)])
            self.writers["canvas"].writerow(["Points Possible", "", "", "", "", f"{max_score:g}"])
        if "moodle" in self.writers:
            self.writers["moodle"].writerow(MOODLE_COLUMNS)
        self.max_score = max_score

    def add(self, line: Line) -> None:
        self.count += 1
        numeric = line.student.isdigit()
        if not numeric:
            for platform in self.writers:
                self.unmatched[platform].append(line.student)
        if "canvas" in self.writers:
            canvas_id, login = (line.student, "") if numeric else ("", line.student)
            self.writers["canvas"].writerow([safe_cell(line.name or line.student), canvas_id, "", safe_cell(login), "", f"{line.total:g}"])
        if "moodle" in self.writers:
            status = "Submitted for grading" if line.handed_in else "No submission"
            self.writers["moodle"].writerow(
                [
                    MOODLE_PARTICIPANT + line.student, safe_cell(line.name), safe_cell(line.email), status,
                    f"{line.total:g}", f"{self.max_score:g}", "Yes", _moodle_time(line.submitted), "", safe_cell(line.comment),
                ]
            )  # fmt: skip

    def warnings(self) -> Iterator[str]:
        """One line per file whose rows a platform cannot match to its students."""
        for platform, ids in self.unmatched.items():
            if ids:
                shown = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
                yield NO_PLATFORM_ID[platform].format(file=self.paths[platform].name, count=len(ids), total=self.count, ids=shown)


def _moodle_time(submitted: str) -> str:
    """``2024-05-03 09:00:00 UTC``: a form PHP's ``strtotime`` reads."""
    return submitted.replace("T", " ").replace("+00:00", " UTC") if submitted else ""
