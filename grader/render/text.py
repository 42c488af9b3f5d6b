"""The report for a person at a terminal: scores, what went wrong, and why.

Colours and box characters on a terminal (``NO_COLOR`` takes the colours away, nothing
else); plain ASCII when piped or in CI logs, so the same words read well everywhere. Text
wraps at word breaks to the width it is read at, and is never wrapped where none is known.
"""

from __future__ import annotations

import io
import os
import re
import shutil

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

from grader.model import (
    CheckResult,
    CheckStatus,
    ExerciseResult,
    ExerciseStatus,
    Report,
    SourceRef,
    Span,
)
from grader.student_progress import next_to_do, passed_count

TIMELINE_WIDTH = 36
PROGRESS_WIDTH = 20
MIN_WRAP_WIDTH = 30
# Leading spaces, then a status symbol or word, a list number or a label: wrapped lines continue past it.
HANGING_MARKER = re.compile(r" *(?:(?:[✔✘–!·➜x-]|ok|PASS|FAIL|TODO|ERR|\d+\.|hint:) +)?")
TERMINAL_WIDTH = 100  # when a terminal will not say its width
OUTPUT_PREVIEW_LINES = 8
ALL_PASSED = "Every exercise passes. Well done!"
SOLUTION_EARNED_NOTE = "You passed this one: compare, and keep whichever reads better to you."
SOLUTION_FORCED_NOTE = "Shown before the exercise passed: this is recorded in your report (solution_viewed)."
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


def render_text(
    report: Report, *, color: bool, quiet: bool = False, width: int | None = None, symbols: bool | None = None
) -> str:
    """The whole report as text: ANSI-styled when ``color``; see :func:`to_string` for the rest."""
    lines: list[Text] = []
    if not quiet:
        for group, exercises in report.groups():
            if group:
                lines += [group_line(group, exercises), Text()]
            for exercise in exercises:
                lines += exercise_lines(exercise, fancy=color if symbols is None else symbols)
                if exercise.status is ExerciseStatus.FAILED or (group and exercise is exercises[-1]):
                    lines.append(Text())
        if lines and not lines[-1].plain:
            lines.pop()
    lines.append(score_line(report))
    return to_string(lines, color=color, width=width, symbols=symbols)


def to_string(lines: list[Text], *, color: bool, width: int | None = None, symbols: bool | None = None) -> str:
    """Styled lines as text: ANSI colours when ``color``; Unicode symbols when ``symbols``
    (default: as ``color``), ASCII otherwise.

    Long lines wrap at word breaks to ``width`` (with ``color`` and no width: the
    terminal's), continuing under their text. Without a width they are never wrapped: one
    line each, as tools read logs.
    """
    if width is None and color:
        width = shutil.get_terminal_size((TERMINAL_WIDTH, 24)).columns
    buffer = io.StringIO()
    console = Console(
        file=buffer, force_terminal=color, no_color=not color, width=width or TERMINAL_WIDTH, highlight=False, soft_wrap=width is None
    )  # fmt: skip
    for line in lines:
        if width is None:
            console.print(line)
            continue
        for part in hanging(line, console, width):
            console.print(part, no_wrap=part.no_wrap, overflow=part.overflow)
    text = buffer.getvalue()
    return text if (color if symbols is None else symbols) else text.translate(ASCII).encode("ascii", "replace").decode()


def hanging(line: Text, console: Console, width: int) -> list[Text]:
    """``line`` wrapped at word breaks; continuations start under its text, past any marker."""
    if line.no_wrap:
        return [line]
    marker = HANGING_MARKER.match(line.plain)  # every part of the pattern is optional: it always matches
    indent = marker.end() if marker else 0
    first, rest = line[:indent], line[indent:]
    parts = rest.wrap(console, max(width - indent, MIN_WRAP_WIDTH))
    for part in parts:
        part.rstrip()
    return [(first if number == 0 else Text(" " * indent)) + part for number, part in enumerate(parts)]


def group_line(group: str, exercises: list[ExerciseResult]) -> Text:
    """A part of the course ("Day 1") as a heading, with its score and exercises passed."""
    score, most = sum(e.score for e in exercises), sum(e.max_score for e in exercises)
    done = sum(e.status is ExerciseStatus.PASSED for e in exercises)
    return Text.assemble((group, "bold underline"), (f"  {score:g}/{most:g}  ({done}/{len(exercises)} exercises passed)", "bold"))


def score_line(report: Report) -> Text:
    done = passed_count(report)
    style = "bold green" if report.all_passed else "bold"
    return Text(f"Score: {report.score:g}/{report.max_score:g}  ({done}/{len(report.exercises)} exercises passed)", style)


def exercise_lines(exercise: ExerciseResult, *, fancy: bool) -> list[Text]:
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
    for check in exercise.checks:
        lines += check_lines(check, fancy=fancy, said=exercise.message)
    if exercise.output.strip() and exercise.status is not ExerciseStatus.ERROR:
        lines += output_lines(exercise)
    return lines


def check_lines(check: CheckResult, *, fancy: bool, said: str = "") -> list[Text]:
    """One check: its name and points and, unless it passed, why; ``said`` is already on screen, never repeated."""
    symbol, word, style = CHECK_STYLE[check.status]
    line = Text("    ")
    line.append(f"{symbol if fancy else word} ", style=style)
    line.append(check.name, style="dim" if check.status is CheckStatus.SKIPPED else "")
    line.append(f"  {check.score:g}/{check.max_score:g}", style="dim")
    lines = [line]
    if check.status is CheckStatus.SKIPPED and check.message:
        repeated = check.message.removeprefix("skipped: ") == said
        lines.append(Text("        skipped: see above" if repeated else f"        {check.message}", style="dim"))
    if check.status in (CheckStatus.PASSED, CheckStatus.SKIPPED):
        return lines
    if check.message and check.message != said:
        lines.append(Text(f"        {check.message}"))
    if check.source:
        lines += source_lines(check.source)
    if check.timeline:
        lines += timeline_lines(check.timeline, fancy=fancy)
    if check.help:
        lines.append(Text.assemble("        ", ("hint:", "bold yellow"), (f" {check.help}", "yellow")))
    return lines


