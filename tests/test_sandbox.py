"""Sandbox decisions, with the platform's facts faked: every platform degrades, and says so."""

from __future__ import annotations

import dataclasses
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from grader import grading
from grader.grading import grade_folder
from grader.kit import Kit
from grader.runner import limits as limits_module
from grader.runner.limits import Limits, apply_rlimits, rlimits
from grader.runner.parent import sandbox
from grader.runner.parent.kept_worker import KeptWorker
from grader.runner.parent.sandbox import Applied, Platform, SandboxError

from .conftest import GOLDEN, ROOT, expected_score

LINUX_ROOT_BWRAP = Platform("linux", has_fork=True, has_resource=True, bwrap="/usr/bin/bwrap", is_root=True)
LINUX_USER = Platform("linux", has_fork=True, has_resource=True, bwrap=None, is_root=False)
MACOS = Platform("darwin", has_fork=True, has_resource=True, bwrap=None, is_root=False)
WINDOWS = Platform("win32", has_fork=False, has_resource=False, bwrap=None, is_root=False)


@pytest.mark.parametrize(
    ("platform", "requested", "mode"),
    [
        (LINUX_ROOT_BWRAP, "auto", "bwrap"),
        (LINUX_ROOT_BWRAP, "process", "process"),
        (LINUX_USER, "auto", "process"),
        (MACOS, "auto", "process"),
        (WINDOWS, "auto", "process"),
    ],
    ids=["linux-bwrap-auto", "linux-forced-process", "linux-no-bwrap", "macos", "windows"],
)
def test_auto_takes_bwrap_only_where_it_works(platform: Platform, requested: str, mode: str) -> None:
    assert sandbox.resolve(requested, platform) == mode


@pytest.mark.parametrize("platform", [LINUX_USER, MACOS, WINDOWS], ids=["linux", "macos", "windows"])
def test_asking_for_bwrap_where_it_is_missing_is_a_clear_error(platform: Platform) -> None:
    with pytest.raises(SandboxError, match="apt-get install bubblewrap"):
        sandbox.resolve("bwrap", platform)


def test_unknown_mode_lists_the_valid_ones() -> None:
    with pytest.raises(SandboxError, match="choose one of auto, bwrap, process"):
        sandbox.resolve("docker", LINUX_USER)


def test_protections_name_only_what_was_really_in_force() -> None:
    everything = Applied(left_root=True, rlimits=True, process_cap_by_user=True)
    bwrap = sandbox.protections("bwrap", process_cap=True, applied=everything)
    assert {"read-only filesystem", "no network", "private pid namespace", "process-count cap (cgroup)"} <= set(bwrap)
    assert "process-count cap (RLIMIT_NPROC)" in sandbox.protections("process", False, Applied(process_cap_by_user=True))
    assert "non-root uid (user namespace)" in sandbox.protections("process", False, everything)
    nothing = sandbox.protections("process", process_cap=False, applied=Applied())
    assert nothing == ["exercises kept apart", "scrubbed environment", "wall-clock limit"]


def test_bwrap_command_hides_solutions_and_keeps_one_writable_folder(tmp_path: Path) -> None:
    solutions, workdir = tmp_path / "solutions", tmp_path / "work"
    solutions.mkdir()
    workdir.mkdir()
    command = sandbox.bwrap_prefix(LINUX_ROOT_BWRAP, workdir, [solutions, workdir, tmp_path / "missing"])
    text = " ".join(command)
    assert "--ro-bind / /" in text and "--unshare-all" in text and "--die-with-parent" in text
    assert f"--tmpfs {solutions}" in text
    assert f"--bind {workdir} {workdir}" in text
    assert "--uid 65534" in text
    assert f"--tmpfs {workdir}" not in text and "missing" not in text


def test_bwrap_never_hides_a_folder_that_holds_the_work(tmp_path: Path) -> None:
    workdir = tmp_path / "inner" / "work"
    workdir.mkdir(parents=True)
    command = sandbox.bwrap_prefix(LINUX_ROOT_BWRAP, workdir, [tmp_path])
    hidden = [command[i + 1] for i, argument in enumerate(command) if argument == "--tmpfs"]
    assert hidden == ["/dev/shm"]  # the sandbox's own shared memory, nothing of the host


def test_every_limit_maps_to_an_rlimit() -> None:
    limits = Limits(cpu_seconds=7, memory_bytes=512 << 20, file_bytes=1 << 20)
    assert rlimits(limits) == {
        "RLIMIT_CPU": (7, 8),
        "RLIMIT_AS": (512 << 20, 512 << 20),
        "RLIMIT_FSIZE": (1 << 20, 1 << 20),
        "RLIMIT_CORE": (0, 0),
    }


def test_cpu_time_covers_every_exercise_a_process_checks() -> None:
    # CPU time adds up over a process's life: the hard limit covers all of its exercises.
    assert rlimits(Limits(cpu_seconds=7), exercises=3)["RLIMIT_CPU"] == (7, 22)


