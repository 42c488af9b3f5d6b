"""One Markdown feedback file per student: the report as ``grade --format markdown`` writes it,
under the student's name, after what was noticed in the upload (a refused archive, a file
found twice, which of several versions was graded), with the changes a teacher made
(overrides, a late penalty) and the score after them."""

from __future__ import annotations

from grader.model import Report
from grader.render.markdown import escape, render_markdown

NOTHING_RECEIVED = "No submission was received from you, so every exercise scores 0."
CHANGED = "Changed by your teacher: {change}"


def render_feedback(title: str, total: float, max_score: float, report: Report | None, changes: list[str], found: list[str]) -> str:
    """The feedback for one student, as Markdown; ``found`` is what the finder noticed in the upload,
    ``changes`` the audit lines of what changed the checks' score."""
    head = f"# Feedback for {escape(title)}\n\n"
    if changes:
        head += f"**Score after your teacher's changes: {total:g}/{max_score:g}**\n\n"
    # What was received comes first: it says which files the report is about.
    head += "".join(f"> {escape(note)}\n\n" for note in ([] if report else [NOTHING_RECEIVED]) + found)
    changed = [CHANGED.format(change=change) for change in changes]
    if report is None:
        return head + "".join(f"> {escape(note)}\n\n" for note in changed)
    return head + render_markdown(report, notes=changed)
