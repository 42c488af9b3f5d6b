"""Grading as every command that grades needs it: errors become one line, progress is filled in."""

from __future__ import annotations

from pathlib import Path

from grader.cli import CannotGrade
from grader.grading import grade_folder
from grader.kit import ExerciseSpec, Kit, KitError
from grader.model import Report
from grader.progress import apply_progress
from grader.runner.kept_worker import KeptWorker
from grader.runner.limits import Limits
from grader.runner.sandbox import SandboxError
from grader.submission import SubmissionError, check_folder, require_exercise_files

DEFAULT_FOLDER_HINT = " (run grade in the kit's folder, or give PATH)"


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
    except (KitError, SandboxError) as exc:
        raise CannotGrade(str(exc)) from None
    except SubmissionError as exc:
        raise CannotGrade(f"{exc}{DEFAULT_FOLDER_HINT if default_folder else ''}") from None
    apply_progress(report, folder)
    return report
