"""The worker process: started once per grading (or per batch slot), it loads pytest and the kit's checks.

Starting Python and pytest and importing the checks is what costs; a fork of a process
that has done all three costs a few hundredths of a second. So the worker does them once,
then serves jobs (:mod:`grader.runner.worker.job_server`): for each submission it forks a check
process, the judge, which never runs student code; each exercise's subject process does.
Before importing anything heavy it starts a subject template for each judge of the first
job, which then load on the other core while pytest does.

Run as ``python -I -m grader.runner.worker [--leave-root] [--own-pid-namespace]
[--subject-bwrap=PATH] [--judges=N] CHECK_FILE...`` with the job socket as stdin, or with ``--one-job``
and one job as JSON on stdin (where there is no fork).
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
from pathlib import Path

from grader.runner.judge.subject_launch import Template, started_templates, subject_sandbox
from grader.runner.worker.identity import leave_root

PR_SET_PDEATHSIG = 1


def main(arguments: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if arguments is None else arguments
    check_files = [argument for argument in arguments if not argument.startswith("--")]
    parent = os.getppid()
    # A worker never outlives the grader that started it (under bwrap, bwrap sees to it too).
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        return 0  # the grader ended before the line above took effect
    bwrap = next((a.split("=", 1)[1] for a in arguments if a.startswith("--subject-bwrap=")), None)
    subjects = subject_sandbox(bwrap)
    if "--one-job" in arguments:
        from grader.runner.protocol import WorkerJob
        from grader.runner.worker.job_server import OneExerciseRun, run_pytest

        plugin: object = OneExerciseRun(WorkerJob.loads(sys.stdin.read()), Template(subjects))
    else:
        left_root = "--leave-root" in arguments and leave_root()  # MUST come first: the templates inherit the uid
        # The first job's subject templates, one for each judge, start now and load while pytest does.
        judges = next((int(a.split("=", 1)[1]) for a in arguments if a.startswith("--judges=")), 1)
        warm = started_templates(subjects, max(judges, 1), Path.cwd())
        from grader.runner.worker.job_server import JobServer, run_pytest

        channel = socket.socket(fileno=os.dup(0))
        quiet = os.open(os.devnull, os.O_RDWR)
        os.dup2(quiet, 0)
        os.dup2(quiet, 1)  # pytest's own chatter must not reach anyone
        plugin = JobServer(channel, left_root, "--own-pid-namespace" in arguments, warm)
    run_pytest(check_files, plugin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
