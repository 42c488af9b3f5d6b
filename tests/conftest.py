"""Shared fixtures: the built-in kit, paths to the kit's own folders, and lines whose counts come from the kit."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grader.authoring.packs import grade_files
from grader.kit import ExerciseSpec, Kit, load_kit
from grader.model import ExerciseResult

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="session")
def kit() -> Kit:
    return load_kit()


GOLDEN_SCENARIOS = sorted(path.parent for path in GOLDEN.glob("*/*/expected.json"))


@pytest.fixture(scope="session")
def golden_verdicts(kit: Kit) -> dict[Path, ExerciseResult]:
    """Every golden scenario graded once for the whole session, as `grade kit check` grades files:
    packed into submissions on kept workers (a file's verdict does not depend on its pack)."""
    files = [(kit.exercise(folder.parent.name), (folder / kit.exercise(folder.parent.name).file).read_bytes()) for folder in GOLDEN_SCENARIOS]
    return dict(zip(GOLDEN_SCENARIOS, grade_files(kit, files, jobs=os.cpu_count() or 2)))


def full_marks(*specs: ExerciseSpec) -> str:
    """The score line of a run in which every one of ``specs`` passed, ``Score: 40/40  (2/2 exercises passed)``."""
    worth = sum(spec.max_score for spec in specs)
    return f"Score: {worth:g}/{worth:g}  ({len(specs)}/{len(specs)} exercises passed)"


def expected_score(scenario: Path) -> float:
    """The score a golden scenario's ``expected.json`` says it gets."""
    return float(json.loads((scenario / "expected.json").read_text(encoding="utf-8"))["score"])
