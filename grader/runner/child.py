"""One exercise's checks, run in the current (already isolated) process on checks the worker collected."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tempfile

import pytest

from grader.checking import blocking, context, virtual_time
from grader.runner import channels, guard, limits
from grader.runner.job import ExerciseJob, WorkerJob
from grader.runner.reporter import CheckReporter, make_sender


def run_exercise(job: ExerciseJob, worker: WorkerJob, session: pytest.Session, items: list[pytest.Item]) -> int:
    """Redirect output to the exercise's pipe, arm the probes and limits, and run its checks."""
    output_fd = channels.open_in_child(job.output_fd)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    # Unbuffered, so what the student printed arrives even if the process dies right after
    # (the worker runs with -I, which ignores PYTHONUNBUFFERED).
    sys.stdout = _unbuffered_text(1)
    sys.stderr = _unbuffered_text(2)
    sys.dont_write_bytecode = True
    # Temporary files and the home folder are the submission's own folder, the one place
    # it may write, whether its worker was started for it or kept for many.
    os.environ.update(dict.fromkeys(("TMPDIR", "TEMP", "TMP", "HOME"), str(worker.workdir)))
    tempfile.tempdir = None
    context.set_exercise(job.exercise_file)
    sys.path.insert(0, str(job.exercise_file.parent))
    reporter = CheckReporter(job.checks, make_sender(channels.open_in_child(job.result_fd), worker.token))
    guard.arm(list(worker.forbidden), [worker.workdir], lambda what: reporter.send({"event": "violation", "what": what}))
    applied = limits.apply_rlimits(worker.limits)
    capped = worker.cap_processes_by_user and limits.limit_processes_by_user(worker.limits)
    if sys.platform == "win32":
        # Virtual time needs a selector loop; Windows defaults to the proactor.
        asyncio.set_event_loop_policy(asyncio.WindowsSelectorEventLoopPolicy())  # type: ignore[attr-defined]
    virtual_time.install()
    blocking.install()
    reporter.send({"event": "start", "rlimits": applied, "process_cap_by_user": capped})
    session.config.pluginmanager.register(reporter)
    checks = reporter.select(session.config, items)
    if not checks:
        return int(pytest.ExitCode.NO_TESTS_COLLECTED)
    for index, item in enumerate(checks):
        following = checks[index + 1] if index + 1 < len(checks) else None
        session.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
    reporter.report_tampering()
    reporter.send({"event": "end", "exit_code": 0})
    return 0


def _unbuffered_text(fd: int) -> io.TextIOWrapper:
    raw = open(fd, "wb", buffering=0, closefd=False)  # noqa: SIM115 - lives as long as the process
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="\n", write_through=True)  # type: ignore[arg-type]
