"""The report for a GitHub Actions step: error annotations, the log, and a step summary.

Annotations (``::error file=…,line=…,title=…::message``) point at the student's own
function in the exercise file, so they show up on the pull request's diff. GitHub shows
at most ``MAX_ERRORS`` error annotations per step; the rest are counted in the summary,
which lists everything anyway.

Nothing the submission influenced reaches the log as a workflow command: annotation
values are escaped the way GitHub's toolkit does it, and the readable report, with all
the submission printed, sits between ``::stop-commands::TOKEN`` and ``::TOKEN::`` with a
fresh random token, so a forged ``::error::`` or ``::add-mask::`` in student output is
shown as text.
"""

import ast
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from grader.model import (
    CheckResult,
    CheckStatus,
    ExerciseResult,
    ExerciseStatus,
    Report,
)
from grader.render.markdown import render_markdown
from grader.render.text import render_text

MAX_ERRORS = 10
MORE_ERRORS = (
    "{count} more problem(s) are not annotated in the code: GitHub shows at most {limit} error annotations "
    "per step. All of them are listed above."
)
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def render_github(report: Report) -> str:
    """The step's log: what each exercise printed and the text report, fenced; then the annotations."""
    parts: list[str] = []
    for exercise in report.exercises:
        if exercise.output.strip():
            parts.append(f"::group::{escape_data(exercise.file)} printed\n")
            parts.append(fence(exercise.output))
            parts.append("::endgroup::\n")
    parts.append(fence(render_text(report, color=False)))
    parts += [line + "\n" for line in annotations(report)[:MAX_ERRORS]]
    return "".join(parts)


def step_summary(report: Report) -> str:
    """The Markdown summary, with a note when some errors could not be annotated."""
    extra = len(annotations(report)) - MAX_ERRORS
    notes = [MORE_ERRORS.format(count=extra, limit=MAX_ERRORS)] if extra > 0 else []
    return render_markdown(report, notes=notes)


def append_step_summary(report: Report, environ: Mapping[str, str] = os.environ) -> bool:
    """Append the summary to the file ``$GITHUB_STEP_SUMMARY`` names; ``False`` outside Actions."""
    target = environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return False
    with open(target, "a", encoding="utf-8") as summary:
        summary.write(step_summary(report))
    return True


def fence(text: str, token: str | None = None) -> str:
    """``text`` between ``::stop-commands::`` and the token that resumes commands.

    The token is random and checked against ``text``, so the text cannot end the fence.
    """
    token = token or secrets.token_hex(16)
    while f"::{token}::" in text:
        token = secrets.token_hex(16)
    body = text if text.endswith("\n") else text + "\n"
    return f"::stop-commands::{token}\n{body}::{token}::\n"


def annotations(report: Report) -> list[str]:
    """One ``::error`` per failed check (or per exercise that failed as a whole), in report order."""
    root = Path(report.submission) if report.submission else None
    commands: list[str] = []
    for exercise in report.exercises:
        if exercise.status in (ExerciseStatus.PASSED, ExerciseStatus.NOT_STARTED):
            continue
        path = root / exercise.file if root else Path(exercise.file)
        file = repository_path(path)
        if exercise.message:
            line = _message_line(exercise)
            place = {"file": file, "line": str(line)} if line else {"file": file}
            commands.append(error(exercise.message, **place, title=f"{exercise.id}: {exercise.title}"))
            continue
        functions = function_lines(path)
        for check in exercise.checks:
            if check.status in (CheckStatus.FAILED, CheckStatus.ERROR):
                line = check.source.line if check.source else named_function_line(check, functions)
                commands.append(error(_message(check), file=file, line=str(line), title=f"{exercise.id}: {check.name}"))
    return commands


def error(message: str, **properties: str) -> str:
    """An ``::error`` workflow command with escaped properties and message."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::error {props}::{escape_data(message)}"


def escape_data(text: str) -> str:
    """A command's message: ``%``, CR and LF percent-encoded so it stays on one line."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command's property value: as data, plus ``:`` and ``,``, which end a property."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def repository_path(path: Path) -> str:
    """``path`` relative to the git checkout that holds it, as GitHub names files in a diff.

    Falls back to the working directory, then to the path as given.
    """
    resolved = path.resolve()
    for folder in resolved.parents:
        if (folder / ".git").exists():
            return resolved.relative_to(folder).as_posix()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def function_lines(path: Path) -> dict[str, int]:
    """Where each function of a Python file is defined (``def`` or ``async def``); ``{}`` if unreadable."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return {}
    lines: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            lines.setdefault(node.name, node.lineno)
    return lines


def named_function_line(check: CheckResult, functions: dict[str, int]) -> int:
    """The line of the first function the check's name mentions, else line 1."""
    for word in IDENTIFIER.findall(check.name):
        if word in functions:
            return functions[word]
    return 1


def _message(check: CheckResult) -> str:
    text = check.message or check.name
    return f"{text}\nHint: {check.help}" if check.help else text


def _message_line(exercise: ExerciseResult) -> int | None:
    """The line a whole-exercise message names as ``file:line:`` (a syntax error), if any."""
    match = re.match(rf"{re.escape(exercise.file)}:(\d+):", exercise.message)
    return int(match.group(1)) if match else None
