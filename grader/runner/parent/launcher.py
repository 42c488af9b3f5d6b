"""Run one submission's checks: in a worker that forks per exercise, or (without fork) one worker each.

The parent keeps the judgement: workers and check processes only report, on pipes that
:mod:`grader.runner.parent.streams` drains, and :mod:`grader.verdict` decides.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from grader.kit import ExerciseSpec, check_files
from grader.runner import channels, processes
from grader.runner.limits import Limits
from grader.runner.parent import sandbox
from grader.runner.parent.kept_worker import KeptWorker
from grader.runner.parent.streams import Run, RunPipes
from grader.runner.protocol import ExerciseEnded, RawOutcome, WorkerJob

__all__ = ["Limits", "RawOutcome", "Run", "StartedWorker", "judges_for"]

SHARED_FROM = 4  # exercises from which a submission graded alone is shared between two judges


def judges_for(exercises: int) -> int:
    """Check processes at once for one submission graded alone (not in a batch, whose slots use the cores).

    A judge waits for its subject as often as it computes, so one judge leaves the second
    core idle; two judges check a share each. Below :data:`SHARED_FROM` exercises the
    second judge's own subject template costs more time than it saves.
    """
    return 2 if exercises >= SHARED_FROM and (os.cpu_count() or 1) >= 2 else 1


class StartedWorker:
    """The worker for one submission, started before the submission is prepared.

    Starting Python and pytest and collecting the checks takes longer than preparing a
    submission, so the parent starts the worker first and prepares meanwhile. Without
    fork there is none to start: each exercise gets a worker of its own when it runs.
    """

    def __init__(self, workdir: Path, specs: list[ExerciseSpec], limits: Limits, hidden: tuple[Path, ...]) -> None:
        """``hidden`` folders (the kit's solutions, the student's own folder) are invisible to
        the checks under bwrap, and reading them is refused and reported in any mode."""
        self.limits = limits
        self.hidden = hidden
        has_fork = sandbox.detect().has_fork
        self.worker = KeptWorker(workdir, check_files(specs), limits, hidden, judges_for(len(specs))) if has_fork else None
        if self.worker is not None:
            self.worker.start()

    def run(self, exercises: list[tuple[ExerciseSpec, Path]], workdir: Path, hidden: tuple[Path, ...] = ()) -> Run:
        """Check every ``(spec, copied file)`` pair, as :meth:`KeptWorker.run` does; never raises for student faults."""
        if self.worker is not None:
            return self.worker.run(exercises, workdir, hidden)
        mode = sandbox.resolve(self.limits.sandbox, sandbox.detect())
        return _run_without_fork(exercises, workdir, self.limits, (*self.hidden, *hidden), mode)

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()


def _run_without_fork(
    exercises: list[tuple[ExerciseSpec, Path]], workdir: Path, limits: Limits, hidden: tuple[Path, ...], mode: str
) -> Run:
    """Each exercise gets a worker of its own, which *is* its check process (it cannot fork one)."""
    pipes = RunPipes(exercises, limits)
    token = secrets.token_hex(16)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for exercise in pipes.jobs:
            job = WorkerJob(token, workdir, (exercise,), limits, forbidden=hidden, cap_processes_by_user=True)
            workers.append(_start_worker(job, workdir, pipes.news_pipe()))
        pipes.close_write_ends()
        finished = pipes.collect(token, limits, pipes.deadline(rounds=1))
    finally:
        pipes.close()
        for worker in workers:
            processes.kill_tree(worker.pid)
        for worker in workers:
            worker.wait()
    for worker, exercise in zip(workers, pipes.jobs):
        outcome = pipes.outcomes[exercise.exercise_id]
        if outcome.ended is None and worker.returncode is not None:
            code = worker.returncode
            name = exercise.exercise_id
            outcome.ended = ExerciseEnded(name, "signal", signal=-code) if code < 0 else ExerciseEnded(name, "exit", exit_code=code)
    if not finished:
        pipes.mark_overdue()
    return Run(pipes.outcomes, mode, sandbox.protections(mode, False, pipes.applied()))


def _start_worker(job: WorkerJob, workdir: Path, news_fd: int) -> subprocess.Popen[bytes]:
    """Start one worker with the job on its stdin; it announces how its exercise ended on ``news_fd``."""
    (exercise,) = job.exercises
    command = [sys.executable, "-I", "-m", "grader.runner.worker", "--one-job", str(exercise.checks_file)]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=news_fd,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
        env=processes.clean_environment(workdir),
        **channels.inherit([exercise.result_fd, exercise.output_fd]),
    )
    assert process.stdin is not None
    try:
        process.stdin.write(job.dumps().encode())
        process.stdin.close()
    except BrokenPipeError:  # the worker died at once: judged as vanished
        pass
    return process
