"""Hidden checks for 06_timeouts: jobs and a task of the judge's that record how they ended.

The judge's job takes the time the judge chose, whatever delay it is given (a job given
a delay longer than the limit may finish in time, and the other way round), returns a
value its name cannot predict, or raises an error of its own with a message it cannot
predict, a TimeoutError among them. It records on the loop's virtual clock when it
started, when a CancelledError reached it and when its ``finally`` ran, so the checks
see whether a timeout really stopped it, and whether its cleanup had run when the
student's function returned. ``release()`` records when it was called; the background
task handed to ``stop_after`` records each cancel() and when its cleanup ended. Every
verdict is on the virtual clock or on the order of these records.
"""

from __future__ import annotations

import secrets
from typing import Any, NoReturn

import pytest

from grader.checking import (
    Failure,
    Subject,
    check,
    expect,
    expect_no_blocking,
    require,
    require_all,
    student_failure,
)
from grader.checking.job_timeline import NEVER_AWAITED_HELP, expect_clock_kept_forward
from grader.model import SourceRef, Span

FUNCTIONS = {
    "fetch_with_timeout": "coroutine function",
    "run_with_cleanup": "coroutine function",
    "stop_after": "coroutine function",
}
DEADLINE = 30.0  # virtual seconds: far beyond any case's limit or job

# fetch_with_timeout(worker, name, delay, limit). The delays lie: "quick" is given more than
# the limit but finishes in time, "slow" less but does not; a verdict from `delay` fails both.
FETCH: dict[str, dict[str, Any]] = {
    "quick": {"delay": 3.0, "takes": 1.25, "limit": 2.0, "error": None},
    "slow": {"delay": 1.0, "takes": 3.5, "limit": 2.0, "error": None},
    "own_error": {"delay": 1.0, "takes": 0.75, "limit": 2.0, "error": "ValueError"},
    "own_timeout": {"delay": 1.0, "takes": 0.5, "limit": 2.0, "error": "TimeoutError"},
    "cancelled": {"delay": 1.0, "takes": 3.5, "limit": 2.0, "error": None, "cancel_at": 0.75},  # by its caller
}
# run_with_cleanup(worker, name, delay, release), as a task the probe cancels at `cancel_at`.
GUARDED: dict[str, dict[str, Any]] = {
    "returns": {"delay": 2.0, "takes": 1.5, "error": None, "cancel_at": None},
    "raises": {"delay": 1.0, "takes": 0.5, "error": "ValueError", "cancel_at": None},
    "cancelled": {"delay": 4.0, "takes": 4.0, "error": None, "cancel_at": 1.25},
}
# stop_after(task, seconds): the task runs until cancelled, then cleans up for CLEANUP seconds.
SECONDS = 1.5
CLEANUP = 0.375

CALL_THE_WORKER_HELP = "Call the `worker` you are given, `await worker(name, delay)`, and use what it returns."
ONCE_HELP = "Call `worker(name, delay)` once: each call runs the job again."
DEADLINE_HELP = "Something is waiting forever: look for an await that nothing will ever wake up."
CRASH_AS_ERROR_HELP = "Let the job's own exception through unchanged: don't catch it, or re-raise it with a bare `raise`."

