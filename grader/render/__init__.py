"""Renderers: each turns a :class:`~grader.model.Report` into one output format.

Each renderer's module is imported only when its format is used (``rich``, XML and
Markdown cost more to import than a whole exercise costs to grade); :func:`preload`
imports one in the background while the checks run.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

from grader.kit import Kit
from grader.model import Report

__all__ = ["FORMATS", "preload", "render"]

RENDERERS = {
    "text": "grader.render.text:render_text",
    "json": "grader.render.json_report:render_json",
    "junit": "grader.render.junit:render_junit",
    "gradescope": "grader.render.gradescope:render_gradescope",
    "github": "grader.render.github:render_github",
    "markdown": "grader.render.markdown:render_markdown",
}
FORMATS = tuple(RENDERERS)


def renderer(fmt: str) -> Callable[..., str]:
    """The function that renders format ``fmt`` (importing its module on first use)."""
    module, name = RENDERERS[fmt].split(":")
    function: Callable[..., str] = getattr(importlib.import_module(module), name)
    return function


def preload(*formats: str) -> None:
    """Import these formats' renderers in a background thread, ready for when grading ends."""

    def load() -> None:
        for fmt in formats:
            renderer(fmt)

    threading.Thread(target=load, name="preload-renderers", daemon=True).start()


def render(
    report: Report,
    fmt: str,
    *,
    color: bool = False,
    quiet: bool = False,
    width: int | None = None,
    symbols: bool | None = None,
    kit: Kit | None = None,
) -> str:
    """The report in format ``fmt`` (one of :data:`FORMATS`); the options concern text only,
    but for ``kit``, which says which checks Gradescope may show, and when."""
    if fmt == "text":
        return renderer(fmt)(report, color=color, quiet=quiet, width=width, symbols=symbols)
    if fmt == "gradescope":
        return renderer(fmt)(report, kit)
    return renderer(fmt)(report)
