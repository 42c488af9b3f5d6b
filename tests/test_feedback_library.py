"""Feedback the student can trust, whatever the exercise: their own output, their own line, the real mistake.

The golden corpus is graded once more here, as a whole, for what no single golden
expectation says: no printed block, message or help line shows the grader's files, a
temporary or sandbox folder, the interpreter's folders, or a warning the grader's own code
raised. The rest are the library's pieces, one at a time: exceptions worded with Python's
own suggestion, a missing function named with its likely rename, the syntax error's line
and hint, skipped checks with their reason, and hints that belong to checks.
"""

from __future__ import annotations

import json
import re
import sysconfig
import tempfile
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.checking.names import missing
from grader.checking.raised import UNFINISHED_RESULT_HELP, explain
from grader.checking.subject import StudentRaised
from grader.cli import main
from grader.grading import grade_folder
from grader.kit import Kit
from grader.model import (
    CheckResult,
    CheckStatus,
    ExerciseResult,
    ExerciseStatus,
    Report,
)
from grader.render.text import render_text
from grader.student_progress import Progress, next_hint
from grader.submission import syntax_problem
from grader.verdict import as_student_sees

from .conftest import GOLDEN, ROOT
from .conftest import GOLDEN_SCENARIOS as SCENARIOS

FORBIDDEN = {
    "a temporary folder": f"{tempfile.gettempdir()}/asynclings-",
    "the sandbox's folder": "/submission/",
    "the grader's folder": str(ROOT / "grader"),
    "the grader's folder in the sandbox": "/asynclings/grader",
    "the grader's subject code": "grader/subject/",
    "the kit's hidden checks": "grader/default_kit/",
    "the interpreter's library": sysconfig.get_paths()["stdlib"],
    "a grader warning's tail": "Enable tracemalloc",
}
WARNING_LINE = re.compile(r"^(?P<where>\S+?):\d+: \w*Warning: ", re.MULTILINE)
NOISY = '''\
import asyncio
import warnings
from collections.abc import Awaitable, Callable

Worker = Callable[[str, float], Awaitable[str]]


async def run_sequentially(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    print("running", __file__)
    warnings.warn("my own warning")
    return [await worker(name, delay) for name, delay in jobs]


async def run_concurrently(worker: Worker, jobs: list[tuple[str, float]]) -> list[str]:
    started = [worker(name, delay) for name, delay in jobs]
    await asyncio.Event().wait()
    return started
'''


def student_visible(exercise: ExerciseResult) -> list[str]:
    """Everything of one exercise a student reads: its output, its message, and each check's words."""
    texts = [exercise.output, exercise.message]
    texts += [text for check in exercise.checks for text in (check.message, check.help)]
    return [*texts, render_text(Report([exercise]), color=False)]


def assert_only_the_students_own_words(exercise: ExerciseResult) -> None:
    for text in student_visible(exercise):
        for what, path in FORBIDDEN.items():
            assert path not in text, f"{exercise.id}: shows {what}: {text[:300]!r}"
        for warning in WARNING_LINE.finditer(text):
            assert warning["where"] == exercise.file, f"{exercise.id}: a warning raised outside the student's file: {text[:300]!r}"


@pytest.fixture(scope="module")
def corpus(golden_verdicts: dict[Path, ExerciseResult]) -> list[ExerciseResult]:
    return [golden_verdicts[folder] for folder in SCENARIOS]


def test_the_golden_corpus_shows_only_the_students_own_words(corpus: list[ExerciseResult]) -> None:
    assert len(corpus) == len(SCENARIOS) > 50
    for exercise in corpus:
        assert_only_the_students_own_words(exercise)


@pytest.mark.parametrize(
    "printed",
    [
        f"{tempfile.gettempdir()}/asynclings-grade-1-x/03_concurrency.py:3: UserWarning: mine",
        f"{ROOT}/grader/subject/executor.py:147: RuntimeWarning: coroutine 'worker' was never awaited",
        "executor.py:147: RuntimeWarning: coroutine 'worker' was never awaited",
    ],
)
def test_the_corpus_check_sees_what_it_looks_for(printed: str) -> None:
    exercise = ExerciseResult("03_concurrency", "t", ExerciseStatus.FAILED, 0, 20, output=printed + "\n", file="03_concurrency.py")
    with pytest.raises(AssertionError):
        assert_only_the_students_own_words(exercise)


