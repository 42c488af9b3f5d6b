"""What Python adds to the student's output in the subject: warnings and asyncio's log, in the student's terms.

The student is shown what their code printed. Python prints more: a warning (``coroutine
'worker' was never awaited``), asyncio's log ("Task exception was never retrieved"). What
arises while the grader's own code runs (the executor collecting garbage, a probe, the
recording worker) is the grader's: kept as evidence for the judge, never printed. The
rest is printed, the student's file named by its bare name; the parent makes any other
mention of the copy's folder relative (:mod:`grader.verdict`).
"""

from __future__ import annotations

import linecache
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import TextIO

from grader.subject import source

GRADER_FOLDER = os.path.dirname(os.path.abspath(__file__)) + os.sep

_kept: list[str] = []


def install(exercise: Path, probes: Path) -> None:
    """Route warnings and asyncio's log from now on: the student's printed, the grader's kept."""
    student, grader = str(exercise), (GRADER_FOLDER, str(probes))

    def show(
        message: Warning | str, category: type[Warning], filename: str, lineno: int, file: TextIO | None = None, line: str | None = None
    ) -> None:
        if filename != student:
            site = None if filename.startswith(grader) else source.caller_in_exercise()
            if site is None:  # raised while only the grader's code ran
                _kept.append(f"{os.path.basename(filename)}:{lineno}: {category.__name__}: {message}")
                return
            lineno = site["line"]
        text = line if line is not None else linecache.getline(student, lineno)
        (file or sys.stderr).write(warnings.formatwarning(message, category, exercise.name, lineno, text))

    warnings.showwarning = show
    handler = _Log(grader)
    logger = logging.getLogger("asyncio")
    logger.addHandler(handler)
    logger.propagate = False


class _Log(logging.Handler):
    """asyncio's log: a record that names the grader's files is the grader's; the rest goes to stderr."""

    def __init__(self, grader: tuple[str, ...]) -> None:
        super().__init__(logging.WARNING)
        self.grader = grader

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a student's __repr__ in the record may raise anything
            text = record.getMessage() if isinstance(record.msg, str) else str(record.msg)
        if any(folder in text for folder in self.grader):
            _kept.append(text)
        else:
            sys.stderr.write(text + "\n")


def take() -> list[str]:
    """What the grader kept out of the student's output since the last call, and forget it."""
    found = list(_kept)
    _kept.clear()
    return found
