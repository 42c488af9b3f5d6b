"""A kit's golden fixtures: realistic submissions, each with the verdict it must get.

A kit names its golden folder in ``kit.toml`` (``golden = "golden"``, relative to the
file). Each fixture is ``<golden>/<exercise id>/<scenario>/``, holding the exercise file
and an ``expected.json``::

    {"why": "awaits each task before creating the next",
     "status": "failed", "score": 14.0,
     "checks": {"concurrent_timing": {"status": "failed", "help": "Did you await ...",
                                      "message_contains": "one after another"}}}

A check the fixture does not list must pass. A wrong fixture (scoring less than the
exercise is worth) names the help line of at least one check it fails: what the student
who made that mistake reads. A right one (full marks) is an alternative solution the
checks must accept.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from grader.kit import ExerciseSpec, Kit
from grader.model import ExerciseResult

EXPECTED = "expected.json"


@dataclasses.dataclass(frozen=True)
class Fixture:
    """One scenario folder: its exercise, its file's source and its expected verdict, or why it cannot be used."""

    folder: Path
    spec: ExerciseSpec | None = None
    source: bytes = b""
    expected: dict[str, Any] = dataclasses.field(default_factory=dict)
    problem: str = ""


def fixtures(golden: Path, kit: Kit, specs: list[ExerciseSpec]) -> list[Fixture]:
    """Every fixture of ``golden`` for ``specs``, in folder order; a malformed one carries its problem."""
    chosen = {spec.id for spec in specs}
    found = []
    for exercise in sorted(p for p in golden.iterdir() if p.is_dir()):
        try:
            spec = kit.exercise(exercise.name)
        except KeyError:
            found.append(Fixture(exercise, problem=f"names no exercise of the kit {kit.name!r}"))
            continue
        if spec.id in chosen:
            found += [_read(folder, spec) for folder in sorted(p for p in exercise.iterdir() if p.is_dir())]
    return found


def _read(folder: Path, spec: ExerciseSpec) -> Fixture:
    file, expected = folder / spec.file, folder / EXPECTED
    if not file.is_file():
        return Fixture(folder, spec, problem=f"holds no {spec.file}")
    try:
        wanted = json.loads(expected.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Fixture(folder, spec, problem=f"holds no {EXPECTED}")
    except (ValueError, UnicodeDecodeError) as exc:
        return Fixture(folder, spec, problem=f"{EXPECTED} is not valid JSON ({exc})")
    problem = _malformed(wanted, spec)
    return Fixture(folder, spec, file.read_bytes(), wanted if not problem else {}, problem)


def _malformed(wanted: Any, spec: ExerciseSpec) -> str:
    """What is wrong with an expected verdict as written, or ``""``."""
    if not isinstance(wanted, dict) or not isinstance(wanted.get("status"), str) or not isinstance(wanted.get("score"), (int, float)):
        return f'{EXPECTED} needs "status" and "score"'
    checks = wanted.get("checks", {})
    if not isinstance(checks, dict) or not all(isinstance(want, dict) for want in checks.values()):
        return f'{EXPECTED}: "checks" maps check ids to {{"status", "help", "message_contains"}}'
    declared = {check.id for check in spec.checks}
    unknown = sorted(set(checks) - declared)
    if unknown:
        return f"{EXPECTED} names checks {spec.id} does not declare: {', '.join(unknown)}"
    if wanted["score"] < spec.max_score and not any(want.get("status") == "failed" and want.get("help") for want in checks.values()):
        return f"a wrong fixture ({wanted['score']:g}/{spec.max_score:g}) names no help line of a check it fails in {EXPECTED}"
    return ""


def differences(expected: dict[str, Any], exercise: ExerciseResult) -> list[str]:
    """Where ``exercise``'s verdict differs from ``expected``, one line each; empty when it is as expected.

    An exercise that could not be judged as a whole, unexpectedly, is that one line: its checks only repeat why.
    """
    if exercise.status.value != expected.get("status") and exercise.message:
        return [f"the exercise is {exercise.status.value}, expected {expected.get('status')}: {exercise.message}"]
    found = []
    for check in exercise.checks:
        want = expected.get("checks", {}).get(check.id, {"status": "passed"})
        if check.status.value != want.get("status"):
            said = f": {check.message}" if check.message else ""
            found.append(f"{check.id} is {check.status.value}, expected {want.get('status')}{said}")
            continue
        if "help" in want and check.help != want["help"]:
            found.append(f"{check.id} helps with {check.help!r}, expected {want['help']!r}")
        if "message_contains" in want and want["message_contains"] not in check.message:
            found.append(f"{check.id} says {check.message!r}, expected it to contain {want['message_contains']!r}")
    if exercise.status.value != expected.get("status"):
        said = f": {exercise.message}" if exercise.message else ""
        found.append(f"the exercise is {exercise.status.value}, expected {expected.get('status')}{said}")
    if exercise.score != expected.get("score"):
        found.append(f"scores {exercise.score:g}/{exercise.max_score:g}, expected {expected.get('score'):g}")
    return found
