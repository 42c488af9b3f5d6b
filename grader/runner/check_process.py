"""A check process: checks a submission's exercises in turn, on checks the worker collected.

A fork of the worker costs more than checking an exercise (copy-on-write faults, and the
first event loop, first check and first import pay for caches every later one reuses), so
one process checks the exercises one after another. It is armed once (environment, guard,
limits, probes) before any student code runs; then each exercise gets its own output and
result pipes, reporter and fingerprint view, and the student's modules are dropped after
it. The process goes on to the next exercise only while the last one left nothing behind
(see :mod:`grader.runner.carry_over`); otherwise it stops, and the worker forks a fresh one
for the exercises left, so no exercise is checked in a process another one changed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import io
import os
import sys
import tempfile
from pathlib import Path

import pytest

from grader.checking import blocking, context, virtual_time
from grader.runner import channels, guard, integrity, limits
from grader.runner.carry_over import CarryOver
from grader.runner.job import ExerciseJob, WorkerJob
from grader.runner.reporter import CheckReporter, make_sender

CHECKS_BROKEN_EXIT = int(pytest.ExitCode.INTERNAL_ERROR)
# The exit code of a process that checked some exercises and leaves the rest to a fresh one.
HAND_OVER_EXIT = 75


@dataclasses.dataclass(frozen=True)
class Checks:
    """One check file's collected checks, and the fingerprint of what their verdict relies on."""

    items: list[pytest.Item]
    fingerprint: integrity.Fingerprint


class CheckProcess:
    """The current process, armed to check ``exercises`` of ``job`` in turn."""

    def __init__(
        self, job: WorkerJob, exercises: list[ExerciseJob], session: pytest.Session, watched: integrity.Identities
    ) -> None:
        self.job = job
        self.session = session
        self.reporter: CheckReporter | None = None
        self.quiet = os.open(os.devnull, os.O_WRONLY)
        sys.dont_write_bytecode = True
        # Temporary files and the home folder are the submission's own folder, the one place
        # it may write, whether its worker was started for it or kept for many.
        os.environ.update(dict.fromkeys(("TMPDIR", "TEMP", "TMP", "HOME"), str(job.workdir)))
        tempfile.tempdir = None
        guard.arm(list(job.forbidden), [job.workdir], self._refused)
        self.rlimits = limits.apply_rlimits(job.limits, len(exercises))
        self.capped = job.cap_processes_by_user and limits.limit_processes_by_user(job.limits)
        if sys.platform == "win32":
            # Virtual time needs a selector loop; Windows defaults to the proactor.
            asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy())  # type: ignore[attr-defined]
        virtual_time.install()
        blocking.install()
        self.carry_over = CarryOver(watched)

    def check_in_turn(self, exercises: list[tuple[ExerciseJob, Checks | str]], progress_fd: int) -> int:
        """Check each ``(exercise, its checks or why they failed to load)`` in turn; the exit code.

        After each, ``"<exercise id> <exit code> on|over"`` goes to ``progress_fd``: the worker
        holds each exercise's time limit, says how it ended, and whether this process goes on.
        """
        for index, (exercise, checks) in enumerate(exercises):
            code, left = self.check(exercise, checks, last=index + 1 == len(exercises))
            os.write(progress_fd, f"{exercise.exercise_id} {code} {'over' if left else 'on'}\n".encode())
            if left:
                return HAND_OVER_EXIT
        return 0

    def check(self, exercise: ExerciseJob, checks: Checks | str, last: bool = True) -> tuple[int, list[str]]:
        """Check one exercise: its exit code, and what it left behind that the next must not meet.

        After the ``last`` exercise of a process nothing is compared: no exercise follows.
        """
        output_fd = channels.open_in_child(exercise.output_fd)
        result_fd = channels.open_in_child(exercise.result_fd)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        # Unbuffered, so what the student printed arrives even if the process dies right after
        # (the worker runs with -I, which ignores PYTHONUNBUFFERED).
        sys.stdout = _unbuffered_text(1)
        sys.stderr = _unbuffered_text(2)
        left: list[str] = []
        try:
            if isinstance(checks, str):
                os.write(output_fd, f"the check file failed to import:\n{checks}\n".encode())
                return CHECKS_BROKEN_EXIT, left
            reporter = CheckReporter(exercise.checks, make_sender(result_fd, self.job.token), checks.fingerprint)
            code = self._run(exercise, reporter, checks.items, last)
            left = [] if last else [*reporter.interruptions, *self._leftovers()]
            if left:
                reporter.send({"event": "left_behind", "what": left})
            reporter.send({"event": "end", "exit_code": code})
            return code, left
        finally:
            os.dup2(self.quiet, 1)
            os.dup2(self.quiet, 2)
            channels.close_quietly(output_fd, result_fd)
            self.carry_over.closed([output_fd, result_fd])

    def _run(self, exercise: ExerciseJob, reporter: CheckReporter, items: list[pytest.Item], last: bool) -> int:
        """Run the exercise's checks with ``reporter``; afterwards forget its code."""
        plugins = self.session.config.pluginmanager
        path, modules = list(sys.path), set(sys.modules)
        context.set_exercise(exercise.exercise_file)
        sys.path.insert(0, str(exercise.exercise_file.parent))
        _fresh_event_loop_state()
        self.carry_over.cpu_limit = limits.allow_cpu_for_next_exercise(self.job.limits)
        self.reporter = reporter
        reporter.send({"event": "start", "pid": os.getpid(), "rlimits": self.rlimits, "process_cap_by_user": self.capped})
        plugins.register(reporter)
        try:
            checks = reporter.select(items)
            if not checks:
                return int(pytest.ExitCode.NO_TESTS_COLLECTED)
            for index, item in enumerate(checks):
                following = checks[index + 1] if index + 1 < len(checks) else None
                self.session.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
            _forget_modules_under(self.job.workdir, set(sys.modules) - modules)
            sys.path = path
            blocking.reset()
            virtual_time.reset()
            if not last:
                # Finalisers of what the exercise left run now, while its pipes are still its own.
                gc.collect()
            reporter.report_tampering()
            return 0
        finally:
            plugins.unregister(reporter)
            self.reporter = None

    def _leftovers(self) -> list[str]:
        try:
            return self.carry_over.leftovers()
        except Exception as exc:  # noqa: BLE001 - whatever the exercise did, the next one gets a fresh process
            return [f"something the comparison could not read ({type(exc).__name__})"]

    def _refused(self, what: str) -> None:
        if self.reporter is not None:
            self.reporter.send({"event": "violation", "what": what})
            self.reporter.interruptions.append("a refused call")


def _fresh_event_loop_state() -> None:
    """The event loop policy's state for this thread as in a fresh process: no loop set, none ever set.

    ``asyncio.run`` and pytest-asyncio's loops leave the thread marked as having set a loop,
    after which ``asyncio.get_event_loop()`` at the top of a module raises instead of making one.
    """
    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    if local is not None:
        policy._local = type(local)()  # type: ignore[attr-defined]


def _forget_modules_under(folder: Path, names: set[str]) -> None:
    """Drop the student's modules among ``names``, so the next exercise imports its own code afresh."""
    root = os.path.join(os.path.realpath(folder), "")
    for name in names:
        file = getattr(sys.modules.get(name), "__file__", None)
        if isinstance(file, str) and os.path.realpath(file).startswith(root):
            del sys.modules[name]


def _unbuffered_text(fd: int) -> io.TextIOWrapper:
    raw = open(fd, "wb", buffering=0, closefd=False)  # noqa: SIM115 - lives as long as the process
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="\n", write_through=True)  # type: ignore[arg-type]
