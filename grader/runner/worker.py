"""The worker process: imports pytest once, then forks one check process per exercise.

Starting pytest is what costs (~0.3 s); a fork of a process that has already imported it
costs ~0.1 s. The worker holds each exercise's wall-clock limit and reports how every
child ended on its own stdout, which no child holds. Run as ``python -I -m grader.runner.worker``
with the job on stdin.
"""

from __future__ import annotations

import importlib
import json
import os
import signal
import sys
import time

from grader.runner.job import ExerciseJob, WorkerJob
from grader.runner.sandbox import leave_root

POLL_SECONDS = 0.005
STDOUT = 1


def main() -> int:
    warm_imports()  # before reading the job: the parent sends it once its files are ready
    job = WorkerJob.loads(sys.stdin.read())
    os.chdir(job.workdir)
    _announce_raw({"left_root": job.leave_root and leave_root()})
    if job.fork:
        run_forked(job)
    else:
        run_single(job)
    return 0


def warm_imports() -> None:
    """Import what every check process needs, so each fork starts with it loaded.

    MUST happen before the first fork, and no thread may be started in this process.
    """
    import _pytest.config
    import pytest_asyncio.plugin  # noqa: F401
    import pytest_timeout  # noqa: F401

    import grader.checking.fixtures  # noqa: F401
    import grader.runner.child  # noqa: F401

    for name in _pytest.config.default_plugins:
        importlib.import_module(f"_pytest.{name}")


def run_forked(job: WorkerJob) -> None:
    """Fork up to ``job.parallel`` children at a time; kill any that outlive their limit."""
    pending = list(job.exercises)
    running: dict[int, tuple[ExerciseJob, float]] = {}
    while pending or running:
        while pending and len(running) < job.limits.parallel:
            exercise = pending.pop(0)
            pid = os.fork()
            if pid == 0:
                _child(exercise, job)
            os.close(exercise.output_fd)
            running[pid] = (exercise, time.monotonic() + exercise.timeout)
        _reap(running)
        _kill_overdue(running)
        time.sleep(POLL_SECONDS)


def _child(exercise: ExerciseJob, job: WorkerJob) -> None:
    """Body of a forked child; never returns."""
    code = 70
    try:
        os.setpgid(0, 0)
        for other in job.exercises:
            if other is not exercise:
                _close_quietly(other.result_fd, other.output_fd)
        from grader.runner.child import run_exercise

        code = run_exercise(exercise, job)
    finally:
        os._exit(code)


def _reap(running: dict[int, tuple[ExerciseJob, float]]) -> None:
    while running:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in running:
            exercise, _ = running.pop(pid)
            _finish(exercise, pid, _describe_status(status))


def _kill_overdue(running: dict[int, tuple[ExerciseJob, float]]) -> None:
    now = time.monotonic()
    for pid, (exercise, deadline) in list(running.items()):
        if now > deadline:
            _kill_group(pid)
            os.waitpid(pid, 0)
            running.pop(pid)
            _finish(exercise, pid, {"ended": "timeout", "limit": exercise.timeout})


def _finish(exercise: ExerciseJob, pid: int, how: dict[str, object]) -> None:
    """Kill what the child left behind, then tell the parent how it ended.

    The news goes on the worker's own stdout, which no child holds (each child replaced
    its fd 1 with its output pipe before running student code), so a child cannot forge it.
    """
    _kill_group(pid)
    _close_quietly(exercise.result_fd)
    _announce(exercise, how)


def _announce(exercise: ExerciseJob, how: dict[str, object]) -> None:
    _announce_raw({"exercise": exercise.exercise_id, **how})


def _announce_raw(news: dict[str, object]) -> None:
    os.write(STDOUT, (json.dumps(news) + "\n").encode())


def _describe_status(status: int) -> dict[str, object]:
    if os.WIFSIGNALED(status):
        return {"ended": "signal", "signal": os.WTERMSIG(status)}
    return {"ended": "exit", "exit_code": os.WEXITSTATUS(status)}


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _close_quietly(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def run_single(job: WorkerJob) -> None:
    """Where there is no fork, the parent starts one worker per exercise and holds its limit."""
    from grader.runner.child import run_exercise

    (exercise,) = job.exercises
    stdout = os.dup(STDOUT)
    code = run_exercise(exercise, job)
    os.dup2(stdout, STDOUT)
    _announce(exercise, {"ended": "exit", "exit_code": code})
    # MUST NOT wait for threads the student left running: only the parent's kill would end them.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
