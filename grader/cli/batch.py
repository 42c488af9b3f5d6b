"""``grade batch SUBMISSIONS -o OUTDIR`` and ``grade merge OUTDIR... -o OUT``: a whole class at once.

SIGTERM and SIGHUP stop a batch as Ctrl-C does: the workers are killed, what was graded is
kept, and the command says so in one line and exits with 128 + the signal's number. A
second signal ends it at once; the next ``grade`` removes what that leaves behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import click

from grader.batch.archives import ArchiveLimits
from grader.batch.class_grading import BatchOptions, BatchSummary, run_batch
from grader.batch.late import check_policy, parse_due
from grader.batch.lms import PLATFORMS
from grader.batch.merge import merge_outputs
from grader.batch.overrides import load_overrides
from grader.batch.progress_bar import make_progress
from grader.batch.roster import load_roster
from grader.batch.shard import parse_shard
from grader.batch.slots import default_slots
from grader.cli import CannotGrade, kit_option, main
from grader.cli.limit_options import limit_arguments, limit_options
from grader.kit import load_kit
from grader.runner.limits import Limits, MiB
from grader.runner.parent.sandbox import detect, resolve

CANNOT_ACCESS = "cannot read or write {path}: {reason} (on Windows, a file open in another program cannot be replaced)"
INTERRUPTED = "Interrupted{by}: {done} of {total} students have a result in {outdir}; run the same command again to grade the rest."
INTERRUPTED_CLOSING = "Interrupted{by} while finishing: the results graded are kept in {outdir}; run the same command again to finish."
STOPPING_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")  # SIGHUP: not on Windows


@main.command("batch")
@click.argument("submissions", type=click.Path(path_type=Path))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the gradebook, feedback and class report.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Submissions graded at the same time (default: two per core).")
@click.option("-e", "--exercise", "selected", multiple=True, metavar="ID", help="Grade only this exercise (id or its number); repeatable.")
@click.option("--roster", "roster_path", type=click.Path(dir_okay=False, path_type=Path), help="CSV with id,name,email: names, and a row for students who submitted nothing.")
@click.option("--overrides", "overrides_path", type=click.Path(dir_okay=False, path_type=Path), help="CSV with student,exercise,points,reason: manual changes, shown in the audit column.")
@click.option(
    "--shard",
    metavar="K/N|auto",
    help="Grade only the K-th of N deterministic parts of the class (merge them with `grade merge`); auto reads K and N from a Kubernetes Indexed Job (auto/N), a Slurm array or a GitHub matrix.",
)
@click.option("--force", is_flag=True, help="Regrade everyone, even students whose stored result is still current.")
@click.option(
    "--archive-budget-mb",
    type=click.IntRange(min=1),
    default=ArchiveLimits().student_bytes // MiB,
    show_default=True,
    help="MiB that one student's archives may unpack to, archives inside archives included; an upload past it is not graded (flag archive_too_large).",
)
@click.option("--lenient-names", is_flag=True, help="Grade a file whose name only looks like an exercise's (03-concurrency.py) when the exercise has no other; the notes say so.")
@click.option("--due", metavar="DATETIME", help="Due date and time (2024-05-03T23:59, this machine's zone unless one is given): later work is flagged late.")
@click.option("--late-penalty", metavar="POLICY", help="Points taken from late work: 10%/day (of the maximum, per started day), 10%, 2/day, 2/hour or 5.")
@click.option("--gradebook", "gradebooks", multiple=True, type=click.Choice(PLATFORMS), help="Also write the grades as this platform imports them (canvas.csv, moodle.csv); repeatable.")
@click.option("--assignment", default="", help="The gradebook column those files fill, e.g. 'Homework 3 (12345)' for a Canvas assignment; default: the kit's title.")
@click.option("--csv-bom", is_flag=True, help="Write CSV files as UTF-8 with a byte order mark, so that Excel shows non-ASCII names intact.")
@click.option(
    "--trust-submissions",
    is_flag=True,
    help="UNSAFE: grade as root even without bubblewrap. Only for code you trust (your own test class), never for students'.",
)
@kit_option
@limit_options
def batch_command(
    submissions: Path,
    outdir: Path,
    jobs: int | None,
    selected: tuple[str, ...],
    roster_path: Path | None,
    overrides_path: Path | None,
    shard: str | None,
    force: bool,
    archive_budget_mb: int,
    lenient_names: bool,
    due: str | None,
    late_penalty: str | None,
    gradebooks: tuple[str, ...],
    assignment: str,
    csv_bom: bool,
    trust_submissions: bool,
    kit_path: Path | None,
    limits: Limits,
) -> None:
    """Grade every student in SUBMISSIONS (folders and archives as platforms export them) into OUTDIR."""
    kit = load_kit(kit_path)
    exercises = kit.select(list(selected)) if selected else list(kit.exercises)
    roster = load_roster(roster_path) if roster_path else None
    overrides = load_overrides(overrides_path, kit, exercises) if overrides_path else []
    part = parse_shard(shard, os.environ) if shard else None
    due_utc = parse_due(due) if due else None
    policy = check_policy(late_penalty) if late_penalty else None
    resolve(limits.sandbox, detect())
    command = [arg for spec in exercises if selected for arg in ("-e", spec.id)]
    command += ["--kit", str(kit.path)] if kit_path else []
    options = BatchOptions(
        submissions=submissions,
        outdir=outdir,
        kit=kit,
        exercises=exercises,
        command=command + limit_arguments(limits),
        limits=limits,
        jobs=jobs or default_slots(),
        roster=roster,
        overrides=overrides,
        shard=part,
        force=force,
        archive_limits=ArchiveLimits(student_bytes=archive_budget_mb * MiB),
        trust_submissions=trust_submissions,
        lenient_names=lenient_names,
        due=due_utc,
        late_penalty=policy,
        gradebooks=tuple(sorted(set(gradebooks))),
        assignment=assignment,
        csv_bom=csv_bom,
    )
    with interrupting_signals() as received:
        try:
            summary = run_batch(options, make_progress(sys.stderr.isatty()))
        except OSError as exc:  # e.g. on Windows, grades.csv held open by a spreadsheet
            raise CannotGrade(CANNOT_ACCESS.format(path=exc.filename or outdir, reason=exc.strerror or exc)) from None
        except KeyboardInterrupt:  # the signal came as the batch was closing its workers or writing the gradebook
            click.echo(INTERRUPTED_CLOSING.format(by=_by(received), outdir=outdir))
            sys.exit(_interrupted_exit(received))
    if summary.ignored:
        click.echo(f"Ignored {len(summary.ignored)} entries that belong to no student: {', '.join(summary.ignored)}")
    for warning in summary.warnings:
        click.echo(warning)
    if summary.interrupted:
        click.echo(INTERRUPTED.format(by=_by(received), done=summary.graded + summary.reused, total=summary.students, outdir=outdir))
        sys.exit(_interrupted_exit(received))
    click.echo(_counted(summary, outdir))


def _counted(summary: BatchSummary, outdir: Path) -> str:
    """The last line: as many students as the gradebook has rows, and what became of each."""
    absent = f", {summary.absent} with no submission" if summary.absent else ""
    return f"{summary.rows} students: {summary.graded} graded, {summary.reused} reused{absent}; gradebook in {outdir}"


@contextlib.contextmanager
def interrupting_signals() -> Iterator[list[signal.Signals]]:
    """Within the block, SIGINT, SIGTERM and SIGHUP interrupt the main thread (``KeyboardInterrupt``);
    a second one ends the process at once. Yields the signals received."""
    received: list[signal.Signals] = []

    def interrupt(number: int, frame: FrameType | None) -> None:
        if received:
            os._exit(128 + number)
        received.append(signal.Signals(number))
        raise KeyboardInterrupt

    numbers = [getattr(signal, name) for name in STOPPING_SIGNALS if hasattr(signal, name)]
    previous = {number: signal.signal(number, interrupt) for number in numbers}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _by(received: list[signal.Signals]) -> str:
    """How the message names the signal: Ctrl-C (or no signal) goes without saying."""
    return f" by {received[0].name}" if received and received[0] != signal.SIGINT else ""


def _interrupted_exit(received: list[signal.Signals]) -> int:
    return 128 + (received[0] if received else signal.SIGINT)


@main.command("merge")
@click.argument("outdirs", nargs=-1, required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "target", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder for the merged gradebook.")
def merge_command(outdirs: tuple[Path, ...], target: Path) -> None:
    """Merge the outputs of `grade batch --shard K/N` runs into one gradebook."""
    try:
        merged = merge_outputs(list(outdirs), target)
    except OSError as exc:
        raise CannotGrade(CANNOT_ACCESS.format(path=exc.filename or target, reason=exc.strerror or exc)) from None
    for warning in merged.warnings:
        click.echo(warning)
    click.echo(f"Merged {len(outdirs)} outputs: {merged.rows} students; gradebook in {target}")
