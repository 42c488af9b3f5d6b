"""The root of the grader's own errors: what a user can fix, said in one line.

A broken kit, a path that is not a submission, a roster with a bad row, a sandbox that
cannot run here: each module raises its own subclass with a message that names the
file, row or option and what to do. The command line turns any of them into that one
line on stderr and exit code 2, in one place (:class:`grader.cli.DefaultGroup`), never
a traceback. What the student's code does is never one of these: it is graded.
"""

from __future__ import annotations


class GraderError(Exception):
    """An error of the grader's input or environment that the user can fix; its message is the whole story."""
