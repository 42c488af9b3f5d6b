"""The gradebook, rebuilt from the records on disk: grades.csv, grades.json, feedback, report.html,
and the import files of the learning platforms asked for.

Records are read one at a time and each row is written as soon as it is made, so the
size of a class costs disk, not memory. The output depends only on the records and the
manifest (students sorted, no clock, no absolute path), so one machine, ``-j2`` and
shards merged together give the same bytes. What a teacher must see is in every file
they look at: flags, notes (which file was graded, what was set aside), the audit of
overrides and late penalties, and the student's feedback file.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

from grader.batch.class_report import ClassStats, render_class_report
from grader.batch.feedback_files import render_feedback
from grader.batch.flags import shared_groups
from grader.batch.late import Lateness, lateness, penalty
from grader.batch.lms import Line, PlatformFiles
from grader.batch.overrides import Applied, Override, apply_overrides
from grader.batch.record import StudentRecord, slug
from grader.batch.roster import Roster, RosterEntry
from grader.batch.shard import parse_shard
from grader.batch.similarity import similar_pairs, similarity_flags
from grader.batch.spreadsheet import csv_file, safe_cell
from grader.batch.store import Layout, Manifest, open_atomic, write_atomic
from grader.model import SCHEMA_VERSION

MISSING = "missing"
OVERRIDDEN = "overridden"


@dataclasses.dataclass
class Row:
    """One student in the gradebook, after overrides and any late penalty."""

    student: str
    name: str
    email: str
    scores: dict[str, float]
    statuses: dict[str, str]
    flags: list[str]
    applied: list[Applied]
    command: str
    record: StudentRecord | None
    late: Lateness = Lateness(False)
    penalty: float = 0.0
    penalty_why: str = ""

    @property
    def total(self) -> float:
        return round(max(sum(self.scores.values()) - self.penalty, 0.0), 2)

    @property
    def notes(self) -> list[str]:
        return self.record.notes if self.record else []

    @property
    def feedback(self) -> str:
        return f"feedback/{slug(self.student)}.md"

    def audit(self) -> list[str]:
        """Every change to what the checks gave: the overrides, then the late penalty."""
        lines = [a.describe() for a in self.applied]
        if self.penalty:
            before = round(sum(self.scores.values()), 2)
            lines.append(f"total {before:g}->{self.total:g}: {self.penalty_why}")
        return lines

    def to_json(self, max_score: float) -> dict[str, Any]:
        record = self.record
        return {
            "student": self.student,
            "name": self.name,
            "email": self.email,
            "total": self.total,
            "max_score": max_score,
            "exercises": {e: {"score": self.scores[e], "status": self.statuses[e]} for e in self.scores},
            "late": self.late.late,
            "submitted": record.submitted if record else "",
            "flags": self.flags,
            "overrides": [a.to_json() for a in self.applied],
            "penalty": {"points": self.penalty, "why": self.penalty_why} if self.penalty else None,
            "command": self.command,
            "feedback": self.feedback,
            "sources": record.sources if record else [],
            "files": record.files if record else {},
            "notes": self.notes,
            "report": record.report.to_json() if record else None,
        }


@dataclasses.dataclass
class GradebookSummary:
    """What was written: rows (graded, and on the roster without a submission), and warnings for the teacher."""

    rows: int = 0
    absent: int = 0
    warnings: list[str] = dataclasses.field(default_factory=list)


def build_gradebook(layout: Layout) -> GradebookSummary:
    """Write every gradebook file from ``layout``'s records and manifest."""
    manifest = layout.read_manifest()
    own = [(r.student, r.own, r.shapes) for r in layout.records()]
    shared = shared_groups((student, signatures) for student, signatures, _ in own)
    pairs = similar_pairs(((student, shapes) for student, _, shapes in own), _identical(own))
    marked = {student: [*shared.get(student, []), *found] for student, found in similarity_flags(pairs).items()}
    stats = ClassStats(manifest, pairs)
    columns = ["student", "name", "total", "max_score"]
    for exercise in manifest.exercises:
        columns += [exercise.id, f"{exercise.id}_status"]
    columns += ["late", "flags", "notes", "overrides", "feedback", "command"]
    summary = GradebookSummary()
    written: set[str] = set()
    with ExitStack() as stack:
        table = stack.enter_context(csv_file(layout.grades_csv, manifest.csv_bom))
        document = stack.enter_context(open_atomic(layout.grades_json))
        paths = {platform: layout.gradebook_csv(platform) for platform in manifest.gradebooks}
        platforms = PlatformFiles(stack, paths, manifest.assignment or manifest.kit_title or manifest.kit, manifest.max_score, manifest.csv_bom)
        table.writerow(columns)
        document.write(_json_head(manifest))
        for row in _rows(layout, manifest, {**shared, **marked}):
            table.writerow(_csv_cells(row, manifest))
            # One line per student: greppable, diffable per student, and written by json's C encoder.
            document.write(("," if summary.rows else "") + "\n    " + json.dumps(row.to_json(manifest.max_score), ensure_ascii=False))
            stats.add(row)
            submitted = row.record.submitted if row.record else ""
            platforms.add(Line(row.student, row.name, row.email, row.total, row.record is not None, submitted, _comment(row, manifest)))
            feedback = layout.root / row.feedback
            write_atomic(feedback, _feedback(row, manifest))
            written.add(feedback.name)
            summary.rows += 1
            summary.absent += row.record is None
        document.write("\n  ]\n}\n")
    for stale in layout.feedback.glob("*.md"):
        if stale.name not in written:
            stale.unlink()
    for platform in {"canvas", "moodle"} - set(manifest.gradebooks):
        layout.gradebook_csv(platform).unlink(missing_ok=True)
    write_atomic(layout.report_html, render_class_report(stats))
    summary.warnings = list(platforms.warnings())
    return summary


