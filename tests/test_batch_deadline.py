"""The teacher's deadline night: a generated class (``make_deadline_class``) graded as a teacher would.

Exercises 03 to 05, a ``;`` roster with non-ASCII names, an override, a due date with a
late penalty, Canvas and Moodle import files, UTF-8 with a BOM. The class is graded
once, then again with ``--lenient-names``, then from a zip of the whole class as a
platform exports it; every student's row is checked: total, scores, statuses, flags,
notes, lateness and the audit of changes. A sample of the class is then graded by the
Gradescope autograder, which must find the same files and give the same scores.
"""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from pathlib import Path

import pytest

from grader.batch.lms import CANVAS_COLUMNS, MOODLE_COLUMNS
from grader.kit import load_kit

from .batch_fixtures import DEADLINE_OPTIONS, EXERCISES, OVERRIDES_DEADLINE, ROSTER, Row, make_deadline_class, zip_folder
from .test_batch import grade, one_line_error
from .test_ci_files import bundle, fake_autograder, grade_command, needs_bash, run_autograder

ASSIGNMENT = "Homework 3 (12345)"
# What the platforms' importers read (see docs/batch.md, "Gradebooks that import").
CANVAS_IMPORT = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_IMPORT_NEEDS = {"Identifier", "Grade", "Last modified (grade)"}  # the worksheet importer refuses a file without them
GRADESCOPE_SAMPLE = ["alma", "bruno", "dina", "fay", "pia"]
WORTH = {exercise_id: load_kit().exercise(exercise_id).max_score for exercise_id in EXERCISES}
POSSIBLE = f"{sum(WORTH.values()):g}"  # the night's exercises, from the kit


