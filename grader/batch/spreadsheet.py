"""CSV files that spreadsheets open safely: student text never becomes a formula.

A cell that starts with ``=``, ``+``, ``-``, ``@`` (or a tab or carriage return, which
some programs skip before looking) is run as a formula by Excel, LibreOffice and Google
Sheets; a student id, name or note is text the student chose, so such a cell gets a
leading ``'``, which those programs show as text. ``--csv-bom`` writes UTF-8 with a byte
order mark, without which Excel reads UTF-8 as the system's code page and mangles names.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from grader.batch.store import open_atomic

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """``text`` as a spreadsheet shows it, and never runs it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@contextlib.contextmanager
def csv_file(path: Path, bom: bool) -> Iterator[Any]:
    """A ``csv.writer`` that replaces ``path`` when the block ends (UTF-8, with a BOM when ``bom``)."""
    with open_atomic(path, "utf-8-sig" if bom else "utf-8") as stream:
        yield csv.writer(stream, lineterminator="\n")
