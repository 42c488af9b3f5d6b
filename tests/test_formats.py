"""The report formats for CI and learning platforms: JUnit, Gradescope, GitHub Actions, Markdown.

Reports are built directly (fast); one real failing submission is graded once, to see the
formats on a real verdict and the ``--format github`` side effect on the step summary.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner

from grader.cli import main
from grader.grading import grade_folder
from grader.kit import Kit
from grader.model import CheckResult, CheckStatus, ExerciseResult, ExerciseStatus, Report, SourceRef, Span
from grader.render import FORMATS, render
from grader.render.github import MAX_ERRORS, annotations, escape_data, escape_property, fence, render_github, step_summary
from grader.render.gradescope import render_gradescope
from grader.render.junit import render_junit
from grader.render.markdown import SUMMARY_LIMIT, render_markdown

from .conftest import GOLDEN, ROOT

XSD = ROOT / "tests" / "schemas" / "junit-windyroad.xsd"
REAL_FAILURE = GOLDEN / "03_concurrency" / "await_in_loop"
FORGED = "::error file=grader/verdict.py,line=1::you scored 100\n::add-mask::secret\n::endgroup::"
EXERCISE_SOURCE = '''\
import asyncio


async def helper():
    return 1


async def run_sequentially(worker, jobs):
    return [await worker(*job) for job in jobs]


async def run_concurrently(worker, jobs):
    return [await worker(*job) for job in jobs]
'''
GRADESCOPE_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
                  "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}  # fmt: skip
GRADESCOPE_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format",
                   "tags", "visibility", "extra_data"}  # fmt: skip


def check(check_id: str, status: CheckStatus, points: float = 4.0, message: str = "") -> CheckResult:
    score = points if status is CheckStatus.PASSED else 0.0
    return CheckResult(check_id, f"{check_id.replace('_', ' ')} works", status, score, points, message=message)


def sample_report(submission: Path) -> Report:
    """One exercise of each status, with the evidence a failure carries and hostile output."""
    failing = ExerciseResult(
        "03_concurrency", "Sequential vs concurrent", ExerciseStatus.FAILED, 4.0, 14.0, file="03_concurrency.py",
        output=f"A: started\n{FORGED}\n\x1b[31mred\x1b[0m and a NUL \x00\n",
        checks=[
            check("sequential_results", CheckStatus.PASSED),
            CheckResult("concurrent_timing", "run_concurrently runs the jobs concurrently", CheckStatus.FAILED, 0.0, 6.0,
                        message="your 3 jobs finished at t=6.0 s: 100% sequential, @teacher <b>look</b>",
                        help="Create all the tasks first, then `await asyncio.gather(...)`.",
                        timeline=[Span("A", 0.0, 3.0), Span("B", 3.0, 4.0)]),
            CheckResult("blocking", "run_sequentially never blocks the loop", CheckStatus.FAILED, 0.0, 4.0,
                        message="time.sleep(1) froze the loop", source=SourceRef("03_concurrency.py", 9, "time.sleep(1)")),
            CheckResult("tasks", "run_concurrently uses tasks", CheckStatus.SKIPPED, 0.0, 0.0,
                        message="skipped: needs “run_concurrently runs the jobs concurrently” to pass first"),
        ],
    )  # fmt: skip
    passed = ExerciseResult("01_coroutines", "Coroutines", ExerciseStatus.PASSED, 4.0, 4.0, file="01_coroutines.py",
                            checks=[check("greet", CheckStatus.PASSED)])  # fmt: skip
    untouched = ExerciseResult("04_monitoring", "Monitoring", ExerciseStatus.NOT_STARTED, 0.0, 4.0, file="04_monitoring.py",
                               checks=[check("poll", CheckStatus.SKIPPED, message="skipped: not started yet")])  # fmt: skip
    broken = ExerciseResult("05_queues", "Queues", ExerciseStatus.ERROR, 0.0, 4.0, file="05_queues.py",
                            message="05_queues.py:7: SyntaxError: invalid syntax",
                            checks=[check("consumers", CheckStatus.SKIPPED, message="skipped: 05_queues.py:7: SyntaxError")])  # fmt: skip
    return Report([passed, failing, untouched, broken], kit="asynclings", submission=str(submission), duration=1.2)


@pytest.fixture
def submission(tmp_path: Path) -> Path:
    """A checkout (it has ``.git``) whose exercises folder holds the failing exercise's file."""
    (tmp_path / ".git").mkdir()
    folder = tmp_path / "exercises"
    folder.mkdir()
    (folder / "03_concurrency.py").write_text(EXERCISE_SOURCE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def real_report(kit: Kit) -> Report:
    return grade_folder(REAL_FAILURE, kit, kit.select(["03"]))


def runner_commands(log: str) -> list[str]:
    """The workflow commands GitHub's runner would act on in ``log``, honouring stop-commands."""
    commands: list[str] = []
    resume = None
    for line in log.splitlines():
        if resume is not None:
            resume = None if line == resume else resume
        elif line.startswith("::stop-commands::"):
            resume = f"::{line.removeprefix('::stop-commands::')}::"
        elif line.startswith("::"):
            commands.append(line)
    assert resume is None, "the log ends with workflow commands still stopped"
    return commands


def properties(command: str) -> dict[str, str]:
    head = command.split("::")[1]
    return dict(item.split("=", 1) for item in head.split(" ", 1)[1].split(","))


# JUnit


def test_junit_validates_against_the_strict_schema(submission: Path) -> None:
    document = render_junit(sample_report(submission))
    xmlschema.XMLSchema(XSD).validate(document)


def test_junit_has_a_suite_per_exercise_and_a_case_per_check(submission: Path) -> None:
    schema = xmlschema.XMLSchema(XSD)
    now = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    data = schema.to_dict(render_junit(sample_report(submission), now=now, hostname="ci-box"))
    suites = {suite["@name"]: suite for suite in data["testsuite"]}
    assert list(suites) == ["01_coroutines", "03_concurrency", "04_monitoring", "05_queues"]
    failing = suites["03_concurrency"]
    assert (failing["@tests"], failing["@failures"], failing["@errors"], failing["@skipped"]) == (4, 2, 0, 1)
    assert (failing["@timestamp"], failing["@hostname"]) == ("2025-01-02T03:04:05", "ci-box")
    timing = next(case for case in failing["testcase"] if case["@name"] == "run_concurrently runs the jobs concurrently")
    assert timing["failure"]["@message"].startswith("your 3 jobs finished at t=6.0 s")
    assert "hint: Create all the tasks first" in timing["failure"]["$"]
    assert "A  ##" in timing["failure"]["$"]
    skipped = next(case for case in failing["testcase"] if "skipped" in case)
    assert skipped["skipped"]["@message"].startswith("skipped: needs")
    assert "::add-mask::secret" in failing["system-out"]
    assert "\\x1b[31mred" in failing["system-out"] and "\\x00" in failing["system-out"]
    broken = suites["05_queues"]
    assert (broken["@errors"], broken["testcase"][0]["error"]["@message"]) == (1, "05_queues.py:7: SyntaxError: invalid syntax")


# Gradescope


def test_gradescope_results_use_only_documented_fields(submission: Path) -> None:
    results = json.loads(render_gradescope(sample_report(submission)))
    assert set(results) <= GRADESCOPE_TOP
    assert all(set(test) <= GRADESCOPE_TEST for test in results["tests"])
    assert {test["status"] for test in results["tests"]} == {"passed", "failed"}
    assert {test["visibility"] for test in results["tests"]} == {"visible"}
    assert isinstance(results["execution_time"], int) and results["execution_time"] >= 1


def test_gradescope_scores_add_up_and_failures_explain_themselves(submission: Path) -> None:
    report = sample_report(submission)
    results = json.loads(render_gradescope(report))
    assert results["score"] == report.score == sum(test["score"] for test in results["tests"])
    assert sum(test["max_score"] for test in results["tests"]) == report.max_score
    assert [test["number"] for test in results["tests"]][:3] == ["1.1", "3.1", "3.2"]
    timing = next(test for test in results["tests"] if test["name"] == "03_concurrency: run_concurrently runs the jobs concurrently")
    assert (timing["status"], timing["score"], timing["max_score"]) == ("failed", 0.0, 6.0)
    assert "your 3 jobs finished" in timing["output"] and "hint: Create all the tasks first" in timing["output"]
    skipped = next(test for test in results["tests"] if test["name"] == "03_concurrency: run_concurrently uses tasks")
    assert (skipped["status"], skipped["output"]) == ("failed", "skipped: needs “run_concurrently runs the jobs concurrently” to pass first")
    assert "Score: 8/26" in results["output"] and "03_concurrency.py printed:\nA: started" in results["output"]


# GitHub Actions


def test_escaping_follows_githubs_rules() -> None:
    assert escape_data("50%\r\ndone: a, b") == "50%25%0D%0Adone: a, b"
    assert escape_property("03_x: a, b%\n") == "03_x%3A a%2C b%25%0A"


def test_annotations_point_at_the_students_function(submission: Path) -> None:
    commands = annotations(sample_report(submission))
    timing, blocking, broken = commands
    assert properties(timing) == {
        "file": "exercises/03_concurrency.py",
        "line": "12",  # def run_concurrently, named first in the check's name
        "title": "03_concurrency%3A run_concurrently runs the jobs concurrently",
    }
    message = "your 3 jobs finished at t=6.0 s: 100%25 sequential, @teacher <b>look</b>%0AHint: Create all the tasks first"
    assert timing.split("::", 2)[2].startswith(message)
    assert properties(blocking)["line"] == "9"  # the check's own source line wins
    assert properties(broken) == {"file": "exercises/05_queues.py", "line": "7", "title": "05_queues%3A Queues"}


def test_student_output_cannot_forge_workflow_commands(submission: Path) -> None:
    log = render_github(sample_report(submission))
    commands = runner_commands(log)
    assert FORGED.splitlines()[0] in log  # shown, as text
    assert [c.split(" ")[0].split("::")[1] for c in commands] == ["group", "endgroup", "error", "error", "error"]
    assert not any("verdict.py" in c or "add-mask" in c for c in commands)


def test_fence_tokens_are_fresh_and_never_in_the_fenced_text() -> None:
    assert fence("x") != fence("x")
    fenced = fence("::cafe::\n", token="cafe")
    token = fenced.splitlines()[0].removeprefix("::stop-commands::")
    assert token != "cafe" and fenced.endswith(f"::{token}::\n")


def test_at_most_ten_error_annotations_and_the_summary_counts_the_rest(submission: Path) -> None:
    checks = [check(f"check_{n:02}", CheckStatus.FAILED, message=f"problem {n}") for n in range(13)]
    exercise = ExerciseResult("03_concurrency", "Concurrency", ExerciseStatus.FAILED, 0.0, 52.0, checks, file="03_concurrency.py")
    report = Report([exercise], kit="asynclings", submission=str(submission))
    errors = [c for c in runner_commands(render_github(report)) if c.startswith("::error")]
    assert len(errors) == MAX_ERRORS and errors[-1].endswith("::problem 9")
    summary = step_summary(report)
    assert "3 more problem(s) are not annotated" in summary and "problem 12" in summary


def test_format_github_appends_the_summary_and_annotates_the_students_own_line(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step output\n", encoding="utf-8")
    result = CliRunner().invoke(main, [str(REAL_FAILURE), "-e", "03", "--format", "github"], env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert result.exit_code == 1
    (error,) = [c for c in runner_commands(result.output) if c.startswith("::error")]
    source = (REAL_FAILURE / "03_concurrency.py").read_text(encoding="utf-8").splitlines()
    # The line that started the jobs one at a time, inside run_concurrently.
    started = next(n for n, line in enumerate(source, 1) if "await asyncio.create_task(worker" in line)
    assert properties(error)["file"].endswith("await_in_loop/03_concurrency.py")
    assert properties(error)["line"] == str(started)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("earlier step output\n## asynclings: 14/20\n")
    assert "run\\_concurrently runs three jobs concurrently" in text


# Markdown


def test_markdown_summary_has_the_score_table_and_what_to_fix(submission: Path) -> None:
    text = render_markdown(sample_report(submission))
    assert text.startswith("## asynclings: 8/26\n\n1/4 exercises passed.\n")
    assert "| ✅ | `01_coroutines` Coroutines | 4/4 | passed |" in text
    assert "| ⚠️ | `05_queues` Queues | 0/4 | could not be graded |" in text
    assert "#### ⬜ `04_monitoring` Monitoring (0/4)\n\nnot started: open `04_monitoring.py` and replace the TODOs" in text
    assert "\\@teacher \\<b\\>look\\</b\\>" in text  # no mention, no HTML
    assert "**Hint:** Create all the tasks first, then `await asyncio.gather(...)`." in text
    assert "`03_concurrency.py:9` `time.sleep(1)`" in text
    assert "01_coroutines` Coroutines (" not in text  # passed exercises need no fixing


def test_markdown_fences_output_that_holds_backticks(submission: Path) -> None:
    report = sample_report(submission)
    report.exercises[1].output = "```\n# not a heading\n````"
    text = render_markdown(report)
    assert "`````text\n```\n# not a heading\n````\n`````" in text


def test_markdown_stays_within_githubs_summary_limit(submission: Path) -> None:
    big = [check(f"c{n}", CheckStatus.FAILED, message="x" * 2000) for n in range(100)]
    exercises = [ExerciseResult(f"{n:02}_big", "Big", ExerciseStatus.FAILED, 0.0, 400.0, list(big)) for n in range(10)]
    text = render_markdown(Report(exercises, kit="asynclings", submission=str(submission)), notes=["a note"])
    assert len(text.encode()) <= SUMMARY_LIMIT
    assert re.search(r"\d+ more exercise\(s\) not shown here \(0\d\\_big", text)
    assert text.endswith("> a note\n")


# All formats on a real verdict


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_renders_a_real_failure(fmt: str, real_report: Report) -> None:
    text = render(real_report, fmt)
    assert "run_concurrently runs three jobs concurrently" in text.replace("\\_", "_")
    if fmt == "junit":
        xmlschema.XMLSchema(XSD).validate(text)
    if fmt in ("json", "gradescope"):
        assert json.loads(text)["score"] == 14.0
