"""The student's loop through the CLI: ``grade list``, ``hint``, ``reset``, ``show-solution``.

Each test works on a copy of the kit's stubs in a temporary folder, so the progress
record (``.asynclings/`` next to the exercises) is the test's own.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from pathlib import Path, PurePath

import pytest
from click.testing import CliRunner

import grader.cli.terminal
from grader.cli import main
from grader.cli.terminal import text_look, use_color
from grader.kit import Kit
from grader.model import CheckResult, CheckStatus, ExerciseResult, ExerciseStatus, Report, SourceRef, Span
from grader.render.text import render_text
from grader.student_progress import STATE_DIR, STATE_FILE, Progress

from .conftest import GOLDEN, expected_score

SLOW = GOLDEN / "03_concurrency" / "await_in_loop" / "03_concurrency.py"
STUDENT_VERSION = "# my attempt\n"


def native(path: str) -> str:
    """``path`` as this system prints it (``exercises\\03.py`` on Windows)."""
    return str(PurePath(path))


@pytest.fixture
def home(tmp_path: Path, kit: Kit, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A student's folder: the kit's stubs in ./exercises, and the working directory there."""
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    for spec in kit.exercises:
        (exercises / spec.file).write_bytes(spec.stub.read_bytes())
    monkeypatch.chdir(tmp_path)
    for name in ("NO_COLOR", "CI", "ASYNCLINGS_KIT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def grade(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.output


def recorded(home: Path) -> dict[str, object]:
    return json.loads((home / STATE_DIR / STATE_FILE).read_text(encoding="utf-8"))["folders"]["exercises"]


def report_fields(exercise_id: str) -> tuple[int, bool]:
    _, output = grade("-e", exercise_id, "--format", "json")
    (exercise,) = json.loads(output)["exercises"]
    return exercise["hints_used"], exercise["solution_viewed"]


def test_list_shows_status_score_hints_next_and_progress(home: Path, kit: Kit) -> None:
    (home / "exercises" / "01_coroutines.py").write_bytes(kit.exercise("01_coroutines").solution.read_bytes())
    (home / "exercises" / "03_concurrency.py").write_bytes(SLOW.read_bytes())
    grade("hint", "03")
    code, output = grade("list")
    slow = kit.exercise("03_concurrency")
    seen = {"01_coroutines": ("PASS", kit.exercise("01_coroutines").max_score, ""), "03_concurrency": ("FAIL", expected_score(SLOW.parent), f"hints 1/{len(slow.hints)}")}
    rows: list[str] = []
    for spec in kit.exercises:  # every count from the kit; the columns' widths are the renderer's
        if spec.group and (not rows or spec is next(e for e in kit.exercises if e.group == spec.group)):
            members = [e for e in kit.exercises if e.group == spec.group]
            got, passed = sum(seen.get(e.id, ("", 0, ""))[1] for e in members), sum(seen.get(e.id, ("",))[0] == "PASS" for e in members)
            rows += ([""] if rows else []) + [f"{spec.group} {got:g}/{sum(e.max_score for e in members):g} ({passed}/{len(members)} exercises passed)"]
        status, score, notes = seen.get(spec.id, ("TODO", 0, ""))
        rows.append(" ".join(filter(None, [">" if spec.id == "02_event_loop" else "", status, spec.id, f"{score:g}/{spec.max_score:g}", notes, spec.title])))
    lines = output.splitlines()
    count, points, shown = len(kit.exercises), sum(score for _, score, _ in seen.values()), len(rows)
    assert code == 0
    assert [" ".join(line.split()) for line in lines[:shown]] == rows
    assert lines[shown] == "" and re.fullmatch(rf"\[#+\.+\]  1/{count} done  \({points:g}/{kit.max_score:g} points\)", lines[shown + 1])
    assert lines[shown + 2:] == [f"Next up: 02_event_loop  edit {native('exercises/02_event_loop.py')}; stuck? grade hint 02_event_loop"]


def test_list_when_everything_passes(home: Path, kit: Kit) -> None:
    count, total = len(kit.exercises), kit.max_score
    code, output = grade("list", str(home.parent / home.name / "exercises"), "--kit", str(kit.path))
    assert code == 0 and f"[....................]  0/{count} done  (0/{total:g} points)" in output
    for spec in kit.exercises:
        (home / "exercises" / spec.file).write_bytes(spec.solution.read_bytes())
    code, output = grade("list")
    assert code == 0
    assert output.splitlines()[-2:] == [f"[####################]  {count}/{count} done  ({total:g}/{total:g} points)", "Every exercise passes. Well done!"]
    assert ">" not in output


def test_hint_reveals_one_more_each_time_and_the_report_counts_them(home: Path, kit: Kit) -> None:
    hints = kit.exercise("03_concurrency").hints
    count = len(hints)
    again = "run `grade hint 03_concurrency` again if you are still stuck."
    assert grade("hint", "03") == (0, f"Hints for 03_concurrency (1 of {count}):\n  1. {hints[0]}\n{count - 1} more: {again}\n")
    _, output = grade("hint", "03_concurrency")
    assert output == f"Hints for 03_concurrency (2 of {count}):\n  1. {hints[0]}\n  2. {hints[1]}\n{count - 2} more: {again}\n"
    for _ in range(count - 2):
        _, output = grade("hint", "03")
    assert output.endswith(f"  {count}. {hints[-1]}\nThat was the last hint.\n")
    _, output = grade("hint", "03")
    assert output.endswith(f"  {count}. {hints[-1]}\nNo more hints: these are all of them.\n")
    assert recorded(home)["03_concurrency"]["hints_used"] == count
    assert report_fields("03") == (count, False)
    assert report_fields("04") == (0, False)


def test_hint_all_shows_every_hint_at_once(home: Path, kit: Kit) -> None:
    code, output = grade("hint", "05", "--all")
    total = len(kit.exercise("05_queues").hints)
    assert code == 0 and f"({total} of {total})" in output
    assert output.endswith("That was the last hint.\n")
    assert recorded(home)["05_queues"]["hints_used"] == total


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["hint", "99"], "Error: exercise '99' matches no exercise; valid ids: "),
        (["reset", "03", "/no/such/folder"], f"Error: path not found: {native('/no/such/folder')}\n"),
        (["show-solution", "0"], "Error: exercise '0' is ambiguous; valid ids: "),
    ],
    ids=["unknown-exercise", "missing-folder", "ambiguous-id"],
)
def test_bad_input_is_one_line_and_exit_2(home: Path, args: list[str], message: str) -> None:
    code, output = grade(*args)
    assert code == 2
    assert output.startswith(message) and output.count("\n") == 1


