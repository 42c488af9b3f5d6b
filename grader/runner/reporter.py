"""The pytest plugin inside a check process: orders checks, skips dependants, reports outcomes.

It writes one JSON line per check to a pipe that only the grader's parent reads. It runs
in the same process as student code, so it is a witness, not a judge: the parent decides
the verdict from what it expected and what arrived (see ``grader.verdict``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import Any

import pytest
from _pytest.outcomes import OutcomeException

from grader.checking import blocking, timeline, virtual_time
from grader.checking.context import (
    NOT_IMPLEMENTED_HELP,
    NotStarted,
    describe_exception,
    student_line,
)
from grader.checking.feedback import Failure
from grader.kit import CheckSpec
from grader.runner import integrity

# Taken before any student code is imported, so a submission that replaces them
# later cannot change what this reporter writes or how it measures time.
_write = os.write
_dumps = json.dumps
_clock = time.perf_counter

TIMEOUT_MESSAGE = "did not finish within {limit:g} s of real time: an infinite loop, or code that blocks forever?"
TIMEOUT_HELP = "Look for a `while True` without an exit, or a wait that nothing ever ends."
CRASH_HELP = "Your code raised an exception the check did not expect; the line shown is where it came from."
MEMORY_HELP = "The check process ran out of its memory limit: look for a list or string that grows without end."
TODO_MESSAGE = "still raises NotImplementedError: this part is a TODO"
FATAL_HELP = "Don't exit or raise SystemExit, KeyboardInterrupt or BaseException: the checks need to keep running."
# BaseExceptions that are part of normal asyncio or pytest life, not attempts to stop the run.
ORDINARY_BASE_EXCEPTIONS = (asyncio.CancelledError, GeneratorExit, OutcomeException)


def _raised_by_timeout(excinfo: pytest.ExceptionInfo[BaseException]) -> bool:
    """Whether the check's time limit interrupted it (pytest-timeout's handler is on the stack)."""
    return any(Path(frame.f_code.co_filename).name == "pytest_timeout.py" for frame, _ in traceback.walk_tb(excinfo.tb))


def make_sender(fd: int, token: str) -> Callable[[dict[str, Any]], None]:
    """A function that writes one signed JSON line to the result pipe."""

    def send(record: dict[str, Any]) -> None:
        _write(fd, (_dumps({"token": token, **record}) + "\n").encode())

    return send


def checks_fingerprint(config: pytest.Config, items: list[pytest.Item]) -> integrity.Fingerprint:
    """What the verdict on ``items`` relies on: their check file, the grader's probes, this reporter.

    Taken in the worker, before it forks and before any student code exists.
    """
    watched = [*(getattr(item, "module", None) for item in items), CheckReporter, integrity.Fingerprint]
    modules = integrity.modules_of(w for w in watched if w is not None)
    modules += [m for name, m in sys.modules.items() if name.startswith("grader.checking") and m not in modules]
    return integrity.Fingerprint(modules, config)


class CheckReporter:
    """Connects pytest items to the checks declared in the kit metadata."""

    def __init__(
        self, checks: Iterable[CheckSpec], send: Callable[[dict[str, Any]], None], fingerprint: integrity.Fingerprint
    ) -> None:
        self._specs = {spec.id: spec for spec in checks}
        self._order = list(self._specs)
        self._send = send
        self._passed: set[str] = set()
        self._started: dict[str, float] = {}
        self._process_fingerprint = fingerprint
        self._fingerprint: integrity.Fingerprint | None = None
        self._tampering_reported = False
        # Why this process should not check another exercise, though nothing may be left over.
        self.interruptions: list[str] = []

    def send(self, record: dict[str, Any]) -> None:
        self._send(record)

    def select(self, items: list[pytest.Item]) -> list[pytest.Item]:
        """This exercise's checks in the kit's order, each with its time limit.

        MUST be called once this reporter is registered and before any student code of
        this exercise is imported: it takes the fingerprint later comparisons are made against.
        """
        known = [item for item in items if self.check_id(item) in self._specs]
        known.sort(key=lambda item: self._order.index(self.check_id(item)))
        for item in known:
            item.add_marker(pytest.mark.timeout(self._specs[self.check_id(item)].timeout))
        self._fingerprint = self._process_fingerprint.watching(self)
        if known:
            self.send({"event": "collected", "checks": [self.check_id(item) for item in known]})
        return known

    @staticmethod
    def check_id(item: pytest.Item) -> str:
        marker = item.get_closest_marker("asynclings_check")
        return str(marker.args[0]) if marker and marker.args else ""

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        spec = self._specs[self.check_id(item)]
        blocking.reset()
        virtual_time.reset()
        timeline.reset()
        self._started[spec.id] = _clock()
        unmet = [self._specs[dep].name for dep in spec.depends if dep not in self._passed]
        if unmet:
            pytest.skip(f"skipped: needs “{unmet[0]}” to pass first")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
        report = yield
        if call.when == "call" or (call.when == "setup" and not report.passed):
            record = self.outcome(self._specs[self.check_id(item)], call)
            if record["status"] == "passed":
                self._passed.add(record["check"])
            self.send(record)
            self.report_tampering()
        return report

    def report_tampering(self) -> None:
        """Tell the parent, once, if anything the verdict relies on was replaced."""
        if self._fingerprint is None or self._tampering_reported:
            return
        changes = self._fingerprint.changes()
        if changes:
            self._tampering_reported = True
            self.interruptions.append("tampering")
            self.send({"event": "violation", "what": integrity.describe(changes)})

    def outcome(self, spec: CheckSpec, call: pytest.CallInfo[None]) -> dict[str, Any]:
        record: dict[str, Any] = {"check": spec.id, "status": "passed", "message": "", "help": ""}
        elapsed = _clock() - self._started.get(spec.id, _clock())
        excinfo = call.excinfo
        if excinfo is not None:
            record.update(self.describe_failure(excinfo))
        if elapsed > spec.timeout and record["status"] != "skipped":
            record.update(status="failed", message=TIMEOUT_MESSAGE.format(limit=spec.timeout), help=TIMEOUT_HELP)
            self.interruptions.append("a check ran out of time")
        if record["status"] == "failed" and record.pop("judged", False):
            record.update(self.blocking_explanation())
        return record

    def describe_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> dict[str, Any]:
        exc = excinfo.value
        source = student_line(excinfo.tb)
        where = source and source.to_json()
        if isinstance(exc, pytest.skip.Exception):
            return {"status": "skipped", "message": str(exc.msg)}
        if isinstance(exc, Failure):
            return {
                "status": "failed",
                "message": exc.rationale,
                "help": exc.help,
                "todo": isinstance(exc, NotStarted),
                "timeline": [span.to_json() for span in exc.timeline],
                "source": self.failure_source(exc, where),
                "judged": True,
            }
        if _raised_by_timeout(excinfo):
            self.interruptions.append("a check ran out of time")
            return {"status": "failed", "message": "timed out", "help": TIMEOUT_HELP, "judged": True, "source": where}
        if not isinstance(exc, (Exception, *ORDINARY_BASE_EXCEPTIONS)):
            # SystemExit, KeyboardInterrupt, bare BaseException: an attempt to stop the run.
            message = f"your code raised {describe_exception(exc)}"
            self.interruptions.append("a check was stopped by " + type(exc).__name__)
            return {"status": "failed", "message": message, "help": FATAL_HELP, "fatal": True, "source": where}
        if isinstance(exc, NotImplementedError):
            return {"status": "failed", "message": TODO_MESSAGE, "help": NOT_IMPLEMENTED_HELP, "todo": True, "source": where}
        help = MEMORY_HELP if isinstance(exc, MemoryError) else CRASH_HELP
        if source is not None or isinstance(exc, MemoryError):
            return {"status": "failed", "message": f"your code raised {describe_exception(exc)}", "help": help, "source": where}
        return {"status": "failed", "message": describe_exception(exc), "judged": True}

    @staticmethod
    def failure_source(exc: Failure, where: dict[str, Any] | None) -> dict[str, Any] | None:
        """The student's line for a failure: the check's choice, the traceback's, or where jobs started."""
        if exc.source:
            return exc.source.to_json()
        started = timeline.first_call_site() if exc.timeline else None
        return where or (started and started.to_json())

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
