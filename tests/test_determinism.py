"""Verdicts come from virtual time and recorded order, so a loaded machine changes nothing."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from grader.authoring.packs import grade_files
from grader.grading import grade_folder
from grader.kit import Kit
from grader.model import ExerciseResult

from .conftest import GOLDEN_SCENARIOS, ROOT

CONCURRENCY = [folder for folder in GOLDEN_SCENARIOS if folder.parent.name == "03_concurrency"]
# Day two's exercises whose probes let real time pass: threads run for real (09), sockets
# carry real bytes (11), and a frozen loop or a runaway call is stopped after real seconds.
REAL_TIME = ("09_blocking", "11_streams")


def solutions_report(kit: Kit) -> dict:
    """The reference solutions' report, minus the one field that is allowed to vary: how long it took."""
    data = grade_folder(ROOT / "solutions", kit).to_json()
    data.pop("duration")
    return data


@contextlib.contextmanager
def saturated_cores() -> Iterator[None]:
    """Keep every core busy with a spinning process while the block runs."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


def test_verdicts_identical_under_load(kit: Kit, golden_verdicts: dict[Path, ExerciseResult]) -> None:
    """The solutions' whole report, and every verdict on exercise 03's golden files (message by message), with both cores saturated, against the idle runs."""
    idle = solutions_report(kit)
    files = [(kit.exercise("03_concurrency"), (folder / "03_concurrency.py").read_bytes()) for folder in CONCURRENCY]
    with saturated_cores():
        loaded = solutions_report(kit)
        loaded_golden = grade_files(kit, files, jobs=os.cpu_count() or 2)
    assert json.dumps(loaded, sort_keys=True) == json.dumps(idle, sort_keys=True)
    assert {f.name: r.to_json() for f, r in zip(CONCURRENCY, loaded_golden)} == {f.name: golden_verdicts[f].to_json() for f in CONCURRENCY}


def judged(result: ExerciseResult) -> list[object]:
    """A verdict, check by check: status, score and the help given. (Messages quote values made
    afresh for each run, and a loop spinning forever is stopped wherever it happens to be.)"""
    return [result.status, result.score, [(c.id, c.status, c.score, c.help) for c in result.checks]]


def test_real_time_verdicts_identical_under_load(kit: Kit, golden_verdicts: dict[Path, ExerciseResult]) -> None:
    """Every golden file of the exercises that let real time pass, with both cores saturated, against the idle run."""
    scenarios = [folder for folder in GOLDEN_SCENARIOS if folder.parent.name in REAL_TIME]
    files = [(kit.exercise(f.parent.name), (f / kit.exercise(f.parent.name).file).read_bytes()) for f in scenarios]
    with saturated_cores():
        loaded = grade_files(kit, files, jobs=os.cpu_count() or 2)
    assert {f.name: judged(r) for f, r in zip(scenarios, loaded)} == {f.name: judged(golden_verdicts[f]) for f in scenarios}
