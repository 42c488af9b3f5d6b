"""The author's commands: ``grade kit check`` (is the kit sound?) and ``grade new ID`` (scaffold an exercise)."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import click

from grader.authoring.conventions import shown
from grader.authoring.kit_check import KitVerdict, check_kit
from grader.authoring.scaffold import scaffold
from grader.batch.progress_bar import BarProgress, BatchProgress
from grader.cli import EXIT_SHORT, CannotGrade, kit_option, main
from grader.cli.terminal import is_terminal
from grader.kit import DEFAULT_KIT, ExerciseSpec, Kit, load_kit
from grader.paths import is_within

INSTALLED_KIT = "the built-in kit is part of the installed package: give --kit PATH, a kit of your own (see docs/authoring.md)"


@main.group("kit", invoke_without_command=True)
@click.pass_context
def kit_group(ctx: click.Context) -> None:
    """Commands for a kit's author: `grade kit check` tells whether a kit is sound."""
    if ctx.invoked_subcommand is None:
        raise CannotGrade("`grade kit` needs a command: `grade kit check` (see `grade kit --help`)")


@kit_group.command("check")
@click.option("-e", "--exercise", "selected", multiple=True, metavar="ID", help="Check only this exercise (id or its number); repeatable.")
@click.option("--mutants", "with_mutants", is_flag=True, help="Also grade the solutions with asyncio mistakes put in, and list those no check catches.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Files graded at the same time (default: the number of cores).")
@kit_option
def kit_check_command(selected: tuple[str, ...], with_mutants: bool, jobs: int | None, kit_path: Path | None) -> None:
    """Check the kit: stubs not started, solutions full marks, demos that run, checks as declared, golden fixtures as expected.

    One line per problem, exit code 1 when there is any; a one-line summary and exit code 0 when there is none.
    """
    kit = load_kit(kit_path)
    specs = kit.select(list(selected)) if selected else list(kit.exercises)
    bar = _progress_bar()
    try:
        verdict = check_kit(kit, specs, with_mutants=with_mutants, jobs=jobs or os.cpu_count() or 2, started=bar.start, done=lambda: bar.advance(""))
    finally:
        bar.stop()
    for line in [*verdict.problems, *verdict.notes, *_mutant_lines(verdict)]:
        click.echo(line)
    click.echo(_summary(kit, specs, verdict))
    sys.exit(EXIT_SHORT if verdict.problems else 0)


def _mutant_lines(verdict: KitVerdict) -> list[str]:
    if not verdict.mutants:
        return []
    killed = len(verdict.mutants) - len(verdict.survivors)
    head = f"mutants: {killed} of {len(verdict.mutants)} killed"
    if not verdict.survivors:
        return [f"{head}: every mistake put into the solutions fails a check"]
    lines = [f"{head}; {len(verdict.survivors)} pass every check (a mistake the checks let through, or no mistake at all):"]
    return lines + [f"  {shown(m.spec.solution)}:{m.line}: {m.what}" for m in verdict.survivors]


def _summary(kit: Kit, specs: list[ExerciseSpec], verdict: KitVerdict) -> str:
    if verdict.problems:
        return f"kit {kit.name}: {_count(len(verdict.problems), 'problem')}"
    points = sum(spec.max_score for spec in specs)
    fixtures = f", {_count(verdict.fixtures, 'golden fixture')} as expected" if verdict.fixtures else ""
    return (
        f"kit {kit.name} is sound: {_count(len(specs), 'exercise')} ({points:g} points): "
        f"stubs not started, solutions full marks, demos run{fixtures}"
    )


def _count(number: int, thing: str) -> str:
    return f"{number} {thing}{'' if number == 1 else 's'}"


class _NoBar:
    """Where there is no terminal to draw on: the problems and the summary are all that is printed."""

    def start(self, total: int) -> None:
        pass

    def advance(self, line: str) -> None:
        pass

    def stop(self) -> None:
        pass


def _progress_bar() -> BatchProgress:
    """A bar on standard error's terminal, which clears itself; nothing in a log or a pipe."""
    return BarProgress() if is_terminal(sys.stderr) else _NoBar()


@main.command("new")
@click.argument("exercise_id", metavar="ID")
@kit_option
def new_command(exercise_id: str, kit_path: Path | None) -> None:
    """Scaffold exercise ID in the kit: stub, solution, check and probe files, a golden fixture, its kit.toml entry.

    The scaffold is a small worked example; `grade kit check` fails on it until its TODOs are written.
    """
    kit = load_kit(kit_path)
    if kit.path == DEFAULT_KIT.resolve() and any(is_within(kit.path, Path(sysconfig.get_paths()[key])) for key in ("purelib", "platlib")):
        raise CannotGrade(INSTALLED_KIT)
    try:
        made = scaffold(kit, exercise_id)
    except OSError as exc:
        raise CannotGrade(f"cannot write {exc.filename}: {exc.strerror}") from None
    for path in made.files:
        click.echo(f"wrote {shown(path)}")
    if made.golden_declared:
        click.echo(f'  ({shown(kit.path)} now names its golden fixtures\' folder: golden = "golden")')
    kit_flag = f" --kit {kit_path}" if kit_path else ""
    click.echo(f"Next: turn the example into {exercise_id}, then `grade kit check -e {exercise_id[:2]} --mutants{kit_flag}`.")
