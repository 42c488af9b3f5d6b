"""The exercise set as data: ``kit.toml`` parsed into typed dataclasses, in one place.

The grader never names an exercise in its code. Everything it knows about the course
(ids, files, checks, points, dependencies, hints) comes from a kit file, so a teacher's
own kit replaces the built-in one with ``grade --kit PATH``.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import tomllib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grader.errors import GraderError

FORMAT_VERSION = 1
DEFAULT_KIT = Path(__file__).parent / "default_kit" / "kit.toml"
EXERCISE_ID = re.compile(r"^\d\d_[a-z0-9_]+$")
CHECK_ID = re.compile(r"^[a-z][a-z0-9_]*$")
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


class KitError(GraderError):
    """The kit file is missing or malformed; the message names the file and the field."""


@dataclasses.dataclass(frozen=True)
class CheckSpec:
    """One hidden check as the metadata declares it: what it is worth and what it needs."""

    id: str
    name: str
    points: float
    depends: tuple[str, ...] = ()
    timeout: float = 5.0
    hint: str = ""  # for a student whose code fails this check; also one of its exercise's hints
    visibility: str = "visible"  # when a learning platform shows it to the student (Gradescope's test visibility)


@dataclasses.dataclass(frozen=True)
class ExerciseSpec:
    """One exercise: its stub, solution and checks, and the names the student must define."""

    id: str
    title: str
    file: str
    checks_file: Path
    probes_file: Path
    stub: Path
    solution: Path
    checks: tuple[CheckSpec, ...]
    hints: tuple[str, ...] = ()  # the exercise's own hints, then its checks', each once
    timeout: float = 20.0
    points: float | None = None  # what kit.toml says the exercise is worth: `grade kit check` adds its checks' points up to it
    group: str = ""  # the part of the course it belongs to ("Day 1"): reports show each group with its score

    @property
    def max_score(self) -> float:
        return sum(c.points for c in self.checks)

    def check(self, check_id: str) -> CheckSpec:
        for spec in self.checks:
            if spec.id == check_id:
                return spec
        raise KeyError(check_id)


@dataclasses.dataclass(frozen=True)
class Kit:
    """A whole course: its exercises in order and where its files live."""

    name: str
    title: str
    path: Path
    exercises: tuple[ExerciseSpec, ...]
    golden: Path | None = None  # realistic submissions with their expected verdicts (see grader.authoring.golden)
    folders: dict[str, Path] = dataclasses.field(default_factory=dict, hash=False)  # stubs, solutions, checks, probes

    @property
    def max_score(self) -> float:
        return sum(e.max_score for e in self.exercises)

    def exercise(self, exercise_id: str) -> ExerciseSpec:
        for spec in self.exercises:
            if spec.id == exercise_id:
                return spec
        raise KeyError(exercise_id)

    def select(self, wanted: list[str]) -> list[ExerciseSpec]:
        """Exercises named by id, by number (``3`` for ``03_concurrency``) or by a unique prefix.

        A name that matches nothing is refused with the closest id, the likely typo.
        """
        chosen: list[ExerciseSpec] = []
        for token in wanted:
            exact = [e for e in self.exercises if e.id == token]
            numbered = [e for e in self.exercises if token.isdecimal() and int(e.id[:2]) == int(token)]
            matches = exact or numbered or [e for e in self.exercises if token and e.id.startswith(token)]
            if len(matches) != 1:
                ids = [e.id for e in self.exercises]
                valid = ", ".join(ids)
                if matches:
                    raise KitError(f"exercise {token!r} is ambiguous; valid ids: {valid}")
                close = difflib.get_close_matches(token, ids, n=1)
                guess = f" (did you mean {close[0]}?)" if close else ""
                raise KitError(f"exercise {token!r} matches no exercise{guess}; valid ids: {valid}")
            if matches[0] not in chosen:
                chosen.append(matches[0])
        return sorted(chosen, key=self.exercises.index)


def check_files(exercises: Iterable[ExerciseSpec]) -> list[Path]:
    """These exercises' check files, each once: what a worker imports and collects."""
    return sorted({spec.checks_file for spec in exercises})


def solution_folders(exercises: Iterable[ExerciseSpec]) -> tuple[Path, ...]:
    """The folders of these exercises' reference solutions: what the checks must never see."""
    return tuple({spec.solution.parent for spec in exercises})