def test_the_grader_keeps_its_own_warnings_and_folders_out_of_what_the_student_printed(kit: Kit, tmp_path: Path) -> None:
    (tmp_path / "03_concurrency.py").write_text(NOISY, encoding="utf-8")
    (exercise,) = grade_folder(tmp_path, kit, kit.select(["03"])).exercises
    assert_only_the_students_own_words(exercise)
    assert "running 03_concurrency.py" in exercise.output
    assert "03_concurrency.py:10: UserWarning: my own warning" in exercise.output
    assert "never awaited" not in exercise.output  # the judge's worker, left by the deadline, is the grader's
    timing = next(check for check in exercise.checks if check.id == "concurrent_timing")
    assert timing.message.endswith("it was still waiting at line 16, and coroutine worker() was never awaited")
    assert timing.source is not None and timing.source.excerpt == "await asyncio.Event().wait()"


@pytest.mark.parametrize(
    ("text", "seen"),
    [
        (f'File "{tempfile.gettempdir()}/asynclings-grade-12-ab_c/03_concurrency.py", line 3', 'File "03_concurrency.py", line 3'),
        (f"{tempfile.gettempdir()}/asynclings-worker-1-x/submission-y/05_queues.py:9: UserWarning", "05_queues.py:9: UserWarning"),
        ("/submission/01_coroutines.py", "01_coroutines.py"),
        (f'File "{sysconfig.get_paths()["stdlib"]}/asyncio/tasks.py"', 'File "asyncio/tasks.py"'),
        ("results in /submission", "results in /submission"),
    ],
)
def test_paths_are_shown_as_the_student_knows_them(text: str, seen: str) -> None:
    assert as_student_sees(text) == seen


def raised(**fields: object) -> StudentRaised:
    return StudentRaised({"type": "Exception", "message": "", **fields})


def test_a_typo_is_named_with_pythons_own_suggestion() -> None:
    error = raised(
        type="NameError",
        name="tasks",
        message="NameError: name 'tasks' is not defined",
        python_says="NameError: name 'tasks' is not defined. Did you mean: 'taks'?",
        source={"file": "03_concurrency.py", "line": 29, "excerpt": "return await asyncio.gather(*tasks)"},
    )
    message, help = explain(error)
    assert message == "your code raised NameError: name 'tasks' is not defined. Did you mean: 'taks'?"
    assert help == "`tasks` is not defined where line 29 uses it: check its spelling (Python suggests `taks`)."
    assert "__main__" not in help


def test_the_result_of_an_unfinished_task_is_named_as_such() -> None:
    error = raised(type="InvalidStateError", message="InvalidStateError: Result is not set.")
    message, help = explain(error)
    assert message == "your code read task.result() of a task that had not finished yet (InvalidStateError: Result is not set.)"
    assert help == UNFINISHED_RESULT_HELP


def test_a_local_read_before_assignment_is_explained() -> None:
    error = raised(type="UnboundLocalError", message="UnboundLocalError: cannot access local variable 'results' where it is not associated with a value")
    assert explain(error)[1].startswith("`results` is assigned somewhere in this function")


def test_a_missing_function_is_named_with_its_likely_rename() -> None:
    defined = {"poll_tasks": {"file": "04_monitoring.py", "line": 15, "excerpt": "async def poll_tasks(...):"}, "helper": None}
    failure = missing(["poll_task"], defined, "04_monitoring.py")
    assert failure.rationale == "`poll_task` is missing — did you rename it to `poll_tasks`?"
    assert failure.source is not None and failure.source.line == 15


def test_a_missing_function_without_a_close_name_is_just_missing() -> None:
    failure = missing(["run_concurrently"], {"run_sequentially": None, "main": None}, "03_concurrency.py", expected=["run_sequentially"])
    assert failure.rationale == "`run_concurrently` is missing from 03_concurrency.py"


def test_await_outside_a_coroutine_gets_its_line_and_the_function_to_fix() -> None:
    source = textwrap.dedent(
        """\
        import asyncio

        def run_sequentially(worker, jobs):
            return [await worker(name, delay) for name, delay in jobs]
        """
    ).encode()
    problem = syntax_problem("03_concurrency.py", source)
    assert problem is not None and problem.where is not None
    assert problem.message == "03_concurrency.py:4: SyntaxError: asynchronous comprehension outside of an asynchronous function"
    assert problem.where.excerpt == "return [await worker(name, delay) for name, delay in jobs]"
    assert "`run_sequentially` is a plain `def`" in problem.help
    top_level = syntax_problem("x.py", b"import asyncio\nawait asyncio.sleep(1)\n")
    assert top_level is not None and "asyncio.run(main())" in top_level.help


