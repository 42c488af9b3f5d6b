"""The student's loop around grading: ``grade list``, ``hint``, ``reset`` and ``show-solution``.

What the student asks for (hints revealed, solutions shown, backups kept) is recorded in
``.asynclings/`` next to the exercises folder (see :mod:`grader.student_progress`) and copied into
the JSON report, where a teacher can read it. Nothing is ever deducted for it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from grader.cli import EXIT_SHORT, CannotGrade, kit_option, main
from grader.cli.student_grading import exercise_folder, grade_for_student
from grader.cli.terminal import text_look, use_color
from grader.kit import ExerciseSpec, Kit, load_kit
from grader.model import ExerciseResult, ExerciseStatus, Report
from grader.render.text import render_hints, render_progress, render_solution
from grader.runner.parent.kept_worker import KeptWorker
from grader.student_progress import (
    BACKUP_DIR,
    ExerciseProgress,
    Progress,
    next_hint,
)

NOT_PASSED_YET = (
    "{id} has not passed yet ({status}, {score:g}/{max_score:g}): its solution opens once it does.\n"
    "Stuck? `grade hint {id}` gives a hint; `grade show-solution {id} --force` shows it now "
    "(recorded in your report)."
)
RESET_QUESTION = "Replace {file} with the original stub? Your version is kept in {backups}"
ALREADY_STUB = "{file} is the original stub already: nothing to reset."


def folder_argument(function: Any) -> Any:
    return click.argument("path", type=click.Path(path_type=Path), required=False)(function)


def exercise_argument(function: Any) -> Any:
    return click.argument("exercise_id", metavar="ID")(function)


def pick(kit: Kit, token: str) -> ExerciseSpec:
    return kit.select([token])[0]


def grade_quietly(
    folder: Path, kit: Kit, exercises: list[ExerciseSpec] | None = None, worker: KeptWorker | None = None
) -> Report:
    """Grade without printing anything, with the student's recorded progress filled in."""
    return grade_for_student(folder, kit, exercises, worker=worker)


def record(progress: Progress, exercise_id: str, recorded: ExerciseProgress) -> None:
    progress.update(exercise_id, recorded)


@main.command("list")
@folder_argument
@kit_option
def list_command(path: Path | None, kit_path: Path | None) -> None:
    """List every exercise in PATH (default: ./exercises) with its status, score and hints used."""
    kit = load_kit(kit_path)
    folder = exercise_folder(path)
    report = grade_quietly(folder, kit)
    available = {spec.id: len(spec.hints) for spec in kit.exercises}
    click.echo(render_progress(report, available, folder=str(folder), **text_look()), nl=False)


@main.command("hint")
@exercise_argument
@folder_argument
@click.option("--all", "show_all", is_flag=True, help="Reveal every hint at once.")
@kit_option
def hint_command(exercise_id: str, path: Path | None, show_all: bool, kit_path: Path | None) -> None:
    """Reveal the next hint for exercise ID: the first failing check's own (--all: every hint). Counted in your report, never deducted."""
    kit = load_kit(kit_path)
    spec = pick(kit, exercise_id)
    folder = exercise_folder(path)
    if not spec.hints:
        click.echo(f"{spec.id} has no hints.")
        return
    shown, new = reveal_hints(folder, spec, None if show_all else failing_checks(folder, kit, spec), every=show_all)
    click.echo(render_hints(spec.id, shown, len(spec.hints), revealed=new, **text_look()), nl=False)


def reveal_hints(
    folder: Path, spec: ExerciseSpec, result: ExerciseResult | None, *, every: bool = False
) -> tuple[list[str], bool]:
    """Reveal and record the next hint (the first failing check's own, from ``result``), or ``every`` one.

    The hints revealed so far, oldest first, and whether one of them is new.
    """
    progress = Progress(folder)
    recorded = progress.of(spec.id)
    revealed = [number for number in recorded.revealed() if number < len(spec.hints)]
    if every:
        new = [number for number in range(len(spec.hints)) if number not in revealed]
    else:
        number = next_hint(spec, result, revealed)
        new = [] if number is None else [number]
    if new:
        recorded.reveal(new)
        record(progress, spec.id, recorded)
    return [spec.hints[number] for number in [*revealed, *new]], bool(new)


def failing_checks(folder: Path, kit: Kit, spec: ExerciseSpec) -> ExerciseResult | None:
    """The exercise graded, to see which check fails: only when checks have hints of their own, and grading can run."""
    if not any(check.hint for check in spec.checks):
        return None
    try:
        return grade_quietly(folder, kit, [spec]).exercises[0]
    except CannotGrade:
        return None  # no sandbox, say: the hints then come in the kit's order


@main.command("reset")
@exercise_argument
@folder_argument
@click.option("-y", "--yes", is_flag=True, help="Don't ask before replacing the file.")
@kit_option
def reset_command(exercise_id: str, path: Path | None, yes: bool, kit_path: Path | None) -> None:
    """Put back the original stub of exercise ID; your version is kept as a backup in .asynclings/backups/."""
    spec = pick(load_kit(kit_path), exercise_id)
    folder = exercise_folder(path)
    target = folder / spec.file
    if is_original_stub(folder, spec):
        click.echo(ALREADY_STUB.format(file=target))
        return
    if target.exists() and not yes:
        click.confirm(reset_question(folder, spec), abort=True)
    click.echo(put_back_stub(folder, spec))


def original_stub(spec: ExerciseSpec) -> bytes:
    if not spec.stub.is_file():
        raise CannotGrade(f"the kit has no stub for {spec.id}: {spec.stub} not found")
    return spec.stub.read_bytes()


def is_original_stub(folder: Path, spec: ExerciseSpec) -> bool:
    """Whether the student's file is the untouched stub, so a reset has nothing to do."""
    target = folder / spec.file
    try:
        return target.is_file() and target.read_bytes() == original_stub(spec)
    except OSError as exc:
        raise CannotGrade(f"cannot read {target}: {exc.strerror}") from None


def reset_question(folder: Path, spec: ExerciseSpec) -> str:
    return RESET_QUESTION.format(file=folder / spec.file, backups=_shown(Progress(folder).state_dir / BACKUP_DIR))


def put_back_stub(folder: Path, spec: ExerciseSpec) -> str:
    """Replace the student's file with the original stub, their version kept as a backup; what was done."""
    target = folder / spec.file
    stub = original_stub(spec)
    try:
        backup = Progress(folder).back_up(spec.id, target) if target.exists() else None
        target.unlink(missing_ok=True)
        target.write_bytes(stub)
    except OSError as exc:
        raise CannotGrade(f"cannot write {target}: {exc.strerror}") from None
    saved = f" Your version is saved as {_shown(backup)}" if backup else ""
    return f"Reset {target} to the original stub.{saved}"


@main.command("show-solution")
@exercise_argument
@folder_argument
@click.option("--force", is_flag=True, help="Show it before the exercise passes (recorded in your report).")
@kit_option
def show_solution_command(exercise_id: str, path: Path | None, force: bool, kit_path: Path | None) -> None:
    """Show the reference solution of exercise ID once your version passes (--force: now, and recorded)."""
    kit = load_kit(kit_path)
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