def _identical(own: list[tuple[str, dict[str, str], dict[str, list[str]]]]) -> set[tuple[str, str, str]]:
    """(exercise, student, student) for students whose own code is identical: ``shared:`` says so already."""
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for student, signatures, _ in own:
        for exercise, signature in signatures.items():
            groups[(exercise, signature)].append(student)
    return {(exercise, a, b) for (exercise, _), students in groups.items() for a in students for b in students if a < b}


def _rows(layout: Layout, manifest: Manifest, marked: dict[str, list[str]]) -> Iterator[Row]:
    """Rows sorted by file name: every record, and every roster student of this shard without one."""
    roster = Roster.from_json(manifest.roster) if manifest.roster is not None else None
    shard = parse_shard(manifest.shard) if manifest.shard else None
    absent: dict[str, RosterEntry] = {}
    if roster:
        absent = {slug(e.id): e for e in roster.entries if shard is None or shard.contains(e.id)}
    recorded = set(layout.slugs())
    overrides: dict[str, list[Override]] = defaultdict(list)
    for data in manifest.overrides:
        override = Override.from_json(data)
        overrides[override.student].append(override)
    for name in sorted(recorded | set(absent)):
        record = layout.read_record(name) if name in recorded else None
        if record is not None:
            yield _graded_row(record, manifest, roster, marked.get(record.student, []), overrides[record.student])
        elif name in absent:
            yield _absent_row(absent[name], manifest, overrides[absent[name].id])


def _graded_row(record: StudentRecord, manifest: Manifest, roster: Roster | None, marked: list[str], overrides: list[Override]) -> Row:
    entry = roster.get(record.student) if roster else None
    results = {e.id: e for e in record.report.exercises}
    scores = {e.id: results[e.id].score if e.id in results else 0.0 for e in manifest.exercises}
    statuses = {e.id: results[e.id].status.value if e.id in results else MISSING for e in manifest.exercises}
    applied = _override(scores, statuses, record, overrides, manifest)
    command = shlex.join(["grade", record.report.submission, *manifest.command])
    name = entry.name if entry and entry.name else record.name
    late = lateness(record.submitted, record.marked_late, manifest.due)
    row = Row(record.student, name, entry.email if entry else "", scores, statuses, sorted({*record.flags, *marked}), applied, command, record, late)
    if late.late:
        row.flags = sorted({*row.flags, "late"})
        if manifest.late_penalty:
            row.penalty, row.penalty_why = penalty(manifest.late_penalty, late, manifest.max_score)
    return row


def _absent_row(entry: RosterEntry, manifest: Manifest, overrides: list[Override]) -> Row:
    scores = {e.id: 0.0 for e in manifest.exercises}
    statuses = {e.id: MISSING for e in manifest.exercises}
    applied = _override(scores, statuses, None, overrides, manifest)
    return Row(entry.id, entry.name, entry.email, scores, statuses, ["no_submission"], applied, "", None)


def _override(scores: dict[str, float], statuses: dict[str, str], record: StudentRecord | None, overrides: list[Override], manifest: Manifest) -> list[Applied]:
    """Apply ``overrides``; an exercise they changed shows as ``overridden``, not as what the checks said."""
    applied = apply_overrides(scores, record.report if record else None, overrides, {e.id: e.max_score for e in manifest.exercises})
    for change in applied:
        statuses[change.override.exercise] = OVERRIDDEN
    return applied


def _csv_cells(row: Row, manifest: Manifest) -> list[str]:
    cells = [safe_cell(row.student), safe_cell(row.name), f"{row.total:g}", f"{manifest.max_score:g}"]
    for exercise in manifest.exercises:
        cells += [f"{row.scores[exercise.id]:g}", row.statuses[exercise.id]]
    notes = "\n".join(row.notes)
    return [*cells, "yes" if row.late.late else "", safe_cell("; ".join(row.flags)), safe_cell(notes), safe_cell("\n".join(row.audit())), row.feedback, row.command]


def _comment(row: Row, manifest: Manifest) -> str:
    """The feedback comment a platform shows the student: the score of each exercise."""
    parts = [f"{e.id} {row.scores[e.id]:g}/{e.max_score:g}" for e in manifest.exercises]
    return f"{row.total:g}/{manifest.max_score:g}: " + ", ".join(parts)


def _json_head(manifest: Manifest) -> str:
    head = {
        "schema_version": SCHEMA_VERSION,
        "kit": manifest.kit,
        "kit_title": manifest.kit_title,
        "max_score": manifest.max_score,
        "exercises": [dataclasses.asdict(e) for e in manifest.exercises],
    }
    return json.dumps(head, indent=2, ensure_ascii=False)[:-2] + ',\n  "students": ['


def _feedback(row: Row, manifest: Manifest) -> str:
    title = f"{row.name} ({row.student})" if row.name else row.student
    report = row.record.report if row.record else None
    return render_feedback(title, row.total, manifest.max_score, report, row.audit(), row.notes)
