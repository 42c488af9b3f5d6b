"""Renderers: each turns a :class:`~grader.model.Report` into one output format."""

from __future__ import annotations

from grader.model import Report
from grader.render.json_report import render_json
from grader.render.text import render_text

__all__ = ["FORMATS", "render"]

FORMATS = ("text", "json")


def render(report: Report, fmt: str, *, color: bool = False, quiet: bool = False) -> str:
    """The report in format ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return render_json(report)
    return render_text(report, color=color, quiet=quiet)
