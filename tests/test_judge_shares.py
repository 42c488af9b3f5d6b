"""A submission graded alone is shared between two judges: trouble in one share costs only its own exercise."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from grader.grading import grade_folder
from grader.kit import Kit
from grader.runner.limits import Limits
from grader.runner.parent.launcher import judges_for
from grader.runner.protocol import ExerciseJob
from grader.runner.worker.job_server import deal

from .conftest import ROOT
from .hostile_helpers import marked_processes, strays_after

HANGS = ROOT / "tests" / "hostile" / "hang_busy_loop" / "03_concurrency.py"  # spins forever, leaves a marked `sleep`
CHOSEN = ["01_coroutines", "02_event_loop", "03_concurrency", "04_monitoring", "05_queues", "06_timeouts"]


def exercise(name: str) -> ExerciseJob:
    path = Path(name)
    return ExerciseJob(name, path, path, path, (), 0, 0, 1.0)


def test_shares_are_dealt_in_snake_order_and_keep_kit_order() -> None:
    jobs = [exercise(f"{n:02d}") for n in range(1, 8)]
    shares = deal(jobs, 2)
    assert [[job.exercise_id for job in share] for share in shares] == [["01", "04", "05"], ["02", "03", "06", "07"]]
    assert deal(jobs, 1) == [jobs]
    assert deal(jobs[:1], 2) == [jobs[:1]]  # no empty share: no judge with nothing to do


def test_a_submission_alone_uses_two_judges_from_four_exercises() -> None:
    two_cores = (os.cpu_count() or 1) >= 2
    assert judges_for(3) == 1
    assert judges_for(4) == (2 if two_cores else 1)


@pytest.mark.parametrize("sandbox", ["process", "bwrap"])
def test_a_hang_in_one_share_costs_only_its_own_exercise(kit: Kit, tmp_path: Path, sandbox: str) -> None:
    if sandbox == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) is not installed")
    if judges_for(len(CHOSEN)) < 2:
        pytest.skip("one core: a submission is never shared")
    folder = tmp_path / "submission"
    folder.mkdir()
    for name in CHOSEN:
        shutil.copy(ROOT / "solutions" / f"{name}.py", folder)
    shutil.copy(HANGS, folder)  # in the second share, with 02 before it and 06 after it
    before = marked_processes()
    started = time.monotonic()
    report = grade_folder(folder, kit, kit.select(CHOSEN), Limits(timeout=2.0, sandbox=sandbox))
    assert time.monotonic() - started < 10
    results = {result.id: result for result in report.exercises}
    hung = results.pop("03_concurrency")
    assert hung.status.value == "failed"
    assert "time limit" in (hung.message + " ".join(check.message for check in hung.checks)).lower()
    assert hung.score < hung.max_score
    # The share's judge was killed at 03's limit: 06 went to a fresh one, the first share never noticed.
    assert {name: result.score for name, result in results.items()} == {
        name: result.max_score for name, result in results.items()
    }
    assert not strays_after(before)
