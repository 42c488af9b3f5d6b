"""The gradebook, rebuilt from the records on disk: grades.csv, grades.json, feedback, report.html.

Records are read one at a time and each row is written as soon as it is made, so the
size of a class costs disk, not memory. The output depends only on the records and the
manifest (students sorted, no clock, no absolute path), so one machine, ``-j2`` and
shards merged together give the same bytes.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import shlex
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from grader.batch.class_report import ClassStats, render_class_report
from grader.batch.feedback import render_feedback
from grader.batch.flags import shared_groups
from grader.batch.overrides import Applied, Override, apply_overrides
from grader.batch.record import StudentRecord, slug
from grader.batch.roster import Roster, RosterEntry
from grader.batch.shard import parse_shard
from grader.batch.store import Layout, Manifest, open_atomic, write_atomic
from grader.model import SCHEMA_VERSION

MISSING = "missing"


@dataclasses.dataclass
class Row:
    """One student in the gradebook, after overrides."""

    student: str
    name: str
    email: str
    scores: dict[str, float]
    statuses: dict[str, str]
    flags: list[str]
    applied: list[Applied]
    command: str
    record: StudentRecord | None

    @property
    def total(self) -> float:
        return round(sum(self.scores.values()), 2)

    def to_json(self, max_score: float) -> dict[str, Any]:
        record = self.record
        return {
            "student": self.student,
            "name": self.name,
            "email": self.email,
            "total": self.total,
            "max_score": max_score,
            "exercises": {e: {"score": self.scores[e], "status": self.statuses[e]} for e in self.scores},
            "flags": self.flags,
            "overrides": [a.to_json() for a in self.applied],
            "command": self.command,
            "sources": record.sources if record else [],
            "files": record.files if record else {},
            "notes": record.notes if record else [],
            "report": record.report.to_json() if record else None,
        }


def build_gradebook(layout: Layout) -> int:
    """Write every gradebook file from ``layout``'s records and manifest; the number of rows."""
    manifest = layout.read_manifest()
    shared = shared_groups((r.student, r.own) for r in layout.records())
    stats = ClassStats(manifest)
    columns = ["student", "name", "total", "max_score"]
    for exercise in manifest.exercises:
        columns += [exercise.id, f"{exercise.id}_status"]
    columns += ["flags", "overrides", "command"]
    count = 0
    written: set[str] = set()
    with open_atomic(layout.grades_csv) as table, open_atomic(layout.grades_json) as document:
        writer = csv.writer(table, lineterminator="\n")
        writer.writerow(columns)
        document.write(_json_head(manifest))
        for row in _rows(layout, manifest, shared):
            writer.writerow(_csv_cells(row, manifest))
            # One line per student: greppable, diffable per student, and written by json's C encoder.
            document.write(("," if count else "") + "\n    " + json.dumps(row.to_json(manifest.max_score), ensure_ascii=False))
            stats.add(row.student, row.name, row.total, row.scores, row.statuses, row.flags, row.record.report if row.record else None)
            feedback = layout.feedback / f"{slug(row.student)}.md"
            write_atomic(feedback, _feedback(row, manifest))
            written.add(feedback.name)
            count += 1
        document.write("\n  ]\n}\n")
    for stale in layout.feedback.glob("*.md"):
        if stale.name not in written:
            stale.unlink()
    write_atomic(layout.report_html, render_class_report(stats))
    return count


def _rows(layout: Layout, manifest: Manifest, shared: dict[str, list[str]]) -> Iterator[Row]:
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
            yield _graded_row(record, manifest, roster, shared.get(record.student, []), overrides[record.student])
        elif name in absent:
            yield _absent_row(absent[name], manifest, overrides[absent[name].id])


def _graded_row(record: StudentRecord, manifest: Manifest, roster: Roster | None, shared: list[str], overrides: list[Override]) -> Row:
    entry = roster.get(record.student) if roster else None
    results = {e.id: e for e in record.report.exercises}
    scores = {e.id: results[e.id].score if e.id in results else 0.0 for e in manifest.exercises}
    statuses = {e.id: results[e.id].status.value if e.id in results else MISSING for e in manifest.exercises}
    applied = apply_overrides(scores, record.report, overrides, {e.id: e.max_score for e in manifest.exercises})
    command = shlex.join(["grade", record.report.submission, *manifest.command])
    name = entry.name if entry and entry.name else record.name
    return Row(record.student, name, entry.email if entry else "", scores, statuses, sorted(record.flags + shared), applied, command, record)


def _absent_row(entry: RosterEntry, manifest: Manifest, overrides: list[Override]) -> Row:
    scores = {e.id: 0.0 for e in manifest.exercises}
    statuses = {e.id: MISSING for e in manifest.exercises}
    applied = apply_overrides(scores, None, overrides, {e.id: e.max_score for e in manifest.exercises})
    return Row(entry.id, entry.name, entry.email, scores, statuses, ["no_submission"], applied, "", None)


def _csv_cells(row: Row, manifest: Manifest) -> list[str]:
    cells = [row.student, row.name, f"{row.total:g}", f"{manifest.max_score:g}"]
    for exercise in manifest.exercises:
        cells += [f"{row.scores[exercise.id]:g}", row.statuses[exercise.id]]
    return [*cells, "; ".join(row.flags), "; ".join(a.describe() for a in row.applied), row.command]


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
    found = row.record.notes if row.record else []
    return render_feedback(title, row.total, manifest.max_score, report, row.applied, found)