def source_lines(source: SourceRef) -> list[Text]:
    """The student's line that matters, framed like a compiler's: where, then what."""
    number = str(source.line)
    lines = [Text.assemble("        ", ("-->", "cyan"), f" {source.file}:{number}")]
    if source.excerpt:
        lines.append(Text.assemble(f"        {number} ", ("|", "cyan"), " ", (source.excerpt, "bold")))
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


def render_progress(
    report: Report,
    hints_available: dict[str, int],
    *,
    folder: str,
    color: bool,
    width: int | None = None,
    symbols: bool | None = None,
) -> str:
    """``grade list``: one row per exercise, the next one to do marked, and a progress bar."""
    fancy = color if symbols is None else symbols
    upcoming = next_to_do(report)
    id_width = max(len(e.id) for e in report.exercises)
    score_width = max(len(_score(e)) for e in report.exercises)
    notes = {e.id: _notes(e, hints_available.get(e.id, 0)) for e in report.exercises}
    notes_width = max(len(n) for n in notes.values())
    lines: list[Text] = []
    for group, exercises in report.groups():
        if group:
            lines += [Text(), group_line(group, exercises)] if lines else [group_line(group, exercises)]
        for exercise in exercises:
            symbol, word, style = STATUS_STYLE[exercise.status]
            is_next = exercise is upcoming
            line = Text()
            line.append(("➜ " if fancy else "> ") if is_next else "  ", style="bold cyan")
            line.append(f"{symbol if fancy else word} ", style=style)
            line.append(f"{exercise.id:<{id_width}}", style="bold" if is_next else "")
            line.append(f"  {_score(exercise):>{score_width}}", style=style)
            if notes_width:
                line.append(f"  {notes[exercise.id]:<{notes_width}}", style="yellow")
            line.append(f"  {exercise.title}", style="" if is_next else "dim")
            line.no_wrap, line.overflow = True, "ellipsis"
            lines.append(line)
    lines += [Text(), progress_line(report, fancy=fancy)]
    if upcoming is None:
        lines.append(Text(ALL_PASSED, style="bold green"))
    else:
        lines.append(Text.assemble("Next up: ", (upcoming.id, "bold"), f"  edit {os.path.join(folder, upcoming.file)}; stuck? grade hint {upcoming.id}"))
    return to_string(lines, color=color, width=width, symbols=fancy)


def progress_line(report: Report, *, fancy: bool) -> Text:
    """A bar of exercises passed, then "3/5 done" and the points so far."""
    done = passed_count(report)
    total = len(report.exercises)
    filled = round(PROGRESS_WIDTH * done / total) if total else 0
    line = Text() if fancy else Text("[")
    line.append(("█" if fancy else "#") * filled, style="green")
    line.append(("░" if fancy else ".") * (PROGRESS_WIDTH - filled), style="dim")
    line.append("  " if fancy else "]  ")
    line.append(f"{done}/{total} done", style="bold")
    line.append(f"  ({report.score:g}/{report.max_score:g} points)", style="dim")
    return line


def render_hints(
    exercise_id: str,
    shown: list[str],
    total: int,
    *,
    revealed: bool,
    color: bool,
    width: int | None = None,
    symbols: bool | None = None,
) -> str:
    """``grade hint``: the hints revealed so far, in the order they were, the newest one standing out."""
    lines = [Text.assemble("Hints for ", (exercise_id, "bold"), f" ({len(shown)} of {total}):")]
    for number, hint in enumerate(shown, start=1):
        lines.append(Text(f"  {number}. {hint}", style="yellow" if number == len(shown) else "dim"))
    if not revealed:
        lines.append(Text("No more hints: these are all of them.", style="dim"))
    elif len(shown) < total:
        left = total - len(shown)
        lines.append(Text(f"{left} more: run `grade hint {exercise_id}` again if you are still stuck.", style="dim"))
    else:
        lines.append(Text("That was the last hint.", style="dim"))
    return to_string(lines, color=color, width=width, symbols=symbols)


def _score(exercise: ExerciseResult) -> str:
    return f"{exercise.score:g}/{exercise.max_score:g}"


def _notes(exercise: ExerciseResult, hints_available: int) -> str:
    notes = []
    if exercise.hints_used:
        notes.append(f"hints {exercise.hints_used}/{hints_available}")
    if exercise.solution_viewed:
        notes.append("solution seen")
    return ", ".join(notes)


def render_solution(exercise_id: str, source: str, *, forced: bool, color: bool) -> str:
    """``grade show-solution``: the reference file, highlighted on a terminal, verbatim otherwise."""
    title = Text.assemble("Reference solution for ", (exercise_id, "bold"), ":")
    note = Text(SOLUTION_FORCED_NOTE if forced else SOLUTION_EARNED_NOTE, style="dim")
    if not color:
        return f"{to_string([title], color=False)}\n{source.rstrip()}\n\n{to_string([note], color=False)}"
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, highlight=False, soft_wrap=True)
    console.print(title)
    console.print()
    console.print(Syntax(source.rstrip(), "python", line_numbers=True, background_color="default"))
    console.print()
    console.print(note)
    return buffer.getvalue()
