"""Late work: a platform's own mark (Canvas's ``_LATE_``) or ``--due``, and an optional penalty.

A student's upload time is the time the platform recorded for the newest upload graded
(see :mod:`grader.batch.matching`). ``--late-penalty`` takes ``10%/day`` (of the maximum,
for each day or part of one: as Canvas deducts), ``10%`` (once), ``2/day``, ``2/hour`` or
``5`` (points); the total never goes below 0. Like overrides, the penalty is applied when
the gradebook is built, and shown in the audit column.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re

from grader.errors import GraderError

POLICY = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)(?P<percent>%)?(?:/(?P<per>day|hour))?$")
BAD_POLICY = "late penalty must look like 10%/day, 10%, 2/day, 2/hour or 5, found {text!r}"
BAD_DUE = "due must be a date and time like 2024-05-03T23:59 (with +02:00 for a zone other than this machine's), found {text!r}"
UNKNOWN_LATENESS = "marked late by the platform; how late is unknown, so it counts as one {per}"
PERIOD = {"day": datetime.timedelta(days=1), "hour": datetime.timedelta(hours=1)}


class LateError(GraderError):
    """A ``--due`` or ``--late-penalty`` that cannot be read."""


@dataclasses.dataclass(frozen=True)
class Lateness:
    """Whether a student's work is late, by how much when known, and what says so."""

    late: bool
    by: datetime.timedelta | None = None
    why: str = ""


def parse_due(text: str) -> str:
    """``--due`` as an ISO 8601 time in UTC; a time without a zone is this machine's local time."""
    try:
        due = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise LateError(BAD_DUE.format(text=text)) from None
    return due.astimezone(datetime.UTC).isoformat()


def check_policy(text: str) -> str:
    """``--late-penalty`` as given, once it is known to be readable."""
    if not POLICY.match(text.strip()):
        raise LateError(BAD_POLICY.format(text=text))
    return text.strip()


def lateness(submitted: str, marked: bool, due: str | None) -> Lateness:
    """How late the work recorded at ``submitted`` (ISO 8601) is, against ``due`` and the platform's mark."""
    if due and submitted:
        moment, deadline = datetime.datetime.fromisoformat(submitted), datetime.datetime.fromisoformat(due)
        if moment > deadline:
            return Lateness(True, moment - deadline, f"submitted {_shown(moment)}, {_span(moment - deadline)} after the due date {_shown(deadline)}")
    if marked:
        return Lateness(True, None, "marked late by the platform")
    return Lateness(False)


def penalty(policy: str, late: Lateness, max_score: float) -> tuple[float, str]:
    """The points ``policy`` takes for ``late`` work, and the audit line that says why."""
    found = POLICY.match(policy)
    assert found is not None  # checked by check_policy when the batch started
    amount = float(found["amount"]) * (max_score / 100 if found["percent"] else 1)
    per = found["per"]
    periods = 1
    why = late.why
    if per and late.by is not None:
        periods = max(1, math.ceil(late.by / PERIOD[per]))
        why += f"; {periods} started {per}{'s' if periods > 1 else ''}"
    elif per:
        why = UNKNOWN_LATENESS.format(per=per)
    return round(amount * periods, 2), f"late penalty ({policy}): {why}"


def _shown(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _span(delta: datetime.timedelta) -> str:
    minutes = math.ceil(delta.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    return " ".join(p for p in parts if p) or "0 min"