RETURN_AT_ONCE_HELP = (
    "Return the moment the job returns: await the job itself under the timeout (`async with asyncio.timeout(limit):` "
    "or `await asyncio.wait_for(...)`), don't sleep for the limit and look afterwards."
)
BY_DELAY_HELP = (
    "Don't decide from `delay` whether the job will be late: a job may take longer or shorter than its delay. "
    "Run it under `async with asyncio.timeout(limit):` (or asyncio.wait_for) and let the clock decide."
)
LOST_VALUE_HELP = "When the job finishes within the limit, return what `await worker(name, delay)` returned."
NO_TIMEOUT_HELP = (
    "Nothing stopped the job at the limit: await it inside `async with asyncio.timeout(limit):` "
    "(or `await asyncio.wait_for(worker(name, delay), limit)`), which cancels it when the limit passes."
)
CATCH_TIMEOUT_HELP = (
    "When the limit passes, return None: catch the TimeoutError your timeout raises "
    "(`except TimeoutError:` around the `async with asyncio.timeout(limit):` block, or around wait_for)."
)
WALL_CLOCK_HELP = (
    "Ask the timeout whether it was the one that expired, not a clock: `timeout = asyncio.timeout(limit)`, then "
    "`timeout.expired()` in the except (or, with wait_for, compare `asyncio.get_running_loop().time()`, the loop's own clock)."
)
CALLER_CANCEL_HELP = (
    "A CancelledError inside the block may be your caller's (a Ctrl-C, an outer timeout), not your limit's: don't "
    "catch it. At the limit, `async with asyncio.timeout(limit):` turns the cancellation into a TimeoutError as it "
    "exits: catch that, around the block."
)
AT_THE_LIMIT_HELP = (
    "Return None exactly when the limit passes: the timeout itself (asyncio.timeout(limit) or wait_for) says when, "
    "no sleep of your own and no waiting for the job after it."
)
LEFT_RUNNING_HELP = (
    "A timeout must stop the job, not only stop waiting for it: asyncio.wait(..., timeout=limit) and "
    "wait_for(asyncio.shield(...)) leave it running. Use asyncio.timeout(limit) or wait_for on the job itself, "
    "which cancel it; or cancel its task yourself and await it."
)
CANCEL_NOT_AWAITED_HELP = (
    "task.cancel() only asks: the task has not run its cleanup yet when cancel() returns. Await the task after "
    "cancelling it (awaiting it raises CancelledError: catch that, or use `await asyncio.wait([task])`) "
    "before returning; asyncio.timeout and wait_for do this for you."
)
EXCEPTION_HIDES_HELP = (
    "`except Exception:` hides every error of the job. Catch only the timeout: `except TimeoutError:`, and only "
    "when your timeout fired (timeout.expired()); let any other exception through."
)
OWN_TIMEOUT_HELP = (
    "Since Python 3.11 asyncio.TimeoutError is the built-in TimeoutError, so `except TimeoutError:` also catches "
    "one the job raised itself. Return None only when your timeout fired: keep the timeout, "
    "`timeout = asyncio.timeout(limit)`, and in the handler `if timeout.expired(): return None`, else `raise` "
    "(with wait_for on a task, check task.cancelled())."
)
NOT_THE_JOBS_ERROR_HELP = "Let the job's own exception through unchanged: don't wrap it or raise another in its place."

CLEANUP_SKIPPED_HELP = (
    "A line after `await worker(...)` never runs when that await raises (an error of the job, or CancelledError "
    "when the task is cancelled): call release() in a `finally:` block around the await."
)
EXCEPT_EXCEPTION_CLEANUP_HELP = (
    "CancelledError is a BaseException, not an Exception (since Python 3.8): `except Exception:` never sees a "
    "cancellation. Call release() in a `finally:` block around the await instead."
)
RELEASE_ONCE_HELP = (
    "Call release() exactly once: in the `finally:` block only (it runs on every way out), not also in an "
    "`except` or after the try statement."
)
RELEASE_EARLY_HELP = (
    "Release only once the job has ended: await the job inside `try:`, and call release() in its `finally:`."
)
RELEASE_LATE_HELP = "Release the moment the job ends: call release() in the `finally:` of the try around the await, nothing awaited before it."
JOB_NOT_CANCELLED_HELP = (
    "The cancellation has to reach the job: await `worker(name, delay)` itself inside try/finally (not shielded, "
    "not in a task of its own that nobody cancels), so that cancelling run_with_cleanup cancels the job too."
)
SWALLOWED_HELP = (
    "Don't swallow the cancellation: a task that catches CancelledError and carries on says it was not cancelled. "
    "Put release() in `finally:` and catch nothing; if you do catch asyncio.CancelledError (or BaseException, or "
    "use a bare `except:`), end the handler with a bare `raise`."
)
RETURN_IN_FINALLY_HELP = (
    "A `return` inside `finally:` discards the exception in flight, CancelledError and the job's errors included "
    "(Python 3.14 warns about it, PEP 765). Return from the `try:` block, and keep only release() in `finally:`."
)
CANCELLED_LATE_HELP = (
    "End the moment you are cancelled: after release(), let the CancelledError go on at once, with nothing "
    "awaited in between."
)
ERROR_SWALLOWED_HELP = "Let the job's exception propagate: put release() in `finally:` and don't catch the error (or re-raise it with a bare `raise`)."

NEVER_CANCELLED_HELP = "After waiting `seconds` (`await asyncio.sleep(seconds)`), stop the task with `task.cancel()`."
AWAIT_BEFORE_CANCEL_HELP = (
    "This task never ends by itself: awaiting it (or gathering it) before cancelling it waits forever. "
    "`await asyncio.sleep(seconds)` first, then `task.cancel()`, then wait for it."
)
CANCEL_TIME_HELP = "Cancel the task after `seconds`, not before: `await asyncio.sleep(seconds)`, then `task.cancel()`."
STOP_NOT_AWAITED_HELP = (
    "task.cancel() only asks: the task still has its cleanup to run. After cancel(), wait until it has ended: "
    "`await asyncio.wait([task])`, or `try: await task` / `except asyncio.CancelledError: pass`."
)
STOP_FIXED_WAIT_HELP = (
    "Wait for the task itself after cancelling it (`await asyncio.wait([task])`), not for a fixed time: "
    "how long its cleanup takes is not yours to know."
)
EXCEPT_EXCEPTION_AWAIT_HELP = (
    "CancelledError is a BaseException, not an Exception (since Python 3.8): `except Exception:` lets it through. "
    "Catch it by name around the await, `except asyncio.CancelledError: pass`."
)
AWAIT_CANCELLED_HELP = (
    "Awaiting a task you cancelled raises its CancelledError in your code. Catch it around that await "
    "(`try: await task` / `except asyncio.CancelledError: pass`), or wait with `await asyncio.wait([task])`, "
    "which never raises it."
)
LEAKED_TIMEOUT_HELP = (
    "stop_after returns None: catch the TimeoutError of wait_for (or of asyncio.timeout) around that await: "
    "the task was cancelled on purpose."
)
CANCELLED_TWICE_HELP = "Cancel the task once, then wait for it: a second cancel() interrupts its cleanup."

