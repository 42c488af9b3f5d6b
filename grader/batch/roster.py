"""The class list (``--roster students.csv``: id, name, email) and how entries map onto it.

The roster names every student, so one who submitted nothing still gets a row, and
it turns the ids platforms put in their exports into the names a teacher reads. An
entry whose own id is not on the roster is matched by a roster id among the words of
its name (GitHub Classroom's ``assignment-login``) or by a roster email inside it.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
from pathlib import Path
from typing import Any

from grader.batch.export_names import tokens
from grader.errors import GraderError

ID_COLUMNS = ("id", "student", "student_id", "username", "login")
MISSING_ID_COLUMN = "{path}: needs a header row with an 'id' column (and optionally 'name', 'email')"


class RosterError(GraderError):
    """The roster file cannot be read; the message names the file and the line."""


@dataclasses.dataclass(frozen=True)
class RosterEntry:
    id: str
    name: str = ""
    email: str = ""


@dataclasses.dataclass(frozen=True)
class Roster:
    """Every student of the class, in file order."""

    entries: tuple[RosterEntry, ...]

    def get(self, student: str) -> RosterEntry | None:
        return self._by_id.get(student)

    def resolve(self, candidate: str, raw: str) -> str:
        """The roster id an entry named ``raw`` belongs to; ``candidate`` when none fits."""
        if candidate in self._by_id:
            return candidate
        found = sorted({word for word in tokens(raw) if word in self._by_id})
        if len(found) == 1:
            return found[0]
        lowered = raw.lower()
        found = [e.id for e in self.entries if e.email and e.email.lower() in lowered]
        return found[0] if len(found) == 1 else candidate

    def to_json(self) -> list[dict[str, str]]:
        return [dataclasses.asdict(e) for e in self.entries]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> Roster:
        return cls(tuple(RosterEntry(**row) for row in data))

    @functools.cached_property
    def _by_id(self) -> dict[str, RosterEntry]:
        return {e.id: e for e in self.entries}


def load_roster(path: Path) -> Roster:
    """Read a roster CSV (UTF-8, a header row; Excel's BOM is fine)."""
    header, rows = read_csv(path, RosterError)
    if not any(c in header for c in ID_COLUMNS):
        raise RosterError(MISSING_ID_COLUMN.format(path=path))
    entries: list[RosterEntry] = []
    seen: set[str] = set()
    for line, row in rows:
        student = next(row[c] for c in ID_COLUMNS if c in row).strip()
        if not student:
            raise RosterError(f"{path}:{line}: the id is empty")
        if student in seen:
            raise RosterError(f"{path}:{line}: id {student!r} appears twice")
        seen.add(student)
        entries.append(RosterEntry(student, row.get("name", "").strip(), row.get("email", "").strip()))
    return Roster(tuple(entries))


def read_csv(path: Path, error: type[Exception]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """A CSV file's lower-cased header names, and its non-blank rows each with its line number.

    Fields are separated by commas, or by semicolons or tabs when the header has more of
    those (what spreadsheets save in locales whose decimal mark is a comma).
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise error(f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    lines = text.splitlines()
    reader = csv.DictReader(lines, delimiter=_delimiter(lines[0] if lines else ""))
    reader.fieldnames = [name.strip().lower() for name in reader.fieldnames or []]
    rows = []
    for row in reader:
        if any((value or "").strip() for value in row.values() if isinstance(value, str)):
            rows.append((reader.line_num, {k: (v or "") for k, v in row.items() if isinstance(k, str) and isinstance(v, str)}))
    return reader.fieldnames, rows


def _delimiter(header: str) -> str:
    return max((",", ";", "\t"), key=header.count)
