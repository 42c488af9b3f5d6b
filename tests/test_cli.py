"""The ``grade`` command as a user meets it: output, exit codes, and one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.kit import Kit

from .conftest import GOLDEN, ROOT

SLOW_SCENARIO = GOLDEN / "03_concurrency" / "await_in_loop"


def grade(*args: str, cwd: Path = ROOT) -> tuple[int, str]:
    runner = CliRunner()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(main, list(args), catch_exceptions=False)
    finally:
        os.chdir(previous)
    return result.exit_code, result.output


def test_solutions_pass_with_exit_0() -> None:
    code, output = grade("solutions")
    assert code == 0
    assert output.splitlines()[-1] == "Score: 100/100  (5/5 exercises passed)"


def test_default_path_is_exercises_and_stubs_are_not_started() -> None:
    code, output = grade()
    assert code == 1
    assert output.count("TODO ") == 5
    assert output.splitlines()[-1] == "Score: 0/100  (0/5 exercises passed)"


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


def test_quiet_prints_only_the_score_line() -> None:
    code, output = grade("solutions", "-q", "-e", "01", "-e", "03")
    assert (code, output) == (0, "Score: 40/40  (2/2 exercises passed)\n")


def test_output_file_gets_the_report(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    code, output = grade("solutions", "-e", "02", "--format", "json", "--output", str(target))
    assert code == 0 and json.loads(target.read_text(encoding="utf-8"))["score"] == 20
    assert output == "Score: 20/20  (1/1 exercises passed)\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/no/such/folder"], f"Error: path not found: {Path('/no/such/folder')}\n"),  # \no\such\folder on Windows
        (["pyproject.toml"], "Error: not a folder: pyproject.toml (give the folder that holds the exercise files)\n"),
        (["solutions", "-e", "99"], "Error: exercise '99' matches no exercise; valid ids: "),
        (["solutions", "--kit", "/no/kit.toml"], f"Error: kit file not found: {Path('/no/kit.toml').resolve()}\n"),
    ],
    ids=["missing-path", "file-not-folder", "unknown-exercise", "missing-kit"],
)
def test_cannot_grade_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, output = grade(*args)
    assert code == 2
    assert output.startswith(message) and output.count("\n") == 1


def test_no_exercises_folder_here_says_what_to_do(tmp_path: Path) -> None:
    code, output = grade(cwd=tmp_path)
    assert code == 2
    assert output == "Error: path not found: exercises (run grade in the kit's folder, or give PATH)\n"


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


def test_real_subprocess_run() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "grader", "solutions", "-e", "05", "--format", "json"],
        cwd=ROOT, capture_output=True, encoding="utf-8", timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["exercises"][0]["status"] == "passed"
    assert result.stderr == ""
