"""The report as Gradescope's ``results.json`` (autograder specification, "Output format").

Only documented fields are written: top-level ``score``, ``execution_time``, ``output``,
``visibility`` and ``tests``; per test ``name``, ``number``, ``score``, ``max_score``,
``status`` (``passed``/``failed``: Gradescope knows no "skipped", so a skipped check is
failed and its output says why), ``output``, ``tags`` and ``visibility``: the check's
``visibility`` in the kit (``visible``, ``after_due_date``, ``after_published``, ``hidden``).
"""

from __future__ import annotations

import json
import math
from typing import Any

from grader.kit import Kit
from grader.model import CheckResult, CheckStatus, ExerciseResult, Report
from grader.render.junit import check_details
from grader.render.text import render_text

VISIBILITY = "visible"


def render_gradescope(report: Report, kit: Kit | None = None) -> str:
    """``results.json`` for the whole submission, one test per check, in kit order, each as visible as ``kit`` says."""
    shown = {(e.id, c.id): c.visibility for e in kit.exercises for c in e.checks} if kit else {}
    results: dict[str, Any] = {
        "score": report.score,
        "execution_time": math.ceil(report.duration),
        "output": _overview(report),
        "visibility": VISIBILITY,
        "tests": [
            _test(exercise, check, n, shown.get((exercise.id, check.id), VISIBILITY))
            for exercise in report.exercises
            for n, check in enumerate(exercise.checks, 1)
        ],
    }
    return json.dumps(results, indent=2, ensure_ascii=False) + "\n"


def _test(exercise: ExerciseResult, check: CheckResult, position: int, visibility: str) -> dict[str, Any]:
    return {
        "name": f"{exercise.id}: {check.name}",
        "number": f"{_exercise_number(exercise)}.{position}",
        "score": check.score,
        "max_score": check.max_score,
        "status": "passed" if check.status is CheckStatus.PASSED else "failed",
        "output": check_details(check),
        "tags": [exercise.id],
        "visibility": visibility,
    }


def _overview(report: Report) -> str:
    """The text report's summary (one line per exercise) and what each exercise printed."""
    parts = [render_text(report, color=False, quiet=True)]
    parts += [f"{e.status.value:<11} {e.id}  {e.score:g}/{e.max_score:g}  {e.message}".rstrip() + "\n" for e in report.exercises]
    for exercise in report.exercises:
        if exercise.output.strip():
            cut = "\n(cut)" if exercise.output_truncated else ""
            parts.append(f"\n{exercise.file} printed:\n{exercise.output.rstrip()}{cut}\n")
    return "".join(parts)


def _exercise_number(exercise: ExerciseResult) -> int:
    """The exercise's number from its id (``03_concurrency`` is 3), for Gradescope's ordering."""
    digits = exercise.id[:2]
    return int(digits) if digits.isdigit() else 0
