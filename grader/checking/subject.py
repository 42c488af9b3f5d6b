"""The judge's handle on the subject process: ask it to run a probe, read back its evidence.

Runs in the check process (the judge), which never imports the student's code. Each
exercise gets a subject process of its own, started on the first request (by the
runner's template, see :mod:`grader.runner.judge.subject_launch`) and replaced after it dies
or is stopped. What
comes back is evidence, never a verdict: the checks decide. A reply is read within the
current check's time limit; past it the subject is asked where it is (the student's
function and line) and then killed.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import select
import signal
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from grader.checking.feedback import Failure, NotStarted
from grader.checking.names import missing
from grader.checking.raised import import_help
from grader.model import SourceRef

if TYPE_CHECKING:
    from grader.runner.judge.subject_launch import Running

REPLY_BYTES = 8 << 20  # evidence is small; a flood is the student's, and ends the subject
STUCK_GRACE_SECONDS = 0.5
RUNAWAY_SECONDS = 3.0  # real seconds one probe may take; a right answer needs a few milliseconds
STOP_SECONDS = 2.0

NOT_IMPLEMENTED_HELP = "This part still raises NotImplementedError: replace the TODO with your code."
DEADLINE_HELP = "Something is waiting forever: look for an await that nothing will ever wake up."
UNAWAITED_HELP = (
    "Calling `{name}(...)` only creates a coroutine: it runs once awaited or wrapped in asyncio.create_task(...), "
    "so what it would have done never happened."
)
RUNAWAY_HELP = (
    "Look for a loop whose condition never changes (a counter that is never increased, a `while True` "
    "with no exit), or a job that is started again and again."
)
IMPORT_NEVER_ENDED_HELP = (
    "Code at the top level of the file runs on import, before any check can call your functions: "
    'put it in a function, or keep it under `if __name__ == "__main__":` as the demo is.'
)
FATAL_HELP = "Don't exit or raise SystemExit, KeyboardInterrupt or BaseException: the checks need to keep running."

CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE, signal.SIGABRT}

TAMPERED = "rebind {name}, which the grader's evidence relies on"
FLOODED = "the process running your code wrote more than any answer needs to the grader's pipe"
FORGED_ANSWER = "write or change an answer on its way from the process running it to the grader"
CHANGED_REQUEST = "change a request on its way from the grader to the process running it"


class StudentRaised(Exception):
    """The student's code raised an exception the probe did not catch: evidence, not a verdict."""

    def __init__(self, raised: dict[str, Any]) -> None:
        super().__init__(raised.get("message", ""))
        self.type = str(raised.get("type", "Exception"))
        self.message = str(raised.get("message", self.type))
        self.python_says = str(raised.get("python_says", self.message))
        self.source = SourceRef.from_json(raised["source"]) if raised.get("source") else None
        self.todo = bool(raised.get("todo"))
        self.fatal = bool(raised.get("fatal"))
        self.name = raised.get("name")
        self.during = str(raised.get("during", "call"))
        self.missing = str(raised.get("missing") or "")  # a function of the kit's the module does not define
        self.defined: dict[str, Any] = dict(raised.get("defined") or {})


class NotFinished(Failure):
    """A call of the student's code ran out of its virtual-time deadline."""

    def __init__(self, what: str, seconds: float, detail: dict[str, Any]) -> None:
        source = SourceRef.from_json(detail["waiting_at"]) if detail.get("waiting_at") else None
        at = f": it was still waiting at line {source.line}" if source else ""
        # A coroutine the waiting code made but never started is why nothing ever woke the wait up.
        unawaited = [str(name) for name in detail.get("never_started") or []]
        also = f", and coroutine {unawaited[0]}() was never awaited" if unawaited else ""
        help = UNAWAITED_HELP.format(name=unawaited[0]) if unawaited else DEADLINE_HELP
        super().__init__(f"{what} had not finished after {seconds:g} s of event-loop time{at}{also}", help, source=source)
        self.what, self.seconds, self.detail = what, seconds, detail


class Stuck(Failure):
    """The student's code kept running past the check's real-time limit."""

    def __init__(self, limit: float, where: dict[str, Any] | None) -> None:
        source = SourceRef.from_json(where["source"]) if where and where.get("source") else None
        place = f" in {where['function']}() at line {source.line}" if where and source else ""
        super().__init__(
            f"your code kept running without finishing{place}: stopped after {limit:g} s of real time "
            "(on the event loop's virtual clock a right answer takes milliseconds)",
            RUNAWAY_HELP,
            source=source,
        )


