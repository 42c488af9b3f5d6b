"""Manual changes a teacher makes to scores (``--overrides overrides.csv``), with an audit trail.

Columns: ``student,exercise,points,reason``. ``exercise`` is an exercise id (or its
number, ``03``) or ``exercise/check`` for one check; an optional ``check`` column may
name the check instead. ``points`` is the new score (``6``) or a change (``+2``, ``-3``),
kept within 0 and the maximum. The graded report is never edited: overrides are applied
when the gradebook is built, and every one is listed in the row with its reason.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from grader.batch.roster import read_csv
from grader.errors import GraderError
from grader.kit import ExerciseSpec, Kit, KitError
from grader.model import Report

COLUMNS = ("student", "exercise", "points", "reason")
MISSING_COLUMNS = "{path}: needs a header row with the columns student,exercise,points,reason (found {found})"


class OverrideError(GraderError):
    """The overrides file cannot be used; the message names the file and the line."""


@dataclasses.dataclass(frozen=True)
class Override:
    """One manual change: set (or shift, when ``relative``) an exercise's or a check's points."""

    student: str
    exercise: str
    check: str
    points: float
    relative: bool
    reason: str
    where: str

    @property
    def target(self) -> str:
        return f"{self.exercise}/{self.check}" if self.check else self.exercise

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Override:
        return cls(**data)


@dataclasses.dataclass(frozen=True)
class Applied:
    """What one override changed, for the audit column."""

    override: Override
    before: float
    after: float

    def describe(self) -> str:
        return f"{self.override.target} {self.before:g}->{self.after:g}: {self.override.reason} ({self.override.where})"

    def to_json(self) -> dict[str, Any]:
        o = self.override
        return {"target": o.target, "before": self.before, "after": self.after, "reason": o.reason, "where": o.where}


def load_overrides(path: Path, kit: Kit, chosen: list[ExerciseSpec]) -> list[Override]:
    """Read and check an overrides CSV against the exercises being graded."""
    header, rows = read_csv(path, OverrideError)
    if not all(c in header for c in COLUMNS):
        raise OverrideError(MISSING_COLUMNS.format(path=path, found=",".join(header) or "nothing"))
    return [_parse(row, f"{path.name}:{line}", kit, chosen) for line, row in rows]


def _parse(row: dict[str, str], where: str, kit: Kit, chosen: list[ExerciseSpec]) -> Override:
    student = row["student"].strip()
    if not student:
        raise OverrideError(f"{where}: the student is empty")
    exercise_token, _, check_id = row["exercise"].strip().partition("/")
    check_id = check_id or row.get("check", "").strip()
    try:
        (spec,) = kit.select([exercise_token])
    except KitError as exc:
        raise OverrideError(f"{where}: {exc}") from None
    if spec not in chosen:
        raise OverrideError(f"{where}: exercise {spec.id} is not among the exercises being graded")
    limit = spec.max_score
    if check_id:
        try:
            limit = spec.check(check_id).points
        except KeyError:
            valid = ", ".join(c.id for c in spec.checks)
            raise OverrideError(f"{where}: {spec.id} has no check {check_id!r}; valid: {valid}") from None
    text = row["points"].strip()
    try:
        points = float(text)
    except ValueError:
        raise OverrideError(f"{where}: points must be a number like 6, +2 or -3, found {text!r}") from None
    relative = text.startswith(("+", "-"))
    if not relative and not 0 <= points <= limit:
        raise OverrideError(f"{where}: {points:g} points is outside 0..{limit:g} for {spec.id}{'/' + check_id if check_id else ''}")
    return Override(student, spec.id, check_id, points, relative, row["reason"].strip(), where)


def apply_overrides(scores: dict[str, float], report: Report | None, overrides: list[Override], maxima: dict[str, float]) -> list[Applied]:
    """Change ``scores`` (exercise id → points) in place by each override, in file order."""
    applied = []
    changed_checks: dict[str, float] = {}
    for override in overrides:
        before_exercise = scores[override.exercise]
        if override.check:
            check_max, before = _check_score(report, override)
            before = changed_checks.get(override.target, before)
            after = _clamp(before + override.points if override.relative else override.points, check_max)
            changed_checks[override.target] = after
            scores[override.exercise] = _clamp(before_exercise + after - before, maxima[override.exercise])
        else:
            before = before_exercise
            after = _clamp(before + override.points if override.relative else override.points, maxima[override.exercise])
            scores[override.exercise] = after
        applied.append(Applied(override, before, after))
    return applied


def _check_score(report: Report | None, override: Override) -> tuple[float, float]:
    """The check's maximum and current points (0 when the student has no report)."""
    for exercise in report.exercises if report else []:
        for check in exercise.checks:
            if exercise.id == override.exercise and check.id == override.check:
                return check.max_score, check.score
    return float("inf"), 0.0


def _clamp(value: float, limit: float) -> float:
    return round(min(max(value, 0.0), limit), 2)
