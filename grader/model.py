"""The report model: what a grading run concluded, as plain dataclasses.

Every renderer reads these and nothing else, and the JSON form is a contract other
tools rely on: fields may be added, never renamed (bump ``SCHEMA_VERSION`` only
for an incompatible change).
"""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

SCHEMA_VERSION = 1


class CheckStatus(str, enum.Enum):
    """How one hidden check ended. ``error`` is reserved for faults of the grader."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


class ExerciseStatus(str, enum.Enum):
    """How one exercise ended, as a student reads it."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_STARTED = "not_started"
    ERROR = "error"


@dataclasses.dataclass(frozen=True)
class Span:
    """One task's life on the virtual clock, in event-loop seconds."""

    name: str
    start: float
    end: float

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "start": self.start, "end": self.end}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Span:
        return cls(str(data["name"]), float(data["start"]), float(data["end"]))


@dataclasses.dataclass(frozen=True)
class SourceRef:
    """A line of the student's own file that a message points at."""

    file: str
    line: int
    excerpt: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "excerpt": self.excerpt}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SourceRef:
        return cls(str(data["file"]), int(data["line"]), str(data.get("excerpt", "")))


@dataclasses.dataclass
class CheckResult:
    """The verdict on one hidden check."""

    id: str
    name: str
    status: CheckStatus
    score: float
    max_score: float
    message: str = ""
    help: str = ""
    timeline: list[Span] = dataclasses.field(default_factory=list)
    source: SourceRef | None = None
    # The student's code still raised the stub's NotImplementedError. It only decides
    # between "failed" and "not_started" for the exercise, so it is not serialised.
    todo: bool = False

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "score": self.score,
            "max_score": self.max_score,
            "message": self.message,
            "help": self.help,
        }
        if self.timeline:
            data["timeline"] = [span.to_json() for span in self.timeline]
        if self.source:
            data["source"] = self.source.to_json()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        source = data.get("source")
        return cls(
            id=data["id"],
            name=data["name"],
            status=CheckStatus(data["status"]),
            score=data["score"],
            max_score=data["max_score"],
            message=data.get("message", ""),
            help=data.get("help", ""),
            timeline=[Span.from_json(s) for s in data.get("timeline", [])],
            source=SourceRef.from_json(source) if source else None,
        )


@dataclasses.dataclass
class ExerciseResult:
    """The verdict on one exercise: its checks, plus what the run itself saw."""

    id: str
    title: str
    status: ExerciseStatus
    score: float
    max_score: float
    checks: list[CheckResult] = dataclasses.field(default_factory=list)
    message: str = ""
    output: str = ""
    output_truncated: bool = False
    file: str = ""
    hints_used: int = 0
    solution_viewed: bool = False
    group: str = ""  # the kit's part of the course ("Day 1"), if it has parts

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "group": self.group,
            "status": self.status.value,
            "score": self.score,
            "max_score": self.max_score,
            "message": self.message,
            "file": self.file,
            "output": self.output,
            "output_truncated": self.output_truncated,
            "hints_used": self.hints_used,
            "solution_viewed": self.solution_viewed,
            "checks": [check.to_json() for check in self.checks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExerciseResult:
        return cls(
            id=data["id"],
            title=data["title"],
            status=ExerciseStatus(data["status"]),
            score=data["score"],
            max_score=data["max_score"],
            checks=[CheckResult.from_json(c) for c in data.get("checks", [])],
            message=data.get("message", ""),
            output=data.get("output", ""),
            output_truncated=data.get("output_truncated", False),
            file=data.get("file", ""),
            hints_used=data.get("hints_used", 0),
            solution_viewed=data.get("solution_viewed", False),
            group=data.get("group", ""),
        )


@dataclasses.dataclass
class Report:
    """A whole grading run over one submission."""

    exercises: list[ExerciseResult]
    kit: str = ""
    submission: str = ""
    sandbox: str = ""
    protections: list[str] = dataclasses.field(default_factory=list)
    duration: float = 0.0

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 2)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 2)

    def groups(self) -> list[tuple[str, list[ExerciseResult]]]:
        """The exercises by the kit's groups ("Day 1", ...), in order; one unnamed group when it has none."""
        groups: dict[str, list[ExerciseResult]] = {}
        for exercise in self.exercises:
            groups.setdefault(exercise.group, []).append(exercise)
        return list(groups.items())

    @property
    def all_passed(self) -> bool:
        return all(e.status is ExerciseStatus.PASSED for e in self.exercises)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "kit": self.kit,
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "sandbox": self.sandbox,
            "protections": list(self.protections),
            "duration": round(self.duration, 3),
            "exercises": [e.to_json() for e in self.exercises],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(
            exercises=[ExerciseResult.from_json(e) for e in data["exercises"]],
            kit=data.get("kit", ""),
            submission=data.get("submission", ""),
            sandbox=data.get("sandbox", ""),
            protections=list(data.get("protections", [])),
            duration=data.get("duration", 0.0),
        )
