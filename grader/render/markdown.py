"""The report as Markdown: a score table and what to fix, for a PR comment or a CI summary.

Student-controlled text (messages quoting their values, what their code printed) is
escaped or fenced, so it cannot turn into links, mentions, HTML or a broken layout. The
whole document stays within ``SUMMARY_LIMIT`` bytes, GitHub's limit for a step summary:
exercises that do not fit are named, not cut in half.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

from grader.model import (
    CheckResult,
    CheckStatus,
    ExerciseResult,
    ExerciseStatus,
    Report,
    Span,
)
from grader.render.text import OUTPUT_PREVIEW_LINES, timeline_lines, to_string

SUMMARY_LIMIT = 1024 * 1024
OUTPUT_PREVIEW_CHARS = 4000
NOT_SHOWN = (
    "{count} more exercise(s) not shown here ({ids}): the summary is limited to 1 MiB. "
    "Run `grade` for the full report."
)
FIX_HEADING = "\n### What to fix\n"
NOT_STARTED_NOTE = "not started: open {file} and replace the TODOs"

STATUS_ICON = {
    ExerciseStatus.PASSED: "✅",
    ExerciseStatus.FAILED: "❌",
    ExerciseStatus.NOT_STARTED: "⬜",
    ExerciseStatus.ERROR: "⚠️",
}
CHECK_ICON = {CheckStatus.FAILED: "❌", CheckStatus.ERROR: "⚠️", CheckStatus.SKIPPED: "⏭️", CheckStatus.PASSED: "✅"}
STATUS_WORD = {
    ExerciseStatus.PASSED: "passed",
    ExerciseStatus.FAILED: "failed",
    ExerciseStatus.NOT_STARTED: "not started",
    ExerciseStatus.ERROR: "could not be graded",
}
# Characters that CommonMark or GitHub give a meaning inline (emphasis, code, links,
# HTML, table cells, strikethrough, mentions, entities) are made literal with a backslash;
# a code span (text between matching runs of backticks) is kept as it is.
INLINE = re.compile(r"(?P<code>(`+).+?(?<!`)\2(?!`))|[\\`*_\[\]<>|~@&#!]")
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# What makes a line a list item, a heading underline or a rule, only at its start.
LINE_START = re.compile(r"^(\d*)([-+=.)])")


def render_markdown(report: Report, *, notes: Sequence[str] = ()) -> str:
    """The score table, then one section per exercise that did not pass, then ``notes``."""
    head = _head(report)
    tail = "".join(f"\n> {escape(note)}\n" for note in notes)
    pending = [e for e in report.exercises if e.status is not ExerciseStatus.PASSED]
    if not pending:
        return head + tail
    sections: list[str] = []
    size = _bytes(head + FIX_HEADING + tail + NOT_SHOWN) + sum(_bytes(e.id) + 2 for e in pending)
    for exercise in pending:
        section = exercise_section(exercise)
        if size + _bytes(section) > SUMMARY_LIMIT:
            break
        sections.append(section)
        size += _bytes(section)
    left_out = [e.id for e in pending[len(sections) :]]
    if left_out:
        tail = f"\n> {escape(NOT_SHOWN.format(count=len(left_out), ids=', '.join(left_out)))}\n" + tail
    return head + FIX_HEADING + "".join(sections) + tail


def _head(report: Report) -> str:
    done = sum(e.status is ExerciseStatus.PASSED for e in report.exercises)
    title = escape(report.kit or "asynclings")
    lines = [
        f"## {title}: {report.score:g}/{report.max_score:g}",
        "",
        f"{done}/{len(report.exercises)} exercises passed.",
        "",
        "| | Exercise | Score | Status |",
        "|---|---|---:|---|",
    ]
    for exercise in report.exercises:
        name = f"`{exercise.id}` {escape(' '.join(exercise.title.split()))}"
        score = f"{exercise.score:g}/{exercise.max_score:g}"
        lines.append(f"| {STATUS_ICON[exercise.status]} | {name} | {score} | {STATUS_WORD[exercise.status]} |")
    return "\n".join(lines) + "\n"


def exercise_section(exercise: ExerciseResult) -> str:
    """What went wrong in one exercise: its checks, why, where, and a hint."""
    points = f"{exercise.score:g}/{exercise.max_score:g}"
    header = f"\n#### {STATUS_ICON[exercise.status]} `{exercise.id}` {escape(exercise.title)} ({points})\n\n"
    if exercise.status is ExerciseStatus.NOT_STARTED:
        return header + NOT_STARTED_NOTE.format(file=code(exercise.file)) + "\n"
    parts = [header]
    if exercise.message:
        parts.append(f"**{escape(exercise.message)}**\n\n")
    if exercise.status is ExerciseStatus.FAILED or not exercise.message:
        parts += [check_item(check) for check in exercise.checks if check.status is not CheckStatus.PASSED]
    if exercise.output.strip():
        parts.append(output_block(exercise))
    return "".join(parts)


def check_item(check: CheckResult) -> str:
    """One list item: the check, its points, and for a failure the evidence and the hint."""
    item = f"- {CHECK_ICON[check.status]} {escape(check.name)} ({check.score:g}/{check.max_score:g})"
    if check.status is CheckStatus.SKIPPED:
        return item + (f" — {escape(check.message)}" if check.message else "") + "\n"
    lines = [item]
    if check.message:
        lines.append(escape(check.message))
    if check.source:
        where = code(f"{check.source.file}:{check.source.line}")
        lines.append(where + (f" {code(check.source.excerpt)}" if check.source.excerpt else ""))
    if check.help:
        lines.append(f"**Hint:** {escape(check.help)}")
    text = "  \n  ".join(lines) + "\n"
    if check.timeline:
        text += "\n" + textwrap.indent(fenced(timeline_chart(check.timeline)), "  ") + "\n"
    return text


def output_block(exercise: ExerciseResult) -> str:
    """The first lines the exercise printed, folded away and fenced."""
    printed = exercise.output.rstrip().splitlines()
    preview = "\n".join(printed[:OUTPUT_PREVIEW_LINES])
    cut = len(printed) > OUTPUT_PREVIEW_LINES or exercise.output_truncated or len(preview) > OUTPUT_PREVIEW_CHARS
    note = "\n(cut: run the file to see all of it)\n" if cut else ""
    block = fenced(printable(preview[:OUTPUT_PREVIEW_CHARS]))
    return f"\n<details><summary>What your code printed</summary>\n\n{block}{note}\n</details>\n"


def timeline_chart(spans: list[Span]) -> str:
    """The text report's ASCII chart of when each task ran, without its indentation."""
    return textwrap.dedent(to_string(timeline_lines(spans, fancy=False), color=False)).rstrip("\n")


def fenced(text: str, info: str = "text") -> str:
    """``text`` in a code fence longer than any run of backticks inside it, so it cannot close early."""
    fence = "`" * max(3, _longest_backticks(text) + 1)
    return f"{fence}{info}\n{text}\n{fence}\n"


def escape(text: str) -> str:
    """Plain text as inline Markdown: special characters made literal, line breaks kept.

    Code spans (text between matching backticks, as hints use them) stay code spans.
    """
    return "  \n  ".join(_escape_line(line.strip()) for line in text.strip().splitlines())


def _escape_line(line: str) -> str:
    literal = INLINE.sub(lambda m: m.group(0) if m.group("code") else "\\" + m.group(0), line)
    return LINE_START.sub(r"\1\\\2", literal)


def code(text: str) -> str:
    """``text`` as one inline code span, whatever backticks it holds."""
    ticks = "`" * (_longest_backticks(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def printable(text: str) -> str:
    """``text`` with control characters (terminal colour codes, NUL) shown as ``\\xNN``."""
    return CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def _longest_backticks(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _bytes(text: str) -> int:
    return len(text.encode("utf-8"))
