"""Hostile submissions, each graded in every sandbox mode against its expected verdict.

Each folder ``tests/hostile/<scenario>/`` is a submission whose exercise file tries to
forge a result, escape its copy, or exhaust the machine, plus the files it drops beside
itself, and an ``expected.json``:

- ``why``; ``max_score``: the exercise never scores more (0 for forgeries of the result;
  for forgeries of the machinery, what the same code honestly scores without them);
- ``exercise``: the exercise graded, whose file is the hostile one (default :data:`EXERCISE`);
  each exercise's probes gather evidence of their own, and each can be forged its own way;
- ``status``, ``message_contains`` (case-insensitive, in the exercise's or a check's
  message; or one such text per sandbox mode), ``output_truncated``: optional;
- ``wall_seconds``: the most the grading may take, with its time limit (``timeout``, default
  :data:`TIMEOUT`);
- ``other_exercise_graded``: a right answer to :data:`COMPANION` sits beside it, and must
  still pass;
- ``also_graded``: exercises graded with it, from the scenario's own files (an attack from
  one exercise's subject on another's);
- ``env``: variables set in the grader's environment (``{folder}`` is the submission);
- ``home_canary``: a file the submission tries to create in home folders;
- ``stray_files``: names it writes into the temporary folder's parent (removed after);
- ``child_uid_not_root``: when the grader runs as root, the checks must not (the
  submission prints its uid and its user namespace's uid map);

Every scenario also asserts that the student's folder is unchanged byte for byte, and
that no process the submission started (marked, see ``hostile_helpers``) outlives grading.
The submission is graded from a temporary copy, with the working folder set to it, as a
teacher running ``grade .`` would: by a worker started for it (``fresh``), and by a worker
kept for many submissions as a batch slot keeps one (``kept``), which must then grade the
next submission, a right one to the same exercise, as if nothing had happened before it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.grading import grade_folder
from grader.kit import Kit
from grader.model import ExerciseResult, Report
from grader.runner.limits import Limits
from grader.runner.parent.kept_worker import KeptWorker

from .conftest import ROOT
from .hostile_helpers import load_expected, marked_processes, strays_after, tree_digest

try:
    import pwd
except ImportError:  # Windows
    pwd = None  # type: ignore[assignment]  # no pwd module on Windows

HOSTILE = ROOT / "tests" / "hostile"
SCENARIOS = sorted(path.parent for path in HOSTILE.glob("*/expected.json"))
EXERCISE = "03_concurrency"
COMPANION = "01_coroutines"
TIMEOUT = 2.0
SANDBOXES = ["process", "bwrap"]
RUNNERS = ["fresh", "kept"]
UID_LINE = "HOSTILE-UID "

# What a platform cannot run at all (skip), and what the grader does not handle there yet
# (xfail, not strict: it passes once the runner does). Without fork (Windows) the parent
# starts one worker per exercise, and that worker is the check process itself.
WINDOWS = sys.platform == "win32"
LINUX = sys.platform.startswith("linux")
NO_FORK_HANG = (
    "Windows (no fork): only the parent's outer limit (a 10 s startup allowance plus the time limit) "
    "stops the worker, past wall_seconds"
)
NO_FORK_EXIT = (
    "Windows (no fork): the parent does not read the worker's own exit status, so an early exit "
    "reads 'vanished without a trace'"
)
PLATFORM_MARKS = {
    "background_setsid": pytest.mark.skipif(WINDOWS, reason="needs os.fork and os.setsid, which Windows lacks"),
    "fork_bomb": pytest.mark.skipif(WINDOWS, reason="needs os.fork, which Windows lacks"),
    "memory_bomb": pytest.mark.skipif(
        not sys.platform.startswith("linux"),
        reason="no memory limit to hit: macOS refuses RLIMIT_AS (EINVAL), Windows has no resource module",
    ),
    "results_killed_mid_run": pytest.mark.skipif(WINDOWS, reason="kills itself with signal.SIGKILL, which Windows lacks"),
    "kill_worker": pytest.mark.skipif(
        not LINUX, reason="Linux only: elsewhere nothing finds a process whose worker was killed (no /proc, no cgroup)"
    ),
    "escape_chain": pytest.mark.skipif(
        not LINUX, reason="Linux only: the sweep finds leftovers through /proc and the worker's child-subreaper role"
    ),
    "exit_os_exit_import": pytest.mark.xfail(WINDOWS, reason=NO_FORK_EXIT, strict=False),
    "results_exit_mid_run": pytest.mark.xfail(WINDOWS, reason=NO_FORK_EXIT, strict=False),
    "segfault": pytest.mark.xfail(
        WINDOWS, reason="Windows: a crash is exit status 0xC0000005 of the worker itself, not a signal, and is not called a crash", strict=False
    ),
    "hang_busy_loop": pytest.mark.xfail(WINDOWS, reason=NO_FORK_HANG, strict=False),
    "hang_infinite_loop_import": pytest.mark.xfail(WINDOWS, reason=NO_FORK_HANG, strict=False),
    "hang_sleep_import": pytest.mark.xfail(WINDOWS, reason=NO_FORK_HANG, strict=False),
    "threads_forever": pytest.mark.xfail(
        WINDOWS, reason="Windows (no fork): the worker's exit waits for the student's non-daemon thread", strict=False
    ),
}
SCENARIO_PARAMS = [pytest.param(path, id=path.name, marks=PLATFORM_MARKS.get(path.name, ())) for path in SCENARIOS]


def limits_for(sandbox: str, timeout: float) -> Limits:
    """The limits of a hostile run in ``sandbox`` mode, or a skip where that mode cannot run."""
    if sandbox == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) is not installed")
    return Limits(timeout=timeout, sandbox=sandbox)


def submission_copy(scenario: Path, target: Path, kit: Kit, companion: bool) -> Path:
    """The scenario's files (not its expected.json) in ``target``, with the companion's right answer."""
    shutil.copytree(scenario, target, ignore=shutil.ignore_patterns("expected.json"))
    if companion:
        spec = kit.exercise(COMPANION)
        shutil.copyfile(spec.solution, target / spec.file)
    return target


def home_folders() -> set[Path]:
    homes = {Path.home()}
    if pwd is not None:
        try:
            homes.add(Path(pwd.getpwuid(os.geteuid()).pw_dir))
        except KeyError:
            pass
    return homes


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def child_uid(output: str) -> int | None:
    """The uid the checks ran as, as they saw it (printed by the submission).

    As root, both sandbox modes run the checks in a user namespace as uid 65534: they hold
    no capabilities outside it (cannot raise their limits), though the kernel still maps
    them to root's uid for file access (SECURITY.md says so, and what stops writes).
    """
    line = next((line for line in output.splitlines() if line.startswith(UID_LINE)), None)
    if line is None:
        return None
    seen = json.loads(line[len(UID_LINE) :])
    # Under bwrap the subject has no /proc at all: it cannot read its map, or anyone else's.
    assert seen["uid_map"].split()[:1] in (["65534"], []), seen
    return int(seen["uid"])


def graded(expected: dict[str, Any]) -> str:
    """The exercise a scenario's submission is graded on."""
    return str(expected.get("exercise", EXERCISE))


