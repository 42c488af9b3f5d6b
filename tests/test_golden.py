"""Realistic wrong (and alternative right) submissions, each graded to its expected verdict.

Each folder ``tests/golden/<exercise>/<scenario>/`` holds one exercise file and an
``expected.json``: the exercise's status and score, and for every check that does not
pass, its status and exact help line. Checks not listed must pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.authoring.golden import differences
from grader.kit import Kit
from grader.model import ExerciseResult

from .conftest import GOLDEN_SCENARIOS as SCENARIOS


@pytest.mark.parametrize("folder", SCENARIOS, ids=[f"{p.parent.name}/{p.name}" for p in SCENARIOS])
def test_golden_submission(folder: Path, golden_verdicts: dict[Path, ExerciseResult]) -> None:
    expected = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    assert differences(expected, golden_verdicts[folder]) == []


def test_every_exercise_has_three_wrong_submissions(kit: Kit) -> None:
    for spec in kit.exercises:
        wrong = [p for p in SCENARIOS if p.parent.name == spec.id and json.loads((p / "expected.json").read_text(encoding="utf-8"))["score"] < spec.max_score]
        assert len(wrong) >= 3, spec.id
