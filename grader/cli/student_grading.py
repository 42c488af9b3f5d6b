"""Grading as every command that grades needs it: which folder, errors as one line, progress filled in."""

from __future__ import annotations

import os
from pathlib import Path

from grader.cli import CannotGrade
from grader.grading import grade_folder
from grader.kit import ExerciseSpec, Kit, KitError
from grader.model import Report
from grader.runner.limits import Limits
from grader.runner.parent.kept_worker import KeptWorker
from grader.student_progress import apply_progress
from grader.submission import SubmissionError, check_folder, require_exercise_files

EXERCISES = "exercises"
DEFAULT_FOLDER_HINT = " (run grade in the kit's folder, or give PATH)"
NO_EXERCISES_FOLDER = "no exercises folder in {here} or any folder above it" + DEFAULT_FOLDER_HINT
AN_EXERCISE_NOT_A_FOLDER = " (to grade exercise {id}: grade -e {token})"


def exercise_folder(path: Path | None, kit: Kit | None = None) -> Path:
    """The folder a command works on, checked to exist: PATH, or else the nearest ``exercises/``.

    Without PATH, the folder and its parents are searched upward, as git finds its
    repository, so ``grade`` works from ``exercises/`` or any folder below the kit's; the
    folder is named as the student would type it from here. With ``kit``, a PATH that is not
    there but names an exercise (``grade 3``) says how to grade that exercise.
    """
    if path is None:
        here = Path.cwd()
        for folder in (here, *here.parents):
            if (folder / EXERCISES).is_dir():
                return Path(os.path.relpath(folder / EXERCISES))
        raise CannotGrade(NO_EXERCISES_FOLDER.format(here=here))
    try:
        check_folder(path)
    except SubmissionError as exc:
        raise CannotGrade(f"{exc}{_exercise_named(path, kit)}") from None
    return path


def _exercise_named(path: Path, kit: Kit | None) -> str:
    """How to grade the exercise a missing PATH names, or ``""``."""
    if kit is None or path.exists():
        return ""
    try:
        (spec,) = kit.select([str(path)])
    except KitError:
        return ""
    return AN_EXERCISE_NOT_A_FOLDER.format(id=spec.id, token=path)


def grade_for_student(
    folder: Path,
    kit: Kit,
    exercises: list[ExerciseSpec] | None = None,
    limits: Limits | None = None,
    *,
    default_folder: bool = False,
    require_files: bool = False,
    worker: KeptWorker | None = None,
) -> Report:
    """Grade ``folder`` with the student's recorded progress filled in.

    ``default_folder`` says the user gave no PATH, so a bad folder hints at where to run;
    ``require_files`` refuses a folder holding none of the exercise files; a kept ``worker``
    (``grade watch`` keeps one) checks instead of a worker started for this grading.
    """
    chosen = exercises or list(kit.exercises)
    try:
        if require_files:
            require_exercise_files(check_folder(folder), chosen)
        report = grade_folder(folder, kit, chosen, limits or Limits(), worker=worker)
    except SubmissionError as exc:
        raise CannotGrade(f"{exc}{DEFAULT_FOLDER_HINT if default_folder else ''}") from None
    apply_progress(report, folder)
    return report