def messages(exercise: ExerciseResult) -> str:
    return "\n".join([exercise.message, *(check.message for check in exercise.checks)]).lower()


@pytest.fixture(scope="module")
def kept_workers(kit: Kit, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Limits], KeptWorker]]:
    """A kept worker per set of limits, shared by every scenario of this module, as a batch slot's is."""
    workers: dict[Limits, KeptWorker] = {}
    check_files = sorted({spec.checks_file for spec in kit.exercises})
    solutions = tuple({spec.solution.parent for spec in kit.exercises})

    def worker_for(limits: Limits) -> KeptWorker:
        if limits not in workers:
            workers[limits] = KeptWorker(tmp_path_factory.mktemp("slot"), check_files, limits, solutions)
        return workers[limits]

    yield worker_for
    for worker in workers.values():
        worker.close()


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("sandbox", SANDBOXES)
@pytest.mark.parametrize("scenario", SCENARIO_PARAMS)
def test_hostile_submission(
    scenario: Path,
    sandbox: str,
    runner: str,
    kit: Kit,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kept_workers: Callable[[Limits], KeptWorker],
) -> None:
    expected = load_expected(scenario)
    exercise = graded(expected)
    limits = limits_for(sandbox, expected.get("timeout", TIMEOUT))
    if runner == "kept" and not hasattr(os, "fork"):
        pytest.skip("a worker is kept only where there is fork")
    worker = kept_workers(limits) if runner == "kept" else None
    companion = bool(expected.get("other_exercise_graded"))
    folder = submission_copy(scenario, tmp_path / "submission", kit, companion)
    monkeypatch.chdir(folder)
    for name, value in expected.get("env", {}).items():
        monkeypatch.setenv(name, value.format(folder=folder))
    canaries = [home / expected["home_canary"] for home in home_folders()] if "home_canary" in expected else []
    stray_files = [Path(tempfile.gettempdir(), name) for name in expected.get("stray_files", [])]
    stray_files = [path for path in stray_files if not path.exists()]
    before, processes_before = tree_digest(folder), marked_processes()
    started = time.monotonic()
    try:
        others = [COMPANION] if companion else expected.get("also_graded", [])
        report = grade_folder(folder, kit, kit.select([*others, exercise]), limits, worker=worker)
    finally:
        elapsed = time.monotonic() - started
        strays = strays_after(processes_before)
        written = [path for path in canaries if path.exists()]
        for path in [*written, *stray_files]:
            path.unlink(missing_ok=True)

    assert_verdict(report, expected, sandbox)
    assert tree_digest(folder) == before, "the student's folder was changed"
    assert not strays, f"processes left running: {sorted(strays)}"
    assert not written, f"the submission wrote {written}"
    assert elapsed <= expected["wall_seconds"], f"grading took {elapsed:.1f} s"
    if worker is not None:
        assert not list(worker.root.iterdir()), "the submission's files outlived it in the worker's folder"
        both = list(dict.fromkeys([COMPANION, exercise]))
        after = grade_folder(ROOT / "solutions", kit, kit.select(both), limits, worker=worker)
        assert [(e.id, e.score) for e in after.exercises] == [(e, kit.exercise(e).max_score) for e in both], after.exercises


def assert_verdict(report: Report, expected: dict[str, Any], sandbox: str) -> None:
    exercise = next(e for e in report.exercises if e.id == graded(expected))
    assert "\n" not in exercise.message, exercise.message
    assert exercise.score <= expected["max_score"], (exercise.score, exercise.message)
    if "status" in expected:
        assert exercise.status.value == expected["status"], exercise.message
    if "message_contains" in expected:
        wanted = expected["message_contains"]
        wanted = wanted[sandbox] if isinstance(wanted, dict) else wanted
        assert wanted.lower() in messages(exercise), messages(exercise)
    if "output_truncated" in expected:
        assert exercise.output_truncated == expected["output_truncated"]
    if expected.get("other_exercise_graded"):
        other = next(e for e in report.exercises if e.id == COMPANION)
        assert other.score == other.max_score, (other.status, other.message)
    if expected.get("child_uid_not_root") and running_as_root():
        assert child_uid(exercise.output) not in (None, 0), exercise.output[:500]
    assert report.sandbox == sandbox, f"the report says the {report.sandbox!r} sandbox ran"
