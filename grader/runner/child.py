"""One exercise's checks, run with pytest in the current (already isolated) process."""

from __future__ import annotations

import asyncio
import io
import os
import signal
import sys

from grader.checking import blocking, context, virtual_time
from grader.runner import channels, guard, limits
from grader.runner.job import ExerciseJob, WorkerJob
from grader.runner.reporter import CheckReporter, make_sender

PYTEST_INI = os.path.join(os.path.dirname(__file__), "pytest.ini")
# pytest's own plugins that checks never need; each costs time in every check process,
# and cacheprovider and junitxml would write files.
UNUSED_PLUGINS = (
    "cacheprovider", "terminal", "stepwise", "debugging", "unittest", "legacypath", "pastebin",
    "junitxml", "doctest", "setuponly", "setupplan", "unraisableexception", "threadexception",
    "warnings", "logging", "faulthandler", "subtests",
)  # fmt: skip


def pytest_args(job: ExerciseJob, rootdir: str) -> list[str]:
    """The command line for pytest: the grader's own ini, no conftest, no cache, no autoload."""
    # Without SIGALRM (Windows) pytest-timeout can only use its watchdog thread.
    timeout_method = ["-o", "timeout_method=thread"] if not hasattr(signal, "SIGALRM") else []
    return [*timeout_method,
        str(job.checks_file),
        "-c", PYTEST_INI,
        "--rootdir", rootdir,
        "--noconftest",
        *(arg for plugin in UNUSED_PLUGINS for arg in ("-p", f"no:{plugin}")),
        "-p", "pytest_asyncio.plugin",
        "-p", "pytest_timeout",
        "-p", "grader.checking.fixtures",
        "--capture=no",
    ]  # fmt: skip


def run_exercise(job: ExerciseJob, worker: WorkerJob) -> int:
    """Redirect output to the exercise's pipe, arm the probes and limits, and run its checks."""
    import pytest

    output_fd = channels.open_in_child(job.output_fd)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    # Unbuffered, so what the student printed arrives even if the process dies right after
    # (the worker runs with -I, which ignores PYTHONUNBUFFERED).
    sys.stdout = _unbuffered_text(1)
    sys.stderr = _unbuffered_text(2)
    sys.dont_write_bytecode = True
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
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
    code = pytest.main(pytest_args(job, str(worker.workdir)), plugins=[reporter])
    reporter.send({"event": "end", "exit_code": int(code)})
    return int(code)


def _unbuffered_text(fd: int) -> io.TextIOWrapper:
    raw = open(fd, "wb", buffering=0, closefd=False)  # noqa: SIM115 - lives as long as the process
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="\n", write_through=True)  # type: ignore[arg-type]
