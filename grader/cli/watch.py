"""``grade watch``: grade the exercise being edited on every save and show what to fix first.

Grading stays in the main thread, between file events, on one worker kept for the whole
watch: the watcher (``watchfiles``) is polled a few times a second, and so is the keyboard,
so ``q`` quits promptly without a second thread. A burst of saves (an editor writing a file in steps, or three quick
saves) is graded once, after ``--debounce`` seconds of quiet.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TextIO

import click
import watchfiles
from rich.text import Text
from watchfiles.main import FileChange

from grader.cli import kit_option, main, open_kit
from grader.cli.student import exercise_folder, folder_argument, grade_quietly
from grader.cli.terminal import ansi_terminal, use_color
from grader.kit import ExerciseSpec, Kit, check_files, solution_folders
from grader.leftovers import owned_folder
from grader.model import ExerciseResult, ExerciseStatus
from grader.progress import next_to_do, passed_count
from grader.render.text import ALL_PASSED, exercise_lines, to_string
from grader.runner.kept_worker import KeptWorker
from grader.runner.limits import Limits
from grader.runner.sandbox import detect

try:
    import termios
    import tty
except ImportError:  # Windows: no terminal modes; Ctrl-C quits
    termios = None  # type: ignore[assignment]

DEFAULT_DEBOUNCE = 0.3
POLL_MS = 100
STEP_MS = 50
PASSED_NOTE = "    passed: on to the next one."


class Watch:
    """The latest verdict on every exercise, the one being worked on, and how often it graded."""

    def __init__(self, folder: Path, kit: Kit, worker: KeptWorker | None = None) -> None:
        self.folder = folder
        self.kit = kit
        self.worker = worker
        self.report = grade_quietly(folder, kit, worker=worker)
        self.runs = 1
        self.current = next_to_do(self.report)
        self.just_passed: ExerciseResult | None = None

    def regrade(self, spec: ExerciseSpec) -> None:
        """Grade one exercise; when it passes, move on to the next one not passed yet."""
        (result,) = grade_quietly(self.folder, self.kit, [spec], self.worker).exercises
        self.runs += 1
        exercises = self.report.exercises
        position = next(i for i, e in enumerate(exercises) if e.id == result.id)
        exercises[position] = result
        if result.status is ExerciseStatus.PASSED:
            self.just_passed = result
            later = [e for e in exercises[position:] + exercises[:position] if e.status is not ExerciseStatus.PASSED]
            self.current = later[0] if later else None
        else:
            self.just_passed = None
            self.current = result

    def screen(self, *, fancy: bool, quit_key: str) -> list[Text]:
        done = f"{passed_count(self.report)}/{len(self.report.exercises)} done"
        parts = ["asynclings watch", f"grade #{self.runs}", done, f"{quit_key} quits"]
        lines = [Text((" · " if fancy else " | ").join(parts), style="bold"), Text()]
        if self.just_passed:
            lines += exercise_lines(self.just_passed, fancy=fancy)
            lines += [Text(PASSED_NOTE, style="green"), Text()]
        if self.current:
            lines += exercise_lines(self.current, fancy=fancy, first_failure_only=True)
        else:
            lines.append(Text(ALL_PASSED, style="bold green"))
        lines += [Text(), Text(f"watching {self.folder}: save an exercise file to grade it again", style="dim")]
        return lines


@main.command("watch")
@folder_argument
@click.option(
    "--debounce",
    type=click.FloatRange(min=0.05),
    default=DEFAULT_DEBOUNCE,
    show_default=True,
    help="Seconds of quiet after a save before grading: saves closer together than this grade once.",
)
@kit_option
def watch_command(path: Path | None, debounce: float, kit_path: Path | None) -> None:
    """Watch PATH (default: ./exercises): on every save, grade the exercise you edit and show the first thing to fix. q quits."""
    kit = open_kit(kit_path)
    folder = exercise_folder(path)
    files = {spec.file: spec for spec in kit.exercises}
    color = use_color()
    clear = ansi_terminal(sys.stdout) and not os.environ.get("CI")
    with contextlib.suppress(KeyboardInterrupt), keyboard(sys.stdin) as (wants_quit, quit_key):
        events = saves(folder, set(files), debounce, wants_quit)
        with contextlib.closing(events):
            next(events)  # the folder is watched from here on: no later save is missed
            with kept_worker(folder, kit) as worker:
                watch = Watch(folder, kit, worker)
                show(watch.screen(fancy=color, quit_key=quit_key), color=color, clear=clear)
                for saved in events:
                    watch.regrade(being_edited(folder, [files[name] for name in saved]))
                    show(watch.screen(fancy=color, quit_key=quit_key), color=color, clear=clear)


@contextlib.contextmanager
def kept_worker(folder: Path, kit: Kit) -> Iterator[KeptWorker | None]:
    """One worker for the whole watch: a save is graded without starting Python and pytest again."""
    if not detect().has_fork:
        yield None
        return
    hidden = (folder, *solution_folders(kit.exercises))
    root = owned_folder("watch")  # named after this process: removed by a later grade if this one is killed
    try:
        with KeptWorker(root, check_files(kit.exercises), Limits(), hidden) as worker:
            yield worker
    finally:
        shutil.rmtree(root, ignore_errors=True)


def show(lines: list[Text], *, color: bool, clear: bool) -> None:
    """Replace the screen on a terminal; elsewhere, append the new screen after a blank line."""
    if clear:
        click.clear()
    else:
        click.echo()
    click.echo(to_string(lines, color=color), nl=False)


def saves(folder: Path, names: set[str], debounce: float, wants_quit: Callable[[], bool]) -> Iterator[set[str]]:
    """The exercise files saved, once no save has come for ``debounce`` seconds; ends when the student quits.

    The first value, an empty set, comes as soon as the folder is watched.
    """
    events = watchfiles.watch(
        folder,
        watch_filter=lambda _change, path: Path(path).name in names,
        debounce=POLL_MS,
        step=STEP_MS,
        rust_timeout=POLL_MS,
        yield_on_timeout=True,
        recursive=False,
    )
    with contextlib.closing(events):
        pending = _names(next(events))
        last_save = time.monotonic()
        yield set()
        for changes in events:
            if wants_quit():
                return
            if changes:
                pending |= _names(changes)
                last_save = time.monotonic()
            elif pending and time.monotonic() - last_save >= debounce:
                yield pending
                pending = set()


def _names(changes: set[FileChange]) -> set[str]:
    return {Path(path).name for _change, path in changes}


def being_edited(folder: Path, specs: list[ExerciseSpec]) -> ExerciseSpec:
    """Of the exercises just saved, the one whose file was written last."""

    def written(spec: ExerciseSpec) -> int:
        try:
            return (folder / spec.file).stat().st_mtime_ns
        except OSError:
            return -1

    return max(specs, key=written)


@contextlib.contextmanager
def keyboard(stream: TextIO) -> Iterator[tuple[Callable[[], bool], str]]:
    """A poll that says whether the student asked to quit (``q``, or end of input), and the key to name.

    On a terminal, keys are read one at a time without echo (cbreak mode), and the
    terminal's own mode is put back on the way out, however the watch ends.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = -1
    if fd < 0 or termios is None:
        yield (lambda: False), "Ctrl-C"
        return
    if not os.isatty(fd):
        yield (lambda: _quit_typed(fd)), "Ctrl-C"
        return
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield (lambda: _quit_typed(fd)), "q"
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _quit_typed(fd: int) -> bool:
    """Read what was typed so far: ``q`` or the end of input means quit."""
    while select.select([fd], [], [], 0)[0]:
        typed = os.read(fd, 64)
        if not typed or b"q" in typed.lower():
            return True
    return False
