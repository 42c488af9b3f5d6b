"""The subject sees only what it needs: under bwrap, nothing of the machine but Python, its probe and its file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grader.grading import grade_folder
from grader.kit import Kit
from grader.runner.limits import Limits
from grader.runner.parent import sandbox

from .conftest import ROOT

LOOK_AROUND = '''
import json, os, subprocess, sys

def _try(action):
    try:
        return action()
    except Exception as exc:
        return type(exc).__name__

seen = {
    "root": _try(lambda: sorted(os.listdir("/"))),
    "shadow": _try(lambda: open("/etc/shadow").read()[:20]),
    "kit": _try(lambda: os.listdir(KIT)),
    "solutions": _try(lambda: os.listdir(SOLUTIONS)),
    "tmp": _try(lambda: sorted(os.listdir("/tmp"))),
    "fill_tmp": _try(lambda: open("/tmp/big", "wb").write(b"x" * (64 << 20))),
    # A child process has no guard: only the read-only view keeps a module from being
    # planted where a later subject would import it instead of the standard library's.
    "plant": [
        _try(lambda: subprocess.run([sys.executable, "-I", "-S", "-c", f"open({folder!r} + '/queue.py', 'w')"]).returncode)
        for folder in ("/", "/asynclings", "/asynclings/grader")
    ],
}
print("SEEN " + json.dumps(seen))


async def run_sequentially(worker, jobs):
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker, jobs):
    import asyncio
    return list(await asyncio.gather(*(worker(name, delay) for name, delay in jobs)))
'''

needs_bwrap = pytest.mark.skipif(sandbox.detect().bwrap is None, reason="bubblewrap is not installed or not permitted")


@needs_bwrap
def test_the_subject_sees_neither_the_machine_nor_the_kit(tmp_path: Path, kit: Kit) -> None:
    source = LOOK_AROUND.replace("KIT", repr(str(ROOT / "grader"))).replace("SOLUTIONS", repr(str(ROOT / "solutions")))
    (tmp_path / "03_concurrency.py").write_text(source)
    report = grade_folder(tmp_path, kit, kit.select(["03"]), Limits(sandbox="bwrap"))
    (exercise,) = report.exercises
    line = next(line for line in exercise.output.splitlines() if line.startswith("SEEN "))
    seen = json.loads(line.removeprefix("SEEN "))
    assert set(seen["root"]) <= {"asynclings", "submission", "tmp", "dev", "usr", "bin", "lib", "lib64", "sbin", "root", "proc"}
    assert "etc" not in seen["root"] and "work" not in seen["root"]
    assert seen["shadow"] in ("FileNotFoundError", "PermissionError")
    assert seen["kit"] == "FileNotFoundError" and seen["solutions"] == "FileNotFoundError"
    assert seen["tmp"] == []
    assert seen["fill_tmp"] == "OSError"  # the 32 MiB cap: this exercise's problem alone
    assert seen["plant"] == [1, 1, 1]
    assert exercise.score == exercise.max_score
