"""The worker's pytest side: collect the kit's checks once, then serve jobs by forking judges.

Runs in the worker process (see :mod:`grader.runner.worker`, which starts it). Where there
is fork, :class:`JobServer` serves one submission after another from the job socket: it
forks check processes (the judges, :mod:`grader.runner.judge.check_process`; one, or one
per core for a submission graded alone) that take the submission's exercises from a
shared queue, holds each exercise's wall-clock limit (:class:`JudgeWatch`), forks fresh
judges for the exercises left whenever every judge of a round ended early, reports how
every exercise ended on the submission's own news pipe, which no judge holds, and kills
whatever the submission left running before it takes the next one
(:func:`grader.runner.processes.sweep`).
Without fork (Windows) :class:`OneExerciseRun` checks the one exercise of its job itself.
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import importlib
import os
import select
import signal
import socket
import sys
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from grader.runner import channels, processes
from grader.runner.judge.check_process import CheckProcess, Checks, exercise_sources
from grader.runner.judge.subject_launch import Template, started_templates
from grader.runner.protocol import (
    PROGRESS_BYTES,
    ExerciseChecked,
    ExerciseEnded,
    ExerciseJob,
    ExerciseTaken,
    WorkerJob,
    WorkerNews,
    parse_progress,
    queue_records,
    receive_job,
)

POLL_SECONDS = 0.005
WAKE_SECONDS = 0.05  # at least this often, a worker looks whether its check process has ended
BETWEEN_SECONDS = 5.0  # for a check process to take its first or next exercise, or exit, once done with one
PIPE_BYTES = 65536
EXIT_NOT_CLEAN = 3
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36
PYTEST_INI = os.path.join(os.path.dirname(__file__), "pytest.ini")
# pytest's own plugins that checks never need; each costs time to load,
# and cacheprovider and junitxml would write files.
UNUSED_PLUGINS = (
    "cacheprovider", "terminal", "stepwise", "debugging", "unittest", "legacypath", "pastebin",
    "junitxml", "doctest", "setuponly", "setupplan", "unraisableexception", "threadexception",
    "warnings", "logging", "faulthandler", "subtests",
)  # fmt: skip


def run_pytest(check_files: list[str], plugin: object) -> None:
    """Collect ``check_files`` and hand the session to ``plugin``, which serves the jobs."""
    warm_imports()
    pytest.main(pytest_args(check_files, os.getcwd()), plugins=[plugin])


def warm_imports() -> None:
    """Import what every check process needs, so each fork starts with it loaded.

    MUST happen before the first fork, and no thread may be started in this process.
    """
    import _pytest.config
    import pytest_asyncio.plugin  # noqa: F401 - imported for every fork to inherit
    import pytest_timeout  # noqa: F401 - imported for every fork to inherit

    import grader.checking.fixtures  # noqa: F401 - imported for every fork to inherit

    for name in _pytest.config.default_plugins:
        importlib.import_module(f"_pytest.{name}")


def pytest_args(check_files: list[str], rootdir: str) -> list[str]:
    """The command line for pytest: the grader's own ini, no conftest, no cache, no autoload."""
    # Without SIGALRM (Windows) pytest-timeout can only use its watchdog thread.
    timeout_method = ["-o", "timeout_method=thread"] if not hasattr(signal, "SIGALRM") else []
    return [*timeout_method,
        *check_files,
        "-c", PYTEST_INI,
        "--rootdir", rootdir,
        "--noconftest",
        *(arg for plugin in UNUSED_PLUGINS for arg in ("-p", f"no:{plugin}")),
        "-p", "pytest_asyncio.plugin",
        "-p", "pytest_timeout",
        "-p", "grader.checking.fixtures",
        "--capture=no",
    ]  # fmt: skip


class CollectedChecks:
    """The checks pytest collected, by file, and why any check file failed to import."""

    def __init__(self) -> None:
        self.checks: dict[str, Checks] = {}
        self.broken: dict[str, str] = {}

    def pytest_configure(self, config: pytest.Config) -> None:
        # The reporter never shows pytest's tracebacks, so pytest only keeps the exception's
        # text: formatting a traceback costs a tenth of a check process, and re-parsing
        # source while a student's abandoned task logs from a finaliser crashes CPython
        # 3.11.7 ("AST constructor recursion depth mismatch").
        config.option.tbstyle = "value"

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Generator[None, Any, Any]:
        report = yield
        if report.failed and isinstance(collector, pytest.Module):
            self.broken[_key(collector.path)] = str(report.longrepr)
        return report

    def index(self, session: pytest.Session) -> None:
        """Sort the collected checks by file."""
        by_file: dict[str, list[pytest.Item]] = {}
        for item in session.items:
            by_file.setdefault(_key(item.path), []).append(item)
        self.checks = {key: Checks(items) for key, items in by_file.items()}
        self.none = Checks([])

    def checks_for(self, exercise: ExerciseJob) -> Checks | str:
        """The exercise's checks, or why its check file failed to import."""
        key = _key(exercise.checks_file)
        if key in self.broken:
            return self.broken[key]
        return self.checks.get(key, self.none)


