"""``grade watch`` driven as a student would: in a real pseudo-terminal, saving files and pressing keys.

The watch screen names how many times it has graded (``grade #N``), so the tests can
count regrades from what a student sees.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.text import Text

from grader.cli.watch import diagnosis
from grader.kit import Kit, load_kit
from grader.model import CheckResult, CheckStatus, ExerciseResult, ExerciseStatus, SourceRef
from grader.student_progress import Progress
from grader.verdict import EARLY_EXIT_REASON, NOT_COUNTED, TIMEOUT_REASON

from .conftest import GOLDEN, ROOT, expected_score

if sys.platform != "win32":
    import termios

    from .terminal import WAIT_SECONDS, Terminal, left_behind

# On Windows there is no pseudo-terminal to drive, and `grade watch` reads no keys at all
# (no termios): it says "Ctrl-C quits", and only that does.
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Windows has no pseudo-terminals (pty, termios)")

SLOW = GOLDEN / "03_concurrency" / "await_in_loop" / "03_concurrency.py"
NO_RESULTS = GOLDEN / "03_concurrency" / "hard_coded" / "03_concurrency.py"
WRONG_ORDER = GOLDEN / "03_concurrency" / "completion_order" / "03_concurrency.py"
KEYS = "h hint · l list · r re-run · x reset · c check all · q quit"
GRADE = [sys.executable, "-m", "grader"]
QUIT_WITHIN_SECONDS = 1.0
# Every count on the screen, from the kit: how many exercises, the points, 03's score when SLOW.
KIT = load_kit()
COUNT = len(KIT.exercises)
CONCURRENCY = KIT.exercise("03_concurrency")
SLOW_POINTS = expected_score(SLOW.parent)
SLOW_SCORE = f"{SLOW_POINTS:g}/{CONCURRENCY.max_score:g}"
HINTS_SEEN = f"hints 1/{len(CONCURRENCY.hints)}"


def done(passed: int, points: float | None = None) -> str:
    """The watch's and `grade list`'s progress: ``1/5 done``, with ``(34/100 points)`` when given the points."""
    return f"{passed}/{COUNT} done" + (f"  ({points:g}/{KIT.max_score:g} points)" if points is not None else "")


@pytest.fixture
def folder(tmp_path: Path, kit: Kit) -> Path:
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    for spec in kit.exercises:
        (exercises / spec.file).write_bytes(spec.stub.read_bytes())
    return exercises


@pytest.fixture
def start(folder: Path) -> Iterator[Callable[..., Terminal]]:
    """Start `grade watch` on ``folder`` in a terminal (``columns`` wide, with ``env``)."""
    started: list[Terminal] = []

    def run(*options: str, columns: int = 140, env: dict[str, str] | None = None) -> Terminal:
        command = [*GRADE, "watch", "exercises", "--kit", str(ROOT / "grader" / "default_kit"), *options]
        started.append(Terminal(command, folder.parent, columns=columns, env=env))
        return started[-1]

    yield run
    for terminal in started:
        terminal.close()


def save(path: Path, source: Path | bytes) -> None:
    path.write_bytes(source if isinstance(source, bytes) else source.read_bytes())


def hanging(kit: Kit) -> bytes:
    """03's solution, then a loop at the top level: importing it never ends."""
    return kit.exercise("03_concurrency").solution.read_bytes() + b"\nwhile True:\n    pass\n"


def quits_cleanly(terminal: Terminal) -> None:
    terminal.press("q")
    assert terminal.wait_exit() == 0
    assert termios.tcgetattr(terminal.slave) == terminal.initial_mode


