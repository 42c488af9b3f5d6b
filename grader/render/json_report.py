"""The report as one JSON document: the stable contract documented in the README."""

from __future__ import annotations

import json

from grader.model import Report


def render_json(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
