"""The pytest plugin inside a check process: orders checks, skips dependants, reports outcomes.

It writes one JSON line per check to a pipe that only the grader's parent reads. The
student's code runs in another process (the subject), which has no way to this pipe;
the parent still decides the verdict from what it expected and what arrived (see
``grader.verdict``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Generator, Iterable
from typing import Any

import pytest

from grader.checking import blocking, raised
from grader.checking.feedback import Failure, NotStarted
from grader.checking.subject import FATAL_HELP, ImportFailed, StudentRaised, Subject, SubjectEnded
from grader.kit import CheckSpec

_write = os.write
_dumps = json.dumps
_clock = time.perf_counter

TIMEOUT_MESSAGE = "did not finish within {limit:g} s of real time: an infinite loop, or code that blocks forever?"
TIMEOUT_HELP = "Look for a `while True` without an exit, or a wait that nothing ever ends."
ENDED_HELP = "Don't exit, kill or crash the process your code runs in: the checks need it to keep running."
IMPORT_FAILED_SKIP = "skipped: {file} failed to import (see above)"


def make_sender(fd: int, token: str) -> Callable[[dict[str, Any]], None]:
    """A function that writes one signed JSON line to the result pipe."""

    def send(record: dict[str, Any]) -> None:
        _write(fd, (_dumps({"token": token, **record}) + "\n").encode())

    return send


class CheckReporter:
    """Connects pytest items to the checks declared in the kit metadata."""

    def __init__(self, checks: Iterable[CheckSpec], send: Callable[[dict[str, Any]], None]) -> None:
        self._specs = {spec.id: spec for spec in checks}
        self._order = list(self._specs)
        self._send = send
        self._passed: set[str] = set()
        self._started: dict[str, float] = {}
        self._import_failed = False  # a check found the student's file failing to import: the rest would too
        self.subject: Subject | None = None

    def send(self, record: dict[str, Any]) -> None:
        self._send(record)

    def select(self, items: list[pytest.Item]) -> list[pytest.Item]:
        """This exercise's checks in the kit's order."""
        known = [item for item in items if self.check_id(item) in self._specs]
        known.sort(key=lambda item: self._order.index(self.check_id(item)))
        if known:
            self.send({"event": "collected", "checks": [self.check_id(item) for item in known]})
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
            record = self.outcome(self._specs[self.check_id(item)], call)
            if record["status"] == "passed":
                self._passed.add(record["check"])
            self.send(record)
            self.report_violations()
        return report

    def report_violations(self) -> None:
        """Tell the parent what the guard refused the student's code since the last check."""
        if self.subject is not None:
            for what in self.subject.violations:
                self.send({"event": "violation", "what": what})
            self.subject.violations.clear()

    def outcome(self, spec: CheckSpec, call: pytest.CallInfo[None]) -> dict[str, Any]:
        record: dict[str, Any] = {"check": spec.id, "status": "passed", "message": "", "help": ""}
        elapsed = _clock() - self._started.get(spec.id, _clock())
        excinfo = call.excinfo
        if excinfo is not None:
            record.update(self.describe_failure(excinfo))
            self._import_failed = self._import_failed or isinstance(excinfo.value, ImportFailed)
        if elapsed > spec.timeout and record["status"] != "skipped" and not record.get("message"):
            record.update(status="failed", message=TIMEOUT_MESSAGE.format(limit=spec.timeout), help=TIMEOUT_HELP)
        if record["status"] == "failed" and record.pop("judged", False):
            record.update(self.blocking_explanation())
        return record

    def describe_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> dict[str, Any]:
        exc = excinfo.value
        if isinstance(exc, pytest.skip.Exception):
            return {"status": "skipped", "message": str(exc.msg)}
        if isinstance(exc, Failure):
            return {
                "status": "failed",
                "message": exc.rationale,
                "help": exc.help,
                "todo": isinstance(exc, NotStarted),
                "timeline": [span.to_json() for span in exc.timeline],
                "source": exc.source.to_json() if exc.source else None,
                "judged": not isinstance(exc, NotStarted),
            }
        if isinstance(exc, SubjectEnded):
            return {"status": "failed", "message": exc.how, "help": ENDED_HELP, "ended": True}
        if isinstance(exc, StudentRaised):
            where = exc.source.to_json() if exc.source else None
            message = f"your code raised {exc.python_says}"
            if exc.fatal:
                return {"status": "failed", "message": message, "help": FATAL_HELP, "fatal": True, "source": where}
            message, help = raised.explain(exc)
            return {"status": "failed", "message": message, "help": help, "source": where, "judged": where is None}
        # The check itself broke: the kit's fault, reported as such (the verdict scores it).
        return {"status": "failed", "message": f"the check raised {type(exc).__name__}: {exc}", "judged": True}

    def blocking_explanation(self) -> dict[str, Any]:
        """When the student's code blocked the loop, that explains a failure best."""
        records = self.subject.blocking if self.subject is not None else []
        if not records:
            return {}
        failure = blocking.explain(records)
        return {"message": failure.rationale, "help": failure.help, "source": failure.source and failure.source.to_json()}