CATCHES_CANCEL = {"CancelledError", "BaseException", "everything"}
CATCHES_TIMEOUT = {"TimeoutError", "Exception", "BaseException", "everything", "OSError"}


def cannot_judge(reason: str) -> NoReturn:
    """Skip a check whose subject is missing: it scores nothing, and another check names the mistake."""
    pytest.skip(f"skipped: {reason}")


def error_spec(kind: str | None) -> dict[str, str] | None:
    return {"type": kind, "message": f"job failed {secrets.token_hex(3)}"} if kind else None


class Run:
    """One run of the judge's job: when it started, was cancelled, ended, and how."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.started = float(data.get("started") or 0.0)
        self.cancelled: float | None = data.get("cancelled")
        self.ended: float | None = data.get("ended")
        self.how = str(data.get("how", "running"))


class Case:
    """One call of the student's function, as the probe saw it, with the judge's inputs."""

    def __init__(self, function: str, name: str, spec: dict[str, Any], evidence: dict[str, Any], file_name: str) -> None:
        self.function, self.name, self.spec, self.file_name = function, name, spec, file_name
        self.value: str = spec["value"]
        self.error: dict[str, str] | None = spec["error"]
        self.ended = str(evidence.get("ended"))
        self.result: Any = evidence.get("result")
        self.raised: dict[str, Any] | None = evidence.get("raised")
        self.same_error = bool(evidence.get("same_error"))
        self.returned_at: float | None = evidence.get("returned_at")
        self.ended_at: float | None = evidence.get("ended_at", self.returned_at)
        self.runs = [Run(r) for r in evidence.get("runs") or []]
        self.runs_at_return = [Run(r) for r in evidence.get("runs_at_return") or []]
        self.calls: list[dict[str, Any]] = list(evidence.get("calls") or [])
        self.never_awaited: list[dict[str, Any]] = list(evidence.get("never_awaited") or [])
        self.waiting_at = ref(evidence.get("waiting_at"))
        self.deadline = float(evidence.get("deadline") or DEADLINE)
        self.releases: list[dict[str, Any]] = list(evidence.get("releases") or [])
        self.cancelled_at: float | None = evidence.get("cancelled_at")
        self.running_when_cancelled = bool(evidence.get("running_when_cancelled", True))
        self.wall_clocks: list[dict[str, Any]] = list(evidence.get("wall_clocks") or [])  # the student's reads of time.monotonic() and kin

    @property
    def run(self) -> Run:
        return self.runs[0]

    def call_site(self) -> SourceRef | None:
        return next((ref(c["source"]) for c in self.calls if c.get("source")), None)

    def raised_type(self) -> str:
        return str((self.raised or {}).get("type", ""))

    def raised_line(self) -> SourceRef | None:
        return ref((self.raised or {}).get("source"))

    def lets_error_through(self) -> bool:
        """The job's own exception came out: the very object, or one of its type with its message."""
        if self.ended != "raised" or self.error is None:
            return False
        return self.same_error or (
            self.raised_type() == self.error["type"] and self.error["message"] in str((self.raised or {}).get("message"))
        )

    def error_text(self) -> str:
        assert self.error is not None
        return f"{self.error['type']}('{self.error['message']}')"

    def expect_job_ran(self, *, may_hang: bool = False) -> None:
        """What any judgement needs: the function did not crash, and ran the job, once (and returned, unless
        ``may_hang``: a check that explains a call that never ended itself)."""
        if self.raised and self.ended == "raised" and not self.lets_error_through() and self.raised_type() != "TimeoutError":
            raise student_failure(self.raised, self.file_name)
        if self.never_awaited:
            first = self.never_awaited[0]
            where = ref(first.get("source"))
            at = f"line {where.line} calls" if where else "your code called"
            raise Failure(f"{at} {first['call']} but never awaits the coroutine it returns", NEVER_AWAITED_HELP, source=where)
        expect(bool(self.runs), f"{self.function} never called the worker: no job ran", CALL_THE_WORKER_HELP)
        expect(
            len(self.runs) == 1,
            f"{self.function} ran the job {len(self.runs)} times (started at "
            f"{', '.join(f't={r.started:g} s' for r in self.runs)})",
            ONCE_HELP,
            source=self.call_site(),
        )
        if self.ended == "pending" and not may_hang:
            at = f": it was still waiting at line {self.waiting_at.line}" if self.waiting_at else ""
            raise Failure(
                f"{self.function}() had not finished after {self.deadline:g} s of event-loop time{at}",
                DEADLINE_HELP,
                source=self.waiting_at,
            )

    def spans(self, until: float | None = None) -> list[Span]:
        """The job and the student's call on one timeline."""
        spans = [Span(f"job {self.name}", r.started, r.ended if r.ended is not None else (until or r.started)) for r in self.runs]
        if self.returned_at is not None:
            spans.append(Span(self.function, 0.0, self.returned_at))
        return spans


