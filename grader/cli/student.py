"""The student's loop around grading: ``grade list``, ``hint``, ``reset`` and ``show-solution``.

What the student asks for (hints revealed, solutions shown, backups kept) is recorded in
``.asynclings/`` next to the exercises folder (see :mod:`grader.progress`) and copied into
the JSON report, where a teacher can read it. Nothing is ever deducted for it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from grader.cli import EXIT_SHORT, CannotGrade, kit_option, main, open_kit
from grader.cli.grading import grade_for_student
from grader.cli.terminal import use_color
from grader.kit import ExerciseSpec, Kit, KitError
from grader.model import ExerciseStatus, Report
from grader.progress import BACKUP_DIR, ExerciseProgress, Progress, ProgressError
from grader.render.text import render_hints, render_progress, render_solution
from grader.runner.kept_worker import KeptWorker
from grader.submission import SubmissionError, check_folder

DEFAULT_FOLDER = Path("exercises")
NO_FOLDER_HINT = " (run grade in the kit's folder, or give PATH)"
NOT_PASSED_YET = (
    "{id} has not passed yet ({status}, {score:g}/{max_score:g}): its solution opens once it does.\n"
    "Stuck? `grade hint {id}` gives a hint; `grade show-solution {id} --force` shows it now "
    "(recorded in your report)."
)
RESET_QUESTION = "Replace {file} with the original stub? Your version is kept in {backups}"


def folder_argument(function: Any) -> Any:
    return click.argument("path", type=click.Path(path_type=Path), required=False)(function)


def exercise_argument(function: Any) -> Any:
    return click.argument("exercise_id", metavar="ID")(function)


def exercise_folder(path: Path | None) -> Path:
    """The exercises folder as the student named it (default ``exercises``), checked to exist."""
    folder = path or DEFAULT_FOLDER
    try:
        check_folder(folder)
    except SubmissionError as exc:
        raise CannotGrade(f"{exc}{NO_FOLDER_HINT if path is None else ''}") from None
    return folder


def pick(kit: Kit, token: str) -> ExerciseSpec:
    try:
        return kit.select([token])[0]
    except KitError as exc:
        raise CannotGrade(str(exc)) from None


def grade_quietly(
    folder: Path, kit: Kit, exercises: list[ExerciseSpec] | None = None, worker: KeptWorker | None = None
) -> Report:
    """Grade without printing anything, with the student's recorded progress filled in."""
    return grade_for_student(folder, kit, exercises, worker=worker)


def record(progress: Progress, exercise_id: str, recorded: ExerciseProgress) -> None:
    try:
        progress.update(exercise_id, recorded)
    except ProgressError as exc:
        raise CannotGrade(str(exc)) from None


@main.command("list")
@folder_argument
@kit_option
def list_command(path: Path | None, kit_path: Path | None) -> None:
    """List every exercise in PATH (default: ./exercises) with its status, score and hints used."""
    kit = open_kit(kit_path)
    folder = exercise_folder(path)
    report = grade_quietly(folder, kit)
    available = {spec.id: len(spec.hints) for spec in kit.exercises}
    click.echo(render_progress(report, available, folder=str(folder), color=use_color()), nl=False)


@main.command("hint")
@exercise_argument
@folder_argument
@click.option("--all", "show_all", is_flag=True, help="Reveal every hint at once.")
@kit_option
def hint_command(exercise_id: str, path: Path | None, show_all: bool, kit_path: Path | None) -> None:
    """Reveal one more hint for exercise ID (--all: every hint). Hints used are counted in your report, never deducted."""
    spec = pick(open_kit(kit_path), exercise_id)
    folder = exercise_folder(path)
    if not spec.hints:
        click.echo(f"{spec.id} has no hints.")
        return
    progress = Progress(folder)
    recorded = progress.of(spec.id)
    shown = len(spec.hints) if show_all else min(recorded.hints_used + 1, len(spec.hints))
    revealed = shown > recorded.hints_used
    if revealed:
        recorded.hints_used = shown
        record(progress, spec.id, recorded)
    click.echo(render_hints(spec.id, spec.hints, shown, revealed=revealed, color=use_color()), nl=False)


@main.command("reset")
@exercise_argument
@folder_argument
@click.option("-y", "--yes", is_flag=True, help="Don't ask before replacing the file.")
@kit_option
def reset_command(exercise_id: str, path: Path | None, yes: bool, kit_path: Path | None) -> None:
    """Put back the original stub of exercise ID; your version is kept as a backup in .asynclings/backups/."""
    spec = pick(open_kit(kit_path), exercise_id)
    folder = exercise_folder(path)
    target = folder / spec.file
    if not spec.stub.is_file():
        raise CannotGrade(f"the kit has no stub for {spec.id}: {spec.stub} not found")
    stub = spec.stub.read_bytes()
    try:
        pristine = target.is_file() and target.read_bytes() == stub
    except OSError as exc:
        raise CannotGrade(f"cannot read {target}: {exc.strerror}") from None
    if pristine:
        click.echo(f"{target} is the original stub already: nothing to reset.")
        return
    progress = Progress(folder)
    backups = _shown(progress.state_dir / BACKUP_DIR)
    if target.exists() and not yes:
        click.confirm(RESET_QUESTION.format(file=target, backups=backups), abort=True)
    try:
        backup = progress.back_up(spec.id, target) if target.exists() else None
        target.unlink(missing_ok=True)
        target.write_bytes(stub)
    except ProgressError as exc:
        raise CannotGrade(str(exc)) from None
    except OSError as exc:
        raise CannotGrade(f"cannot write {target}: {exc.strerror}") from None
    saved = f" Your version is saved as {_shown(backup)}" if backup else ""
    click.echo(f"Reset {target} to the original stub.{saved}")


@main.command("show-solution")
@exercise_argument
@folder_argument
@click.option("--force", is_flag=True, help="Show it before the exercise passes (recorded in your report).")
@kit_option
def show_solution_command(exercise_id: str, path: Path | None, force: bool, kit_path: Path | None) -> None:
    """Show the reference solution of exercise ID once your version passes (--force: now, and recorded)."""
    kit = open_kit(kit_path)
    spec = pick(kit, exercise_id)
    folder = exercise_folder(path)
    if not spec.solution.is_file():
        raise CannotGrade(f"the kit has no solution for {spec.id}: {spec.solution} not found")
    if force:
        progress = Progress(folder)
        recorded = progress.of(spec.id)
        recorded.solution_viewed = True
        record(progress, spec.id, recorded)
    else:
        (result,) = grade_quietly(folder, kit, [spec]).exercises
        if result.status is not ExerciseStatus.PASSED:
            click.echo(NOT_PASSED_YET.format(id=spec.id, status=result.status.value, score=result.score, max_score=result.max_score))
            sys.exit(EXIT_SHORT)
    source = spec.solution.read_text(encoding="utf-8")
    click.echo(render_solution(spec.id, source, forced=force, color=use_color()), nl=False)


def _shown(path: Path) -> str:
    """A path as the student would type it from here (in full when it is on another drive)."""
    try:
        return os.path.relpath(path)
    except ValueError:  # Windows: no relative path leads from C: to D:
        return str(path)
