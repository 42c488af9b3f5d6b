"""Which file is which exercise, the same for ``grade PATH`` and ``grade batch``; and the small rules
the deadline class relies on: look-alike names, near-copies, late penalties, spreadsheet cells,
rosters, exports wrapped in a folder."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.batch.export import class_folder
from grader.batch.finder import Student, locate
from grader.batch.flags import Reference, code_signature
from grader.batch.late import Lateness, lateness, parse_due, penalty
from grader.batch.matching import find_in_folder, looks_like
from grader.batch.roster import load_roster
from grader.batch.similarity import own_shape, similar_pairs
from grader.batch.spreadsheet import safe_cell
from grader.cli import main
from grader.kit import Kit

from .batch_fixtures import ALTERNATIVE, BASE, DISGUISED, FILE, HARD, REFERENCE, STUB, TASKGROUP, set_time, write_file, write_zip
from .conftest import ROOT


def graded(folder: Path, *args: str) -> dict[str, str]:
    result = CliRunner().invoke(main, [str(folder), "--format", "json", *args])
    return {e["id"]: e["status"] for e in json.loads(result.output)["exercises"]}


@pytest.mark.parametrize(
    "layout",
    ["03_concurrency (1).py", "03_CONCURRENCY.PY", "deep/er/03_concurrency.py", "repo-main/exercises/03_concurrency.py"],
)
def test_grade_path_finds_the_files_grade_batch_finds(tmp_path: Path, layout: str) -> None:
    write_file(tmp_path / "upload" / layout, ALTERNATIVE)
    write_file(tmp_path / "upload" / "repo-main" / "solutions" / FILE, REFERENCE)
    write_file(tmp_path / "upload" / "repo-main" / "tests" / "golden" / "03_concurrency" / "x" / FILE, HARD)
    assert graded(tmp_path / "upload", "-e", "03") == {"03_concurrency": "passed"}


def test_one_finder_chooses_alike_for_a_folder(tmp_path: Path, kit: Kit) -> None:
    """A student's folder, read by ``grade PATH`` and by ``grade batch``: the same file for every exercise."""
    upload = tmp_path / "upload"
    write_file(upload / "03_concurrency.py", HARD)  # the kit's name at the top wins
    write_file(upload / "final" / FILE, ALTERNATIVE)
    write_file(upload / "final" / "04_monitoring.py", b"x = 1\n")
    write_file(upload / "repo" / "exercises" / "05_queues (2).py", b"y = 2\n")
    write_file(upload / "repo" / "solutions" / "05_queues.py", (ROOT / "solutions" / "05_queues.py").read_bytes())
    specs = list(kit.exercises)
    alone = find_in_folder(upload, specs)
    batch = locate(Student("upload", entries=[upload]), specs, Reference(kit), tmp_path / "scratch").files
    assert alone == batch
    assert {s.id: p.relative_to(upload).as_posix() for s, p in alone.items()} == {
        "03_concurrency": "03_concurrency.py",
        "04_monitoring": "final/04_monitoring.py",
        "05_queues": "repo/exercises/05_queues (2).py",
    }


@pytest.mark.parametrize(
    ("name", "exercise"),
    [
        ("03-concurrency.py", "03_concurrency"),
        ("03_concurrency.py.txt", "03_concurrency"),
        ("4_monitoring.py", "04_monitoring"),
        ("05_queue.py", "05_queues"),
        ("Exercise4.py", "04_monitoring"),
        ("hw 2.py", "02_event_loop"),
        ("event-loop.py", "02_event_loop"),
        ("notes.py", None),
        ("utils2.py", None),
        ("HW1_ivan_attempt_2024-05-01-10-00-00.txt", None),
        ("03_concurrency.py", None),  # a match, not a look-alike
        ("4_queues.py", "05_queues"),  # the topic outweighs the number
    ],
)
def test_names_that_only_look_like_an_exercise(kit: Kit, name: str, exercise: str | None) -> None:
    found = looks_like(name, list(kit.exercises))
    assert (found.id if found else None) == exercise


def test_an_archive_the_grader_cannot_open_inside_a_folder_is_reported(tmp_path: Path, kit: Kit) -> None:
    write_file(tmp_path / "ada" / "hw.7z", b"7z\xbc\xaf\x27\x1c" + bytes(100))
    write_file(tmp_path / "ada" / FILE, ALTERNATIVE)
    located = locate(Student("ada", entries=[tmp_path / "ada"]), list(kit.exercises), Reference(kit), tmp_path / "scratch")
    assert located.problems == ["ada/hw.7z: 1 KiB received, a 7-Zip archive, which the grader cannot open; nothing in it was graded (ask for a .zip)"]
    assert located.origins == {"03_concurrency": "ada/03_concurrency.py"}