def ref(data: Any) -> SourceRef | None:
    return SourceRef.from_json(data) if data else None


def fetch_cases(exercise: Subject, *names: str) -> tuple[dict[str, Case], list[dict[str, Any]]]:
    """Call fetch_with_timeout once per case in one probe call: the cases by name, and the function's catch sites."""
    require(exercise, "fetch_with_timeout", "coroutine function")
    specs = {
        name: {**FETCH[name], "name": name, "value": f"{name}-{secrets.token_hex(3)}", "error": error_spec(FETCH[name]["error"])}
        for name in names
    }
    evidence = exercise.call("fetch", cases=list(specs.values()), deadline=DEADLINE)
    expect_clock_kept_forward(any(found.get("clock_went_backwards") for found in evidence["cases"]))
    cases = {
        name: Case("fetch_with_timeout", name, specs[name], found, exercise.file_name)
        for name, found in zip(names, evidence["cases"])
    }
    return cases, list(evidence.get("catches") or [])


def guarded_cases(exercise: Subject) -> tuple[dict[str, Case], list[dict[str, Any]]]:
    require(exercise, "run_with_cleanup", "coroutine function")
    specs = {
        name: {**spec, "name": name, "value": f"{name}-{secrets.token_hex(3)}", "error": error_spec(spec["error"])}
        for name, spec in GUARDED.items()
    }
    evidence = exercise.call("guarded", cases=list(specs.values()), deadline=DEADLINE)
    expect_clock_kept_forward(any(found.get("clock_went_backwards") for found in evidence["cases"]))
    cases = {
        name: Case("run_with_cleanup", name, specs[name], found, exercise.file_name)
        for name, found in zip(specs, evidence["cases"])
    }
    return cases, list(evidence.get("catches") or [])


def catch_site(catches: list[dict[str, Any]], kinds: set[str], *, reraising: bool | None = None) -> SourceRef | None:
    """The first line that catches one of ``kinds`` (and, if asked, does or does not re-raise)."""
    for site in catches:
        if kinds & set(site.get("catches") or []) and (reraising is None or bool(site.get("reraises")) == reraising):
            return ref(site.get("source"))
    return None


def swallow_site(catches: list[dict[str, Any]]) -> tuple[SourceRef | None, str]:
    """Where a cancellation is swallowed, and the help that fits: a finally's return, or a handler that does not re-raise."""
    for site in catches:
        if site.get("kind") == "return in finally":
            return ref(site.get("source")), RETURN_IN_FINALLY_HELP
    return catch_site(catches, CATCHES_CANCEL, reraising=False), SWALLOWED_HELP


# ---------------------------------------------------------------------------------------------- checks


@check("loads")
def check_loads(exercise: Subject) -> None:
    require_all(exercise, FUNCTIONS)