def test_no_exercises_folder_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert grade("list") == (2, f"Error: no exercises folder in {tmp_path} or any folder above it (run grade in the kit's folder, or give PATH)\n")


def test_from_inside_the_exercises_folder_every_command_finds_it(home: Path, kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "exercises" / "03_concurrency.py").write_bytes(SLOW.read_bytes())
    monkeypatch.chdir(home / "exercises")
    code, output = grade("list")
    assert code == 0 and f"Next up: 01_coroutines  edit {os.path.join('.', '01_coroutines.py')}" in output
    assert grade("hint", "3")[0] == 0 and recorded(home)["03_concurrency"]["hints_used"] == 1
    code, output = grade("reset", "3", "--yes")
    assert code == 0 and output.startswith("Reset 03_concurrency.py to the original stub.")
    assert grade("show-solution", "3")[0] == 1


def test_reset_asks_keeps_a_backup_and_restores_the_stub(home: Path, kit: Kit) -> None:
    spec = kit.exercise("03_concurrency")
    mine = home / "exercises" / spec.file
    mine.write_bytes(spec.solution.read_bytes())
    question = (
        f"Replace {native('exercises/03_concurrency.py')} with the original stub? "
        f"Your version is kept in {native('.asynclings/backups')} [y/N]: "
    )
    assert grade("reset", "03", stdin="n\n") == (1, f"{question}n\nAborted!\n")
    assert mine.read_bytes() == spec.solution.read_bytes()
    code, output = grade("reset", "03", stdin="y\n")
    match = re.fullmatch(
        re.escape(f"{question}y\nReset {native('exercises/03_concurrency.py')} to the original stub. Your version is saved as ")
        + "(" + re.escape(native(".asynclings/backups") + os.sep) + r"03_concurrency\.\d{8}-\d{6}\.py)\n",
        output,
    )
    assert code == 0 and match, output
    assert (home / match[1]).read_bytes() == spec.solution.read_bytes()
    assert mine.read_bytes() == spec.stub.read_bytes()
    assert recorded(home)["03_concurrency"]["backups"] == [Path(match[1]).relative_to(STATE_DIR).as_posix()]
    # The backup holds a passing solution, and is still not graded: the exercise is a stub again.
    code, output = grade("-e", "03", "--format", "json")
    assert json.loads(output)["exercises"][0]["status"] == "not_started"
    assert grade("reset", "03") == (0, f"{native('exercises/03_concurrency.py')} is the original stub already: nothing to reset.\n")


