"""The ``grade`` command as a user meets it: output, exit codes, and one-line errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.kit import Kit, load_kit

from .conftest import GOLDEN, ROOT, full_marks

SLOW_SCENARIO = GOLDEN / "03_concurrency" / "await_in_loop"
VALID_IDS = "valid ids: " + ", ".join(spec.id for spec in load_kit().exercises)


def grade(*args: str, cwd: Path = ROOT) -> tuple[int, str]:
    runner = CliRunner()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(main, list(args), catch_exceptions=False, prog_name="grade")
    finally:
        os.chdir(previous)
    return result.exit_code, result.output


def test_solutions_pass_with_exit_0(kit: Kit) -> None:
    code, output = grade("solutions")
    assert code == 0
    assert output.splitlines()[-1] == full_marks(*kit.exercises)


def test_default_path_is_exercises_and_stubs_are_not_started(kit: Kit) -> None:
    code, output = grade()
    assert code == 1
    assert output.count("TODO ") == len(kit.exercises)
    assert output.splitlines()[-1] == f"Score: 0/{kit.max_score:g}  (0/{len(kit.exercises)} exercises passed)"


def test_failed_check_shows_rationale_timeline_and_hint() -> None:
    code, output = grade(str(SLOW_SCENARIO), "-e", "03")
    assert code == 1
    assert "x  run_concurrently runs three jobs concurrently: total = the longest delay  0/6" in output
    assert "finished at t=6.0 s, one after another" in output
    assert "        A  ............##################......  2->5 s" in output
    assert "hint: Did you await each task before creating the next?" in output
    assert output.isascii()


def test_json_format_is_one_document_with_the_documented_fields() -> None:
    code, output = grade(str(SLOW_SCENARIO), "-e", "03_concurrency", "--format", "json")
    report = json.loads(output)
    assert code == 1
    assert {"schema_version", "score", "max_score", "exercises"} <= report.keys()
    (exercise,) = report["exercises"]
    assert {"id", "title", "status", "score", "max_score", "checks"} <= exercise.keys()
    check = next(c for c in exercise["checks"] if c["status"] == "failed")
    assert {"id", "name", "status", "score", "max_score", "message", "help"} <= check.keys()


def test_min_score_turns_a_partial_score_into_success() -> None:
    assert grade(str(SLOW_SCENARIO), "-e", "03", "--min-score", "14")[0] == 0
    assert grade(str(SLOW_SCENARIO), "-e", "03", "--min-score", "15")[0] == 1


def test_quiet_prints_only_the_score_line(kit: Kit) -> None:
    code, output = grade("solutions", "-q", "-e", "01", "-e", "03")
    assert (code, output) == (0, full_marks(kit.exercise("01_coroutines"), kit.exercise("03_concurrency")) + "\n")


def test_output_file_gets_the_report(tmp_path: Path, kit: Kit) -> None:
    target = tmp_path / "report.json"
    code, output = grade("solutions", "-e", "02", "--format", "json", "--output", str(target))
    exercise = kit.exercise("02_event_loop")
    assert code == 0 and json.loads(target.read_text(encoding="utf-8"))["score"] == exercise.max_score
    assert output == full_marks(exercise) + "\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/folder"], f"Error: path not found: {Path('/no/such/folder')}\n"),  # \no\such\folder on Windows
        (["pyproject.toml"], "Error: not a folder: pyproject.toml (give the folder that holds the exercise files)\n"),
        (["solutions", "-e", "99"], f"Error: exercise '99' matches no exercise; {VALID_IDS}\n"),
        (["solutions", "--kit", "/no/kit.toml"], f"Error: kit file not found: {Path('/no/kit.toml').resolve()}\n"),
    ],
    ids=["missing-path", "file-not-folder", "unknown-exercise", "missing-kit"],
)
def test_cannot_grade_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, output = grade(*args)
    assert code == 2
    assert output.startswith(message) and output.count("\n") == 1


def test_no_exercises_folder_here_or_above_says_what_to_do(tmp_path: Path) -> None:
    code, output = grade(cwd=tmp_path)
    assert code == 2
    assert output == f"Error: no exercises folder in {tmp_path} or any folder above it (run grade in the kit's folder, or give PATH)\n"


@pytest.mark.parametrize("below", [".", "exercises", "exercises/notes/drafts"])
def test_the_exercises_folder_is_found_upward_as_git_finds_its_repository(tmp_path: Path, kit: Kit, below: str) -> None:
    (tmp_path / "exercises" / "notes" / "drafts").mkdir(parents=True)
    (tmp_path / "exercises" / "03_concurrency.py").write_bytes(kit.exercise("03_concurrency").solution.read_bytes())
    code, output = grade("-e", "3", "-q", cwd=tmp_path / below)
    assert (code, output) == (0, full_marks(kit.exercise("03_concurrency")) + "\n")


# Forgiving input: what a student types by mistake is understood, or answered with the likely meaning.


@pytest.mark.parametrize("number", ["3", "03", "0003"])
def test_an_exercise_by_its_bare_number(number: str, kit: Kit) -> None:
    assert grade("solutions", "-e", number, "-q") == (0, full_marks(kit.exercise("03_concurrency")) + "\n")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solutions", "-e", "03_concurency"], f"Error: exercise '03_concurency' matches no exercise (did you mean 03_concurrency?); {VALID_IDS}\n"),
        (["solutions", "-e", "queue"], f"Error: exercise 'queue' matches no exercise (did you mean 05_queues?); {VALID_IDS}\n"),
        (["solutions", "-e", "99"], f"Error: exercise '99' matches no exercise; {VALID_IDS}\n"),
        (["lsit"], "Error: 'lsit' is neither a command nor a folder: did you mean `grade list`?\n"),
        (["hints", "03"], "Error: 'hints' is neither a command nor a folder: did you mean `grade hint`?\n"),
        (["wacth"], "Error: 'wacth' is neither a command nor a folder: did you mean `grade watch`?\n"),
        (["3"], "Error: path not found: 3 (to grade exercise 03_concurrency: grade -e 3)\n"),
        (["--formt", "json"], "Error: No such option '--formt'. Did you mean '--format'? (see `grade check --help`)\n"),
        (["solutions", "--timeout", "soon"], "Error: Invalid value for '--timeout': 'soon' is not a valid float range. (see `grade check --help`)\n"),
        (["hint"], "Error: Missing argument 'ID'. (see `grade hint --help`)\n"),
    ],
    ids=["typo-in-id", "topic-only", "no-such-number", "typo-in-command", "plural-command", "swapped-letters", "number-as-path", "typo-in-option", "bad-value", "missing-argument"],
)  # fmt: skip
def test_a_mistake_gets_one_line_with_the_likely_meaning_and_exit_2(args: list[str], message: str) -> None:
    assert grade(*args) == (2, message)


def test_a_folder_named_like_a_mistyped_command_is_still_graded(tmp_path: Path, kit: Kit) -> None:
    (tmp_path / "lsit").mkdir()
    (tmp_path / "lsit" / "03_concurrency.py").write_bytes(kit.exercise("03_concurrency").solution.read_bytes())
    assert grade("lsit", "-e", "03", "-q", cwd=tmp_path) == (0, full_marks(kit.exercise("03_concurrency")) + "\n")


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no pseudo-terminals (pty, termios)")
def test_ctrl_c_stops_grading_with_one_line_and_exit_130(tmp_path: Path, kit: Kit) -> None:
    from .terminal import Terminal, left_behind

    folder = tmp_path / "exercises"
    folder.mkdir()
    (folder / "03_concurrency.py").write_bytes(kit.exercise("03_concurrency").solution.read_bytes() + b"\nwhile True:\n    pass\n")
    terminal = Terminal([sys.executable, "-m", "grader", "-e", "03"], tmp_path)
    try:
        time.sleep(2)  # the exercise hangs: it would take its whole 20 s
        terminal.press("\x03")
        assert terminal.wait_exit(seconds=5) == 130
        shown = terminal.raw.replace("^C\r", "")  # the terminal's echo of Ctrl-C, written over
        assert shown == "Stopped by Ctrl-C.\r\n"
        assert left_behind(terminal.process.pid) == []
    finally:
        terminal.close()


def test_a_folder_named_like_a_subcommand_is_graded_with_dot_slash(tmp_path: Path, kit: Kit) -> None:
    folder = tmp_path / "check"
    folder.mkdir()
    (folder / "03_concurrency.py").write_bytes(kit.exercise("03_concurrency").solution.read_bytes())
    code, output = grade("./check", "-e", "03", cwd=tmp_path)
    assert code == 0, output


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    context = main.make_context("grade", [])
    for name in main.list_commands(context):
        command = main.get_command(context, name)
        assert command is not None and command.help, name
        assert f"grade {name}" in readme or name == "check", name


@pytest.mark.skipif(sys.platform == "win32", reason="the box is for bash; Windows' two lines differ, and are said under it")
def test_the_students_box_in_the_readme_works_as_written(tmp_path: Path, kit: Kit) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    box = readme.split("## Students: start here", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert box.splitlines() == ["python3 -m venv .venv", "source .venv/bin/activate", "pip install -e .", "grade"]
    copy = tmp_path / "asynclings"  # the kit as a student clones it: no virtualenv yet
    copy.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copyfile(ROOT / name, copy / name)
    for name in ("grader", "exercises"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.rmtree(copy / "grader" / "default_kit" / "exercises")  # not in a clone: `pip install -e .` makes it
    environment = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "CI", "NO_COLOR")}
    result = subprocess.run(["bash", "-c", box], cwd=copy, env=environment, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode in (0, 1), result.stderr  # graded: whatever the exercises score
    score_line = rf"\nScore: \d+/{kit.max_score:g}  \(\d+/{len(kit.exercises)} exercises passed\)\n$"
    assert re.search(score_line, result.stdout), result.stdout[-2000:]
    assert (copy / ".venv" / "bin" / "grade").is_file()
    assert sorted(path.name for path in (copy / "grader" / "default_kit" / "exercises").iterdir()) == sorted(path.name for path in (copy / "exercises").glob("*.py"))


def test_real_subprocess_run() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "grader", "solutions", "-e", "05", "--format", "json"],
        cwd=ROOT, capture_output=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["exercises"][0]["status"] == "passed"
    assert result.stderr == ""
