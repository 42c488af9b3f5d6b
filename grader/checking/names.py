"""A name the checks need that the student's module does not define, and the rename that likely hid it.

Only the checks that call a missing function fail: the message names it, and the
function of the student's file whose name is closest (a rename such as ``poll_tasks``)
with the line that defines it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from grader.checking.feedback import Failure
from grader.model import SourceRef

CLOSE_ENOUGH = 0.75  # poll_task/poll_tasks 0.95; run_concurrently/run_sequentially 0.62


def missing(names: list[str], defined: dict[str, Any], file_name: str, expected: Iterable[str] = ()) -> Failure:
    """The failure for ``names`` missing from the student's module.

    ``defined`` maps each function of the student's file to the source reference of its
    ``def``; names in ``expected`` are the kit's own and never offered as a rename.
    """
    others = [name for name in defined if name not in {*names, *expected}]
    renamed = {name: _closest(name, others) for name in names}
    found = [(name, match) for name, match in renamed.items() if match]
    listed = " and ".join(f"`{name}`" for name in names)
    if not found:
        verb = "is" if len(names) == 1 else "are"
        return Failure(
            f"{listed} {verb} missing from {file_name}",
            f"Keep the name{'s' if len(names) > 1 else ''} {listed} from the stub: the checks call {'it' if len(names) == 1 else 'them'}.",
        )
    rationale = "; ".join(
        f"`{name}` is missing — did you rename it to `{match}`?" if match else f"`{name}` is missing"
        for name, match in renamed.items()
    )
    name, match = found[0]
    return Failure(
        rationale,
        f"The checks call `{name}`: give `{match}` its name from the stub again.",
        source=SourceRef.from_json(defined[match]) if defined[match] else None,
    )


def _closest(name: str, candidates: list[str]) -> str:
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=CLOSE_ENOUGH)
    return matches[0] if matches else ""
