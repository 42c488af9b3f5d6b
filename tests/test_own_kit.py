"""A teacher's own kit is graded with no change to the grader: the exercise set is data."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from grader.cli import main

KIT_TOML = """
format_version = 1
name = "toy"
title = "A toy course"
stubs = "stubs"
solutions = "answers"
checks = "hidden"

[[exercises]]
id = "01_double"
title = "Double it, later"
hints = ["await asyncio.sleep(delay) first", "then return 2 * value"]

  [[exercises.checks]]
  id = "loads"
  name = "defines double as a coroutine function"
  points = 0

  [[exercises.checks]]
  id = "doubles"
  name = "double waits `delay` seconds of loop time, then returns twice the value"
  points = 10
  depends = ["loads"]
"""

CHECKS = '''
from grader.checking import Mismatch, check, expect, expect_no_blocking, require

@check("loads")
def check_loads(exercise):
    require(exercise, "double", "coroutine function")

@check("doubles")
def check_doubles(exercise):
    seen = exercise.call("double", value=21, delay=5.0)
    if seen["result"] != 42:
        raise Mismatch(42, seen["result"])
    expect_no_blocking(exercise.blocking)  # time.sleep is charged to the virtual clock: this catches it
    expect(seen["took"] == 5.0, f"{seen['took']:g} s passed, not 5", "await asyncio.sleep(delay)")
'''

PROBES = '''
from grader.subject import plain, probe, virtual_time, within

@probe
async def double(exercise, value, delay):
    start = virtual_time.now()
    result = await within(exercise.double(value, delay), 60, "double()")
    return {"result": plain(result), "took": round(virtual_time.now() - start, 6)}
'''

STUB = 'import asyncio\n\nasync def double(value, delay):\n    # TODO\n    raise NotImplementedError("TODO")\n'
ANSWER = "import asyncio\n\nasync def double(value, delay):\n    await asyncio.sleep(delay)\n    return 2 * value\n"
NO_WAIT = "async def double(value, delay):\n    return 2 * value\n"
BLOCKS = "import time\n\nasync def double(value, delay):\n    time.sleep(delay)\n    return 2 * value\n"


def make_kit(root: Path) -> Path:
    for folder, text in (("stubs", STUB), ("answers", ANSWER)):
        (root / folder).mkdir()
        (root / folder / "01_double.py").write_text(text)
    (root / "hidden").mkdir()
    (root / "hidden" / "check_01_double.py").write_text(CHECKS)
    (root / "probes").mkdir()
    (root / "probes" / "probe_01_double.py").write_text(PROBES)
    (root / "kit.toml").write_text(KIT_TOML)
    return root / "kit.toml"


def grade_json(kit: Path, folder: Path) -> dict:
    result = CliRunner().invoke(main, [str(folder), "--kit", str(kit), "--format", "json"])
    return json.loads(result.output)


def test_toy_kit_grades_answers_stubs_and_mistakes(tmp_path: Path) -> None:
    kit = make_kit(tmp_path)
    assert grade_json(kit, tmp_path / "answers")["score"] == 10
    assert grade_json(kit, tmp_path / "stubs")["exercises"][0]["status"] == "not_started"
    mistake = tmp_path / "mistake"
    mistake.mkdir()
    (mistake / "01_double.py").write_text(NO_WAIT)
    report = grade_json(kit, mistake)
    check = report["exercises"][0]["checks"][1]
    assert (report["score"], check["message"], check["help"]) == (0, "0 s passed, not 5", "await asyncio.sleep(delay)")
    (mistake / "01_double.py").write_text(BLOCKS)
    report = grade_json(kit, mistake)
    check = report["exercises"][0]["checks"][1]
    assert report["score"] == 0 and check["message"].startswith("time.sleep(5) ran inside a coroutine at line 4")
