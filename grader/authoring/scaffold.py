"""``grade new ID``: a new exercise's files, as a worked example the author turns into theirs.

It writes a stub, a solution, a check file, a probe file, a golden fixture and the
exercise's entry at the end of ``kit.toml``, for a small example (``double``) that grades
end to end. The title, the hint and the solution say ``TODO`` until the author writes
them, and ``grade kit check`` refuses a TODO there: a scaffold never passes as done.
Nothing that exists is ever overwritten.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tomllib
from pathlib import Path

from grader.errors import GraderError
from grader.kit import EXERCISE_ID, Kit
from grader.source_tree import stub_sources

GOLDEN = "golden"
FIXTURE = "no_wait"
WAIT_HELP = "Wait with `await asyncio.sleep(delay)`: it lets the loop run other tasks meanwhile."

ENTRY = '''
[[exercises]]
id = "{id}"
title = "TODO: what {id} teaches, in a line"
points = 10
hints = [
    "TODO: a hint for a student who is stuck: the idea, not the code.",
]

  [[exercises.checks]]
  id = "loads"
  name = "the file defines double as a coroutine function"
  points = 0

  [[exercises.checks]]
  id = "result"
  name = "double(value, delay) returns twice the value"
  points = 5
  depends = ["loads"]
  hint = "double ends with `return 2 * value`."

  [[exercises.checks]]
  id = "waits"
  name = "double waits `delay` seconds of loop time, without blocking the loop"
  points = 5
  depends = ["loads"]
  hint = "{wait_help}"
'''

STUB = '''"""Exercise {number}: TODO: the lesson, in a few lines: the idea, and the mistake to avoid.

Docs: https://docs.python.org/3/library/asyncio.html

Your task: fill in the function marked TODO. Don't change its name or signature: the
checks call it.
"""

import asyncio


async def double(value: int, delay: float) -> int:
    """Wait `delay` seconds without blocking the event loop, then return twice `value`."""
    # TODO: await asyncio.sleep(delay), then return 2 * value.
    raise NotImplementedError("TODO: wait, then double the value")


if __name__ == "__main__":
    print(asyncio.run(double(21, 1.0)))
'''

SOLUTION = '''"""Exercise {number}: the reference solution. TODO: replace this example with the exercise's own."""

import asyncio


async def double(value: int, delay: float) -> int:
    """Wait `delay` seconds without blocking the event loop, then return twice `value`."""
    await asyncio.sleep(delay)
    return 2 * value


if __name__ == "__main__":
    print(asyncio.run(double(21, 1.0)))
'''

WRONG = '''import asyncio


async def double(value: int, delay: float) -> int:
    return 2 * value


if __name__ == "__main__":
    print(asyncio.run(double(21, 1.0)))
'''

CHECKS = '''"""Checks for {id}, run in the judge: they ask the subject to run a probe and judge its evidence."""

from __future__ import annotations

from grader.checking import Mismatch, Subject, check, expect, expect_no_blocking, require

WAIT_HELP = "{wait_help}"


@check("loads")
def check_loads(exercise: Subject) -> None:
    require(exercise, "double", "coroutine function")


@check("result")
def check_result(exercise: Subject) -> None:
    seen = exercise.call("double", value=21, delay=2.0)
    if seen["result"] != 42:
        raise Mismatch(42, seen["result"], "Return `2 * value`: twice the value you were given.")


@check("waits")
def check_waits(exercise: Subject) -> None:
    seen = exercise.call("double", value=21, delay=2.0)
    expect_no_blocking(exercise.blocking)
    expect(seen["took"] == 2.0, f"double returned after {{seen['took']:g}} s of loop time, not after its delay of 2 s", WAIT_HELP)
'''

PROBES = '''"""Probes for {id}, run in the subject with the student's module: they gather evidence, never judge it."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from grader.subject import plain, probe, virtual_time, within


@probe
async def double(exercise: ModuleType, value: int, delay: float) -> dict[str, Any]:
    """What `double(value, delay)` returned, and how long it took on the loop's virtual clock."""
    start = virtual_time.now()
    result = await within(exercise.double(value, delay), 60, "double()")
    return {{"result": plain(result), "took": round(virtual_time.now() - start, 6)}}
'''


class ScaffoldError(GraderError):
    """The exercise cannot be scaffolded as asked: a bad id, or a file that is there already."""


@dataclasses.dataclass(frozen=True)
class Scaffold:
    """What ``grade new`` wrote: the files, in the order the author opens them."""

    files: list[Path]
    golden_declared: bool


def scaffold(kit: Kit, exercise_id: str) -> Scaffold:
    """Write exercise ``exercise_id``'s files into ``kit``, or raise :class:`ScaffoldError` having written nothing."""
    if not EXERCISE_ID.match(exercise_id):
        raise ScaffoldError(f"exercise id {exercise_id!r} must look like '06_timeouts' (two digits, then lowercase)")
    if any(spec.id == exercise_id for spec in kit.exercises):
        raise ScaffoldError(f"{kit.path} declares {exercise_id} already")
    golden = kit.golden or kit.path.parent / GOLDEN
    fields = {"id": exercise_id, "number": exercise_id[:2], "wait_help": WAIT_HELP}
    files = {
        kit.folders["stubs"] / f"{exercise_id}.py": STUB.format(**fields),
        kit.folders["solutions"] / f"{exercise_id}.py": SOLUTION.format(**fields),
        kit.folders["checks"] / f"check_{exercise_id}.py": CHECKS.format(**fields),
        kit.folders["probes"] / f"probe_{exercise_id}.py": PROBES.format(**fields),
        golden / exercise_id / FIXTURE / f"{exercise_id}.py": WRONG,
        golden / exercise_id / FIXTURE / "expected.json": _expected(),
    }
    kept = stub_sources(kit)
    if kept is not None:  # the built-in kit in its repository: the stub is kept in exercises/, the kit's stubs folder holds its copy
        files = {kept / f"{exercise_id}.py": files[kit.folders["stubs"] / f"{exercise_id}.py"], **files}
    there = [path for path in files if path.exists()]
    if there:
        raise ScaffoldError(f"{there[0]} exists already: grade new never overwrites a file")
    toml = kit.path.read_text(encoding="utf-8-sig")
    toml = (toml if kit.golden else _declare_golden(toml)).rstrip("\n") + "\n" + ENTRY.format(**fields)
    try:
        tomllib.loads(toml)
    except tomllib.TOMLDecodeError as exc:
        raise ScaffoldError(f"{kit.path}: cannot add {exercise_id} to it ({exc})") from None
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    kit.path.write_text(toml, encoding="utf-8")
    return Scaffold([*files, kit.path], golden_declared=kit.golden is None)


def _expected() -> str:
    expected = {
        "why": "returns at once, without waiting",
        "status": "failed",
        "score": 5,
        "checks": {"waits": {"status": "failed", "help": WAIT_HELP}},
    }
    return json.dumps(expected, indent=2) + "\n"


def _declare_golden(toml: str) -> str:
    """``toml`` with ``golden = "golden"`` among its top-level keys: before its first table."""
    first_table = re.search(r"^\s*\[", toml, flags=re.MULTILINE)
    at = first_table.start() if first_table else len(toml)
    return f'{toml[:at]}golden = "{GOLDEN}"\n{toml[at:]}'
