"""A class's code as root on Linux runs only inside bubblewrap, unless the teacher vouches for it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.batch import class_grading as batch_runner
from grader.batch import trust
from grader.cli import main
from grader.runner.parent.sandbox import Platform

from .conftest import ROOT

ROOT_NO_BWRAP = Platform("linux", has_fork=True, has_resource=True, bwrap=None, is_root=True)
ROOT_WITH_BWRAP = Platform("linux", has_fork=True, has_resource=True, bwrap="/usr/bin/bwrap", is_root=True)
USER_NO_BWRAP = Platform("linux", has_fork=True, has_resource=True, bwrap=None, is_root=False)


@pytest.mark.parametrize(
    ("platform", "sandbox", "which", "fix"),
    [
        (ROOT_NO_BWRAP, "auto", None, "apt-get install bubblewrap"),
        (ROOT_NO_BWRAP, "process", "/usr/bin/bwrap", "/usr/bin/bwrap is installed but cannot start its sandbox here (are user namespaces allowed?)"),
        (ROOT_WITH_BWRAP, "process", "/usr/bin/bwrap", "leave out --sandbox process"),
        (ROOT_WITH_BWRAP, "auto", "/usr/bin/bwrap", None),
        (USER_NO_BWRAP, "process", None, None),
        (Platform("darwin", True, True, None, True), "auto", None, None),
    ],
    ids=["root-auto-no-bwrap", "root-bwrap-not-working", "root-explicit-process", "root-bwrap", "unprivileged", "macos"],
)
def test_root_needs_bubblewrap_for_a_class(
    monkeypatch: pytest.MonkeyPatch, platform: Platform, sandbox: str, which: str | None, fix: str | None
) -> None:
    monkeypatch.setattr(trust, "which", lambda name: which)
    expected = None if fix is None else f"bubblewrap is required to grade a class as root: {fix} (or run as an unprivileged user)"
    assert trust.root_refusal(sandbox, platform) == expected


def test_a_batch_as_root_without_bubblewrap_is_one_line_and_exit_2_unless_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch_runner, "detect", lambda: ROOT_NO_BWRAP)
    monkeypatch.setattr(trust, "which", lambda name: None)
    (tmp_path / "class").mkdir()
    command = ["batch", str(tmp_path / "class"), "-o", str(tmp_path / "out"), "-e", "03"]
    refused = CliRunner().invoke(main, command)
    assert (refused.exit_code, refused.output) == (
        2,
        "Error: bubblewrap is required to grade a class as root: apt-get install bubblewrap (or run as an unprivileged user)\n",
    )
    assert not (tmp_path / "out").exists()
    trusted = CliRunner().invoke(main, [*command, "--trust-submissions"])
    assert (trusted.exit_code, trusted.output) == (0, f"0 students: 0 graded, 0 reused; gradebook in {tmp_path / 'out'}\n")


def test_a_submission_that_rewrites_the_kit_without_bubblewrap_stops_the_batch(tmp_path: Path) -> None:
    """Without bubblewrap a submission's code can write the kit's own files (here, a probe):
    every verdict after it could be forged, so the batch stops, says why, and flags it."""
    kit = tmp_path / "kit"
    shutil.copytree(ROOT / "grader" / "default_kit", kit)
    probe = kit / "probes" / "probe_03_concurrency.py"
    folder = tmp_path / "class" / "mallory"
    folder.mkdir(parents=True)
    change = f"open({str(probe)!r}, 'a').write('# changed')"
    # A child process: the guard's audit hook does not see it.
    (folder / "03_concurrency.py").write_text(f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {change!r}])\n")
    command = ["batch", str(tmp_path / "class"), "-o", str(tmp_path / "out"), "--kit", str(kit), "-e", "03"]
    result = CliRunner().invoke(main, [*command, "--sandbox", "process", "--trust-submissions"])
    assert result.exit_code == 2, result.output
    progress, error = result.output.splitlines()
    assert progress == "[1/1] mallory  0/20  kit_changed"
    assert error.startswith("Error: the kit's own files changed while grading mallory"), error
    (record,) = (tmp_path / "out").rglob("mallory*.json")
    assert "kit_changed" in json.loads(record.read_text())["flags"]
