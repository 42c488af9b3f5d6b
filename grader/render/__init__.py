"""Renderers: each turns a :class:`~grader.model.Report` into one output format."""

from __future__ import annotations

from collections.abc import Callable

from grader.model import Report
from grader.render.github import render_github
from grader.render.gradescope import render_gradescope
from grader.render.json_report import render_json
from grader.render.junit import render_junit
from grader.render.markdown import render_markdown
from grader.render.text import render_text

__all__ = ["FORMATS", "render"]

RENDERERS: dict[str, Callable[[Report], str]] = {
    "json": render_json,
    "junit": render_junit,
    "gradescope": render_gradescope,
    "github": render_github,
    "markdown": render_markdown,
}
FORMATS = ("text", *RENDERERS)


def render(report: Report, fmt: str, *, color: bool = False, quiet: bool = False) -> str:
    """The report in format ``fmt`` (one of :data:`FORMATS`); ``color`` and ``quiet`` concern text only."""
    if fmt in RENDERERS:
        return RENDERERS[fmt](report)
    return render_text(report, color=color, quiet=quiet)