def in_a_child(body: Callable[[], str]) -> str:
    """What ``body`` returns, run in a throwaway forked child (whose limits die with it)."""
    read, write = os.pipe()
    with warnings.catch_warnings():
        # Python 3.12+ warns when a process with threads forks; this child only reports and exits.
        warnings.filterwarnings("ignore", message=r".*use of fork\(\) may lead to deadlocks", category=DeprecationWarning)
        pid = os.fork()
    if pid == 0:
        os.close(read)
        os.write(write, body().encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        text = pipe.read()
    os.waitpid(pid, 0)
    return text


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to test in a throwaway child")
def test_each_exercise_gets_its_cpu_time_from_where_the_last_one_ended() -> None:
    def spend_half_a_second_then_move_on() -> str:
        import resource

        apply_rlimits(Limits(cpu_seconds=1), exercises=3)
        deadline = time.process_time() + 0.5
        while time.process_time() < deadline:
            pass
        limits_module.allow_cpu_for_next_exercise(Limits(cpu_seconds=1))
        return ",".join(map(str, resource.getrlimit(resource.RLIMIT_CPU)))

    soft, hard = map(int, in_a_child(spend_half_a_second_then_move_on).split(","))
    assert (soft, hard) == (2, 4)  # 1 s spent (rounded up) + 1 s; the hard limit never moves


def test_without_the_resource_module_no_limit_is_claimed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits_module, "resource", None)
    assert apply_rlimits(Limits()) == []
    assert limits_module.limit_processes_by_user(Limits()) is False


def test_limits_round_trip_through_the_worker_job() -> None:
    limits = Limits(timeout=3.0, cpu_seconds=5, sandbox="process")
    assert Limits.from_json(limits.to_json()) == limits
    assert dataclasses.asdict(limits)["sandbox"] == "process"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to test in a throwaway child")
def test_rlimits_really_apply_in_a_child() -> None:
    def apply() -> str:
        applied = apply_rlimits(Limits(cpu_seconds=9))
        import resource

        cpu_limit, memory_limit = (resource.getrlimit(number)[0] for number in (resource.RLIMIT_CPU, resource.RLIMIT_AS))
        return f"{','.join(applied)}|{cpu_limit}|{memory_limit}"

    text = in_a_child(apply)
    applied, cpu, memory = text.split("|")
    assert cpu == "9"
    # Only what was really set is named: macOS refuses RLIMIT_AS below some hundreds of GiB.
    if "RLIMIT_AS" in applied.split(",") or sys.platform.startswith("linux"):
        assert "RLIMIT_AS" in applied.split(",") and memory == str(Limits().memory_bytes)


def test_without_fork_each_exercise_gets_a_worker_of_its_own(kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    """The path Windows takes, run here with the platform's facts faked."""
    no_fork = Platform(sys.platform, has_fork=False, has_resource=True, bwrap=None, is_root=False)
    monkeypatch.setattr(sandbox, "detect", lambda: no_fork)
    monkeypatch.setattr(grading, "detect", lambda: no_fork)
    report = grade_folder(ROOT / "solutions", kit, kit.select(["01", "03"]), Limits(sandbox="process"))
    assert [(e.id, e.score) for e in report.exercises] == [(e.id, e.max_score) for e in kit.select(["01", "03"])]
    assert report.sandbox == "process"
    slow = GOLDEN / "03_concurrency" / "await_in_loop"
    wrong = grade_folder(slow, kit, kit.select(["03"]), Limits(sandbox="process"))
    assert wrong.score == expected_score(slow)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a worker is kept only where there is fork")
def test_a_kept_worker_grades_and_protects_as_a_fresh_one(kit: Kit, tmp_path: Path) -> None:
    """Same scores, same sandbox, same protections claimed, submission after submission."""
    limits = Limits(sandbox="process")
    chosen = kit.select(["01", "03"])
    check_files = sorted({spec.checks_file for spec in chosen})
    slow = GOLDEN / "03_concurrency" / "await_in_loop"
    fresh = [grade_folder(folder, kit, chosen, limits) for folder in (ROOT / "solutions", slow)]
    with KeptWorker(tmp_path / "slot", check_files, limits) as worker:
        (tmp_path / "slot").mkdir()
        kept = [grade_folder(Path(report.submission), kit, chosen, limits, worker=worker) for report in fresh * 2]
    full = sum(spec.max_score for spec in chosen)
    assert [r.score for r in kept] == [r.score for r in fresh] * 2 == [full, expected_score(slow)] * 2  # the slow folder holds 03 alone
    assert {(r.sandbox, tuple(r.protections)) for r in kept} == {(fresh[0].sandbox, tuple(fresh[0].protections))}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="a worker is kept only where there is fork")
def test_a_worker_that_died_before_taking_a_job_costs_the_submission_nothing(
    kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between two submissions (say by the kernel's OOM killer), unnoticed: the job is sent again."""
    limits = Limits(sandbox="process")
    chosen = kit.select(["03"])
    with KeptWorker(None, [chosen[0].checks_file], limits) as worker:
        assert grade_folder(ROOT / "solutions", kit, chosen, limits, worker=worker).score == chosen[0].max_score
        assert worker.process is not None
        dead = worker.process
        dead.kill()
        dead.wait()
        really_alive, first_look = worker._alive, iter([True])  # the first look misses the death, as a race would
        monkeypatch.setattr(worker, "_alive", lambda: next(first_look, None) or really_alive())
        report = grade_folder(ROOT / "solutions", kit, chosen, limits, worker=worker)
    assert report.score == chosen[0].max_score, report.exercises[0].message
