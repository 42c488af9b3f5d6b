"""How a submission's checks run: one folder per process, and what crosses between them.

::

    parent/   the grader's own process: starts and feeds workers, drains their pipes
    worker/   python -I -m grader.runner.worker: pytest and the checks, loaded once;
              forks a judge per submission (or two, a share each), holds each
              exercise's time limit, sweeps
    judge/    the check process, forked from the worker: runs the checks against
              subjects it asks a subject template for; never imports student code
    (grader/subject/ is the template's and the subjects' own code, in their sandbox)

Shared by all of them: :mod:`~grader.runner.protocol` (every message on a pipe or the job
socket), :mod:`~grader.runner.limits`, :mod:`~grader.runner.channels` (pipes passed
between processes) and :mod:`~grader.runner.processes` (cleanup). No module of the
judge imports the parent's (``tests/test_process_map.py``).
"""