class KitFault(Exception):
    """The kit's probe file, not the student, failed: a fault the teacher must fix."""


class SubjectEnded(Exception):
    """The process running the student's code ended in the middle of a call."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


class Subject:
    """One exercise's subject process, as the checks of that exercise see it."""

    def __init__(self, start: Callable[[], Running], file_name: str) -> None:
        self.start = start
        self.file_name = file_name
        self.running: Running | None = None
        self.unread = b""
        self.limit = 60.0
        self.deadline = float("inf")
        self.request_deadline = float("inf")
        self.blocking: list[dict[str, Any]] = []  # what the last reply's blocking probe saw
        self.warnings: list[str] = []  # warnings the current check's calls raised in the grader's code, not printed
        self.violations: list[str] = []  # what the guard refused, since the judge last took them

    def start_check(self, limit: float) -> None:
        """A check begins: its calls share ``limit`` real seconds, and the blocking records start empty."""
        self.limit, self.deadline, self.blocking, self.warnings = limit, time.monotonic() + limit, [], []

    def names(self, *names: str) -> dict[str, str]:
        """What each name is in the student's module: ``missing``, ``function``, ``coroutine function``, ``value``."""
        return {str(k): str(v) for k, v in self.call("names", names=list(names)).items()}

    def defined(self) -> dict[str, Any]:
        """Every function and class of the student's file, with the source reference of its definition."""
        return dict(self.call("defined"))

    def call(self, probe: str, **args: Any) -> Any:
        """Run ``probe`` in the subject and return its evidence; the student's faults arrive as exceptions."""
        reply = self._exchange(probe, args)
        self.blocking = list(reply.get("blocking") or [])
        self.warnings += [str(w) for w in reply.get("warnings") or []]
        self.violations += [str(v) for v in reply.get("violations") or []]
        self.violations += [TAMPERED.format(name=name) for name in reply.get("tampered") or []]
        if "ok" in reply:
            return reply["ok"]
        if "raised" in reply:
            raise student_failure(reply["raised"], self.file_name)
        if "deadline" in reply:
            deadline = reply["deadline"]
            raise NotFinished(str(deadline.get("what")), float(deadline.get("seconds", 0)), deadline.get("detail") or {})
        if "stuck" in reply:
            if reply.get("during") == "import":
                raise ImportNeverEnded(min(self.limit, RUNAWAY_SECONDS), reply["stuck"], self.file_name)
            raise Stuck(min(self.limit, RUNAWAY_SECONDS), reply["stuck"])
        if "error" in reply:
            raise KitFault(f"the kit's probe failed: {reply['error']}")
        raise SubjectEnded(f"the process running your code answered what no probe says ({str(reply)[:80]})")

    def _exchange(self, probe: str, args: dict[str, Any]) -> dict[str, Any]:
        if self.running is None:
            self.running, self.unread = self.start(), b""
        request_id = secrets.token_hex(8)
        # The subject's own alarm goes off first, so it can say where it was before it is killed.
        # On virtual time a right answer takes milliseconds: seconds of real time are a runaway.
        limit = max(min(self.deadline - time.monotonic(), RUNAWAY_SECONDS), 0.05)
        self.request_deadline = time.monotonic() + limit
        line = json.dumps({"id": request_id, "probe": probe, "args": args, "limit": limit}).encode()
        # The subject signs the request it read into its answer: one changed on its way in shows.
        asked = hmac.new(self.running.key, line, "sha256").hexdigest()
        try:
            os.write(self.running.requests, line + b"\n")
        except OSError:
            raise self._ended(self._last_word()) from None
        while True:
            reply = self._read_line(self.request_deadline + STUCK_GRACE_SECONDS)
            if reply is None or "stuck" in reply:
                self.close()  # it is ending (or will not end by itself): the next call starts afresh
                return reply if reply is not None else {"stuck": None}
            if "ended" in reply:
                raise self._ended(reply["ended"])
            if reply.get("id") == request_id:
                if reply.get("asked") != asked:
                    self.violations.append(CHANGED_REQUEST)
                    raise self._ended(f"the process running your code tried to {CHANGED_REQUEST}")
                return reply

    def _read_line(self, deadline: float) -> dict[str, Any] | None:
        """The next reply, ``None`` at the deadline; a subject that is gone or floods raises."""
        assert self.running is not None
        while b"\n" not in self.unread:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.running.replies], [], [], left)[0]:
                return None
            chunk = os.read(self.running.replies, 65536)
            if not chunk:
                raise self._ended(None)
            if len(self.unread) > REPLY_BYTES:
                raise self._ended(FLOODED)
            self.unread += chunk
        line, _, self.unread = self.unread.partition(b"\n")
        return self._opened(line)

    def _opened(self, line: bytes) -> dict[str, Any]:
        """A reply line as the judge can trust it: an answer signed with the subject's key, or the template's word that it ended.

        Anything else the student's code wrote to the pipe is ignored, unless it passes for
        an answer: a signature that does not match, or an unsigned answer to a request,
        is an answer forged or changed on its way, and ends the subject.
        """
        assert self.running is not None
        signature, _, body = line.partition(b" ")
        expected = hmac.new(self.running.key, body, "sha256").hexdigest().encode()
        if hmac.compare_digest(signature, expected):
            return _json_object(body)
        unsigned = _json_object(line)
        if "id" in unsigned or (len(signature) == len(expected) and signature.isalnum()):
            self.violations.append(FORGED_ANSWER)
            raise self._ended(f"the process running your code tried to {FORGED_ANSWER}")
        return {"ended": unsigned["ended"]} if "ended" in unsigned else {}

    def _last_word(self) -> int | None:
        """How the subject ended, if the template has said so yet (it writes it on the reply pipe)."""
        try:
            reply = self._read_line(time.monotonic() + STOP_SECONDS)
        except SubjectEnded:
            return None
        return reply.get("ended") if reply else None

    def _ended(self, code: int | str | None) -> SubjectEnded:
        self.close()
        return SubjectEnded(code if isinstance(code, str) else describe_end(code))

    def close(self) -> None:
        """End the subject and everything it started (its own session)."""
        if self.running is not None:
            self.running.close()
            self.running = None


