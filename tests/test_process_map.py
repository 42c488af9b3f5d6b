"""Which process runs which code: each process's modules import nothing of the processes it must not reach.

The folders of ``grader/runner/`` name the process that runs them (README, "How it works").
Each test imports one process's modules in a fresh interpreter and lists what came along.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grader

PACKAGE = Path(grader.__file__).parent
# The parent's own code: what decides and reports the verdict, and starts the workers.
PARENT_ONLY = ("grader.runner.parent", "grader.cli", "grader.batch", "grader.render", "grader.verdict", "grader.grading")


def modules_in(*folders: str) -> list[str]:
    found = []
    for folder in folders:
        for path in sorted((PACKAGE / folder).rglob("*.py")):
            parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return found


def loaded_after_importing(modules: list[str]) -> list[str]:
    """Every module of the grader (and pytest) loaded once ``modules`` are imported, in a fresh interpreter."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('grader', 'pytest'))))"
    )
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent)
    return list(json.loads(done.stdout))


def test_the_judge_imports_nothing_of_the_parent() -> None:
    judge = modules_in("runner/judge", "checking")
    loaded = loaded_after_importing(judge)
    assert "grader.runner.judge.check_process" in loaded
    assert [m for m in loaded if m.startswith(PARENT_ONLY)] == []


def test_the_worker_imports_nothing_of_the_parent() -> None:
    loaded = loaded_after_importing([m for m in modules_in("runner/worker") if not m.endswith("__main__")])
    assert "grader.runner.worker.job_server" in loaded
    assert [m for m in loaded if m.startswith(PARENT_ONLY)] == []


def test_the_subject_imports_only_its_own_package() -> None:
    # The subject's sandbox holds grader/subject/ and nothing else of the grader.
    loaded = loaded_after_importing(modules_in("subject"))
    assert [m for m in loaded if not m.startswith("grader.subject") and m != "grader"] == []


def test_the_parent_does_not_load_pytest_to_grade() -> None:
    # pytest is the worker's: loading it in the parent would cost every `grade` run its import time.
    loaded = loaded_after_importing(["grader.cli", "grader.cli.check", "grader.grading", "grader.verdict"])
    assert "grader.runner.parent.kept_worker" in loaded
    assert [m for m in loaded if m.split(".")[0] == "pytest"] == []