def test_a_save_shows_grading_at_once_then_the_verdict_and_a_burst_grades_once(start: Callable[..., Terminal], folder: Path, kit: Kit) -> None:
    terminal = start("--debounce", "1.0")  # the saves of the burst below come well within it
    first = terminal.wait_for(r"grade #1\b")
    assert f"asynclings watch · grade #1 · {done(0)}" in first
    assert "01_coroutines" in first and "not started" in first and KEYS in first

    exercise = folder / "03_concurrency.py"
    save(exercise, SLOW)
    grading = terminal.wait_for(r"grading…")
    assert f"asynclings watch · grading… · {done(0)}" in grading
    assert f"grading 03_concurrency… (an exercise that hangs is stopped after {CONCURRENCY.timeout:g} s" in grading
    assert "✔" not in grading and "01_coroutines" not in grading
    screen = terminal.wait_for(r"grade #2\b")
    assert "✘ 03_concurrency" in screen and SLOW_SCORE in screen
    assert "A  ············██████████████████······  2→5 s" in screen
    assert "hint: Did you await each task before creating the next?" in screen
    assert "01_coroutines" not in screen

    # Three saves in a burst: graded once, on the last version (a pass); moving on is the student's call.
    for source in (NO_RESULTS, WRONG_ORDER, kit.exercise("03_concurrency").solution):
        save(exercise, source)
    screen = terminal.wait_for(r"grade #\d+")
    assert "grade #3 " in screen and "✔ 03_concurrency" in screen and done(1) in screen
    assert "passed! The reference solution, to compare: grade show-solution 03_concurrency" in screen
    assert "n: on to 01_coroutines, when you are ready" in screen and f"{KEYS} · n next" in screen

    # One more save: had the burst graded more than once, this would not be grade #4.
    save(exercise, SLOW)
    screen = terminal.wait_for(re.escape(SLOW_SCORE))
    assert "grade #4 " in screen and done(0) in screen and "n next" not in screen
    quits_cleanly(terminal)


def test_keys_hint_list_rerun_next_and_check_all(start: Callable[..., Terminal], folder: Path, kit: Kit) -> None:
    terminal = start()
    terminal.wait_for(r"grade #1\b")
    save(folder / "03_concurrency.py", SLOW)
    terminal.wait_for(r"grade #2\b")

    # h: the hint of the check that fails (the timing one), recorded as `grade hint` records it.
    terminal.press("h")
    screen = terminal.wait_for(r"Hints for 03_concurrency")
    timing_hint = kit.exercise("03_concurrency").check("concurrent_timing").hint
    assert f"Hints for 03_concurrency (1 of {len(CONCURRENCY.hints)}):" in screen and re.sub(r"\s+", " ", screen).count(timing_hint) == 1
    assert "✘ 03_concurrency" in screen and KEYS in screen
    assert Progress(folder).of("03_concurrency").hints_used == 1

    # l: the same list as `grade list`, from the same verdicts.
    terminal.press("l")
    screen = terminal.wait_for(r"Next up:")
    assert "➜ · 01_coroutines" in screen and f"✘ 03_concurrency  {SLOW_SCORE}  {HINTS_SEEN}" in screen
    assert done(0, SLOW_POINTS) in screen
    listed = subprocess.run([*GRADE, "list"], cwd=folder.parent, capture_output=True, text=True, timeout=WAIT_SECONDS, check=False)
    assert done(0, SLOW_POINTS) in listed.stdout and f"FAIL 03_concurrency  {SLOW_SCORE}  {HINTS_SEEN}" in listed.stdout

    terminal.press(" ")  # any other key: back to the verdict
    screen = terminal.wait_for(r"✘ 03_concurrency")
    assert "Next up:" not in screen and "Hints for" not in screen

    terminal.press("r")
    screen = terminal.wait_for(r"grade #3\b")
    assert "✘ 03_concurrency" in screen

    terminal.press("n")  # not passed yet: n waits
    screen = terminal.wait_for(r"has not passed yet")
    assert "03_concurrency has not passed yet: n moves on once it does." in screen and "✘ 03_concurrency" in screen

    save(folder / "03_concurrency.py", kit.exercise("03_concurrency").solution)
    terminal.wait_for(r"grade #4\b.*\n\n✔ 03_concurrency")
    terminal.press("n")
    screen = terminal.wait_for(r"· 01_coroutines")
    assert "not started: open 01_coroutines.py" in screen and f"grade #4 · {done(1)}" in screen

    save(folder / "05_queues.py", kit.exercise("05_queues").solution)  # c grades what a save has not
    terminal.wait_for(r"grade #5\b")
    terminal.press("c")
    screen = terminal.wait_for(r"grade #6\b")
    worth = CONCURRENCY.max_score
    assert f"✔ 03_concurrency  {worth:g}/{worth:g}" in screen and "✔ 05_queues" in screen
    assert done(2, worth + kit.exercise("05_queues").max_score) in screen
    quits_cleanly(terminal)