def test_reset_yes_does_not_ask_and_backups_never_collide(home: Path, kit: Kit) -> None:
    mine = home / "exercises" / "02_event_loop.py"
    for attempt in ("first", "second"):
        mine.write_text(f"# {attempt}\n")
        code, output = grade("reset", "02", "--yes")
        assert code == 0 and output.startswith(f"Reset {native('exercises/02_event_loop.py')} to the original stub. Your version is saved as ")
    backups = sorted((home / STATE_DIR / "backups").iterdir())
    assert sorted(b.read_text() for b in backups) == ["# first\n", "# second\n"]
    assert len(recorded(home)["02_event_loop"]["backups"]) == 2
    assert mine.read_bytes() == kit.exercise("02_event_loop").stub.read_bytes()


def test_reset_restores_a_deleted_file_without_a_backup(home: Path, kit: Kit) -> None:
    (home / "exercises" / "04_monitoring.py").unlink()
    assert grade("reset", "04") == (0, f"Reset {native('exercises/04_monitoring.py')} to the original stub.\n")
    assert not (home / STATE_DIR).exists()


def test_show_solution_waits_for_a_pass_unless_forced_and_records_force(home: Path, kit: Kit) -> None:
    spec = kit.exercise("03_concurrency")
    code, output = grade("show-solution", "03")
    assert (code, output) == (
        1,
        ("03_concurrency has not passed yet (not_started, 0/20): its solution opens once it does.\n"
        "Stuck? `grade hint 03_concurrency` gives a hint; `grade show-solution 03_concurrency --force` shows it now "
        "(recorded in your report).\n"),
    )
    assert not (home / STATE_DIR).exists()
    code, output = grade("show-solution", "03", "--force")
    assert code == 0
    assert output == (
        f"Reference solution for 03_concurrency:\n\n{spec.solution.read_text(encoding='utf-8').rstrip()}\n\n"
        "Shown before the exercise passed: this is recorded in your report (solution_viewed).\n"
    )
    assert report_fields("03") == (0, True)


def test_show_solution_after_a_pass_is_not_recorded(home: Path, kit: Kit) -> None:
    spec = kit.exercise("03_concurrency")
    (home / "exercises" / spec.file).write_bytes(spec.solution.read_bytes())
    code, output = grade("show-solution", "03")
    assert code == 0
    assert output.startswith(f"Reference solution for 03_concurrency:\n\n{spec.solution.read_text(encoding='utf-8')[:40]}")
    assert output.endswith("You passed this one: compare, and keep whichever reads better to you.\n")
    assert report_fields("03") == (0, False)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"folders": {"exercises": {"03_concurrency": {"hints_used": "two", "backups": 7}}}}', "\xff\xfe"])
def test_a_damaged_progress_file_reads_as_no_progress(home: Path, content: str, kit: Kit) -> None:
    state = home / STATE_DIR
    state.mkdir()
    (state / STATE_FILE).write_text(content, encoding="latin-1")
    assert report_fields("03") == (0, False)
    code, output = grade("hint", "03")
    assert code == 0 and f"(1 of {len(kit.exercise('03_concurrency').hints)})" in output
    assert recorded(home)["03_concurrency"]["hints_used"] == 1


def test_progress_is_kept_per_exercises_folder(tmp_path: Path) -> None:
    for name in ("exercises", "solutions"):
        (tmp_path / name).mkdir()
    mine = Progress(tmp_path / "exercises")
    entry = mine.of("03_concurrency")
    entry.hints_used = 2
    mine.update("03_concurrency", entry)
    assert Progress(tmp_path / "exercises").of("03_concurrency").hints_used == 2
    assert Progress(tmp_path / "solutions").of("03_concurrency").hints_used == 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [STATE_DIR]


def test_an_unwritable_progress_folder_is_one_line_not_a_traceback(home: Path) -> None:
    (home / STATE_DIR).write_text("a file where the folder should be")
    code, output = grade("hint", "03")
    assert code == 2 and output.startswith("Error: cannot save progress to ") and output.count("\n") == 1


# The text report in its places: a terminal, a pipe, NO_COLOR, CI, --quiet.

FAILED_REPORT = Report(
    exercises=[
        ExerciseResult(
            id="03_concurrency",
            title="Sequential vs concurrent",
            status=ExerciseStatus.FAILED,
            score=14,
            max_score=20,
            file="03_concurrency.py",
            checks=[
                CheckResult("loads", "loads", CheckStatus.PASSED, 0, 0),
                CheckResult(
                    "concurrent_timing",
                    "runs concurrently",
                    CheckStatus.FAILED,
                    0,
                    6,
                    message="your jobs ran one after another",
                    help="Create all the tasks first.",
                    timeline=[Span("A", 0, 2), Span("B", 2, 3)],
                    source=SourceRef("03_concurrency.py", 31, "result = await task"),
                ),
            ],
        )
    ]
)


