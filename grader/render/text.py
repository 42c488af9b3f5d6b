"""The report for a person at a terminal: scores, what went wrong, and why.

Colours and box characters on a terminal; plain ASCII when piped, when ``NO_COLOR`` is
set, or in CI logs, so the same words read well everywhere.
"""

from __future__ import annotations

import io

from rich.console import Console
from rich.text import Text

from grader.model import CheckResult, CheckStatus, ExerciseResult, ExerciseStatus, Report, Span

TIMELINE_WIDTH = 36
OUTPUT_PREVIEW_LINES = 8
ASCII = str.maketrans({"→": "->", "“": '"', "”": '"', "‘": "'", "’": "'", "—": "-", "–": "-", "≈": "~", "×": "x", "…": "..."})

STATUS_STYLE = {
    ExerciseStatus.PASSED: ("✔", "PASS", "green"),
    ExerciseStatus.FAILED: ("✘", "FAIL", "red"),
    ExerciseStatus.NOT_STARTED: ("·", "TODO", "dim"),
    ExerciseStatus.ERROR: ("!", "ERR ", "yellow"),
}
CHECK_STYLE = {
    CheckStatus.PASSED: ("✔", "ok", "green"),
    CheckStatus.FAILED: ("✘", "x ", "red"),
    CheckStatus.SKIPPED: ("–", "- ", "dim"),
    CheckStatus.ERROR: ("!", "! ", "yellow"),
}


def render_text(report: Report, *, color: bool, quiet: bool = False, width: int = 100) -> str:
    """The whole report as text: ANSI-styled when ``color``, plain ASCII otherwise."""
    lines: list[Text] = []
    if not quiet:
        for exercise in report.exercises:
            lines += exercise_lines(exercise, fancy=color)
    lines.append(score_line(report))
    return to_string(lines, color=color, width=width)


def to_string(lines: list[Text], *, color: bool, width: int = 100) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=color, no_color=not color, width=width, highlight=False, soft_wrap=True)
    for line in lines:
        console.print(line)
    text = buffer.getvalue()
    return text if color else text.translate(ASCII).encode("ascii", "replace").decode()


def score_line(report: Report) -> Text:
    done = sum(e.status is ExerciseStatus.PASSED for e in report.exercises)
    style = "bold green" if report.all_passed else "bold"
    return Text(f"Score: {report.score:g}/{report.max_score:g}  ({done}/{len(report.exercises)} exercises passed)", style)


def exercise_lines(exercise: ExerciseResult, *, fancy: bool, first_failure_only: bool = False) -> list[Text]:
    """The header line of an exercise and, unless it passed, what to look at."""
    symbol, word, style = STATUS_STYLE[exercise.status]
    header = Text()
    header.append(f"{symbol if fancy else word} ", style=style)
    header.append(f"{exercise.id}", style="bold")
    header.append(f"  {exercise.title}  ")
    header.append(f"{exercise.score:g}/{exercise.max_score:g}", style=style)
    lines = [header]
    if exercise.status is ExerciseStatus.NOT_STARTED:
        lines.append(Text(f"    not started: open {exercise.file} and replace the TODOs", style="dim"))
        return lines
    if exercise.message:
        lines.append(Text(f"    {exercise.message}", style=style))
    if exercise.status is ExerciseStatus.PASSED:
        return lines
    failures = [c for c in exercise.checks if c.status is not CheckStatus.PASSED]
    for check in failures[:1] if first_failure_only else exercise.checks:
        lines += check_lines(check, fancy=fancy)
    if exercise.output.strip() and exercise.status is not ExerciseStatus.ERROR:
        lines += output_lines(exercise)
    return lines


def check_lines(check: CheckResult, *, fancy: bool) -> list[Text]:
    symbol, word, style = CHECK_STYLE[check.status]
    line = Text("    ")
    line.append(f"{symbol if fancy else word} ", style=style)
    line.append(check.name, style="dim" if check.status is CheckStatus.SKIPPED else "")
    line.append(f"  {check.score:g}/{check.max_score:g}", style="dim")
    lines = [line]
    if check.status in (CheckStatus.PASSED, CheckStatus.SKIPPED):
        return lines
    if check.message:
        lines.append(Text(f"        {check.message}"))
    if check.source:
        lines.append(Text(f"        {check.source.file}:{check.source.line}: {check.source.excerpt}", style="cyan"))
    if check.timeline:
        lines += timeline_lines(check.timeline, fancy=fancy)
    if check.help:
        lines.append(Text(f"        hint: {check.help}", style="yellow"))
    return lines


def timeline_lines(spans: list[Span], *, fancy: bool) -> list[Text]:
    """A small chart of when each task ran, in virtual seconds."""
    end = max((s.end for s in spans), default=0.0) or 1.0
    scale = TIMELINE_WIDTH / end
    bar, gap = ("█", "·") if fancy else ("#", ".")
    name_width = max(len(s.name) for s in spans)
    lines = [Text(f"        {'':{name_width}}  0 s{'':{TIMELINE_WIDTH - 6}}{end:g} s", style="dim")]
    for span in spans:
        start = round(span.start * scale)
        length = max(1, round(span.end * scale) - start)
        row = gap * start + bar * length
        line = Text(f"        {span.name:>{name_width}}  ")
        line.append(row.ljust(TIMELINE_WIDTH, gap), style="magenta")
        line.append(f"  {span.start:g}→{span.end:g} s", style="dim")
        lines.append(line)
    return lines


def output_lines(exercise: ExerciseResult) -> list[Text]:
    printed = exercise.output.rstrip().splitlines()
    lines = [Text("    your code printed:", style="dim")]
    lines += [Text(f"      | {line}", style="dim") for line in printed[:OUTPUT_PREVIEW_LINES]]
    if len(printed) > OUTPUT_PREVIEW_LINES or exercise.output_truncated:
        lines.append(Text("      | ... (cut)", style="dim"))
    return lines