@check("fetch_in_time")
def check_fetch_in_time(exercise: Subject) -> None:
    cases, _ = fetch_cases(exercise, "quick")
    case = cases["quick"]
    limit, delay = case.spec["limit"], case.spec["delay"]
    if not case.runs and not case.never_awaited and case.ended == "returned" and case.result is None:
        raise Failure(
            f"fetch_with_timeout returned None at t={case.returned_at or 0.0:g} s without running the job: it was "
            f"given delay={delay:g}, more than the limit of {limit:g} s, but it would have finished at "
            f"t={case.spec['takes']:g} s, in time",
            BY_DELAY_HELP,
        )
    case.expect_job_ran()
    expect_no_blocking(exercise.blocking)
    end = case.run.ended if case.run.ended is not None else case.spec["takes"]
    returned = case.returned_at if case.returned_at is not None else 0.0
    if case.ended == "raised":
        raise Failure(
            f"fetch_with_timeout raised {case.raised_type()} at t={returned:g} s, but the job returned its value "
            f"at t={end:g} s, within the limit of {limit:g} s",
            LOST_VALUE_HELP,
            source=case.raised_line(),
        )
    if case.result == case.value and returned == end:
        return
    if case.result == case.value:
        raise Failure(
            f"fetch_with_timeout returned the job's value at t={returned:g} s, {returned - end:g} s after the job "
            f"had finished (t={end:g} s)",
            RETURN_AT_ONCE_HELP,
            timeline=case.spans(),
            source=case.call_site(),
        )
    if case.result is None and returned < end:
        raise Failure(
            f"fetch_with_timeout returned None at t={returned:g} s, without waiting for the job (it was given "
            f"delay={delay:g}, more than the limit of {limit:g} s), but the job finished at t={end:g} s, in time",
            BY_DELAY_HELP,
            timeline=case.spans(),
            source=case.call_site(),
        )
    if case.result is None:
        raise Failure(
            f"fetch_with_timeout returned None at t={returned:g} s, but the job had returned its value at "
            f"t={end:g} s, within the limit of {limit:g} s",
            LOST_VALUE_HELP,
            timeline=case.spans(),
            source=case.call_site(),
        )
    raise Failure(
        f"fetch_with_timeout returned {case.result!r} at t={returned:g} s, not the value the job returned",
        LOST_VALUE_HELP,
        source=case.call_site(),
    )


@check("fetch_timed_out")
def check_fetch_timed_out(exercise: Subject) -> None:
    cases, _ = fetch_cases(exercise, "slow", "cancelled")
    case = cases["slow"]
    case.expect_job_ran()
    expect_no_blocking(exercise.blocking)
    limit, takes = case.spec["limit"], case.spec["takes"]
    returned = case.returned_at if case.returned_at is not None else 0.0
    run, at_return = case.run, (case.runs_at_return or case.runs)[0]
    if case.ended == "raised" and case.wall_clocks:  # it measured the time itself, on a clock that stands still here
        read = case.wall_clocks[0]
        raise Failure(
            f"fetch_with_timeout let a TimeoutError out at t={returned:g} s instead of returning None; it read "
            f"{read['clock']} at line {read['source']['line']} to tell its own timeout from the job's, and while the "
            "checks run, the event loop's clock is virtual: time.monotonic() and the like stand still",
            WALL_CLOCK_HELP,
            source=ref(read["source"]),
        )
    if case.ended == "raised":  # a TimeoutError: the job raises none here, so it is the timeout's
        raise Failure(
            f"fetch_with_timeout let a TimeoutError out at t={returned:g} s instead of returning None",
            CATCH_TIMEOUT_HELP,
            source=case.raised_line(),
        )
    if case.ended == "cancelled":
        line = case.raised_line()
        raise Failure(
            f"fetch_with_timeout raised CancelledError at t={returned:g} s instead of returning None"
            + (f" (it came out of line {line.line})" if line else ""),
            CATCH_TIMEOUT_HELP,
            source=line,
        )
    if case.result == case.value:
        raise Failure(
            f"fetch_with_timeout returned the job's value at t={returned:g} s: nothing stopped the job at the limit "
            f"of {limit:g} s",
            NO_TIMEOUT_HELP,
            timeline=case.spans(),
            source=case.call_site(),
        )
    if case.result is not None:
        raise Failure(
            f"fetch_with_timeout returned {case.result!r} at t={returned:g} s; when the limit passes it returns None",
            CATCH_TIMEOUT_HELP,
            source=case.call_site(),
        )
    expect(
        returned == limit,
        f"fetch_with_timeout returned None at t={returned:g} s; the limit was {limit:g} s "
        f"(the job would have run until t={takes:g} s)",
        AT_THE_LIMIT_HELP,
        timeline=case.spans(),
        source=case.call_site(),
    )
    if at_return.ended is None and run.cancelled is not None:
        raise Failure(
            f"fetch_with_timeout returned None at t={returned:g} s while the job was still running: it was cancelled "
            f"(t={run.cancelled:g} s), but its cleanup (its finally) ran only after fetch_with_timeout had returned",
            CANCEL_NOT_AWAITED_HELP,
            source=case.call_site(),
        )
    if at_return.ended is None:
        went_on = f"it went on until t={run.ended:g} s" if run.ended is not None else "it was still running at the deadline"
        raise Failure(
            f"fetch_with_timeout returned None at t={returned:g} s but left the job running, never cancelled: {went_on}",
            LEFT_RUNNING_HELP,
            timeline=case.spans(until=DEADLINE),
            source=case.call_site(),
        )
    expect(
        run.how == "cancelled" and run.cancelled == limit,
        f"the job ended at t={run.ended:g} s ({run.how}); the timeout should cancel it at the limit, t={limit:g} s",
        LEFT_RUNNING_HELP,
        timeline=case.spans(),
        source=case.call_site(),
    )
    cancelled = cases["cancelled"]
    at = cancelled.spec["cancel_at"]
    if cancelled.ended == "returned":
        raise Failure(
            f"fetch_with_timeout's task was cancelled by its caller at t={at:g} s, before the limit of "
            f"{cancelled.spec['limit']:g} s, and it returned {cancelled.result!r} instead of ending cancelled: "
            "it took its caller's cancellation for its own timeout",
            CALLER_CANCEL_HELP,
            source=cancelled.call_site(),
        )


