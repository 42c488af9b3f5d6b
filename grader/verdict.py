"""The parent's judgement: expected checks (from the metadata) × what arrived → scores.

Only a check reported ``passed`` by a process that ran to its normal end scores. A
missing, duplicated or unexpected result, a crash, an early exit or a timeout never
scores, whatever the child printed or claimed.
"""

from __future__ import annotations

import re
import sysconfig
import tempfile

from grader.kit import CheckSpec, ExerciseSpec
from grader.leftovers import PREFIX
from grader.model import (
    CheckResult,
    CheckStatus,
    ExerciseResult,
    ExerciseStatus,
    SourceRef,
    Span,
)
from grader.paths import SUBJECT_SUBMISSION
from grader.runner.protocol import (
    CheckOutcome,
    ChecksCollected,
    JudgeEnded,
    RawOutcome,
    Violation,
)
from grader.submission import Prepared, Readiness

NORMAL_EXIT_CODES = (0, 1)
PREFLIGHT_STATUS = {
    Readiness.NOT_STARTED: ExerciseStatus.NOT_STARTED,
    Readiness.ERROR: ExerciseStatus.ERROR,
    Readiness.REFUSED: ExerciseStatus.FAILED,
}  # pytest: all passed / some failed

NOT_RUN = "not run: {reason}"
TIMEOUT_REASON = "the exercise was stopped after {limit:g} s of real time (its time limit)"
SIGNAL_REASON = "the check process was killed by signal {signal} (a crash, or a resource limit)"
EARLY_EXIT_REASON = "the check process ended early (exit code {code}) before all checks reported"
NO_EXIT_REASON = "the check process vanished without a trace"
VIOLATION_REASON = "refused: the code tried to {what}"
FATAL_REASON = "the code raised {what} during a check, which stops the checks: the exercise scores 0"
ENDED_REASON = "the checks stopped: {how}, so the exercise scores 0"
FORGED_RESULTS = "write results of its own on the grader's result pipe"
NOT_COUNTED = "not counted: {reason}"
CHECKS_NOT_LOADED = "the grader could not load this exercise's checks ({reason}); the printed output says why"
DUPLICATE_MESSAGE = "this check reported more than once; no result is trusted"
MISSING_IMPLEMENTATION = "the kit declares this check but its check file does not implement it"
NOT_STARTED_MESSAGE = "not started yet"
# Where the student's file was run from (the temporary copy, or the subject's sandbox) and
# the interpreter's library: the student knows their file by its name, and asyncio's by its own.
GRADING_FOLDERS = re.compile(
    "|".join(
        re.escape(folder + "/") + suffix
        for folder, suffix in (
            (tempfile.gettempdir(), re.escape(PREFIX) + r"[^/\s]+/(?:submission-[^/\s]+/)?"),
            (str(SUBJECT_SUBMISSION), ""),
            (sysconfig.get_paths()["stdlib"], ""),
        )
    )
)
EARLY_EXIT_HELP = (
    "Don't call sys.exit(), os._exit() or raise SystemExit/KeyboardInterrupt in the exercise: "
    "the checks need the process to keep running."
)


def judge(spec: ExerciseSpec, outcome: RawOutcome) -> ExerciseResult:
    """Turn what the check process reported into a scored exercise result."""
    by_id: dict[str, list[CheckOutcome]] = {}
    for record in outcome.of_kind(CheckOutcome):
        by_id.setdefault(record.check, []).append(record)
    failure = _violation(outcome) or _fatal(outcome) or _process_failure(outcome)
    checks = [_judge_check(check, by_id.get(check.id, []), failure) for check in spec.checks]
    result = _exercise(spec, checks)
    result.output = as_student_sees(outcome.output.decode("utf-8", errors="replace"))
    result.output_truncated = outcome.output_truncated
    if failure and not _collected(outcome):
        # The checks never loaded: a fault of the kit or the grader, not of the student.
        result.status, result.message, result.score = ExerciseStatus.ERROR, CHECKS_NOT_LOADED.format(reason=failure), 0.0
        for check in checks:
            check.status, check.score, check.message, check.help = CheckStatus.ERROR, 0.0, result.message, ""
    elif failure:
        # Nothing this process reported can be trusted: no check counts, passed or not.
        result.status, result.message, result.score = ExerciseStatus.FAILED, failure, 0.0
        for check in checks:
            check.score = 0.0
            if check.status is CheckStatus.PASSED:
                check.status, check.message = CheckStatus.FAILED, NOT_COUNTED.format(reason=failure)
    return result


def as_student_sees(text: str) -> str:
    """``text`` with the grading folders dropped from its paths: ``03_concurrency.py``, ``asyncio/tasks.py``."""
    return GRADING_FOLDERS.sub("", text)


