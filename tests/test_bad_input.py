"""Bad input meets ``grade`` as a user would: the right exit code, a clear message, never a traceback.

Each folder ``tests/bad_input/<scenario>/`` holds a submission (possibly none) and an
``expected.json``:

- ``why``; ``exit_code``; ``output_contains``: text the output must hold;
- ``args``: options after the path (default none); ``one_line``: the whole output is one line;
- ``status``: the status of ``03_concurrency`` in the JSON report of the same run (given for
  inputs refused before anything runs; for the rest the score line in the output says it);
- ``prepare``: what the test makes of the copied folder before grading, for inputs that
  cannot be committed (see :data:`PREPARE`).

The submission is a temporary copy; it must be unchanged after grading.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from grader.cli import main
from grader.kit import Kit

from .conftest import ROOT
from .hostile_helpers import load_expected, tree_digest

BAD_INPUT = ROOT / "tests" / "bad_input"
SCENARIOS = sorted(path.parent for path in BAD_INPUT.glob("*/expected.json"))
EXERCISE = "03_concurrency"
LARGE_BYTES = 20 * 1000 * 1000
TRACEBACK = "Traceback (most recent call last)"


def missing_path(folder: Path, kit: Kit) -> Path:
    return folder / "no-such-folder"


def exercise_file(folder: Path, kit: Kit) -> Path:
    return folder / f"{EXERCISE}.py"


def with_bom(folder: Path, kit: Kit) -> Path:
    path = exercise_file(folder, kit)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return folder


def with_crlf(folder: Path, kit: Kit) -> Path:
    path = exercise_file(folder, kit)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    return folder


def large(folder: Path, kit: Kit) -> Path:
    line = b"# a line of padding, to make the exercise file far too large to be a student's work\n"
    exercise_file(folder, kit).write_bytes(line * (LARGE_BYTES // len(line) + 1))
    return folder


def link_to_solution(folder: Path, kit: Kit) -> Path:
    try:
        os.symlink(kit.exercise(EXERCISE).solution, exercise_file(folder, kit))
    except (OSError, NotImplementedError):
        pytest.skip("symbolic links cannot be made here")
    return folder


PREPARE: dict[str, Callable[[Path, Kit], Path]] = {
    "path_missing": missing_path,
    "path_is_file": exercise_file,
    "bom": with_bom,
    "crlf": with_crlf,
    "large": large,
    "symlink_outside": link_to_solution,
}


def grade(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def assert_clean(result: Result) -> None:
    """Ended by an exit code, not by an exception, and no traceback anywhere in the output."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert TRACEBACK not in result.output


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[path.name for path in SCENARIOS])
def test_bad_input(scenario: Path, kit: Kit, tmp_path: Path) -> None:
    expected = load_expected(scenario)
    folder = tmp_path / "submission"
    shutil.copytree(scenario, folder, ignore=shutil.ignore_patterns("expected.json"))
    path = PREPARE[expected["prepare"]](folder, kit) if "prepare" in expected else folder
    before = tree_digest(folder)
    args = [str(path), *expected.get("args", [])]

    result = grade(*args)

    assert_clean(result)
    assert result.exit_code == expected["exit_code"], result.output
    for text in expected["output_contains"]:
        assert text in result.output, result.output
    if expected.get("one_line"):
        assert len(result.output.strip().splitlines()) == 1, result.output
    if "status" in expected:
        as_json = grade(*args, "--format", "json")
        assert_clean(as_json)
        exercises = {e["id"]: e for e in json.loads(as_json.output)["exercises"]}
        assert exercises[EXERCISE]["status"] == expected["status"], exercises[EXERCISE]["message"]
        assert all("\n" not in e["message"] for e in exercises.values())
    assert tree_digest(folder) == before
