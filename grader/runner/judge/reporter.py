"""The pytest plugin inside a check process: orders checks, skips dependants, reports outcomes.

It writes one JSON line per check to a pipe that only the grader's parent reads. The
student's code runs in another process (the subject), which has no way to this pipe;
the parent still decides the verdict from what it expected and what arrived (see
``grader.verdict``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Generator, Iterable
from typing import Any

import pytest

from grader.checking.diagnosis import diagnose
from grader.checking.subject import ImportFailed, Subject
from grader.kit import CheckSpec
from grader.runner.protocol import (
    CheckOutcome,
    ChecksCollected,
    ResultRecord,
    Violation,
    result_line,
)

_write = os.write
_clock = time.perf_counter

IMPORT_FAILED_SKIP = "skipped: {file} failed to import (see above)"


def make_sender(fd: int, token: str) -> Callable[[ResultRecord], None]:
    """A function that writes one signed record to the result pipe."""

    def send(record: ResultRecord) -> None:
        _write(fd, result_line(record, token))

    return send


class CheckReporter:
    """Connects pytest items to the checks declared in the kit metadata."""

    def __init__(self, checks: Iterable[CheckSpec], send: Callable[[ResultRecord], None]) -> None:
        self._specs = {spec.id: spec for spec in checks}
        self._order = list(self._specs)
        self._send = send
        self._passed: set[str] = set()
        self._started: dict[str, float] = {}
        self._import_failed = False  # a check found the student's file failing to import: the rest would too
        self.subject: Subject | None = None

    def send(self, record: ResultRecord) -> None:
        self._send(record)

    def select(self, items: list[pytest.Item]) -> list[pytest.Item]:
        """This exercise's checks in the kit's order."""
        known = [item for item in items if self.check_id(item) in self._specs]
        known.sort(key=lambda item: self._order.index(self.check_id(item)))
        if known:
            self.send(ChecksCollected(tuple(self.check_id(item) for item in known)))
        return known

    @staticmethod
    def check_id(item: pytest.Item) -> str:
        marker = item.get_closest_marker("asynclings_check")
        return str(marker.args[0]) if marker and marker.args else ""

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        spec = self._specs[self.check_id(item)]
        if self.subject is not None:
            self.subject.start_check(spec.timeout)
        self._started[spec.id] = _clock()
        unmet = [self._specs[dep].name for dep in spec.depends if dep not in self._passed]
        if unmet:
            pytest.skip(f"skipped: needs “{unmet[0]}” to pass first")
        if self._import_failed and self.subject is not None:
            pytest.skip(IMPORT_FAILED_SKIP.format(file=self.subject.file_name))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        if call.when == "call" or (call.when == "setup" and not report.passed):
            outcome = self.outcome(self._specs[self.check_id(item)], call)
            if outcome.status == "passed":
                self._passed.add(outcome.check)
            self.send(outcome)
            self.report_violations()
        return report

    def report_violations(self) -> None:
        """Tell the parent what the guard refused the student's code since the last check."""
        if self.subject is not None:
            for what in self.subject.violations:
                self.send(Violation(what))
            self.subject.violations.clear()

    def outcome(self, spec: CheckSpec, call: pytest.CallInfo[None]) -> CheckOutcome:
        """The check's outcome, explained as :func:`grader.checking.diagnosis.diagnose` decides."""
        elapsed = _clock() - self._started.get(spec.id, _clock())
        error = call.excinfo.value if call.excinfo is not None else None
        self._import_failed = self._import_failed or isinstance(error, ImportFailed)
        blocked = self.subject.blocking if self.subject is not None else []
        found = diagnose(error, blocked, spec.timeout if elapsed > spec.timeout else None)
        return CheckOutcome(spec.id, **dataclasses.asdict(found))
