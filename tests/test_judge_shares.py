"""A submission graded alone is checked by two judges that take exercises from one queue:
trouble in one exercise costs only that exercise, and holds up no other."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from grader.grading import grade_folder
from grader.kit import Kit
from grader.runner.limits import Limits
from grader.runner.parent.launcher import judges_for
from grader.runner.protocol import (
    ExerciseChecked,
    ExerciseTaken,
    next_in_queue,
    parse_progress,
    queue_records,
)
from grader.subject.template import _write_afresh

from .conftest import ROOT
from .hostile_helpers import marked_processes, strays_after

HANGS = ROOT / "tests" / "hostile" / "hang_busy_loop" / "03_concurrency.py"  # spins forever, leaves a marked `sleep`
IMPORT_NEVER_ENDS = "while True:\n    pass\n"
CHOSEN = ["01_coroutines", "02_event_loop", "03_concurrency", "04_monitoring", "05_queues", "06_timeouts"]
LIMIT = 2.5  # each exercise's wall-clock limit in the test below


def test_judges_reading_one_queue_each_take_a_different_exercise() -> None:
    queue_r, queue_w = os.pipe()
    os.write(queue_w, queue_records(12))
    os.close(queue_w)
    first, second = [], []
    while (place := next_in_queue(queue_r)) is not None:
        (first if place % 3 else second).append(place)  # two readers, taking turns unevenly
    os.close(queue_r)
    assert sorted(first + second) == list(range(12))


def test_progress_lines_name_what_a_judge_took_and_finished() -> None:
    assert parse_progress(ExerciseTaken("07_task_groups").line().rstrip()) == ExerciseTaken("07_task_groups")
    assert parse_progress(ExerciseChecked("07_task_groups", 1).line().rstrip()) == ExerciseChecked("07_task_groups", 1)
    for noise in (b"", b"07_task_groups", b"07 x on", b"07 1234 on", b"a b c d", b"\xff taken extra"):
        assert parse_progress(noise) is None


def test_a_file_written_afresh_for_one_judge_is_whole_for_the_other_judges_subject(tmp_path: Path) -> None:
    """Judges share a template, which writes the submission's files afresh for each subject it
    starts: a subject of the other judge, reading one of them meanwhile, must read it whole."""
    source = tmp_path / "judge_copy.py"
    source.write_text("def greet():\n    return 'hello'\n" * 200)
    written = tmp_path / "folder" / "01_coroutines.py"
    written.parent.mkdir()
    shutil.copy(source, written)
    expected, seen = source.read_bytes(), []
    done = threading.Event()

    def read_meanwhile() -> None:
        while not done.is_set():
            try:
                seen.append(written.read_bytes())
            except FileNotFoundError:
                seen.append(b"missing")

    reader = threading.Thread(target=read_meanwhile)
    reader.start()
    for _ in range(300):
        _write_afresh(written, expected)
    done.set()
    reader.join()
    assert seen and all(content == expected for content in seen)
    assert os.listdir(written.parent) == [written.name]  # nothing half-written left beside it


def test_a_submission_alone_uses_two_judges_from_four_exercises() -> None:
    two_cores = (os.cpu_count() or 1) >= 2
    assert judges_for(3) == 1
    assert judges_for(4) == (2 if two_cores else 1)


@pytest.mark.parametrize("sandbox", ["process", "bwrap"])
def test_hangs_cost_only_their_own_exercises_and_hold_up_no_other(kit: Kit, tmp_path: Path, sandbox: str) -> None:
    if sandbox == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) is not installed")
    if judges_for(len(CHOSEN)) < 2:
        pytest.skip("one core: a submission is never shared")
    folder = tmp_path / "submission"
    folder.mkdir()
    for name in CHOSEN:
        shutil.copy(ROOT / "solutions" / f"{name}.py", folder)
    (folder / "01_coroutines.py").write_text(IMPORT_NEVER_ENDS)  # the first judge is stuck on 01 at once
    shutil.copy(HANGS, folder)  # the second judge takes 02, then 03, and is stuck there
    before = marked_processes()
    started = time.monotonic()
    report = grade_folder(folder, kit, kit.select(CHOSEN), Limits(timeout=LIMIT, sandbox=sandbox))
    elapsed = time.monotonic() - started
    results = {result.id: result for result in report.exercises}
    for hung in (results.pop("01_coroutines"), results.pop("03_concurrency")):
        assert hung.status.value == "failed"
        assert "time limit" in (hung.message + " ".join(check.message for check in hung.checks)).lower()
        assert hung.score < hung.max_score
    # Both judges were killed at their exercise's limit, at about the same time; 04 to 06
    # went to fresh judges. Had one judge waited for the other's hang, it would take twice the limit.
    assert {name: result.score for name, result in results.items()} == {
        name: result.max_score for name, result in results.items()
    }
    assert elapsed < 1.8 * LIMIT
    assert not strays_after(before)
