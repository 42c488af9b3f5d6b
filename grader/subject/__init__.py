"""The subject process: the only process that runs a student's code.

It holds the student's module, the kit's probes for one exercise and this small
executor, and nothing else: not the checks, not the expected answers, not the kit's
solutions, not the channel to the grader. The judge (the check process) asks it to run a
probe; the probe calls the student's code with grader-made workers on a virtual clock and
answers with evidence (return values, spans, which task ran what, blocking). Whether that
evidence passes is decided only in the judge.

Everything in this package imports only the standard library and ``looptime``, so that
the sandbox can show the subject this folder alone (see :mod:`grader.runner.judge.subject_launch`).
"""

from grader.subject import timeline, virtual_time
from grader.subject.handout import handed
from grader.subject.probes import Deadline, plain, probe, within
from grader.subject.source import describe_raised, exercise_module, source_ref

__all__ = [
    "Deadline", "describe_raised", "exercise_module", "handed", "plain", "probe", "source_ref", "timeline", "virtual_time",
    "within",
]  # fmt: skip
