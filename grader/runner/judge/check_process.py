"""A check process, the judge: checks a submission's exercises one by one, on checks the worker collected.

It never imports the student's code. For each exercise it starts a subject process
(:mod:`grader.subject`, launched as :mod:`grader.runner.judge.subject_launch` says) that
holds the student's module, runs the exercise's checks, which ask the subject for
evidence, and reports each check's outcome on the exercise's result pipe. Nothing the
student's code does can reach this process: it runs in another process, under another
sandbox, and talks only through the evidence it answers with.
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys

import pytest

from grader.checking.fixtures import use_subject
from grader.checking.subject import Subject
from grader.runner import channels, limits
from grader.runner.judge.reporter import CheckReporter, make_sender
from grader.runner.judge.subject_launch import Running, SubjectSetup, Template
from grader.runner.protocol import (
    ExerciseChecked,
    ExerciseJob,
    ExerciseTaken,
    JudgeEnded,
    JudgeStarted,
    WorkerJob,
    next_in_queue,
)

CHECKS_BROKEN_EXIT = int(pytest.ExitCode.INTERNAL_ERROR)


@dataclasses.dataclass(frozen=True)
class Checks:
    """One check file's collected checks."""

    items: list[pytest.Item]


class CheckProcess:
    """The current process, set up to check ``exercises`` of ``job`` in turn."""

    def __init__(
        self,
        job: WorkerJob,
        exercises: list[ExerciseJob],
        session: pytest.Session,
        template: Template,
        sources: dict[str, bytes],
    ) -> None:
        """``template`` starts the subjects: warm (the worker started it for this judge), or started on first use.

        ``sources`` are the exercise files as :func:`exercise_sources` read them, before any
        subject of the submission ran.
        """
        self.job = job
        self.session = session
        self.quiet = os.open(os.devnull, os.O_WRONLY)
        sys.dont_write_bytecode = True
        self.rlimits = limits.apply_rlimits(job.limits, len(exercises))
        self.capped = job.cap_processes_by_user and limits.limit_processes_by_user(job.limits)
        self.template = template
        self.setup = self._subject_setup(exercises, sources)

    def check_from_queue(self, exercises: list[tuple[ExerciseJob, Checks | str]], queue_fd: int, progress_fd: int) -> int:
        """Take each ``(exercise, its checks or why they failed to load)`` from the queue in turn and check it; the exit code.

        The queue names places in ``exercises``; every judge of the round reads it, so
        each exercise goes to whichever judge is free first. ``"<exercise id> taken"``
        goes to ``progress_fd`` before each, and ``"<exercise id> <exit code> on"`` after:
        the worker holds each exercise's time limit and says how it ended.
        """
        try:
            while (place := next_in_queue(queue_fd)) is not None:
                exercise, checks = exercises[place]
                os.write(progress_fd, ExerciseTaken(exercise.exercise_id).line())
                code = self.check(exercise, checks)
                os.write(progress_fd, ExerciseChecked(exercise.exercise_id, code).line())
        finally:
            self.close()
        return 0

    def close(self) -> None:
        """End the submission's subjects and their template."""
        self.template.close()

    def _subject_setup(self, exercises: list[ExerciseJob], sources: dict[str, bytes]) -> SubjectSetup:
        """What every subject of this submission gets: its files, limits (those of this process), folder, environment."""
        # Under bwrap the subjects see none of these at all; in process mode their guard refuses them.
        hidden = (*self.job.forbidden, *{exercise.checks_file.parent for exercise in exercises})
        return SubjectSetup(
            sources=tuple(sources.items()),
            rlimits=limits.subject_rlimits(self.job.limits, self.capped),
            cwd=self.job.workdir,
            env=self.template.sandbox.environment(self.job.workdir),
            hidden=hidden,
        )

    def check(self, exercise: ExerciseJob, checks: Checks | str) -> int:
        """Check one exercise in a subject of its own; the exit code the verdict reads."""
        output_fd = channels.open_in_child(exercise.output_fd)
        result_fd = channels.open_in_child(exercise.result_fd)
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        sys.stdout = _unbuffered_text(1)
        sys.stderr = _unbuffered_text(2)
        try:
            if isinstance(checks, str):
                os.write(output_fd, f"the check file failed to import:\n{checks}\n".encode())
                return CHECKS_BROKEN_EXIT
            reporter = CheckReporter(exercise.checks, make_sender(result_fd, self.job.token))
            def start() -> Running:
                return self.template.start(self.setup, exercise.exercise_file, exercise.probes_file, output_fd)

            subject = Subject(start, exercise.exercise_file.name)
            code = self._run(reporter, subject, checks.items)
            reporter.send(JudgeEnded(code))
            return code
        finally:
            os.dup2(self.quiet, 1)
            os.dup2(self.quiet, 2)
            channels.close_quietly(output_fd, result_fd)

    def _run(self, reporter: CheckReporter, subject: Subject, items: list[pytest.Item]) -> int:
        """Run the exercise's checks with ``reporter`` against ``subject``; then end the subject."""
        plugins = self.session.config.pluginmanager
        limits.allow_cpu_for_next_exercise(self.job.limits)
        reporter.send(JudgeStarted(os.getpid(), tuple(self.rlimits), self.capped))
        plugins.register(reporter)
        use_subject(subject)
        reporter.subject = subject
        try:
            checks = reporter.select(items)
            if not checks:
                return int(pytest.ExitCode.NO_TESTS_COLLECTED)
            for index, item in enumerate(checks):
                following = checks[index + 1] if index + 1 < len(checks) else None
                self.session.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
            return 0
        finally:
            subject.close()
            use_subject(None)
            plugins.unregister(reporter)


def exercise_sources(exercises: list[ExerciseJob]) -> dict[str, bytes]:
    """Each exercise file's bytes, by file name, read before any subject of the submission runs.

    Every subject runs its exercise from these bytes, never from the folder: a subject
    can write there (a planted ``__pycache__``, a sibling's file swapped by a process left
    running), but nothing it writes becomes the code another exercise is judged on.
    """
    return {exercise.exercise_file.name: exercise.exercise_file.read_bytes() for exercise in exercises}


def _unbuffered_text(fd: int) -> io.TextIOWrapper:
    raw = open(fd, "wb", buffering=0, closefd=False)  # noqa: SIM115 - lives as long as the process
    return io.TextIOWrapper(raw, encoding="utf-8", errors="replace", newline="\n", write_through=True)  # an unbuffered FileIO is a raw stream