def test_reset_key_asks_first_then_restores_the_stub_and_keeps_a_backup(start: Callable[..., Terminal], folder: Path, kit: Kit) -> None:
    exercise = folder / "03_concurrency.py"
    terminal = start()
    terminal.wait_for(r"grade #1\b")
    save(exercise, SLOW)
    terminal.wait_for(r"grade #2\b")
    question = "Replace exercises/03_concurrency.py with the original stub? Your version is kept in .asynclings/backups [y/N]"

    terminal.press("x")
    assert question in terminal.wait_for(r"\[y/N\]")
    terminal.press("n")
    assert "exercises/03_concurrency.py is unchanged." in terminal.wait_for(r"unchanged")
    assert exercise.read_bytes() == SLOW.read_bytes()

    terminal.press("x")
    terminal.wait_for(r"\[y/N\]")
    terminal.press("y")
    screen = terminal.wait_for(r"grade #3\b")
    match = re.search(r"Reset exercises/03_concurrency\.py to the original stub\. Your version is saved as\s+(\S+)", screen)
    assert match, screen
    assert "· 03_concurrency" in screen and "not started" in screen
    assert exercise.read_bytes() == kit.exercise("03_concurrency").stub.read_bytes()
    assert (folder.parent / match[1]).read_bytes() == SLOW.read_bytes()

    terminal.press("x")
    assert "exercises/03_concurrency.py is the original stub already: nothing to reset." in terminal.wait_for(r"nothing to reset")
    quits_cleanly(terminal)


def test_two_files_saved_together_are_both_graded_and_counted_as_grade_list_counts(
    start: Callable[..., Terminal], folder: Path, kit: Kit
) -> None:
    for exercise_id in ("03_concurrency", "04_monitoring"):
        spec = kit.exercise(exercise_id)
        save(folder / spec.file, spec.solution)
    terminal = start()
    assert done(2) in terminal.wait_for(r"grade #1\b")

    resets = subprocess.run(
        f"{' '.join(GRADE)} reset 03 -y && {' '.join(GRADE)} reset 04 -y", shell=True, cwd=folder.parent,
        capture_output=True, text=True, timeout=WAIT_SECONDS, check=False,
    )  # fmt: skip
    assert resets.returncode == 0, resets.stderr
    screen = terminal.wait_for(re.escape(done(0)))
    terminal.press("l")
    screen = terminal.wait_for(r"Next up:")
    for exercise_id in ("03_concurrency", "04_monitoring"):
        assert re.search(rf"· {exercise_id} +0/{kit.exercise(exercise_id).max_score:g}", screen)
    assert done(0, 0) in screen
    listed = subprocess.run([*GRADE, "list"], cwd=folder.parent, capture_output=True, text=True, timeout=WAIT_SECONDS, check=False)
    assert done(0, 0) in listed.stdout
    quits_cleanly(terminal)


def test_a_hanging_exercise_shows_grading_and_a_new_save_starts_over(start: Callable[..., Terminal], folder: Path, kit: Kit) -> None:
    terminal = start()
    terminal.wait_for(r"grade #1\b")
    exercise = folder / "03_concurrency.py"
    save(exercise, hanging(kit))
    terminal.wait_for(r"grading 03_concurrency…", seconds=2)
    time.sleep(1)  # it hangs; the student sees why, and fixes it
    fixed = time.monotonic()
    save(exercise, kit.exercise("03_concurrency").solution)
    screen = terminal.wait_for(r"✔ 03_concurrency", seconds=10)
    assert f"grade #2 · {done(1)}" in screen  # the hanging grade never finished
    assert time.monotonic() - fixed < kit.exercise("03_concurrency").timeout / 2
    quits_cleanly(terminal)


def test_q_during_a_grade_quits_at_once_and_leaves_nothing(start: Callable[..., Terminal], folder: Path, kit: Kit) -> None:
    terminal = start()
    terminal.wait_for(r"grade #1\b")
    save(folder / "03_concurrency.py", hanging(kit))
    terminal.wait_for(r"grading 03_concurrency…", seconds=2)
    time.sleep(0.5)
    pressed = time.monotonic()
    terminal.press("q")
    assert terminal.wait_exit() == 0
    assert time.monotonic() - pressed < QUIT_WITHIN_SECONDS
    assert termios.tcgetattr(terminal.slave) == terminal.initial_mode
    assert left_behind(terminal.process.pid) == []