LONG_REPORT = Report(
    exercises=[
        ExerciseResult(
            id="03_concurrency",
            title="Sequential vs concurrent",
            status=ExerciseStatus.FAILED,
            score=14,
            max_score=20,
            file="03_concurrency.py",
            checks=[
                CheckResult("loads", "loads", CheckStatus.PASSED, 0, 0),
                CheckResult(
                    "concurrent_timing",
                    "run_concurrently runs three jobs concurrently: total = the longest delay",
                    CheckStatus.FAILED,
                    0,
                    6,
                    message="your 3 jobs finished at t=6.0 s, one after another (C 0.0→2.0 s, A 2.0→5.0 s, B 5.0→6.0 s); started together they would end at t=3.0 s",
                    timeline=[Span("C", 0, 2), Span("A", 2, 5), Span("B", 5, 6)],
                ),
            ],
        )
    ]
)


def test_a_failed_check_points_at_the_students_line_and_draws_the_timeline() -> None:
    assert render_text(FAILED_REPORT, color=False) == (
        "FAIL 03_concurrency  Sequential vs concurrent  14/20\n"
        "    ok loads  0/0\n"
        "    x  runs concurrently  0/6\n"
        "        your jobs ran one after another\n"
        "        --> 03_concurrency.py:31\n"
        "        31 | result = await task\n"
        "           0 s                              3 s\n"
        "        A  ########################............  0->2 s\n"
        "        B  ........................############  2->3 s\n"
        "        hint: Create all the tasks first.\n"
        "Score: 14/20  (0/1 exercises passed)\n"
    )


def test_colour_only_on_a_terminal_without_no_color_or_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setattr(grader.cli.terminal, "windows_vt_mode", lambda stream: True)  # on Windows: a console that takes ANSI
    assert use_color()
    assert "\x1b[" in render_text(FAILED_REPORT, color=True)
    for name in ("NO_COLOR", "CI"):
        monkeypatch.setenv(name, "1")
        assert not use_color()
        monkeypatch.delenv(name)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    assert not use_color()
    plain = render_text(FAILED_REPORT, color=False)
    assert plain.isascii() and "\x1b" not in plain


class UTF8Terminal(io.TextIOWrapper):
    """Standard output as a UTF-8 terminal shows it."""

    def isatty(self) -> bool:
        return True

    def fileno(self) -> int:
        return 1


def test_no_color_takes_the_colours_away_and_keeps_the_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdout", UTF8Terminal(io.BytesIO(), encoding="utf-8"))
    monkeypatch.setattr(grader.cli.terminal, "windows_vt_mode", lambda stream: True)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: os.terminal_size((80, 24)))
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("CI", raising=False)  # CI logs keep to ASCII: this test is about a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert text_look() == {"color": False, "symbols": True, "width": 80}
    text = render_text(LONG_REPORT, **text_look())
    assert "\x1b" not in text and "✘ 03_concurrency" in text and "████" in text
    assert text.splitlines()[2:6] == [
        "    ✘ run_concurrently runs three jobs concurrently: total = the longest delay",
        "      0/6",
        "        your 3 jobs finished at t=6.0 s, one after another (C 0.0→2.0 s, A",
        "        2.0→5.0 s, B 5.0→6.0 s); started together they would end at t=3.0 s",
    ]


def test_piped_from_a_terminal_the_plain_text_wraps_at_its_width_and_at_word_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr(sys.stderr, "fileno", lambda: 2)
    monkeypatch.setattr(os, "get_terminal_size", lambda fd: os.terminal_size((80, 24)))
    for name in ("NO_COLOR", "CI", "COLUMNS"):
        monkeypatch.delenv(name, raising=False)
    assert text_look() == {"color": False, "symbols": False, "width": 80}
    text = render_text(LONG_REPORT, **text_look())
    assert text.isascii() and max(len(line) for line in text.splitlines()) <= 80
    assert text.splitlines()[2:5] == [
        "    x  run_concurrently runs three jobs concurrently: total = the longest delay",
        "       0/6",
        "        your 3 jobs finished at t=6.0 s, one after another (C 0.0->2.0 s, A",
    ]
    monkeypatch.setenv("COLUMNS", "120")
    assert text_look()["width"] == 120
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert text_look()["width"] is None  # a file or a log that tools read: never wrapped


def test_quiet_is_only_the_score_line() -> None:
    assert render_text(FAILED_REPORT, color=True, quiet=True).count("\n") == 1
    assert render_text(FAILED_REPORT, color=False, quiet=True) == "Score: 14/20  (0/1 exercises passed)\n"
