"""``grade [PATH]``: grade a folder of exercises and report on it."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from grader.cli import EXIT_SHORT, CannotGrade, kit_option, main
from grader.cli.limit_options import limit_options
from grader.cli.student_grading import exercise_folder, grade_for_student
from grader.cli.terminal import text_look
from grader.kit import Kit, load_kit
from grader.model import Report
from grader.render import FORMATS, preload, render
from grader.runner.limits import Limits


@main.command("check")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("-e", "--exercise", "selected", multiple=True, metavar="ID", help="Grade only this exercise (id or its number, e.g. 03); repeatable.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to FILE instead of stdout.")
@click.option("--min-score", type=click.FloatRange(min=0), help="Exit 0 when the selected exercises score at least this much.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the score line.")
@kit_option
@limit_options
def check_command(
    path: Path | None,
    selected: tuple[str, ...],
    fmt: str,
    output: Path | None,
    min_score: float | None,
    quiet: bool,
    kit_path: Path | None,
    limits: Limits,
) -> None:
    """Grade PATH (default: ./exercises) and print what passed, what failed, and why."""
    preload("text", fmt)
    kit = load_kit(kit_path)
    exercises = kit.select(list(selected)) if selected else None
    folder = exercise_folder(path, kit)
    report = grade_for_student(folder, kit, exercises, limits, default_folder=path is None, require_files=True)
    emit(report, fmt, output, quiet, kit)
    sys.exit(exit_code(report, min_score))


def emit(report: Report, fmt: str, output: Path | None, quiet: bool, kit: Kit | None = None) -> None:
    if fmt == "github":
        from grader.render.github import append_step_summary

        try:
            append_step_summary(report)
        except OSError as exc:
            raise CannotGrade(f"cannot write the step summary ($GITHUB_STEP_SUMMARY): {exc.strerror}") from None
    if output is not None:
        try:
            output.write_text(render(report, fmt, kit=kit), encoding="utf-8")
        except OSError as exc:
            raise CannotGrade(f"cannot write {output}: {exc.strerror}") from None
        click.echo(render(report, "text", quiet=True), nl=False)
        return
    look = text_look() if fmt == "text" else {}
    click.echo(render(report, fmt, quiet=quiet, kit=kit, **look), nl=False)


def exit_code(report: Report, min_score: float | None) -> int:
    if min_score is not None:
        return 0 if report.score >= min_score else EXIT_SHORT
    return 0 if report.all_passed else EXIT_SHORT
