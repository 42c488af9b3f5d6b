"""A class's code as root on Linux runs only inside bubblewrap, unless the teacher vouches for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.batch import class_grading as batch_runner
from grader.batch import trust
from grader.cli import main
from grader.runner.parent.sandbox import Platform

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