def test_a_near_copy_is_similar_and_not_identical(kit: Kit) -> None:
    stub = next(spec.stub for spec in kit.exercises if spec.file == FILE)
    assert code_signature(DISGUISED) != code_signature(TASKGROUP)
    shapes = [("pia", {"03": own_shape(TASKGROUP, stub)}), ("quim", {"03": own_shape(DISGUISED, stub)}), ("rex", {"03": own_shape(ALTERNATIVE, stub)})]
    (pair,) = similar_pairs(shapes, set())
    assert (pair.first, pair.second, pair.score) == ("pia", "quim", 1.0)
    assert own_shape(STUB, stub) == []  # nothing of the student's own
    assert similar_pairs(shapes, {("03", "pia", "quim")}) == []  # identical pairs are shared:, not similar:


def test_lateness_and_penalties() -> None:
    due = parse_due("2024-05-03T09:00+00:00")
    assert due == "2024-05-03T09:00:00+00:00"
    on_time = lateness("2024-05-03T08:59:00+00:00", False, due)
    assert on_time == Lateness(False)
    late = lateness("2024-05-05T09:00:01+00:00", False, due)
    assert late.late and late.by == datetime.timedelta(days=2, seconds=1)
    assert penalty("10%/day", late, 60)[0] == 18  # three started days of 6 points
    assert penalty("10%", late, 60)[0] == 6
    assert penalty("2/hour", late, 60)[0] == 98
    assert penalty("5", late, 60)[0] == 5
    marked = lateness("", True, None)
    assert penalty("1/day", marked, 60) == (1, "late penalty (1/day): marked late by the platform; how late is unknown, so it counts as one day")


@pytest.mark.parametrize(
    ("text", "shown"),
    [("=SUM(1+1)", "'=SUM(1+1)"), ("+1", "'+1"), ("-mo", "'-mo"), ("@Lena", "'@Lena"), ("\tx", "'\tx"), ("Zoë", "Zoë"), ("", "")],
)
def test_spreadsheet_cells_never_run(text: str, shown: str) -> None:
    assert safe_cell(text) == shown


@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_rosters_are_read_whatever_their_separator(tmp_path: Path, separator: str) -> None:
    (tmp_path / "r.csv").write_text(separator.join(["id", "name", "email"]) + "\n" + separator.join(["zoe", "Zoë Åström, Dr", "z@x.org"]) + "\n", encoding="utf-8-sig")
    if separator == ",":
        (tmp_path / "r.csv").write_text('id,name,email\nzoe,"Zoë Åström, Dr",z@x.org\n', encoding="utf-8-sig")
    (entry,) = load_roster(tmp_path / "r.csv").entries
    assert (entry.id, entry.name, entry.email) == ("zoe", "Zoë Åström, Dr", "z@x.org")


def test_an_export_wrapped_in_one_folder_is_stepped_into(tmp_path: Path) -> None:
    write_file(tmp_path / "assignment_1_export" / "submission_1" / FILE, STUB)
    write_file(tmp_path / "assignment_1_export" / "submission_metadata.yml", b"{}\n")
    assert class_folder(tmp_path) == tmp_path / "assignment_1_export"
    write_file(tmp_path / "one" / "alice" / FILE, STUB)
    write_zip(tmp_path / "one" / "bob.zip", {FILE: STUB})
    assert class_folder(tmp_path / "one") == tmp_path / "one"
    write_file(tmp_path / "lone" / "alice" / FILE, STUB)
    assert class_folder(tmp_path / "lone") == tmp_path / "lone"  # one student's folder is a student, not a wrapper


def test_a_newer_look_alike_is_reported_and_graded_only_when_lenient(tmp_path: Path, kit: Kit) -> None:
    write_file(tmp_path / "bo" / FILE, HARD)
    write_zip(tmp_path / "bo.zip", {"03-concurrency.py": ALTERNATIVE}, BASE + datetime.timedelta(hours=1))
    set_time(tmp_path / "bo" / FILE, BASE)
    student = Student("bo", entries=[tmp_path / "bo", tmp_path / "bo.zip"])
    strict = locate(student, list(kit.exercises), Reference(kit), tmp_path / "strict")
    assert strict.origins == {"03_concurrency": "bo/03_concurrency.py"}
    assert strict.flags == ["unmatched:03_concurrency"]
    assert strict.notes == [
        "unmatched: bo.zip:03-concurrency.py — looks like 03_concurrency; not graded (rename it to 03_concurrency.py, or grade with --lenient-names)"
    ]
    lenient = locate(student, list(kit.exercises), Reference(kit), tmp_path / "lenient", lenient=True)
    assert lenient.origins == {"03_concurrency": "bo.zip:03-concurrency.py"}
    assert lenient.flags == ["multiple_versions", "renamed:03_concurrency"]