class JobServer(CollectedChecks):
    """Serve jobs from the socket until the parent closes it, forking check processes for each."""

    def __init__(self, channel: socket.socket, left_root: bool, whole_namespace: bool, warm: list[Template]) -> None:
        """``warm``: templates started already, one for each judge of the first job."""
        super().__init__()
        self.channel = channel
        self.left_root = left_root
        self.whole_namespace = whole_namespace
        self.sandbox = warm[0].sandbox
        self.judges = len(warm)
        self.warm = warm

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        self.index(session)
        # Objects that exist now are never collected in a child, so its collector
        # does not touch (and copy) the pages the worker shares with it.
        gc.collect()
        gc.freeze()
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
        # Not dumpable: no check process may attach to it or open its memory, so none
        # can change how the next submission is checked.
        _prctl(PR_SET_DUMPABLE, 0)
        home = os.getcwd()
        while (job := receive_job(self.channel)) is not None:
            os.write(job.news_fd, WorkerNews(self.left_root).line())
            os.chdir(job.workdir)
            self.check(job, session)
            clean = processes.sweep(self.whole_namespace)
            os.close(job.news_fd)  # the parent reads this job's end here
            if not clean:
                os._exit(EXIT_NOT_CLEAN)  # the parent replaces a worker it cannot trust
            os.chdir(home)
            # After the sweep, which ends every process the last job left: the next job's warm templates.
            self.warm = started_templates(self.sandbox, self.judges, Path(home))
        return True

    def check(self, job: WorkerJob, session: pytest.Session) -> None:
        """Fork check processes until every exercise of the job has ended, one way or another.

        Each round puts the exercises not yet ended in a queue and forks up to
        :attr:`judges` check processes, which take them from the queue one at a time,
        all at once: a judge that is done with a quick exercise takes the next while
        another waits on a slow one. The first judges take the warm templates, any
        others start their own. A round ends when every one of its check processes has;
        what the round left unchecked (every judge died, or took an exercise and died
        before it said which) goes to fresh ones in the next round, once what the round
        left is swept away: no check process meets what another left.
        """
        left = PendingExercises(job)
        sources = exercise_sources(list(job.exercises))
        warm, self.warm = self.warm, []
        while left.pending:
            exercises = list(left.pending)
            queue_r, queue_w = os.pipe()
            os.write(queue_w, queue_records(len(exercises)))
            os.close(queue_w)
            watches = []
            for _ in range(min(self.judges, len(exercises))):
                template = warm.pop(0) if warm else Template(self.sandbox)  # a cold one starts on first use
                progress_r, progress_w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    self._child(exercises, job, session, queue_r, progress_w, template, sources)
                os.close(progress_w)
                template.release()  # the judge holds it now
                watches.append(JudgeWatch(pid, progress_r, left))
            for template in warm:  # more than this job needed: the sweep would end them anyway
                template.close()
            warm = []
            os.close(queue_r)
            follow_all(watches)
            for watch in watches:
                os.close(watch.progress_fd)
            if len(left.pending) == len(exercises):
                # No judge of the round got as far as an exercise: the first is charged its
                # limit, so that every round ends one and the job always ends.
                stalled = left.pending[0]
                left.end(stalled, ExerciseEnded("", "timeout", limit=stalled.timeout))
            if left.pending:
                processes.sweep(self.whole_namespace)  # the next check processes must not meet what these left

    def _child(
        self,
        exercises: list[ExerciseJob],
        job: WorkerJob,
        session: pytest.Session,
        queue_fd: int,
        progress_fd: int,
        template: Template,
        sources: dict[str, bytes],
    ) -> None:
        """Body of a forked check process; never returns."""
        code = 70
        try:
            os.setpgid(0, 0)
            _prctl(PR_SET_DUMPABLE, 1)  # its own /proc entries stay its own
            # What its children leave comes back to it, where it can see it (not inherited from the worker).
            _prctl(PR_SET_CHILD_SUBREAPER, 1)
            # Only the round's pipes, the queue and its progress pipe: not the job socket (the
            # next student's job), not the news.
            exercise_fds = (fd for e in exercises for fd in (e.result_fd, e.output_fd))
            _close_all_but({queue_fd, progress_fd, *template.descriptors(), *exercise_fds})
            process = CheckProcess(job, exercises, session, template, sources)
            code = process.check_from_queue([(e, self.checks_for(e)) for e in exercises], queue_fd, progress_fd)
        finally:
            os._exit(code)


class PendingExercises:
    """A job's exercises not yet ended; the worker's copies of their pipes, closed as each ends."""

    def __init__(self, job: WorkerJob) -> None:
        self.job = job
        self.pending = list(job.exercises)

    def named(self, exercise_id: str) -> ExerciseJob | None:
        return next((exercise for exercise in self.pending if exercise.exercise_id == exercise_id), None)

    def end(self, exercise: ExerciseJob, how: ExerciseEnded) -> None:
        """``exercise`` ended ``how``: say so on the news pipe, and let go of its pipes."""
        self.pending.remove(exercise)
        channels.close_quietly(exercise.result_fd, exercise.output_fd)
        os.write(self.job.news_fd, dataclasses.replace(how, exercise=exercise.exercise_id).line())