@check("fetch_own_errors")
def check_fetch_own_errors(exercise: Subject) -> None:
    cases, catches = fetch_cases(exercise, "own_error", "own_timeout")
    for name in ("own_error", "own_timeout"):
        case = cases[name]
        case.expect_job_ran()
        if case.lets_error_through():
            continue
        error, end, limit = case.error_text(), case.run.ended, case.spec["limit"]
        returned = case.returned_at if case.returned_at is not None else 0.0
        raised_by_job = f"the job raised its own {error} at t={end:g} s, before the limit of {limit:g} s"
        if case.ended == "returned" and case.result is None:
            if name == "own_error":
                raise Failure(
                    f"{raised_by_job}, and fetch_with_timeout returned None: the error was hidden",
                    EXCEPTION_HIDES_HELP,
                    source=catch_site(catches, {"Exception", "BaseException", "everything"}) or case.call_site(),
                )
            raise Failure(
                f"{raised_by_job}, and fetch_with_timeout returned None as if the limit had passed: "
                "it took the job's TimeoutError for its own timeout",
                OWN_TIMEOUT_HELP,
                source=catch_site(catches, CATCHES_TIMEOUT) or case.call_site(),
            )
        if case.ended == "returned":
            raise Failure(
                f"{raised_by_job}, and fetch_with_timeout returned {case.result!r} instead of letting it through",
                NOT_THE_JOBS_ERROR_HELP,
                source=catch_site(catches, CATCHES_TIMEOUT) or case.call_site(),
            )
        what = "CancelledError" if case.ended == "cancelled" else str((case.raised or {}).get("message") or case.raised_type())
        raise Failure(
            f"{raised_by_job}, and fetch_with_timeout raised {what} at t={returned:g} s instead of the job's own error",
            NOT_THE_JOBS_ERROR_HELP,
            source=case.raised_line() or case.call_site(),
        )


@check("cleanup_in_finally")
def check_cleanup_in_finally(exercise: Subject) -> None:
    cases, catches = guarded_cases(exercise)
    for name in ("returns", "raises", "cancelled"):
        case = cases[name]
        case.expect_job_ran(may_hang=name == "cancelled")
        expect_no_blocking(exercise.blocking)
        run = case.run
        if name == "cancelled":
            moment = case.cancelled_at if case.cancelled_at is not None else 0.0
            what = f"the task was cancelled at t={moment:g} s, while it waited for the job"
        else:
            moment = run.ended if run.ended is not None else 0.0
            what = "the job returned its value" if name == "returns" else f"the job raised {case.error_text()}"
            what += f" at t={moment:g} s"
        releases = case.releases
        if not releases:
            plain_except = catch_site(catches, {"Exception"})
            help = EXCEPT_EXCEPTION_CLEANUP_HELP if name == "cancelled" and plain_except else CLEANUP_SKIPPED_HELP
            raise Failure(
                f"release() was never called when {what}",
                help,
                source=plain_except if help is EXCEPT_EXCEPTION_CLEANUP_HELP else case.waiting_at or case.call_site(),
            )
        if len(releases) > 1:
            times = ", ".join(f"t={r['at']:g} s" for r in releases)
            raise Failure(
                f"release() was called {len(releases)} times ({times}) when {what}",
                RELEASE_ONCE_HELP,
                source=ref(releases[1].get("source")),
            )
        release = releases[0]
        at, site = float(release["at"]), ref(release.get("source"))
        if at < moment:
            raise Failure(f"release() was called at t={at:g} s, before the job ended: {what}", RELEASE_EARLY_HELP, source=site)
        expect(
            at == moment,
            f"release() was called at t={at:g} s, {at - moment:g} s after {what}",
            RELEASE_LATE_HELP,
            source=site,
        )
        job_then = [Run(r) for r in release.get("runs") or []]
        if name == "cancelled" and (run.cancelled is None or any(r.ended is None for r in job_then)):
            went_on = f"it went on until t={run.ended:g} s ({run.how})" if run.ended is not None else "it was never stopped"
            raise Failure(
                f"the task was cancelled at t={moment:g} s and called release() then, but the cancellation never "
                f"reached the job: {went_on}",
                JOB_NOT_CANCELLED_HELP,
                source=case.call_site(),
            )