def options(root: Path) -> list[str | Path]:
    return [
        *DEADLINE_OPTIONS, "-j", "2", "--roster", root / "roster.csv", "--overrides", root / "overrides.csv",
        "--gradebook", "canvas", "--gradebook", "moodle", "--assignment", ASSIGNMENT, "--csv-bom",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def night(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("deadline")
    rows, lenient = make_deadline_class(root / "class")
    (root / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (root / "overrides.csv").write_text(OVERRIDES_DEADLINE, encoding="utf-8")
    runs = {"first": grade("batch", root / "class", "-o", root / "out", *options(root))}
    shutil.copytree(root / "out", root / "lenient")
    runs["lenient"] = grade("batch", root / "class", "-o", root / "lenient", *options(root), "--lenient-names")
    zip_folder(root / "class", root / "export.zip")
    shutil.copytree(root / "out", root / "export")
    runs["export"] = grade("batch", root / "export.zip", "-o", root / "export", *options(root))
    return {"root": root, "rows": rows, "lenient": lenient, "runs": runs}


def table(outdir: Path) -> dict[str, dict[str, str]]:
    with (outdir / "grades.csv").open(encoding="utf-8-sig", newline="") as stream:
        return {row["student"].removeprefix("'"): row for row in csv.DictReader(stream)}


def documents(outdir: Path) -> dict[str, dict]:
    return {s["student"]: s for s in json.loads((outdir / "grades.json").read_text(encoding="utf-8"))["students"]}


def check_rows(outdir: Path, expected: dict[str, Row]) -> None:
    found, documented = table(outdir), documents(outdir)
    assert sorted(found) == sorted(expected)
    for student, want in expected.items():
        row, document = found[student], documented[student]
        got = Row(
            float(row["total"]),
            tuple(float(row[e]) for e in EXERCISES),  # type: ignore[arg-type]  # one per exercise: Row's fixed-length tuple
            tuple(row[f"{e}_status"] for e in EXERCISES),  # type: ignore[arg-type]  # as above
            tuple(document["flags"]),
            tuple(document["notes"]),
            row["late"] == "yes",
            tuple(a for a in row["overrides"].split("\n") if a),
        )
        assert got == want, student
        assert row["feedback"] == document["feedback"] and (outdir / document["feedback"]).is_file()


def test_every_run_finishes_and_counts_every_row(night: dict) -> None:
    root, runs = night["root"], night["runs"]
    assert [code for code, _ in runs.values()] == [0, 0, 0], runs
    count = len(night["rows"])
    assert runs["first"][1].splitlines()[-1] == f"{count} students: {count - 1} graded, 0 reused, 1 with no submission; gradebook in {root / 'out'}"
    assert runs["lenient"][1].splitlines()[-1] == f"{count} students: 3 graded, {count - 4} reused, 1 with no submission; gradebook in {root / 'lenient'}"
    assert runs["export"][1].splitlines()[-1] == f"{count} students: 0 graded, {count - 1} reused, 1 with no submission; gradebook in {root / 'export'}"
    assert len(table(root / "out")) == count


def test_every_student_row_by_row(night: dict) -> None:
    check_rows(night["root"] / "out", night["rows"])


def test_lenient_names_grade_the_look_alikes_and_say_so(night: dict) -> None:
    check_rows(night["root"] / "lenient", night["lenient"])


def test_a_whole_export_zip_grades_the_same_class(night: dict) -> None:
    root = night["root"]
    for name in ("grades.csv", "grades.json", "report.html", "canvas.csv", "moodle.csv"):
        assert (root / "export" / name).read_bytes() == (root / "out" / name).read_bytes(), name


def test_names_come_from_the_semicolon_roster_intact_in_a_spreadsheet(night: dict) -> None:
    data = (night["root"] / "out" / "grades.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads the file as UTF-8 only with it
    found = table(night["root"] / "out")
    assert (found["zora"]["name"], found["30001"]["name"], found["ulla"]["flags"]) == ("Zoë Åström", "Greta Holm", "no_submission")


def test_no_cell_a_student_wrote_runs_as_a_formula(night: dict) -> None:
    out = night["root"] / "out"
    for name in ("grades.csv", "canvas.csv", "moodle.csv"):
        with (out / name).open(encoding="utf-8-sig", newline="") as stream:
            cells = [cell for row in csv.reader(stream) for cell in row]
        assert not [cell for cell in cells if cell.startswith(("=", "+", "-", "@"))], name
    row = table(out)["=SUM(1+1)"]
    assert (row["student"], row["name"]) == ("'=SUM(1+1)", "'@Lena Ek")
    assert table(out)["-mo"]["notes"].startswith("'-mo.zip: the archive is empty")


def test_canvas_csv_has_the_gradebook_import_columns(night: dict) -> None:
    with (night["root"] / "out" / "canvas.csv").open(encoding="utf-8-sig", newline="") as stream:
        header, points, *rows = list(csv.reader(stream))
    assert header == [*CANVAS_IMPORT, ASSIGNMENT] and list(CANVAS_COLUMNS) == CANVAS_IMPORT
    assert points == ["Points Possible", "", "", "", "", POSSIBLE]
    by_name = {row[0]: row for row in rows}
    assert by_name["Hugo Blanc"] == ["Hugo Blanc", "40001", "", "", "", "14"]  # a Canvas user id, after the late penalty
    assert by_name["Alma Ruiz"] == ["Alma Ruiz", "", "", "alma", "", "40"]
    assert len(rows) == len(night["rows"])
    assert "canvas.csv: 18 of 20 students have no Canvas user id (only digits)" in night["runs"]["first"][1]


def test_moodle_csv_is_a_grading_worksheet(night: dict) -> None:
    with (night["root"] / "out" / "moodle.csv").open(encoding="utf-8-sig", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == list(MOODLE_COLUMNS) and set(rows[0]) >= MOODLE_IMPORT_NEEDS
    greta = next(r for r in rows if r["Identifier"] == "Participant 30001")
    passed = WORTH["03_concurrency"] + WORTH["04_monitoring"]
    assert (greta["Full name"], greta["Status"], greta["Grade"], greta["Maximum Grade"]) == ("Greta Holm", "Submitted for grading", f"{passed:g}", POSSIBLE)
    assert greta["Last modified (submission)"] == "2024-05-03 08:00:00 UTC"
    each = ", ".join(f"{e} {w if e != '05_queues' else 0:g}/{w:g}" for e, w in WORTH.items())
    assert greta["Feedback comments"] == f"{passed:g}/{POSSIBLE}: {each}"
    ulla = next(r for r in rows if r["Identifier"] == "Participant ulla")
    assert (ulla["Status"], ulla["Grade"], ulla["Email address"]) == ("No submission", "0", "ulla@example.org")


def test_the_report_shows_what_the_teacher_must_see(night: dict) -> None:
    page = (night["root"] / "out" / "report.html").read_text(encoding="utf-8")
    assert '<td class="number overridden" data-value="20" title="overridden">20</td>' in page
    assert '<a href="feedback/kim.md">feedback</a>' in page
    assert "unmatched: dina/03-concurrency.py — looks like 03_concurrency" in page
    assert "03_concurrency 0-&gt;20: explained it in an oral exam (overrides.csv:2)" in page
    assert "<td>03_concurrency</td><td>pia</td><td>quim</td><td class=\"number\">1.00</td>" in page
    assert "never a penalty" in page


def test_feedback_says_what_was_received_and_why_it_was_not_graded(night: dict) -> None:
    feedback = night["root"] / "out" / "feedback"
    carlos = (feedback / "carlos.md").read_text(encoding="utf-8")
    assert "carlos.rar: 1 KiB received, a RAR archive, which the grader cannot open" in carlos
    assert "No submission was received" not in carlos
    ines = (feedback / "ines.md").read_text(encoding="utf-8")
    assert "Score after your teacher's changes: 14/60" in ines and "1 h 30 min after the due date" in ines
    assert "No submission was received from you" in (feedback / "ulla.md").read_text(encoding="utf-8")


def test_an_override_for_nobody_stops_the_batch_with_its_line(night: dict, tmp_path: Path) -> None:
    root = night["root"]
    (tmp_path / "overrides.csv").write_text("student,exercise,points,reason\nkim,03,20,oral exam\nbrunno,03,+2,typo\n", encoding="utf-8")
    line = one_line_error(*grade("batch", root / "class", "-o", tmp_path / "out", "-e", "03", "--roster", root / "roster.csv", "--overrides", tmp_path / "overrides.csv"))
    assert line == "Error: overrides.csv:3: no student 'brunno' in this batch (did you mean bruno?); fix the id, or remove the line"
    assert not (tmp_path / "out" / "reports").exists() or not list((tmp_path / "out" / "reports").iterdir())


@needs_bash
def test_gradescope_finds_the_same_files_and_gives_the_same_scores(night: dict, tmp_path: Path) -> None:
    """Each student's upload as Gradescope hands it over (zips unpacked), graded by the bundle's run_autograder."""
    root = night["root"]
    graded = documents(root / "out")
    bundle(tmp_path).close()
    for student in GRADESCOPE_SAMPLE:
        home = tmp_path / student
        upload = root / "class" / student
        if upload.is_dir():
            shutil.copytree(upload, home / "upload")
        else:
            with zipfile.ZipFile(root / "class" / f"{student}.zip") as uploaded:
                uploaded.extractall(home / "upload")
        results = run_autograder(fake_autograder(home, zipfile.ZipFile(tmp_path / "autograder.zip"), {}, home / "upload"), grade_command())
        scores = {e: sum(t["score"] for t in results["tests"] if t["name"].startswith(f"{e}:")) for e in EXERCISES}
        batch = {e["id"]: e["score"] for e in graded[student]["report"]["exercises"]}
        assert scores == batch, student
