"""Student ids in the names learning platforms give the submissions they export.

Moodle names a folder (or prefixes each file) ``Full Name_12345_assignsubmission_file_``,
Canvas prefixes each file ``login_12345_67890_`` (``login_LATE_12345_67890_`` when it was
handed in after the due date), Blackboard ``Assignment_login_attempt_2024-05-01-10-00-00_``,
Gradescope exports ``submission_12345``. Anything else is taken as it is: the folder or
archive name is the student id, without the ``(2)`` a browser adds to a second download.
"""

from __future__ import annotations

import dataclasses
import re

PLATFORM_NAMES = (
    re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assign(?:submission|feedback)_[a-z]+_?(?P<rest>.*)$"),
    re.compile(r"^.+?_(?P<id>[^_]+)_attempt_(?P<stamp>\d{4}(?:-\d\d){5})(?:_(?P<rest>.+))?$"),
    re.compile(r"^(?P<name>[a-z][a-z0-9-]*?)(?P<late>_late)?_(?P<id>\d+)_\d+_(?P<rest>.+)$", re.IGNORECASE),
    re.compile(r"^submission_(?P<id>\d+)$"),
)
DUPLICATE = re.compile(r"^(?P<stem>.+?) ?\((?P<number>\d+)\)$")


@dataclasses.dataclass(frozen=True)
class EntryName:
    """What a platform's name for an entry says: whose it is, the file name after the prefix,
    whether the platform marked it late, and the attempt time it recorded."""

    student: str
    name: str = ""
    rest: str = ""
    late: bool = False
    stamp: str = ""


def parse_entry_name(raw: str) -> EntryName | None:
    """The student id a platform wrote into ``raw``, or ``None`` when no platform's pattern fits."""
    for pattern in PLATFORM_NAMES:
        found = pattern.match(raw)
        if found:
            groups = found.groupdict()
            name, rest = (groups.get("name") or "").strip(), groups.get("rest") or ""
            return EntryName(groups["id"], name, rest, bool(groups.get("late")), groups.get("stamp") or "")
    return None


def duplicate_number(stem: str) -> tuple[str, int]:
    """``trent (2)`` → ``trent``, 2: the name a browser's second download of ``trent`` gets, and its number."""
    found = DUPLICATE.match(stem)
    return (found["stem"], int(found["number"])) if found else (stem, 0)


def tokens(raw: str) -> list[str]:
    """The words of an entry name (``hw1-jdoe`` → ``hw1``, ``jdoe``), for matching roster ids."""
    return [token for token in re.split(r"[-_ .]+", raw) if token]
