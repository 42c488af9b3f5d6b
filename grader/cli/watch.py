"""``grade watch``: the student's home screen. A save grades what was saved; keys do the rest.

Three things happen at once. A thread watches the folder (``watchfiles``) and hands over
the files saved once ``--debounce`` seconds pass without another save; a thread reads
keys; the main thread grades, on one worker kept for the whole watch, and draws. The
screen says "grading…" the moment a grade starts, so a verdict on screen is never an old
one. A grade nobody wants any more is not waited for: ``q`` interrupts it as Ctrl-C does
(a signal to the main thread), and so does a new save of a file being graded, after which
the worker, and everything it started, is replaced.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any, Self, TextIO

import click
import watchfiles
from rich.text import Text
from watchfiles.main import FileChange

from grader.cli import CannotGrade, kit_option, main
from grader.cli.student import (
    ALREADY_STUB,
    folder_argument,
    grade_quietly,
    is_original_stub,
    put_back_stub,
    reset_question,
    reveal_hints,
)
from grader.cli.student_grading import exercise_folder
from grader.cli.terminal import ansi_terminal, text_look
from grader.kit import ExerciseSpec, Kit, check_files, load_kit, solution_folders
from grader.leftovers import owned_folder
from grader.model import CheckStatus, ExerciseResult, ExerciseStatus, Report
from grader.render.text import (
    ALL_PASSED,
    STATUS_STYLE,
    check_lines,
    exercise_lines,
    output_lines,
    render_hints,
    render_progress,
    to_string,
)
from grader.runner.limits import Limits
from grader.runner.parent.kept_worker import KeptWorker
from grader.runner.parent.launcher import judges_for
from grader.runner.parent.sandbox import detect
from grader.student_progress import apply_progress, next_to_do, passed_count

try:
    import termios
    import tty
except ImportError:  # Windows: no terminal modes; Ctrl-C quits
    termios = None  # type: ignore[assignment]  # no termios on Windows

DEFAULT_DEBOUNCE = 0.05
LONGEST_BURST_MS = 1600  # saves that never pause are graded after this long all the same
POLL_MS = 100
RESTART_AFTER = 1.0  # seconds a grade runs before a new save of its file stops it
KEYS = "h hint · l list · r re-run · x reset · c check all · q quit"
NEXT_KEY = " · n next"
WATCHING = "watching {folder}: save an exercise file to grade it again"
GRADING = "grading {what}… (an exercise that hangs is stopped after {limit:g} s; a new save starts over)"
PASSED = "    passed! The reference solution, to compare: grade show-solution {id}"
ON_TO = "    n: on to {id}, when you are ready"
NOT_YET = "{id} has not passed yet: n moves on once it does."
RESET_KEYS = " [y/N]"
KEPT = "{file} is unchanged."
NO_HINTS = "{id} has no hints."
QUIT_ONLY = "Ctrl-C quits"


class Stale(Exception):
    """The grade in progress is of a file saved again since: its verdict would be an old one."""


class Interrupts:
    """Stops the main thread's grade from another thread, by a signal, as Ctrl-C does.

    ``q`` raises ``KeyboardInterrupt`` (the watch ends). A save of a file being graded
    raises :class:`Stale` in that grade, once it has run :data:`RESTART_AFTER` seconds:
    a grade takes a fraction of that, less than starting a new worker would, so a save
    during one waits for it, and only a grade that hangs is given up. Where threads cannot
    be sent a signal (Windows), a grade runs to its end.
    """

    def __init__(self) -> None:
        self.grading: frozenset[str] = frozenset()  # the files of the grade in progress
        self._grade = 0  # which grade runs (or ran last)
        self._since = 0.0
        self._stale = 0  # the grade a later save made stale
        self._restart = 0  # the grade the signal sent is for (0: the signal means quit)
        self._main = threading.main_thread().ident
        self._previous: Any = None

    def __enter__(self) -> Self:
        self._previous = signal.signal(signal.SIGINT, self._on_signal)
        return self

    def __exit__(self, *exc_info: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    @contextlib.contextmanager
    def grade(self, files: set[str]) -> Iterator[None]:
        """Within the block, the main thread grades ``files``."""
        self._grade += 1
        self._since = time.monotonic()
        self.grading = frozenset(files)
        try:
            yield
        finally:
            self.grading = frozenset()

    def quit(self) -> None:
        if self.grading:
            self._signal()

    def saved(self, files: set[str]) -> None:
        if files & self.grading:
            self._stale = self._grade
        self.tick()

    def tick(self) -> None:
        """Give up a stale grade once it has run long enough (called a few times a second)."""
        grade = self._grade
        long_enough = time.monotonic() - self._since >= RESTART_AFTER
        if self.grading and self._stale == grade and self._restart != grade and long_enough:
            self._restart = grade
            self._signal()

    def _signal(self) -> None:
        if hasattr(signal, "pthread_kill") and self._main is not None:
            signal.pthread_kill(self._main, signal.SIGINT)

    def _on_signal(self, number: int, frame: FrameType | None) -> None:
        if self._restart:
            restart, self._restart = self._restart, 0
            if self.grading and restart == self._grade:
                raise Stale
            return
        raise KeyboardInterrupt


class Watch:
    """What the student sees: the latest verdict on every exercise, the one being worked on, and the view.

    The verdicts are the one record of progress: the header's count, the list (``l``) and
    the "next" exercise all come from them.
    """

    def __init__(self, folder: Path, kit: Kit, worker: KeptWorker | None, interrupts: Interrupts, keys: bool) -> None:
        self.folder = folder
        self.kit = kit
        self.worker = worker
        self.interrupts = interrupts
        self.keys = keys
        self.results: dict[str, ExerciseResult] = {}
        self.current: ExerciseSpec = kit.exercises[0]
        self.runs = 0
        self.owed: list[ExerciseSpec] = []  # a grade a save stopped: graded with that save
        self.own_writes: set[str] = set()  # files the watch wrote itself (a reset): their grade keeps the note
        self.view = "exercise"  # or "list", "hints", "reset"
        self.extra = ""  # the list, the hints or the question, as drawn text
        self.note = ""  # the answer to the last key, until the next key or save
        self.clear = ansi_terminal(sys.stdout) and not os.environ.get("CI")

    @property
    def report(self) -> Report:
        return Report(exercises=[self.results[spec.id] for spec in self.kit.exercises if spec.id in self.results])

    # Grading

    def grade(self, specs: list[ExerciseSpec]) -> bool:
        """Grade ``specs`` (and any a save stopped) with "grading…" on screen; False if a new save stopped it."""
        specs = [spec for spec in self.kit.exercises if spec in specs or spec in self.owed]
        what = specs[0].id if len(specs) == 1 else f"{len(specs)} exercises"
        self.draw(grading=GRADING.format(what=what, limit=max(spec.timeout for spec in specs)))
        try:
            with self.interrupts.grade({spec.file for spec in specs}):
                graded = grade_quietly(self.folder, self.kit, specs, self.worker)
        except Stale:
            if self.worker is not None:
                self.worker.close()  # stopped in the middle of a job: a fresh one for the next
            self.owed = specs
            return False
        self.owed = []
        self.runs += 1
        self.results.update((result.id, result) for result in graded.exercises)
        return True

    def start(self) -> None:
        if self.grade(list(self.kit.exercises)):
            self.current = self.following() or self.kit.exercises[-1]
            self.show("exercise")

    def saved(self, files: set[str]) -> None:
        """Grade every exercise saved; the one written last is the one being worked on."""
        specs = [spec for spec in self.kit.exercises if spec.file in files]
        if not self.grade(specs):
            return
        if not files <= self.own_writes:
            self.note = ""
        self.own_writes -= files
        self.current = being_edited(self.folder, specs)
        self.show("exercise")

    # Keys

    def key(self, key: str) -> bool:
        """Act on one key; False when the student quits."""
        if key == "q":
            return False
        if self.current.id not in self.results:
            return True  # nothing graded yet: a save stopped the first grade, and its grade is coming
        answering, self.note = self.view == "reset", ""
        actions = {"h": self.hint, "l": self.show_list, "r": self.rerun, "x": self.reset, "n": self.next, "c": self.check_all}
        try:
            if answering:
                self.answer_reset(key == "y")
            elif key in actions:
                actions[key]()
            else:
                self.show("exercise")  # any other key puts the list, the hints or a note away
        except CannotGrade as exc:  # the progress record or the file cannot be written
            self.note = exc.message
            self.show("exercise")
        return True

    def hint(self) -> None:
        if not self.current.hints:
            self.note = NO_HINTS.format(id=self.current.id)
            self.show("exercise")
            return
        shown, new = reveal_hints(self.folder, self.current, self.result())
        self.extra = render_hints(self.current.id, shown, len(self.current.hints), revealed=new, **text_look())
        self.show("hints")

    def show_list(self) -> None:
        report = self.report
        apply_progress(report, self.folder)  # hints taken with `grade hint` meanwhile count too
        available = {spec.id: len(spec.hints) for spec in self.kit.exercises}
        self.extra = render_progress(report, available, folder=str(self.folder), **text_look())
        self.show("list")

    def rerun(self) -> None:
        if self.grade([self.current]):
            self.show("exercise")

    def reset(self) -> None:
        if is_original_stub(self.folder, self.current):
            self.note = ALREADY_STUB.format(file=self.folder / self.current.file)
            self.show("exercise")
            return
        self.extra = to_string([Text(reset_question(self.folder, self.current) + RESET_KEYS, style="bold")], **text_look())
        self.show("reset")

    def answer_reset(self, yes: bool) -> None:
        if yes:
            self.own_writes.add(self.current.file)
            self.note = put_back_stub(self.folder, self.current)
        else:
            self.note = KEPT.format(file=self.folder / self.current.file)
        self.show("exercise")

    def next(self) -> None:
        following = self.following()
        if not self.passed():
            self.note = NOT_YET.format(id=self.current.id)
        elif following is not None:
            self.current = following
        self.show("exercise")

    def check_all(self) -> None:
        if self.grade(list(self.kit.exercises)):
            self.show_list()

    # What is shown

    def result(self) -> ExerciseResult:
        return self.results[self.current.id]

    def passed(self) -> bool:
        return self.current.id in self.results and self.result().status is ExerciseStatus.PASSED

    def following(self) -> ExerciseSpec | None:
        """The exercise to go on to: the first not passed yet, as `grade list` says ("Next up")."""
        upcoming = next_to_do(self.report)
        return self.kit.exercise(upcoming.id) if upcoming else None

    def show(self, view: str) -> None:
        self.view = view
        self.draw()

    def draw(self, grading: str = "") -> None:
        """Replace the screen on a terminal; elsewhere, append the new one after a blank line."""
        look = text_look()
        fancy = look["symbols"]
        if grading and not self.clear:
            click.echo(to_string([Text(grading)], **look), nl=False)
            return
        done = f"{passed_count(self.report)}/{len(self.kit.exercises)} done"
        parts = ["asynclings watch", "grading…" if grading else f"grade #{self.runs}", done]
        lines = [Text((" · " if fancy else " | ").join(parts), style="bold"), Text()]
        if self.note:
            lines += [Text(self.note, style="yellow"), Text()]
        if grading:
            lines.append(Text(grading, style="cyan"))
        elif self.view != "list":
            lines += self.verdict(fancy=fancy)
        text = to_string(lines, **look)
        if not grading and self.view != "exercise":
            text += ("" if self.view == "list" else "\n") + self.extra
        keys = KEYS + (NEXT_KEY if not grading and self.passed() and self.following() else "")
        footer = [Text(), Text(WATCHING.format(folder=self.folder), style="dim"), Text(keys if self.keys else QUIT_ONLY, style="dim")]
        text += to_string(footer, **look)
        if self.clear:
            click.clear()
        else:
            click.echo()
        click.echo(text, nl=False)

    def verdict(self, *, fancy: bool) -> list[Text]:
        if self.current.id not in self.results:
            return []
        result = self.result()
        lines = diagnosis(result, fancy=fancy)
        if result.status is ExerciseStatus.PASSED:
            lines.append(Text(PASSED.format(id=result.id), style="green"))
            following = self.following()
            if following:
                lines.append(Text(ON_TO.format(id=following.id), style="green"))
        if len(self.results) == len(self.kit.exercises) and self.report.all_passed:
            lines += [Text(), Text(ALL_PASSED, style="bold green")]
        return lines


def diagnosis(exercise: ExerciseResult, *, fancy: bool) -> list[Text]:
    """The exercise's line, then what to fix first: the first check that failed for a reason of
    its own (one pointing at the student's line, or not just repeating why the whole exercise
    failed), with its line and hint.

    Why the whole exercise failed (a hang, a crash, an early exit) comes after it, unless
    that check said it already. With no such check, that reason comes first, and what the
    code printed after it, since it may say more.
    """
    header, *rest = exercise_lines(exercise, fancy=fancy)
    if exercise.status in (ExerciseStatus.PASSED, ExerciseStatus.NOT_STARTED):
        return [header, *rest]
    said = exercise.message
    why = [Text(f"    {said}", style=STATUS_STYLE[exercise.status][2])] if said else []
    failing = [check for check in exercise.checks if check.status is not CheckStatus.PASSED]
    own = [
        check
        for check in failing
        if check.status is not CheckStatus.SKIPPED and (check.source or not said or said not in check.message)
    ]
    if own:
        return [header, *check_lines(own[0], fancy=fancy), *([] if said and said in own[0].message else why)]
    lines = [header, *(why or [line for check in failing[:1] for line in check_lines(check, fancy=fancy)])]
    return lines + (output_lines(exercise) if exercise.output.strip() else [])


def being_edited(folder: Path, specs: list[ExerciseSpec]) -> ExerciseSpec:
    """Of the exercises just saved, the one whose file was written last."""

    def written(spec: ExerciseSpec) -> int:
        try:
            return (folder / spec.file).stat().st_mtime_ns
        except OSError:
            return -1

    return max(specs, key=written)


@main.command("watch")
@folder_argument
@click.option(
    "--debounce",
    type=click.FloatRange(min=0.01),
    default=DEFAULT_DEBOUNCE,
    show_default=True,
    help="Seconds of quiet after a save before grading: saves closer together than this grade once.",
)
@kit_option
def watch_command(path: Path | None, debounce: float, kit_path: Path | None) -> None:
    """Watch PATH (default: ./exercises): every save grades what you saved and shows the first thing to fix. Keys: h hint, l list, r re-run, x reset, n next, c check all, q quit."""
    kit = load_kit(kit_path)
    folder = exercise_folder(path)
    files = {spec.file for spec in kit.exercises}
    inputs: queue.Queue[tuple[str, Any]] = queue.Queue()
    with contextlib.suppress(KeyboardInterrupt), keyboard(sys.stdin) as key_fd, Interrupts() as interrupts:
        stop = threading.Event()
        watching = threading.Event()
        threading.Thread(
            target=watch_saves, args=(folder, files, debounce, inputs, interrupts, stop, watching), daemon=True
        ).start()
        if key_fd is not None:
            threading.Thread(target=read_keys, args=(key_fd, inputs, interrupts), daemon=True).start()
        try:
            with kept_worker(folder, kit) as worker:
                if worker is not None:
                    worker.start()  # it loads while the watch begins
                watching.wait()  # no save from here on is missed
                watch = Watch(folder, kit, worker, interrupts, keys=key_fd is not None)
                watch.start()
                while True:
                    kind, value = inputs.get()
                    if kind == "saved":
                        watch.saved(value)
                    elif kind == "lost":
                        raise CannotGrade(value)
                    elif kind == "end" or not watch.key(value):
                        return
        finally:
            stop.set()


@contextlib.contextmanager
def kept_worker(folder: Path, kit: Kit) -> Iterator[KeptWorker | None]:
    """One worker for the whole watch: a save is graded without starting Python and pytest again."""
    if not detect().has_fork:
        yield None
        return
    hidden = (folder, *solution_folders(kit.exercises))
    root = owned_folder("watch")  # named after this process: removed by a later grade if this one is killed
    try:
        with KeptWorker(root, check_files(kit.exercises), Limits(), hidden, judges_for(len(kit.exercises))) as worker:
            yield worker
    finally:
        shutil.rmtree(root, ignore_errors=True)


def watch_saves(
    folder: Path,
    files: set[str],
    debounce: float,
    inputs: queue.Queue[tuple[str, Any]],
    interrupts: Interrupts,
    stop: threading.Event,
    watching: threading.Event,
) -> None:
    """Hand over the exercise files saved, each time ``debounce`` seconds pass without another save.

    ``watching`` is set as soon as the folder is watched; ``stop`` ends the thread.
    """
    try:
        for changes in watchfiles.watch(
            folder,
            watch_filter=lambda _change, path: Path(path).name in files,
            debounce=max(LONGEST_BURST_MS, round(debounce * 1000)),
            step=round(debounce * 1000),
            stop_event=stop,
            rust_timeout=POLL_MS,
            yield_on_timeout=True,
            recursive=False,
        ):
            watching.set()
            saved = _names(changes)
            if saved:
                inputs.put(("saved", saved))
                interrupts.saved(saved)
            else:
                interrupts.tick()
    except Exception as exc:  # noqa: BLE001 - the folder went away, say: the watch ends with one line
        inputs.put(("lost", f"stopped watching {folder}: {exc}"))
    finally:
        watching.set()


def _names(changes: set[FileChange]) -> set[str]:
    return {Path(path).name for _change, path in changes}


def read_keys(fd: int, inputs: queue.Queue[tuple[str, Any]], interrupts: Interrupts) -> None:
    """Hand over each key typed; ``q`` also stops a grade in progress. The end of input ends the watch."""
    while True:
        try:
            typed = os.read(fd, 64)
        except OSError:
            typed = b""
        if not typed:
            inputs.put(("end", None))
            return
        for key in typed.decode("utf-8", errors="ignore").lower():
            inputs.put(("key", key))
            if key == "q":
                interrupts.quit()


@contextlib.contextmanager
def keyboard(stream: TextIO) -> Iterator[int | None]:
    """The descriptor to read keys from (``None``: no keys here; Ctrl-C quits).

    On a terminal, keys are read one at a time without echo (cbreak mode), and the
    terminal's own mode is put back on the way out, however the watch ends.
    """
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = -1
    if fd < 0 or termios is None:
        yield None
        return
    if not os.isatty(fd):
        yield fd
        return
    saved = termios.tcgetattr(fd)
    tty.setcbreak(fd)
    try:
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
