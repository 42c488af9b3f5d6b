"""The ``grade`` command: a thin click layer over grading and rendering.

Errors meet the user here and only here: domain errors become one-line messages with
exit code 2 ("could not grade"); a graded run exits 0 when everything selected passed
(or reached ``--min-score``) and 1 otherwise.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from grader.grading import grade_folder
from grader.kit import Kit, KitError, load_kit
from grader.model import Report
from grader.render import FORMATS, render
from grader.runner.launcher import Limits
from grader.submission import SubmissionError

EXIT_SHORT = 1
EXIT_CANNOT_GRADE = 2


class CannotGrade(click.ClickException):
    """Nothing was graded: a bad path, kit or option. Exit code 2, one line, no traceback."""

    exit_code = EXIT_CANNOT_GRADE


class DefaultGroup(click.Group):
    """A group whose first argument falls through to a default command unless it names a subcommand.

    So ``grade``, ``grade PATH`` and ``grade PATH -e 03`` grade, while ``grade list`` runs
    the ``list`` subcommand (a folder named like a subcommand is spelled ``./list``).
    """

    def __init__(self, *args: Any, default_command: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default_command = default_command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, "[PATH] [OPTIONS] | COMMAND [ARGS]...")


def kit_option(function: Any) -> Any:
    return click.option(
        "--kit",
        "kit_path",
        type=click.Path(path_type=Path),
        envvar="ASYNCLINGS_KIT",
        help="Kit file (kit.toml) or folder to grade against; default: the built-in kit.",
    )(function)


def open_kit(kit_path: Path | None) -> Kit:
    try:
        return load_kit(kit_path)
    except KitError as exc:
        raise CannotGrade(str(exc)) from None


def use_color() -> bool:
    """Colour only for a person at a terminal: never when piped, in CI, or with NO_COLOR."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR") and not os.environ.get("CI")


@click.group(cls=DefaultGroup, default_command="check", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="asynclings")
def main() -> None:
    """Grade asyncio exercises: `grade [PATH]` checks ./exercises (or PATH) and explains every failed check.

    Run `grade check --help` for the grading options.
    """


@main.command("check")
@click.argument("path", type=click.Path(path_type=Path), required=False)
@click.option("-e", "--exercise", "selected", multiple=True, metavar="ID", help="Grade only this exercise (id or its number, e.g. 03); repeatable.")
@click.option("-f", "--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True, help="Report format.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the report to FILE instead of stdout.")
@click.option("--min-score", type=click.FloatRange(min=0), help="Exit 0 when the selected exercises score at least this much.")
@click.option("--timeout", type=click.FloatRange(min=0.5), help="Wall-clock limit per exercise, in seconds (default: the kit's).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the score line.")
@kit_option
def check_command(
    path: Path | None,
    selected: tuple[str, ...],
    fmt: str,
    output: Path | None,
    min_score: float | None,
    timeout: float | None,
    quiet: bool,
    kit_path: Path | None,
) -> None:
    """Grade PATH (default: ./exercises) and print what passed, what failed, and why."""
    kit = open_kit(kit_path)
    folder = path or Path("exercises")
    try:
        exercises = kit.select(list(selected)) if selected else None
        report = grade_folder(folder, kit, exercises, Limits(timeout=timeout, parallel=os.cpu_count() or 2))
    except KitError as exc:
        raise CannotGrade(str(exc)) from None
    except SubmissionError as exc:
        hint = " (run grade in the kit's folder, or give PATH)" if path is None else ""
        raise CannotGrade(f"{exc}{hint}") from None
    emit(report, fmt, output, quiet)
    sys.exit(exit_code(report, min_score))


def emit(report: Report, fmt: str, output: Path | None, quiet: bool) -> None:
    if output is not None:
        try:
            output.write_text(render(report, fmt), encoding="utf-8")
        except OSError as exc:
            raise CannotGrade(f"cannot write {output}: {exc.strerror}") from None
        click.echo(render(report, "text", quiet=True), nl=False)
        return
    click.echo(render(report, fmt, color=use_color() and fmt == "text", quiet=quiet), nl=False)


def exit_code(report: Report, min_score: float | None) -> int:
    if min_score is not None:
        return 0 if report.score >= min_score else EXIT_SHORT
    return 0 if report.all_passed else EXIT_SHORT