class OneExerciseRun(CollectedChecks):
    """Without fork: check the one exercise of the job in this process, and say how it ended."""

    def __init__(self, job: WorkerJob, template: Template) -> None:
        super().__init__()
        self.job = job
        self.template = template

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool:
        self.index(session)
        (exercise,) = self.job.exercises
        news = os.dup(self.job.news_fd)
        process = CheckProcess(self.job, [exercise], session, self.template, exercise_sources([exercise]))
        code = process.check(exercise, self.checks_for(exercise))
        process.close()
        os.write(news, ExerciseEnded(exercise.exercise_id, "exit", exit_code=code).line())
        # MUST NOT wait for threads the student left running: only the parent's kill would end them.
        os._exit(0)


def _key(path: object) -> str:
    return os.path.realpath(str(path))


class JudgeWatch:
    """One check process as its worker follows it: the exercise it took, that exercise's limit, its end.

    Each exercise has its own time limit, from when the process takes it. Between
    exercises, a process has :data:`BETWEEN_SECONDS` to take the next or exit. A process
    that ends in the middle of an exercise ends that exercise the same way.
    """

    def __init__(self, pid: int, progress_fd: int, left: PendingExercises) -> None:
        self.pid = pid
        self.progress_fd = progress_fd
        self.left = left
        self.current: ExerciseJob | None = None
        self.unread = b""
        self.silent = False  # every writer of the progress pipe has closed it
        self.deadline = time.monotonic() + BETWEEN_SECONDS
        os.set_blocking(progress_fd, False)

    def step(self) -> bool:
        """Look once: take its reports, and account for its exercise if it ended or overran; whether it is over."""
        status = _status(self.pid)  # before reading: once it has ended, all it wrote is there to read
        self.take_reports()
        if status is not None:
            if self.current is not None:
                self.left.end(self.current, _describe_status(status))
                self.current = None
        elif time.monotonic() > self.deadline:
            self.stop_overdue()
        else:
            return False
        processes.kill_group(self.pid)  # what it left in its group
        return True

    def wait(self) -> float:
        """How long the worker may sleep before it must look again."""
        if self.silent:
            return POLL_SECONDS  # its pipe is closed, but it has not been reaped yet
        return min(max(self.deadline - time.monotonic(), 0), WAKE_SECONDS)

    def stop_overdue(self) -> None:
        """Kill the process: its exercise ran out of time, unless its report came meanwhile."""
        processes.kill_group(self.pid)
        os.kill(self.pid, signal.SIGKILL)  # also if it left its group (not reaped yet: still its pid)
        os.waitpid(self.pid, 0)
        self.take_reports()
        if self.current is not None:
            self.left.end(self.current, ExerciseEnded("", "timeout", limit=self.current.timeout))
            self.current = None

    def take_reports(self) -> None:
        """Follow what the process says it took and finished; ignore any other line."""
        try:
            # One read, at most a pipe's worth: a process that floods the pipe cannot keep
            # its worker reading instead of watching the clock.
            chunk = os.read(self.progress_fd, PIPE_BYTES)
        except BlockingIOError:
            chunk = b""
        else:
            self.silent = self.silent or not chunk
        *lines, unread = (self.unread + chunk).split(b"\n")
        self.unread = unread[-PROGRESS_BYTES:]
        for line in lines:
            report = parse_progress(line)
            if isinstance(report, ExerciseTaken) and self.current is None:
                self.current = self.left.named(report.exercise_id)
                if self.current is not None:
                    self.deadline = time.monotonic() + self.current.timeout
            elif isinstance(report, ExerciseChecked) and self.current is not None and report.exercise_id == self.current.exercise_id:
                self.left.end(self.current, ExerciseEnded("", "exit", exit_code=report.exit_code))
                self.current = None
                self.deadline = time.monotonic() + BETWEEN_SECONDS


def follow_all(watches: list[JudgeWatch]) -> None:
    """Follow check processes until each has ended or was killed, and every exercise they took is accounted for."""
    active = list(watches)
    while active := [watch for watch in active if not watch.step()]:
        # Wake on the next report, or on a pipe's end (a process's exit, usually).
        listening = [watch.progress_fd for watch in active if not watch.silent]
        select.select(listening, [], [], min(watch.wait() for watch in active))


def _status(pid: int) -> int | None:
    """The wait status of ``pid`` if it has ended (reaped), else ``None``."""
    try:
        done, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return 0
    return status if done else None


def _describe_status(status: int) -> ExerciseEnded:
    """How a check process ended, for the exercise it was on (named when announced)."""
    if os.WIFSIGNALED(status):
        return ExerciseEnded("", "signal", signal=os.WTERMSIG(status))
    return ExerciseEnded("", "exit", exit_code=os.WEXITSTATUS(status))


def _prctl(option: int, value: int) -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _close_all_but(keep: set[int]) -> None:
    """Close every descriptor above stderr except ``keep``."""
    opened = channels.open_descriptors() or set(range(3, 1024))
    channels.close_quietly(*(fd for fd in opened if fd > 2 and fd not in keep))

