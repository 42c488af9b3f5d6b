"""The student's own progress: hints revealed, solutions shown, backups kept.

It lives in one folder, ``.asynclings/``, next to the exercises folder (git ignores it),
as a small JSON file keyed by the exercises folder's name, so ``exercises/`` and
``solutions/`` side by side never share a record. Grading reads only the files the kit
declares, so nothing here (backups included) is ever taken for a submission. A missing or
damaged file reads as "no progress yet": the student's loop never stops on it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from grader.errors import GraderError
from grader.kit import ExerciseSpec
from grader.model import CheckStatus, ExerciseResult, ExerciseStatus, Report

STATE_DIR = ".asynclings"
STATE_FILE = "progress.json"
BACKUP_DIR = "backups"
FORMAT_VERSION = 1
STAMP_FORMAT = "%Y%m%d-%H%M%S"


class ProgressError(GraderError):
    """The progress record or a backup could not be written; the message says where and why."""


@dataclasses.dataclass
class ExerciseProgress:
    """What the student asked for on one exercise. ``solution_viewed``: shown with ``--force``.

    ``hints_revealed`` numbers the exercise's hints (``ExerciseSpec.hints``) in the order
    they were revealed; a record from before it existed revealed the first ``hints_used``.
    """

    hints_used: int = 0
    solution_viewed: bool = False
    backups: list[str] = dataclasses.field(default_factory=list)
    hints_revealed: list[int] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "hints_used": self.hints_used,
            "hints_revealed": list(self.hints_revealed),
            "solution_viewed": self.solution_viewed,
            "backups": list(self.backups),
        }

    def revealed(self) -> list[int]:
        """The numbers of the hints revealed so far, oldest first."""
        return list(self.hints_revealed) or list(range(self.hints_used))

    def reveal(self, numbers: list[int]) -> None:
        shown = self.revealed()
        self.hints_revealed = shown + [number for number in numbers if number not in shown]
        self.hints_used = len(self.hints_revealed)

    @classmethod
    def from_json(cls, data: object) -> ExerciseProgress:
        """Lenient: any field of the wrong type reads as its default."""
        if not isinstance(data, dict):
            return cls()
        hints = data.get("hints_used")
        backups = data.get("backups")
        revealed = data.get("hints_revealed")
        return cls(
            hints_used=hints if isinstance(hints, int) and not isinstance(hints, bool) and hints > 0 else 0,
            solution_viewed=data.get("solution_viewed") is True,
            backups=[b for b in backups if isinstance(b, str)] if isinstance(backups, list) else [],
            hints_revealed=list(dict.fromkeys(
                n for n in revealed if isinstance(n, int) and not isinstance(n, bool) and n >= 0
            )) if isinstance(revealed, list) else [],
        )  # fmt: skip


class Progress:
    """The progress record of one exercises folder; :meth:`save` writes it back."""

    def __init__(self, folder: Path) -> None:
        folder = folder.resolve()
        self.key = folder.name
        self.state_dir = folder.parent / STATE_DIR
        self.path = self.state_dir / STATE_FILE
        self._data = _read(self.path)

    def of(self, exercise_id: str) -> ExerciseProgress:
        """This exercise's progress (a fresh one when nothing is recorded yet)."""
        folders = self._data.get("folders")
        entry = folders.get(self.key) if isinstance(folders, dict) else None
        return ExerciseProgress.from_json(entry.get(exercise_id) if isinstance(entry, dict) else None)

    def update(self, exercise_id: str, progress: ExerciseProgress) -> None:
        """Record ``progress`` for this exercise and write the file."""
        folders = self._data.get("folders")
        if not isinstance(folders, dict):
            folders = self._data["folders"] = {}
        entry = folders.get(self.key)
        if not isinstance(entry, dict):
            entry = folders[self.key] = {}
        entry[exercise_id] = progress.to_json()
        self._data["format_version"] = FORMAT_VERSION
        self._write()

    def back_up(self, exercise_id: str, file: Path) -> Path:
        """Copy the student's ``file`` to ``backups/<stem>.<time>.py``, record it, and return the copy."""
        backups = self.state_dir / BACKUP_DIR
        stamp = time.strftime(STAMP_FORMAT)
        target = backups / f"{file.stem}.{stamp}{file.suffix}"
        number = 1
        while target.exists():
            number += 1
            target = backups / f"{file.stem}.{stamp}-{number}{file.suffix}"
        try:
            backups.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, target)
        except OSError as exc:
            raise ProgressError(f"cannot back up {file.name} to {backups}: {exc.strerror}") from None
        progress = self.of(exercise_id)
        progress.backups.append(target.relative_to(self.state_dir).as_posix())  # the same record on every system
        self.update(exercise_id, progress)
        return target

    def _write(self) -> None:
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=self.state_dir, suffix=".tmp", delete=False) as out:
                json.dump(self._data, out, indent=2, sort_keys=True)
            os.replace(out.name, self.path)
        except OSError as exc:
            raise ProgressError(f"cannot save progress to {self.path}: {exc.strerror}") from None


def apply_progress(report: Report, folder: Path) -> None:
    """Copy hints used and forced solution views from the folder's record into ``report``."""
    progress = Progress(folder)
    for exercise in report.exercises:
        recorded = progress.of(exercise.id)
        exercise.hints_used = recorded.hints_used
        exercise.solution_viewed = recorded.solution_viewed


def next_hint(spec: ExerciseSpec, result: ExerciseResult | None, revealed: list[int]) -> int | None:
    """The number of the hint to reveal next, ``None`` when all are out.

    Hints belong to checks: the first check that does not pass (in kit order) whose own
    hint is still hidden gets it; otherwise the exercise's hints follow in order.
    """
    hidden = [number for number in range(len(spec.hints)) if number not in revealed]
    failing = [c.id for c in result.checks if c.status is not CheckStatus.PASSED] if result else []
    for check_id in failing:
        hint = spec.check(check_id).hint
        if hint and spec.hints.index(hint) in hidden:
            return spec.hints.index(hint)
    return hidden[0] if hidden else None


def passed_count(report: Report) -> int:
    """How many exercises of ``report`` passed: the "3" of "3/5 done"."""
    return sum(e.status is ExerciseStatus.PASSED for e in report.exercises)


def next_to_do(report: Report) -> ExerciseResult | None:
    """The first exercise, in kit order, that has not passed yet."""
    return next((e for e in report.exercises if e.status is not ExerciseStatus.PASSED), None)


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
