"""Shared fixtures: the built-in kit, paths to the kit's own folders, and lines whose counts come from the kit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.kit import ExerciseSpec, Kit, load_kit

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"


@pytest.fixture(scope="session")
def kit() -> Kit:
    return load_kit()


def full_marks(*specs: ExerciseSpec) -> str:
    """The score line of a run in which every one of ``specs`` passed, ``Score: 40/40  (2/2 exercises passed)``."""
    worth = sum(spec.max_score for spec in specs)
    return f"Score: {worth:g}/{worth:g}  ({len(specs)}/{len(specs)} exercises passed)"


def expected_score(scenario: Path) -> float:
    """The score a golden scenario's ``expected.json`` says it gets."""
    return float(json.loads((scenario / "expected.json").read_text(encoding="utf-8"))["score"])
