"""Verdicts come from virtual time and recorded order, so a loaded machine changes nothing."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator

from grader.grading import grade_folder
from grader.kit import Kit

from .conftest import GOLDEN, ROOT

SUBMISSIONS = [ROOT / "solutions", *sorted(GOLDEN.glob("03_concurrency/*"))]


def verdicts(kit: Kit) -> list[dict]:
    """Every report, minus the one field that is allowed to vary: how long it took."""
    reports = []
    for folder in SUBMISSIONS:
        data = grade_folder(folder, kit).to_json()
        data.pop("duration")
        reports.append(data)
    return reports


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


def test_verdicts_identical_under_load(kit: Kit) -> None:
    idle = verdicts(kit)
    with saturated_cores():
        loaded = verdicts(kit)
    assert json.dumps(loaded, sort_keys=True) == json.dumps(idle, sort_keys=True)