@check("cancel_propagates")
def check_cancel_propagates(exercise: Subject) -> None:
    cases, catches = guarded_cases(exercise)
    for name in ("returns", "raises", "cancelled"):
        case = cases[name]
        moment = case.cancelled_at if case.cancelled_at is not None else 0.0
        again = [run for run in case.runs[1:] if run.started >= moment]
        if name == "cancelled" and again:
            source, help = swallow_site(catches)
            at_line = f" at line {source.line}" if source else ""
            raise Failure(
                f"run_with_cleanup was cancelled at t={moment:g} s, but it caught the CancelledError{at_line} and "
                f"started the job again at t={again[0].started:g} s",
                help,
                source=source or case.call_site(),
            )
        case.expect_job_ran(may_hang=name == "cancelled")
        if name == "returns":
            expect(
                case.ended == "returned" and case.result == case.value,
                f"run_with_cleanup returned {case.result!r}, not the value the job returned",
                LOST_VALUE_HELP,
                source=case.call_site(),
            )
            continue
        if name == "raises":
            if case.lets_error_through():
                continue
            got = f"returned {case.result!r}" if case.ended == "returned" else f"ended with {case.raised_type() or case.ended}"
            source, _ = swallow_site(catches)
            raise Failure(
                f"the job raised {case.error_text()} at t={case.run.ended:g} s, and run_with_cleanup {got}: "
                "the error did not come through",
                RETURN_IN_FINALLY_HELP if _returns_in_finally(catches) else ERROR_SWALLOWED_HELP,
                source=source or case.call_site(),
            )
        waiting = f" while waiting at line {case.waiting_at.line}" if case.waiting_at else ""
        if not case.running_when_cancelled:
            raise Failure(
                f"run_with_cleanup had already ended before it was cancelled at t={moment:g} s; "
                f"the job takes {case.spec['takes']:g} s",
                CALL_THE_WORKER_HELP,
                source=case.call_site(),
            )
        if case.ended == "cancelled":
            ended = case.ended_at if case.ended_at is not None else moment
            expect(
                ended == moment,
                f"run_with_cleanup was cancelled at t={moment:g} s but ended cancelled only at t={ended:g} s",
                CANCELLED_LATE_HELP,
                source=case.raised_line(),
            )
            continue
        source, help = swallow_site(catches)
        at_line = f" (line {source.line})" if source else ""
        if case.ended == "returned":
            ended = case.ended_at if case.ended_at is not None else moment
            raise Failure(
                f"run_with_cleanup was cancelled at t={moment:g} s{waiting}, but the task did not end cancelled: "
                f"it returned {case.result!r} at t={ended:g} s; the CancelledError was swallowed{at_line}",
                help,
                source=source or case.waiting_at,
            )
        if case.ended == "pending":
            raise Failure(
                f"run_with_cleanup was cancelled at t={moment:g} s{waiting}, but it was still running at "
                f"t={case.deadline + moment:g} s: the CancelledError was caught{at_line} and the task carried on",
                help,
                source=source or case.waiting_at,
            )
        raise Failure(
            f"run_with_cleanup was cancelled at t={moment:g} s{waiting}, but it ended with "
            f"{(case.raised or {}).get('message', case.raised_type())} instead of CancelledError",
            SWALLOWED_HELP,
            source=case.raised_line() or source,
        )


def _returns_in_finally(catches: list[dict[str, Any]]) -> bool:
    return any(site.get("kind") == "return in finally" for site in catches)


class Stop:
    """One call of stop_after with the judge's background task."""

    def __init__(self, exercise: Subject) -> None:
        require(exercise, "stop_after", "coroutine function")
        evidence = exercise.call("stop", seconds=SECONDS, cleanup=CLEANUP, deadline=DEADLINE)
        expect_clock_kept_forward(bool(evidence.get("clock_went_backwards")))
        self.blocking = exercise.blocking
        self.file_name = exercise.file_name
        self.ended = str(evidence.get("ended"))
        self.raised: dict[str, Any] | None = evidence.get("raised")
        self.returned_at: float = float(evidence.get("returned_at") or 0.0)
        self.waiting_at = ref(evidence.get("waiting_at"))
        self.deadline = float(evidence.get("deadline") or DEADLINE)
        self.task_at_return = str(evidence.get("task_at_return"))
        self.at_return: dict[str, Any] = dict(evidence.get("record_at_return") or {})
        self.record: dict[str, Any] = dict(evidence.get("record") or {})
        self.catches: list[dict[str, Any]] = list(evidence.get("catches") or [])  # stop_after's own except and suppress
        self.cancel_calls: list[dict[str, Any]] = list(evidence.get("cancel_calls") or [])

    def cancelled(self) -> float | None:
        return self.record.get("cancelled")

    def cancel_site(self) -> SourceRef | None:
        return next((ref(c["source"]) for c in self.cancel_calls if c.get("source")), None)

    def spans(self) -> list[Span]:
        end = self.record.get("cleanup_done", self.record.get("cleanup_interrupted", self.returned_at))
        spans = [Span("task", 0.0, float(end))]
        if self.record.get("cleanup_started") is not None:
            spans.append(Span("its cleanup", float(self.record["cleanup_started"]), float(end)))
        if self.ended != "pending":
            spans.append(Span("stop_after", 0.0, self.returned_at))
        return spans