def test_ctrl_c_quits_the_watch_as_q_does(start: Callable[..., Terminal], folder: Path, kit: Kit) -> None:
    terminal = start()
    terminal.wait_for(r"grade #1\b")
    save(folder / "03_concurrency.py", hanging(kit))
    terminal.wait_for(r"grading 03_concurrency…", seconds=2)
    pressed = time.monotonic()
    terminal.press("\x03")
    assert terminal.wait_exit() == 0
    assert time.monotonic() - pressed < QUIT_WITHIN_SECONDS
    assert termios.tcgetattr(terminal.slave) == terminal.initial_mode
    assert left_behind(terminal.process.pid) == []


def test_no_color_at_80_columns_keeps_the_layout_and_cuts_no_word(start: Callable[..., Terminal], folder: Path, tmp_path: Path) -> None:
    terminal = start(columns=80, env={"NO_COLOR": "1"})
    terminal.wait_for(r"grade #1\b")
    save(folder / "03_concurrency.py", SLOW)
    screen = terminal.wait_for(r"grade #2\b")
    assert not re.search(r"\x1b\[[0-9;]*m", terminal.raw)  # no colour at all
    assert "✘ 03_concurrency" in screen and "██████" in screen  # the layout stays
    assert max(len(line) for line in screen.splitlines()) <= 80

    copy = tmp_path / "copy"
    copy.mkdir()
    save(copy / "03_concurrency.py", SLOW)
    report = json.loads(subprocess.run([*GRADE, str(copy), "-e", "03", "-f", "json"], capture_output=True, text=True, timeout=WAIT_SECONDS, check=False).stdout)
    failed = next(check for check in report["exercises"][0]["checks"] if check["status"] == "failed")
    words = screen.split()
    for word in f"{failed['message']} {failed['help']}".replace("->", "→").split():
        assert word in words, f"{word!r} was cut in two:\n{screen}"
    quits_cleanly(terminal)


def test_watch_without_a_terminal_quits_at_end_of_input(folder: Path) -> None:
    result = subprocess.run(
        [*GRADE, "watch", str(folder)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=WAIT_SECONDS, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"asynclings watch | grade #1 | {done(0)}" in result.stdout
    assert "TODO 01_coroutines" in result.stdout
    assert result.stdout.isascii() and result.stderr == ""


# The first thing shown is what explains the failure.

CHECK_PROCESS_DIED = EARLY_EXIT_REASON.format(code=70)


def plain(lines: list[Text]) -> list[str]:
    return [line.plain for line in lines]


def test_the_diagnosis_comes_before_the_process_that_ended_early() -> None:
    exercise = ExerciseResult(
        "03_concurrency", "Sequential vs concurrent", ExerciseStatus.FAILED, 0, 20,
        checks=[
            CheckResult("loads", "loads", CheckStatus.FAILED, 0, 0, message=NOT_COUNTED.format(reason=CHECK_PROCESS_DIED)),
            CheckResult(
                "concurrent_timing", "runs concurrently", CheckStatus.FAILED, 0, 6,
                message="your 3 jobs finished at t=6.0 s, one after another", help="Create all the tasks first.",
                source=SourceRef("03_concurrency.py", 33, "await task"),
            ),
        ],
        message=CHECK_PROCESS_DIED, file="03_concurrency.py",
    )  # fmt: skip
    assert plain(diagnosis(exercise, fancy=False)) == [
        "FAIL 03_concurrency  Sequential vs concurrent  0/20",
        "    x  runs concurrently  0/6",
        "        your 3 jobs finished at t=6.0 s, one after another",
        "        --> 03_concurrency.py:33",
        "        33 | await task",
        "        hint: Create all the tasks first.",
        f"    {CHECK_PROCESS_DIED}",
    ]


def test_with_no_check_of_its_own_the_reason_comes_first_then_what_was_printed() -> None:
    stopped = TIMEOUT_REASON.format(limit=20)
    exercise = ExerciseResult(
        "03_concurrency", "Sequential vs concurrent", ExerciseStatus.FAILED, 0, 20,
        checks=[CheckResult("loads", "loads", CheckStatus.FAILED, 0, 0, message=f"not run: {stopped}")],
        message=stopped, file="03_concurrency.py", output="waiting for the jobs\n",
    )  # fmt: skip
    assert plain(diagnosis(exercise, fancy=False)) == [
        "FAIL 03_concurrency  Sequential vs concurrent  0/20",
        f"    {stopped}",
        "    your code printed:",
        "      | waiting for the jobs",
    ]