def _collected(outcome: RawOutcome) -> bool:
    """Whether pytest loaded the checks (reported before any student code runs)."""
    return bool(outcome.of_kind(ChecksCollected))


def _violation(outcome: RawOutcome) -> str:
    """What the submission tried that grading forbids (reading the solutions), if anything."""
    for violation in outcome.of_kind(Violation):
        return VIOLATION_REASON.format(what=violation.what)
    if outcome.forged_lines:
        return VIOLATION_REASON.format(what=FORGED_RESULTS)
    return ""


def _fatal(outcome: RawOutcome) -> str:
    """A check in which the code tried to stop the run (SystemExit, KeyboardInterrupt, an exit, a crash)."""
    for record in outcome.of_kind(CheckOutcome):
        if record.fatal:
            return FATAL_REASON.format(what=record.message.removeprefix("your code raised "))
        if record.ended:
            return ENDED_REASON.format(how=record.message or "the process running your code ended")
    return ""


def _process_failure(outcome: RawOutcome) -> str:
    """Why the process cannot be trusted to have finished, or ``""`` when it ended normally."""
    ended = outcome.ended
    if ended is None:
        return NO_EXIT_REASON
    if ended.how == "timeout":
        return TIMEOUT_REASON.format(limit=ended.limit or 0.0)
    if ended.how == "signal":
        return SIGNAL_REASON.format(signal=ended.signal)
    code = ended.exit_code
    ends: list[JudgeEnded] = outcome.of_kind(JudgeEnded)
    if code not in NORMAL_EXIT_CODES or len(ends) != 1 or ends[0].exit_code != code:
        return EARLY_EXIT_REASON.format(code=code)
    return ""


def _judge_check(spec: CheckSpec, records: list[CheckOutcome], failure: str) -> CheckResult:
    result = CheckResult(spec.id, spec.name, CheckStatus.FAILED, 0.0, spec.points)
    if len(records) > 1:
        result.message = DUPLICATE_MESSAGE
        return result
    if not records:
        if failure:
            result.message = NOT_RUN.format(reason=failure)
            result.help = EARLY_EXIT_HELP if "exit code" in failure else ""
        else:
            result.status, result.message = CheckStatus.ERROR, MISSING_IMPLEMENTATION
        return result
    record = records[0]
    status = record.status
    result.status = CheckStatus(status) if status in ("passed", "failed", "skipped") else CheckStatus.FAILED
    result.message = as_student_sees(record.message)[:2000]
    result.help = as_student_sees(record.help)[:1000]
    result.timeline = [Span.from_json(s) for s in record.timeline][:50]
    if record.source:
        result.source = SourceRef.from_json(record.source)
    if result.status is CheckStatus.PASSED:
        result.score = spec.points
        result.message = result.help = ""
    result.todo = record.todo
    return result


def _exercise(spec: ExerciseSpec, checks: list[CheckResult]) -> ExerciseResult:
    score = round(sum(c.score for c in checks), 2)
    if all(c.status is CheckStatus.PASSED for c in checks):
        status = ExerciseStatus.PASSED
    elif score == 0 and _all_todo(checks):
        status = ExerciseStatus.NOT_STARTED
    else:
        status = ExerciseStatus.FAILED
    if any(c.status is CheckStatus.ERROR for c in checks):
        status = ExerciseStatus.ERROR
    return ExerciseResult(spec.id, spec.title, status, score, spec.max_score, checks, file=spec.file, group=spec.group)


def _all_todo(checks: list[CheckResult]) -> bool:
    failed = [c for c in checks if c.status is CheckStatus.FAILED]
    return bool(failed) and all(c.todo for c in failed)


def without_running(item: Prepared) -> ExerciseResult:
    """The result of an exercise that preflight stopped (missing, broken, or untouched)."""
    spec = item.spec
    untouched = item.readiness is Readiness.NOT_STARTED
    reason = NOT_STARTED_MESSAGE if untouched else item.message
    checks = [
        CheckResult(c.id, c.name, CheckStatus.SKIPPED, 0.0, c.points, message=f"skipped: {reason}") for c in spec.checks
    ]
    if item.where:
        # The line that stops the file from running fails the first check (the file loads), with what to do.
        first = checks[0]
        first.status, first.message, first.source, first.help = CheckStatus.FAILED, item.message, item.where, item.help
    status = PREFLIGHT_STATUS[item.readiness]
    return ExerciseResult(
        spec.id, spec.title, status, 0.0, spec.max_score, checks, message=item.message, file=spec.file, group=spec.group
    )
