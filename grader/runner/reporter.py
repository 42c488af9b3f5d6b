"""The pytest plugin inside a check process: orders checks, skips dependants, reports outcomes.

It writes one JSON line per check to a pipe that only the grader's parent reads. It runs
in the same process as student code, so it is a witness, not a judge: the parent decides
the verdict from what it expected and what arrived (see ``grader.verdict``).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator, Iterable
from typing import Any

import pytest

from grader.checking import blocking, virtual_time
from grader.checking.context import NotStarted, describe_exception, student_line
from grader.checking.feedback import Failure
from grader.kit import CheckSpec

# Taken before any student code is imported, so a submission that replaces them
# later cannot change what this reporter writes or how it measures time.
_write = os.write
_dumps = json.dumps
_clock = time.perf_counter

TIMEOUT_MESSAGE = "did not finish within {limit:g} s of real time: an infinite loop, or code that blocks forever?"
TIMEOUT_HELP = "Look for a `while True` without an exit, or a wait that nothing ever ends."
CRASH_HELP = "Your code raised an exception the check did not expect; the line shown is where it came from."
TODO_MESSAGE = "still raises NotImplementedError: this part is a TODO"


class CheckReporter:
    """Connects pytest items to the checks declared in the kit metadata."""

    def __init__(self, checks: Iterable[CheckSpec], fd: int, token: str) -> None:
        self.specs = {spec.id: spec for spec in checks}
        self.order = list(self.specs)
        self.fd = fd
        self.token = token
        self.passed: set[str] = set()
        self.started: dict[str, float] = {}

    def send(self, record: dict[str, Any]) -> None:
        _write(self.fd, (_dumps({"token": self.token, **record}) + "\n").encode())

    def pytest_configure(self, config: pytest.Config) -> None:
        config.addinivalue_line("markers", "asynclings_check(id): the kit check this function implements")
        # The reporter never shows pytest's tracebacks. Plain ones avoid pytest re-parsing
        # source (ast) while a student's abandoned task may log from a finaliser, which
        # crashes CPython 3.11.7 ("AST constructor recursion depth mismatch").
        config.option.tbstyle = "native"

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        known = [item for item in items if self.check_id(item) in self.specs]
        known.sort(key=lambda item: self.order.index(self.check_id(item)))
        for item in known:
            item.add_marker(pytest.mark.timeout(self.specs[self.check_id(item)].timeout))
        items[:] = known

    @staticmethod
    def check_id(item: pytest.Item) -> str:
        marker = item.get_closest_marker("asynclings_check")
        return str(marker.args[0]) if marker and marker.args else ""

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        spec = self.specs[self.check_id(item)]
        blocking.reset()
        virtual_time.reset()
        self.started[spec.id] = _clock()
        unmet = [self.specs[dep].name for dep in spec.depends if dep not in self.passed]
        if unmet:
            pytest.skip(f"skipped: needs “{unmet[0]}” to pass first")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        if call.when == "call" or (call.when == "setup" and not report.passed):
            record = self.outcome(self.specs[self.check_id(item)], call)
            if record["status"] == "passed":
                self.passed.add(record["check"])
            self.send(record)
        return report

    def outcome(self, spec: CheckSpec, call: pytest.CallInfo[None]) -> dict[str, Any]:
        record: dict[str, Any] = {"check": spec.id, "status": "passed", "message": "", "help": ""}
        elapsed = _clock() - self.started.get(spec.id, _clock())
        excinfo = call.excinfo
        if excinfo is not None:
            record.update(self.describe_failure(excinfo))
        if elapsed > spec.timeout and record["status"] != "skipped":
            record.update(status="failed", message=TIMEOUT_MESSAGE.format(limit=spec.timeout), help=TIMEOUT_HELP)
        if record["status"] == "failed":
            record.update(self.blocking_explanation())
        return record

    def describe_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> dict[str, Any]:
        exc = excinfo.value
        if isinstance(exc, pytest.skip.Exception):
            return {"status": "skipped", "message": str(exc.msg)}
        source = student_line(excinfo.tb)
        if isinstance(exc, Failure):
            source = exc.source or source
            return {
                "status": "failed",
                "message": exc.rationale,
                "help": exc.help,
                "todo": isinstance(exc, NotStarted),
                "timeline": [span.to_json() for span in exc.timeline],
                "source": source and source.to_json(),
            }
        if isinstance(exc, pytest.fail.Exception) and "Timeout" in str(exc):
            return {"status": "failed", "message": "timed out", "help": TIMEOUT_HELP}
        if isinstance(exc, NotImplementedError):
            return {"status": "failed", "message": TODO_MESSAGE, "todo": True, "source": source and source.to_json()}
        if source is not None:
            return {
                "status": "failed",
                "message": f"your code raised {describe_exception(exc)}",
                "help": CRASH_HELP,
                "source": source.to_json(),
            }
        return {"status": "failed", "message": describe_exception(exc)}

    def blocking_explanation(self) -> dict[str, Any]:
        found = blocking.records()
        if not found:
            return {}
        first = found[0]
        more = f" (and {len(found) - 1} more time{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        explanation: dict[str, Any] = {"message": first.describe() + more, "help": blocking.BLOCKING_HELP}
        if first.source:
            explanation["source"] = first.source.to_json()
        return explanation
