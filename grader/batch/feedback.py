"""One Markdown feedback file per student: the report as ``grade --format markdown`` writes it,
under the student's name, with what was noticed in the upload (a refused archive, a file
found twice), the changes a teacher made, and the score after them."""

from __future__ import annotations

from grader.batch.overrides import Applied
from grader.model import Report
from grader.render.markdown import escape, render_markdown

NOTHING_RECEIVED = "No submission was received from you, so every exercise scores 0."
CHANGED = "Changed by your teacher: {change}"


def render_feedback(
    title: str, total: float, max_score: float, report: Report | None, applied: list[Applied], found: list[str]
) -> str:
    """The feedback for one student, as Markdown; ``found`` is what the finder noticed in the upload."""
    head = f"# Feedback for {escape(title)}\n\n"
    if applied:
        head += f"**Score after your teacher's changes: {total:g}/{max_score:g}**\n\n"
    notes = [*found, *(CHANGED.format(change=a.describe()) for a in applied)]
    if report is None:
        return head + "".join(f"> {escape(note)}\n\n" for note in [NOTHING_RECEIVED, *notes])
    return head + render_markdown(report, notes=notes)