@check("stop_cancels")
def check_stop_cancels(exercise: Subject) -> None:
    stop = Stop(exercise)
    cancelled = stop.cancelled()
    if cancelled is None:
        if stop.ended == "raised" and stop.raised:
            raise student_failure(stop.raised, stop.file_name)
        if stop.ended == "pending":
            at = f": it was still waiting at line {stop.waiting_at.line}" if stop.waiting_at else ""
            raise Failure(
                f"stop_after had not returned after {stop.deadline:g} s of event-loop time, and never cancelled the "
                f"task{at}",
                AWAIT_BEFORE_CANCEL_HELP,
                source=stop.waiting_at,
            )
        raise Failure(
            f"stop_after returned at t={stop.returned_at:g} s without cancelling the task: it was still running",
            NEVER_CANCELLED_HELP,
        )
    expect_no_blocking(stop.blocking)
    expect(
        cancelled == SECONDS,
        f"the task was cancelled at t={cancelled:g} s; stop_after should let it run for `seconds` "
        f"and cancel it then, at t={SECONDS:g} s",
        CANCEL_TIME_HELP,
        source=stop.cancel_site(),
    )


@check("stop_waits")
def check_stop_waits(exercise: Subject) -> None:
    stop = Stop(exercise)
    if stop.cancelled() is None:
        cannot_judge("stop_after never cancelled the task (the check that it cancels says why)")
    expect_no_blocking(stop.blocking)
    line = ref((stop.raised or {}).get("source"))
    if stop.ended == "cancelled":
        # `except Exception:` around the await looks like a catch, and misses a BaseException.
        too_narrow = any(c["kind"] == "except" and c["catches"] == ["Exception"] for c in stop.catches)
        raise Failure(
            f"stop_after raised CancelledError at t={stop.returned_at:g} s"
            + (f", out of line {line.line}" if line else "")
            + ": awaiting the task it had cancelled raised the task's CancelledError in stop_after"
            + (", and `except Exception:` does not catch it" if too_narrow else ""),
            EXCEPT_EXCEPTION_AWAIT_HELP if too_narrow else AWAIT_CANCELLED_HELP,
            source=line,
        )
    if stop.ended == "raised" and stop.raised and stop.raised.get("type") == "TimeoutError":
        raise Failure(f"stop_after let a TimeoutError out at t={stop.returned_at:g} s", LEAKED_TIMEOUT_HELP, source=line)
    if stop.ended == "raised" and stop.raised:
        raise student_failure(stop.raised, stop.file_name)
    if stop.ended == "pending":
        at = f": it was still waiting at line {stop.waiting_at.line}" if stop.waiting_at else ""
        raise Failure(
            f"stop_after cancelled the task but had not returned after {stop.deadline:g} s of event-loop time{at}",
            DEADLINE_HELP,
            source=stop.waiting_at,
        )
    if stop.record.get("cleanup_interrupted") is not None:
        raise Failure(
            f"the task was cancelled again at t={stop.record['cleanup_interrupted']:g} s, in the middle of its cleanup",
            CANCELLED_TWICE_HELP,
            source=stop.cancel_site(),
        )
    done = stop.record.get("cleanup_done")
    if stop.task_at_return == "pending":
        where = (
            "while the task was still cleaning up"
            if stop.at_return.get("cleanup_started") is not None
            else "before the task had even received its CancelledError"
        )
        finished = f": it ended at t={done:g} s" if done is not None else ""
        raise Failure(
            f"stop_after returned at t={stop.returned_at:g} s, {where}{finished}",
            STOP_NOT_AWAITED_HELP,
            timeline=stop.spans(),
            source=stop.cancel_site(),
        )
    if done is not None:
        expect(
            stop.returned_at <= done,
            f"stop_after returned at t={stop.returned_at:g} s, {stop.returned_at - done:g} s after the task had ended "
            f"(t={done:g} s)",
            STOP_FIXED_WAIT_HELP,
            timeline=stop.spans(),
            source=stop.cancel_site(),
        )
