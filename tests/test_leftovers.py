"""What a killed grader leaves behind, and its removal by the next ``grade``: folders of dead owners, empty cgroups."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import leftovers
from grader.cli import main
from grader.runner.parent.cgroup import ROOTS

from .batch_fixtures import AWAIT, FILE, write_file


@pytest.mark.skipif(sys.platform == "win32", reason="Windows cannot ask whether a pid lives without ending it: nothing is removed there")
def test_any_grade_start_removes_the_folders_of_dead_owners_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(leftovers.tempfile, "tempdir", str(tmp_path))
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    dead = tmp_path / f"asynclings-worker-{ended.stdout.strip()}-abc"
    write_file(dead / "submission-x" / FILE, AWAIT)
    living = tmp_path / f"asynclings-worker-{os.getpid()}-def"
    unnamed = tmp_path / "asynclings-worker-k2j3h4"  # no owner in its name: not ours to judge
    link = tmp_path / f"asynclings-watch-{ended.stdout.strip()}-ghi"
    for folder in (living, unnamed, tmp_path / "elsewhere"):
        folder.mkdir()
    link.symlink_to(tmp_path / "elsewhere")
    CliRunner().invoke(main, ["list", str(tmp_path / "no-exercises-here")])
    assert not dead.exists()
    assert living.is_dir() and unnamed.is_dir() and link.is_symlink() and (tmp_path / "elsewhere").is_dir()


@pytest.mark.skipif(not (hasattr(os, "geteuid") and os.geteuid() == 0 and ROOTS[0].is_dir()), reason="needs root and a cgroup tree")
def test_cgroups_empty_at_two_looks_are_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parent = ROOTS[0] / f"test-leftovers-{os.getpid()}"  # of its own: other graders may run on this machine
    parent.mkdir()
    monkeypatch.setattr(leftovers, "ROOTS", (parent,))
    monkeypatch.setattr(leftovers.tempfile, "tempdir", str(tmp_path))
    left, occupied, joining = (parent / f"asynclings-{name}" for name in ("left", "occupied", "joining"))
    for group in (left, occupied, joining):
        group.mkdir()
    occupant = subprocess.Popen(["/bin/sh", "-c", f'echo $$ > "{occupied}/cgroup.procs" && exec sleep 60'])
    # Joins between the two looks, as a live grader's worker joins the cgroup just made for it.
    joiner = subprocess.Popen(["/bin/sh", "-c", f'sleep 0.1 && echo $$ > "{joining}/cgroup.procs" && exec sleep 60'])
    try:
        for _ in range(100):
            if (occupied / "cgroup.procs").read_text().strip():
                break
            time.sleep(0.01)
        with monkeypatch.context() as unprivileged:
            unprivileged.setattr(leftovers.os, "geteuid", lambda: 1000)
            started = time.monotonic()
            assert leftovers.remove_stale() == 0 and left.exists()
            assert time.monotonic() - started < leftovers.SECOND_LOOK_SECONDS  # a student's grade does not wait for root's cgroups
        assert leftovers.remove_stale() == 1
        assert not left.exists()
        assert occupied.exists() and joining.exists()
    finally:
        for process in (occupant, joiner):
            process.kill()
            process.wait()
        for group in (occupied, joining, parent):
            for _ in range(100):  # the kernel releases a cgroup a moment after its last process is reaped
                try:
                    group.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
