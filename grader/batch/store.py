"""The output folder of a batch run, and the manifest that lets shards be merged.

::

    OUTDIR/
      grades.csv  grades.json  report.html   the gradebook (rebuilt from reports/)
      canvas.csv  moodle.csv                  the same grades as those platforms import them (if asked for)
      batch.json                              how the batch was run (kit, options, roster, overrides, shard)
      reports/<student>.json                  one record per student, written as each finishes
      feedback/<student>.md                   feedback for each student
      work/<student>/submission/              the exercise files that were graded
      work/<student>/extracted/               what was unpacked from the student's archives

Every file is written whole or not at all (a temporary file, then a rename), so an
interrupted run never leaves a half-written record.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from grader.batch.record import StudentRecord
from grader.errors import GraderError

MANIFEST_VERSION = 1


class StoreError(GraderError):
    """An output folder that is not a batch output, or cannot be written."""


@dataclasses.dataclass(frozen=True)
class ExerciseColumn:
    """An exercise as the gradebook shows it."""

    id: str
    title: str
    max_score: float


@dataclasses.dataclass
class Manifest:
    """Everything the gradebook needs besides the records, identical across the shards of one batch."""

    kit: str
    kit_title: str
    fingerprint: str
    exercises: list[ExerciseColumn]
    command: list[str]
    roster: list[dict[str, str]] | None = None
    overrides: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    shard: str | None = None
    lenient_names: bool = False
    due: str | None = None  # ISO 8601, UTC
    late_penalty: str | None = None
    gradebooks: list[str] = dataclasses.field(default_factory=list)  # learning platforms' import files to write
    assignment: str = ""  # the gradebook column those files fill
    csv_bom: bool = False

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 2)

    def to_json(self) -> dict[str, Any]:
        return {"manifest_version": MANIFEST_VERSION, **dataclasses.asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        fields = {k: v for k, v in data.items() if k != "manifest_version"}
        return cls(**{**fields, "exercises": [ExerciseColumn(**e) for e in data["exercises"]]})


class Layout:
    """Paths inside one output folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.reports = root / "reports"
        self.feedback = root / "feedback"
        self.work = root / "work"
        self.manifest = root / "batch.json"
        self.grades_csv = root / "grades.csv"
        self.grades_json = root / "grades.json"
        self.report_html = root / "report.html"
        self.export = self.work / "_export"  # a whole export given as an archive, unpacked (no student's slug starts with "_")

    def gradebook_csv(self, platform: str) -> Path:
        return self.root / f"{platform}.csv"

    def create(self) -> None:
        try:
            for folder in (self.reports, self.feedback, self.work):
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create {self.root}: {exc.strerror}") from None

    def record_path(self, slug: str) -> Path:
        return self.reports / f"{slug}.json"

    def submission(self, slug: str) -> Path:
        return self.work / slug / "submission"

    def write_record(self, record: StudentRecord) -> None:
        # Compact: json indents only in its pure-Python encoder, several times slower than its C one.
        write_atomic(self.record_path(record.slug), json.dumps(record.to_json(), ensure_ascii=False) + "\n")

    def read_record(self, slug: str) -> StudentRecord | None:
        path = self.record_path(slug)
        try:
            return StudentRecord.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def slugs(self) -> list[str]:
        """The students with a record, sorted."""
        return sorted(p.stem for p in self.reports.glob("*.json"))

    def records(self) -> Iterator[StudentRecord]:
        """Every record, one at a time, sorted by file name."""
        for slug in self.slugs():
            record = self.read_record(slug)
            if record is not None:
                yield record

    def write_manifest(self, manifest: Manifest) -> None:
        write_atomic(self.manifest, json.dumps(manifest.to_json(), indent=2, ensure_ascii=False) + "\n")

    def read_manifest(self) -> Manifest:
        try:
            data = json.loads(self.manifest.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise StoreError(f"{self.root} is not a batch output (no {self.manifest.name})") from None
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.manifest}: cannot be read ({exc})") from None
        if data.get("manifest_version") != MANIFEST_VERSION:
            raise StoreError(f"{self.manifest}: manifest_version must be {MANIFEST_VERSION}")
        return Manifest.from_json(data)


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never half."""
    with open_atomic(path) as stream:
        stream.write(text)


@contextlib.contextmanager
def open_atomic(path: Path, encoding: str = "utf-8") -> Iterator[TextIO]:
    """A text stream that replaces ``path`` when the block ends, and leaves it alone if it fails."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding=encoding, newline="") as stream:
            yield stream
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