def _json_object(text: bytes) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def describe_end(code: int | None) -> str:
    """How the subject ended, in words: a crash, a kill, or an exit of the student's own.

    bubblewrap passes on a signal that ended its child as the exit code 128 + the signal.
    """
    signal_number = -code if code is not None and code < 0 else code - 128 if code is not None and code > 128 else None
    if signal_number in CRASH_SIGNALS:
        return f"the process running your code crashed (signal {signal_number})"
    if signal_number == signal.SIGXCPU:
        return f"the process running your code ran out of CPU time (signal {signal_number})"
    if signal_number is not None:
        return f"the process running your code was killed by signal {signal_number} (a resource limit, or the code itself)"
    if code is None:
        return "the process running your code vanished without a word"
    return f"your code ended the process that runs it (exit code {code})"


class ImportFailed(Failure):
    """The student's file raised while it was imported: every later check would say the same."""


class ImportNeverEnded(ImportFailed):
    """Importing the student's file kept running past the check's real-time limit: code at its top level never ends."""

    def __init__(self, limit: float, where: dict[str, Any] | None, file_name: str) -> None:
        source = SourceRef.from_json(where["source"]) if where and where.get("source") else None
        at = f" at line {source.line}" if source else ""
        super().__init__(
            f"importing {file_name} never finished: it was still running{at} after {limit:g} s of real time",
            IMPORT_NEVER_ENDED_HELP,
            source=source,
        )


def student_failure(raised: dict[str, Any], file_name: str = "your file") -> Exception:
    """What to raise for an exception of the student's code: a TODO, a missing function, an import that failed, or a crash.

    A probe that keeps the student's exception as evidence (``describe_raised``) lets a
    check raise this when the exception is not the one it was looking for.
    """
    error = StudentRaised(raised)
    if error.todo:
        return NotStarted("still raises NotImplementedError: this part is a TODO", NOT_IMPLEMENTED_HELP, source=error.source)
    if error.missing:
        return missing([error.missing], error.defined, file_name)
    if error.during == "import" and not error.fatal:
        return ImportFailed(f"importing {file_name} raised {error.message}", import_help(error), source=error.source)
    return error