def load_kit(path: Path | None = None) -> Kit:
    """Read and validate a kit file; every error names the file and the bad field."""
    path = (path or DEFAULT_KIT).resolve()
    if path.is_dir():
        path = path / "kit.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # Windows editors may add a BOM
    except FileNotFoundError:
        raise KitError(f"kit file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KitError(f"{path}: not valid TOML ({exc})") from None
    return _parse_kit(data, path)


def _parse_kit(data: dict[str, Any], path: Path) -> Kit:
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise KitError(f"{path}: format_version must be {FORMAT_VERSION}, found {version!r}")
    base = path.parent
    dirs = {key: _folder({"probes": "probes", **data}, key, base, path) for key in ("stubs", "solutions", "checks", "probes")}
    raw_exercises = data.get("exercises")
    if not isinstance(raw_exercises, list) or not raw_exercises or not all(isinstance(e, dict) for e in raw_exercises):
        raise KitError(f"{path}: needs at least one [[exercises]] table")
    exercises = tuple(_parse_exercise(raw, dirs, f"{path}: exercises[{i}]") for i, raw in enumerate(raw_exercises))
    ids = [e.id for e in exercises]
    if len(set(ids)) != len(ids):
        raise KitError(f"{path}: exercise ids must be unique, found {ids}")
    golden = base / _text(data, "golden", path) if "golden" in data else None
    return Kit(name=_text(data, "name", path), title=_text(data, "title", path), path=path, exercises=exercises, golden=golden, folders=dirs)


def _parse_exercise(raw: dict[str, Any], dirs: dict[str, Path], where: str) -> ExerciseSpec:
    exercise_id = _text(raw, "id", where)
    if not EXERCISE_ID.match(exercise_id):
        raise KitError(f"{where}: id {exercise_id!r} must look like '01_topic' (two digits, lowercase)")
    file = raw.get("file", f"{exercise_id}.py")
    if not isinstance(file, str) or Path(file).name != file or not file.endswith(".py"):
        raise KitError(f"{where}: file {file!r} must be a bare file name ending in .py")
    checks_file = dirs["checks"] / raw.get("checks_file", f"check_{exercise_id}.py")
    if not checks_file.is_file():
        raise KitError(f"{where}: the checks file {checks_file} does not exist")
    probes_file = dirs["probes"] / raw.get("probes_file", f"probe_{exercise_id}.py")
    if not probes_file.is_file():
        raise KitError(f"{where}: the probes file {probes_file} does not exist")
    checks = tuple(_parse_check(c, f"{where}.checks[{i}]") for i, c in enumerate(raw.get("checks", [])))
    if not checks:
        raise KitError(f"{where}: exercise {exercise_id!r} declares no [[exercises.checks]]")
    known: set[str] = set()
    for spec in checks:
        missing = [d for d in spec.depends if d not in known]
        if missing:
            raise KitError(f"{where}: check {spec.id!r} depends on {missing}, which must be declared before it")
        known.add(spec.id)
    return ExerciseSpec(
        id=exercise_id,
        title=_text(raw, "title", where),
        file=file,
        checks_file=checks_file,
        probes_file=probes_file,
        stub=dirs["stubs"] / file,
        solution=dirs["solutions"] / file,
        checks=checks,
        hints=tuple(dict.fromkeys([*_strings(raw, "hints", where), *(spec.hint for spec in checks if spec.hint)])),
        timeout=_seconds(raw, 20.0, where),
        points=_points(raw, where) if "points" in raw else None,
        group=_optional_text(raw, "group", where),
    )


def _parse_check(raw: dict[str, Any], where: str) -> CheckSpec:
    check_id = _text(raw, "id", where)
    if not CHECK_ID.match(check_id):
        raise KitError(f"{where}: check id {check_id!r} must be lowercase letters, digits and '_'")
    return CheckSpec(
        id=check_id,
        name=_text(raw, "name", where),
        points=_points(raw, where),
        depends=_strings(raw, "depends", where),
        timeout=_seconds(raw, 5.0, where),
        hint=_optional_text(raw, "hint", where),
        visibility=_visibility(raw, where),
    )


def _points(table: dict[str, Any], where: object) -> float:
    points = table.get("points")
    if isinstance(points, bool) or not isinstance(points, (int, float)) or points < 0:
        raise KitError(f"{where}: points must be a number >= 0, found {points!r}")
    return float(points)


def _visibility(table: dict[str, Any], where: object) -> str:
    value = table.get("visibility", "visible")
    if value not in VISIBILITIES:
        raise KitError(f"{where}: visibility must be one of {', '.join(VISIBILITIES)}, found {value!r}")
    return str(value)


def _strings(table: dict[str, Any], key: str, where: object) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise KitError(f"{where}: {key!r} must be a list of strings, found {value!r}")
    return tuple(value)


def _seconds(table: dict[str, Any], default: float, where: object) -> float:
    value = table.get("timeout", default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise KitError(f"{where}: timeout must be a number of seconds > 0, found {value!r}")
    return float(value)


def _folder(table: dict[str, Any], key: str, base: Path, where: object) -> Path:
    """A folder key: one path relative to kit.toml, or a list of them of which the first that exists is used.

    The list lets one kit file serve two layouts: the built-in kit finds its solutions inside
    the installed package, or in the repository's ``solutions/`` when it runs from a checkout.
    """
    value = table.get(key)
    if isinstance(value, list) and value and all(isinstance(item, str) and item for item in value):
        folders = [base / str(item) for item in value]
        return next((folder for folder in folders if folder.is_dir()), folders[0])
    if isinstance(value, str) and value:
        return base / value
    raise KitError(f"{where}: {key!r} must be a folder, or a list of folders of which the first that exists is used, found {value!r}")


def _optional_text(table: dict[str, Any], key: str, where: object) -> str:
    return _text(table, key, where) if key in table else ""


def _text(table: dict[str, Any], key: str, where: object) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise KitError(f"{where}: {key!r} must be a non-empty string, found {value!r}")
    return value