def test_a_return_inside_except_star_is_told_where_the_return_goes() -> None:
    source = textwrap.dedent(
        """\
        async def handle_errors(run, report):
            try:
                return await run()
            except* ValueError as bad_input:
                for error in bad_input.exceptions:
                    report(error)
                return None
        """
    ).encode()
    problem = syntax_problem("07_task_groups.py", source)
    assert problem is not None and problem.where is not None and problem.where.line == 7
    assert "put the `return` after the whole try statement" in problem.help


def test_a_file_that_does_not_compile_fails_its_first_check_with_the_line_and_hint(kit: Kit) -> None:
    folder = GOLDEN / "03_concurrency" / "await_outside_async"
    (exercise,) = grade_folder(folder, kit, kit.select(["03"])).exercises
    text = render_text(Report([exercise]), color=False)
    assert "--> 03_concurrency.py:44" in text and "44 | results.append(await worker(name, delay))" in text
    assert "hint: `await` only works inside an `async def`" in text
    assert text.count("SyntaxError") == 1  # said once, not once per check


def test_skipped_checks_say_why_in_the_text_report() -> None:
    checks = [
        CheckResult("first", "the first", CheckStatus.FAILED, 0, 2, message="it broke"),
        CheckResult("second", "the second", CheckStatus.SKIPPED, 0, 3, message="skipped: needs “the first” to pass first"),
    ]
    exercise = ExerciseResult("03_concurrency", "t", ExerciseStatus.FAILED, 0, 5, checks, file="03_concurrency.py")
    lines = render_text(Report([exercise]), color=False).splitlines()
    assert lines[lines.index("    -  the second  0/3") + 1] == '        skipped: needs "the first" to pass first'


def test_the_next_hint_is_the_first_failing_checks_own(kit: Kit) -> None:
    spec = kit.exercise("03_concurrency")
    timing = spec.check("concurrent_timing")
    result = ExerciseResult(spec.id, spec.title, ExerciseStatus.FAILED, 14, 20, [
        CheckResult(c.id, c.name, CheckStatus.FAILED if c.id == timing.id else CheckStatus.PASSED, 0, c.points) for c in spec.checks
    ])  # fmt: skip
    first = next_hint(spec, result, [])
    assert first is not None and spec.hints[first] == timing.hint != spec.hints[0]
    assert next_hint(spec, result, [first]) == 0  # its own is out: the exercise's next one, in order
    assert next_hint(spec, None, list(range(len(spec.hints)))) is None


def test_grade_hint_gives_the_hint_of_the_check_that_fails(kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    (exercises / "03_concurrency.py").write_bytes((GOLDEN / "03_concurrency" / "await_in_loop" / "03_concurrency.py").read_bytes())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    result = CliRunner().invoke(main, ["hint", "03"], catch_exceptions=False)
    timing_hint = kit.exercise("03_concurrency").check("concurrent_timing").hint
    assert result.exit_code == 0 and f"  1. {timing_hint}" in result.output, result.output
    recorded = Progress(exercises).of("03_concurrency")
    assert recorded.hints_used == 1 and kit.exercise("03_concurrency").hints[recorded.hints_revealed[0]] == timing_hint
    everything = CliRunner().invoke(main, ["hint", "03", "--all"], catch_exceptions=False)
    assert "(3 of 3)" in everything.output and Progress(exercises).of("03_concurrency").hints_used == 3


def test_a_missing_function_costs_only_the_checks_that_call_it(kit: Kit) -> None:
    for spec in kit.exercises:
        assert not [c.id for c in spec.checks if spec.checks[0].id in c.depends], spec.id


def test_a_record_from_before_hints_belonged_to_checks_still_counts(tmp_path: Path) -> None:
    folder = tmp_path / "exercises"
    folder.mkdir()
    state = tmp_path / ".asynclings"
    state.mkdir()
    (state / "progress.json").write_text(json.dumps({"folders": {"exercises": {"03_concurrency": {"hints_used": 2}}}}))
    assert Progress(folder).of("03_concurrency").revealed() == [0, 1]
