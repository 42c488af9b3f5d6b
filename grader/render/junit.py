"""The report as JUnit XML, the test-result format GitHub, GitLab and Jenkins all read.

One ``<testsuite>`` per exercise and one ``<testcase>`` per check, in the strict shape of
the Apache Ant schema (tests/schemas/junit-windyroad.xsd): every suite carries a
timestamp, a hostname, ``<properties>``, ``<system-out>`` and ``<system-err>``. An exercise
that could not be graded at all (missing file, syntax error) gets one extra errored
testcase, so a CI page shows it as broken rather than as skipped. Text that XML 1.0
cannot hold (terminal escape codes a submission printed, NUL) is written as ``\\xNN``.
"""

from __future__ import annotations

import re
import socket
import textwrap
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from grader.model import (
    CheckResult,
    CheckStatus,
    ExerciseResult,
    ExerciseStatus,
    Report,
)
from grader.render.text import check_lines, to_string

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
FAILURE_TYPE = {CheckStatus.FAILED: "CheckFailed", CheckStatus.ERROR: "GraderError"}
UNGRADABLE_CASE = "the exercise file can be graded"


def render_junit(report: Report, *, now: datetime | None = None, hostname: str | None = None) -> str:
    """The whole report as one ``<testsuites>`` document."""
    stamp = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S")
    host = hostname or socket.gethostname() or "localhost"
    root = ET.Element("testsuites")
    for index, exercise in enumerate(report.exercises):
        root.append(_suite(exercise, index, report.kit or "asynclings", stamp, host))
    ET.indent(root)
    return XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def _suite(exercise: ExerciseResult, index: int, package: str, stamp: str, host: str) -> ET.Element:
    cases = [_case(check, f"{package}.{exercise.id}") for check in exercise.checks]
    if exercise.status is ExerciseStatus.ERROR and exercise.message:
        cases.insert(0, _ungradable(exercise, f"{package}.{exercise.id}"))
    counts = {tag: sum(case.find(tag) is not None for case in cases) for tag in ("failure", "error", "skipped")}
    attributes = {"name": exercise.id, "package": package, "id": str(index), "timestamp": stamp, "hostname": host}
    attributes |= {"tests": str(len(cases)), "failures": str(counts["failure"]), "errors": str(counts["error"])}
    suite = ET.Element("testsuite", _attributes(**attributes, skipped=str(counts["skipped"]), time="0"))
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("title", exercise.title),
        ("file", exercise.file),
        ("status", exercise.status.value),
        ("score", f"{exercise.score:g}"),
        ("max_score", f"{exercise.max_score:g}"),
        ("message", exercise.message),
    ):
        if value:
            ET.SubElement(properties, "property", _attributes(name=name, value=value))
    suite.extend(cases)
    ET.SubElement(suite, "system-out").text = _xml_text(exercise.output)
    ET.SubElement(suite, "system-err").text = ""
    return suite


def _case(check: CheckResult, classname: str) -> ET.Element:
    case = ET.Element("testcase", _attributes(name=check.name, classname=classname, time="0"))
    if check.status is CheckStatus.SKIPPED:
        ET.SubElement(case, "skipped", _attributes(message=check.message))
    elif check.status in FAILURE_TYPE:
        tag = "failure" if check.status is CheckStatus.FAILED else "error"
        detail = ET.SubElement(case, tag, _attributes(message=check.message, type=FAILURE_TYPE[check.status]))
        detail.text = _xml_text(check_details(check))
    return case


def _ungradable(exercise: ExerciseResult, classname: str) -> ET.Element:
    case = ET.Element("testcase", _attributes(name=UNGRADABLE_CASE, classname=classname, time="0"))
    error = ET.SubElement(case, "error", _attributes(message=exercise.message, type="ExerciseError"))
    error.text = _xml_text(exercise.message)
    return case


def check_details(check: CheckResult) -> str:
    """A check's evidence as plain text: why, where, when (the timeline), and the hint.

    The same lines as the text report, without colour or indentation, for the formats that
    carry free text per check (JUnit, Gradescope).
    """
    if check.status in (CheckStatus.PASSED, CheckStatus.SKIPPED):
        return check.message
    return textwrap.dedent(to_string(check_lines(check, fancy=False)[1:], color=False)).strip("\n")


def _attributes(**values: str) -> dict[str, str]:
    return {key: _xml_text(value) for key, value in values.items()}


def _xml_text(text: str) -> str:
    return NOT_XML.sub(_code_point, text)


def _code_point(match: re.Match[str]) -> str:
    number = ord(match.group())
    return f"\\x{number:02x}" if number < 0x100 else f"\\u{number:04x}"
