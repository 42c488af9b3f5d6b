"""``grade batch`` and ``grade merge`` over a generated class, as a teacher runs them.

One class of 41 submissions (see ``batch_fixtures``) is graded on exercise 03 three
ways — one job, two jobs, two shards merged — and the gradebook is checked row by row;
a small class is graded on the whole kit with a roster and overrides.
"""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.batch.archives import ArchiveLimits, ArchiveProblem, Budget, TooLarge, extract, safe_name
from grader.batch.export_names import EntryName, parse_entry_name
from grader.batch.finder import Student, locate
from grader.batch.flags import Reference, code_signature
from grader.batch.matching import match_exercise
from grader.batch.record import stable_report
from grader.cli import main
from grader.kit import Kit
from grader.model import ExerciseResult, ExerciseStatus, Report

from .batch_fixtures import AWAIT, FILE, IGNORED, LOOPS, REFERENCE, STUB, make_class, write_file, write_tar, write_zip, zip_bomb, zip_bytes
from .conftest import GOLDEN, ROOT, expected_score

CLASS_OPTIONS = ["-e", "03", "--timeout", "2"]
GRADEBOOK = ("grades.csv", "grades.json", "report.html")


def grade(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def rows(outdir: Path) -> dict[str, dict[str, str]]:
    with (outdir / "grades.csv").open(encoding="utf-8", newline="") as stream:
        return {row["student"]: row for row in csv.DictReader(stream)}


def students(outdir: Path) -> dict[str, dict]:
    return {s["student"]: s for s in json.loads((outdir / "grades.json").read_text(encoding="utf-8"))["students"]}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The class, graded with -j1, with -j2, and as two shards merged."""
    root = tmp_path_factory.mktemp("batch")
    expected = make_class(root / "submissions")
    runs = {}
    for name, extra in (("j1", ["-j", "1"]), ("j2", ["-j", "2"]), ("shard1", ["--shard", "1/2"]), ("shard2", ["--shard", "2/2"])):
        runs[name] = grade("batch", root / "submissions", "-o", root / name, *CLASS_OPTIONS, *extra)
    runs["merged"] = grade("merge", root / "shard1", root / "shard2", "-o", root / "merged")
    return {"root": root, "expected": expected, "runs": runs}


def test_every_run_completes(graded: dict) -> None:
    runs = graded["runs"]
    assert [code for code, _ in runs.values()] == [0, 0, 0, 0, 0], runs
    assert runs["j2"][1].splitlines()[-2:] == [
        f"Ignored 2 entries that belong to no student: {', '.join(IGNORED)}",
        f"41 students: 41 graded, 0 reused; gradebook in {graded['root'] / 'j2'}",
    ]
    assert runs["merged"][1] == f"Merged 2 outputs: 41 students; gradebook in {graded['root'] / 'merged'}\n"


def test_gradebook_row_by_row(graded: dict) -> None:
    expected = graded["expected"]
    table = rows(graded["root"] / "j2")
    assert len(expected) >= 40
    assert sorted(table) == sorted(expected)
    for student, want in expected.items():
        row = table[student]
        got = (row["name"], float(row["total"]), row["03_concurrency_status"], row["flags"])
        assert got == (want.name, want.total, want.status, "; ".join(want.flags)), student
        assert row["command"] == f"grade work/{student}/submission -e 03_concurrency --timeout 2"
    assert list(table["alice"]) == [
        "student", "name", "total", "max_score", "03_concurrency", "03_concurrency_status",
        "late", "flags", "notes", "overrides", "feedback", "command",
    ]  # fmt: skip


def test_one_job_two_jobs_and_merged_shards_write_the_same_bytes(graded: dict) -> None:
    root = graded["root"]
    for name in GRADEBOOK:
        single = (root / "j1" / name).read_bytes()
        assert (root / "j2" / name).read_bytes() == single, name
        assert (root / "merged" / name).read_bytes() == single, name
    feedback = sorted(p.name for p in (root / "j1" / "feedback").iterdir())
    assert len(feedback) == 41
    for name in feedback:
        assert (root / "merged" / "feedback" / name).read_bytes() == (root / "j1" / "feedback" / name).read_bytes()


def test_shards_split_the_class_without_overlap(graded: dict) -> None:
    first, second = rows(graded["root"] / "shard1"), rows(graded["root"] / "shard2")
    assert first and second
    assert not set(first) & set(second)
    assert sorted({**first, **second}) == sorted(graded["expected"])


def test_where_each_file_came_from_and_what_was_noticed(graded: dict) -> None:
    found = students(graded["root"] / "j2")
    assert found["carol"]["files"] == {"03_concurrency": "carol.tar.gz:carol/src/deep/nested/exercises/03_concurrency.py"}
    assert found["yara"]["files"] == {"03_concurrency": "yara.zip:inner.zip:03_concurrency.py"}
    assert found["10002"]["files"] == {"03_concurrency": "Eve Adams_10002_assignsubmission_file_/my_work.zip:hw/03_concurrency.py"}
    assert found["bob"]["files"] == {"03_concurrency": "bob.zip:bob/03_concurrency.py"}
    assert found["20002"]["notes"] == [
        ("03_concurrency.py: graded gracek_20002_30003_03_concurrency-1.py, the highest resubmission number (1); "
        "set aside gracek_20002_30002_03_concurrency.py (2024-05-03 08:00:00 UTC)")
    ]
    assert found["zack"]["notes"] == [
        ("03_concurrency.py: graded zack.zip:03_concurrency.py, the newest upload (2024-05-03 09:00:00 UTC); "
        "set aside zack/03_concurrency.py (2024-05-03 08:00:00 UTC)")
    ]
    assert found["asyncio-hw-judy"]["notes"][0] == "not graded: asyncio-hw-judy/solutions holds copies of the reference solutions"
    assert found["mallory"]["notes"] == [
        "mallory.zip: member '../../evil.py' would be written outside the archive's folder; the archive was not extracted",
        "no exercise files found in mallory.zip",
    ]
    assert found["nina"]["notes"][0].startswith("nina.zip: member '03_concurrency.py' expands ")
    assert found["oscar"]["notes"][0] == "oscar.zip: the archive is empty"
    assert found["pat"]["notes"][0].startswith("pat.zip: not a readable archive")
    assert found["walter"]["notes"][0] == "walter.tar.gz: member '03_concurrency.py' is a link or a special file; the archive was not extracted"
    assert found["uma"]["report"]["exercises"][0]["message"] == "the exercise was stopped after 2 s of real time (its time limit)"
    assert found["rita"]["report"]["exercises"][0]["message"] == "03_concurrency.py is missing from the submission folder"


def test_records_hold_no_clock_and_no_machine_path(graded: dict) -> None:
    root = graded["root"]
    text = (root / "merged" / "grades.json").read_text(encoding="utf-8")
    assert str(root) not in text and "asynclings-" not in text
    assert {s["report"]["duration"] for s in students(root / "merged").values()} == {0.0}


def test_no_archive_member_lands_outside_the_output(graded: dict) -> None:
    assert not list(graded["root"].parent.rglob("evil.py"))
    extracted = graded["root"] / "j2" / "work" / "mallory"
    assert [p.name for p in extracted.rglob("*") if p.is_file()] == []


def test_a_rerun_reuses_every_result_and_changes_no_byte(graded: dict) -> None:
    out = graded["root"] / "j2"
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in [*(out / "reports").iterdir(), *(out / n for n in GRADEBOOK)]}
    code, output = grade("batch", graded["root"] / "submissions", "-o", out, *CLASS_OPTIONS)
    assert code == 0
    assert output.splitlines()[-1] == f"41 students: 0 graded, 41 reused; gradebook in {out}"
    for path, (data, mtime) in before.items():
        assert path.read_bytes() == data, path
        if path.parent.name == "reports":
            assert path.stat().st_mtime_ns == mtime, path


def test_where_the_checks_ran_is_masked_in_what_a_record_keeps() -> None:
    """A kept worker runs each submission in a folder of random name: it must not reach the gradebook."""
    scratch = f"{tempfile.gettempdir()}/asynclings-worker-4242-k2j3h4/submission-90opj7or/"
    warning = f"{scratch}01_coroutines.py:14: RuntimeWarning: coroutine 'sleep' was never awaited at 0x7f3a5c2e1b80"
    result = ExerciseResult("01_coroutines", "Coroutines", ExerciseStatus.FAILED, 0.0, 20.0, [], output=warning)
    (kept,) = stable_report(Report([result]), "/class/alice", "").exercises
    assert kept.output == "01_coroutines.py:14: RuntimeWarning: coroutine 'sleep' was never awaited at 0x…"


def test_feedback_speaks_to_the_student(graded: dict) -> None:
    feedback = (graded["root"] / "j2" / "feedback" / "bob.md").read_text(encoding="utf-8")
    assert feedback.startswith("# Feedback for bob\n")
    assert "Did you await each task before creating the next?" in feedback
    assert "shared" not in feedback


ROSTER = "id,name,email\nann,Ann Lee,ann@example.org\nben,Ben Ode,ben@example.org\ncat,Cat Ray,cat@example.org\ndave,Dave Oz,dave@example.org\n"
OVERRIDES = (
    "student,exercise,points,reason\n"
    "ann,03_concurrency/concurrent_timing,0,copied from the reference\n"
    "ben,03,+5,late file accepted by email\n"
    "dave,01_coroutines,10,oral exam\n"
)


def test_whole_kit_with_roster_overrides_reuse_and_force(tmp_path: Path, kit: Kit) -> None:
    submissions = tmp_path / "submissions"
    for spec in kit.exercises:
        write_file(submissions / "ann" / spec.file, spec.solution.read_bytes())
        write_file(submissions / "hw-ben" / "exercises" / spec.file, spec.stub.read_bytes())
    write_zip(submissions / "cat.zip", {"cat/01_coroutines.py": (ROOT / "solutions" / "01_coroutines.py").read_bytes()})
    write_file(submissions / "zed" / "03_concurrency.py", AWAIT)
    (tmp_path / "students.csv").write_text(ROSTER)
    (tmp_path / "overrides.csv").write_text(OVERRIDES)
    out = tmp_path / "out"
    command = ["batch", submissions, "-o", out, "--roster", tmp_path / "students.csv", "--overrides", tmp_path / "overrides.csv"]
    code, output = grade(*command)
    assert (code, output.splitlines()[-1]) == (0, f"5 students: 4 graded, 0 reused, 1 with no submission; gradebook in {out}")
    table = rows(out)
    timing = kit.exercise("03_concurrency").check("concurrent_timing").points  # ann's override takes it away
    assert [(s, r["name"], r["total"]) for s, r in table.items()] == [
        ("ann", "Ann Lee", f"{kit.max_score - timing:g}"),
        ("ben", "Ben Ode", "5"),
        ("cat", "Cat Ray", f"{kit.exercise('01_coroutines').max_score:g}"),
        ("dave", "Dave Oz", "10"),
        ("zed", "", f"{expected_score(GOLDEN / '03_concurrency' / 'await_in_loop'):g}"),  # AWAIT's expected score
    ]
    assert table["ann"]["flags"] == "; ".join(f"identical_to_reference:{s.id}" for s in kit.exercises)
    assert table["ann"]["overrides"] == "03_concurrency/concurrent_timing 6->0: copied from the reference (overrides.csv:2)"
    assert (table["ann"]["03_concurrency"], table["ann"]["05_queues_status"]) == (f"{kit.exercise('03_concurrency').max_score - timing:g}", "passed")
    assert table["ben"]["overrides"] == "03_concurrency 0->5: late file accepted by email (overrides.csv:3)"
    assert [table["ben"][f"{s.id}_status"] for s in kit.exercises] == ["overridden" if s.id == "03_concurrency" else "not_started" for s in kit.exercises]
    assert [table["cat"][f"{s.id}_status"] for s in kit.exercises] == ["passed" if s.id == "01_coroutines" else "error" for s in kit.exercises]
    assert (table["dave"]["flags"], table["dave"]["01_coroutines_status"], table["dave"]["command"]) == ("no_submission", "overridden", "")
    assert table["dave"]["overrides"] == "01_coroutines 0->10: oral exam (overrides.csv:4)"
    assert table["zed"]["flags"] == "not_on_roster"
    assert f"Score after your teacher's changes: {kit.max_score - timing:g}/{kit.max_score:g}" in (out / "feedback" / "ann.md").read_text(encoding="utf-8")
    assert "No submission was received from you" in (out / "feedback" / "dave.md").read_text(encoding="utf-8")

    (tmp_path / "overrides.csv").write_text("student,exercise,points,reason\nzed,03,20,regraded by hand\n")
    code, output = grade(*command)
    assert output.splitlines()[-1] == f"5 students: 0 graded, 4 reused, 1 with no submission; gradebook in {out}"
    assert [r["total"] for r in rows(out).values()] == [f"{kit.max_score:g}", "0", f"{kit.exercise('01_coroutines').max_score:g}", "0", "20"]
    code, output = grade(*command, "--force")
    assert output.splitlines()[-1] == f"5 students: 4 graded, 0 reused, 1 with no submission; gradebook in {out}"


def one_line_error(code: int, output: str) -> str:
    assert code == 2, output
    assert len(output.splitlines()) == 1, output
    return output.strip()


@pytest.mark.parametrize(
    ("files", "args", "message"),
    [
        ({}, ["batch", "nowhere", "-o", "out"], "Error: submissions must be a folder of student folders and archives, or a platform's export archive (.zip, .tar.gz): {anchor}"),
        ({}, ["batch", "class", "-o", "out", "--shard", "3/2"], "Error: shard must look like K/N with 1 <= K <= N (e.g. 2/4), or auto, found '3/2'"),
        ({}, ["batch", "class", "-o", "out", "--shard", "auto"], "Error: --shard auto found no array index: run it in a Kubernetes Indexed Job"),
        ({"o.csv": "student,exercise,points,reason\nx,03,1,r\n"}, ["batch", "class", "-o", "out", "--overrides", "o.csv"], "Error: o.csv:2: no student 'x' in this batch; fix the id, or remove the line"),
        ({}, ["batch", "class", "-o", "out", "--due", "friday"], "Error: due must be a date and time like 2024-05-03T23:59"),
        ({}, ["batch", "class", "-o", "out", "--late-penalty", "ten"], "Error: late penalty must look like 10%/day, 10%, 2/day, 2/hour or 5, found 'ten'"),
        ({"r.csv": "name,email\nA,a@b\n"}, ["batch", "class", "-o", "out", "--roster", "r.csv"], "needs a header row with an 'id' column"),
        ({"r.csv": "id\nx\nx\n"}, ["batch", "class", "-o", "out", "--roster", "r.csv"], "r.csv:3: id 'x' appears twice"),
        ({"o.csv": "student,exercise,points,reason\nx,99,1,r\n"}, ["batch", "class", "-o", "out", "--overrides", "o.csv"], "o.csv:2: exercise '99' matches no exercise"),
        ({"o.csv": "student,exercise,points,reason\nx,03/loads,3,r\n"}, ["batch", "class", "-o", "out", "--overrides", "o.csv"], "o.csv:2: 3 points is outside 0..0 for 03_concurrency/loads"),
        ({"o.csv": "student,points\n"}, ["batch", "class", "-o", "out", "--overrides", "o.csv"], "needs a header row with the columns student,exercise,points,reason"),
        ({}, ["merge", "class", "-o", "out"], "class is not a batch output (no batch.json)"),
    ],
    ids=[
        "no-folder", "bad-shard", "auto-shard-nowhere", "override-nobody", "bad-due", "bad-penalty",
        "roster-no-id", "roster-twice", "override-exercise", "override-points", "override-columns", "merge-not-batch",
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, files: dict[str, str], args: list[str], message: str) -> None:
    (tmp_path / "class").mkdir()
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    local = {"nowhere", "class", "out", "r.csv", "o.csv"}
    line = one_line_error(*grade(*(tmp_path / a if a in local else a for a in args)))
    assert message.replace("{anchor}", tmp_path.anchor) in line  # "/", or "C:\\" on Windows


def test_merge_refuses_missing_shards_and_different_batches(graded: dict, tmp_path: Path) -> None:
    root = graded["root"]
    line = one_line_error(*grade("merge", root / "shard1", "-o", tmp_path / "m"))
    assert line == "Error: the shards given are 1/2; a merge needs every shard of one batch, 1/2 to 2/2"
    (tmp_path / "nobody").mkdir()
    other = tmp_path / "other"
    assert grade("batch", tmp_path / "nobody", "-o", other, "-e", "03", "--shard", "2/2", "--timeout", "3")[0] == 0
    line = one_line_error(*grade("merge", root / "shard1", other, "-o", tmp_path / "m"))
    assert line.endswith("were not graded the same way (command differs); merge shards of one batch")


@pytest.mark.skipif(
    not sys.platform.startswith("linux"),
    reason="finds the batch's workers in /proc, and sends SIGINT to another process (Windows cannot)",
)
def test_ctrl_c_stops_cleanly_and_keeps_what_is_done(tmp_path: Path) -> None:
    write_file(tmp_path / "class" / "a_quick" / "03_concurrency.py", REFERENCE)
    write_file(tmp_path / "class" / "b_hangs" / "03_concurrency.py", LOOPS)
    write_file(tmp_path / "class" / "c_hangs" / "03_concurrency.py", LOOPS + b"# another\n")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "batch", str(tmp_path / "class"), "-o", str(out), "-j", "1", "-e", "03", "--timeout", "60"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, cwd=tmp_path)
    try:
        for _ in range(600):
            if (out / "reports" / "a_quick.json").exists() and children(process.pid):
                break
            time.sleep(0.05)
        workers = children(process.pid)
        assert workers, "the second submission never started"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 130
    assert output.decode().splitlines()[-1] == (
        f"Interrupted: 1 of 3 students have a result in {out}; run the same command again to grade the rest."
    )
    assert list(rows(out)) == ["a_quick"]
    assert [p.name for p in (out / "reports").iterdir()] == ["a_quick.json"]
    assert not [pid for pid in workers if alive(pid)]


def proc_fields(pid: int | str) -> list[str]:
    """The fields of ``/proc/PID/stat`` after the command name: state, parent, …"""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return []


def children(parent: int) -> list[int]:
    pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
    return [pid for pid in pids if proc_fields(pid)[1:2] == [str(parent)]]


def alive(pid: int) -> bool:
    return proc_fields(pid)[:1] not in ([], ["Z"])


@pytest.mark.parametrize(
    "name",
    ["../evil.py", "a/../../evil.py", "/etc/evil.py", "C:/evil.py", "..\\evil.py", "a\\..\\..\\evil.py", ""],
)
def test_unsafe_member_names(name: str) -> None:
    assert not safe_name(name)


def test_safe_member_names() -> None:
    assert all(safe_name(n) for n in ["03_concurrency.py", "a/b/03.py", "./a.py", "a..b.py"])


@pytest.mark.parametrize(
    ("limits", "members", "kind", "problem"),
    [
        (ArchiveLimits(student_members=3), {f"{i}.py": b"" for i in range(4)}, TooLarge, "past 3 files, counting archives inside archives"),
        (ArchiveLimits(student_bytes=1000), {"a.py": b"x" * 600, "b.py": b"y" * 600}, TooLarge, "past 0 MiB unpacked"),
        (ArchiveLimits(total_bytes=1000), {"a.py": b"x" * 600, "b.jpg": b"y" * 600}, ArchiveProblem, "unpacks to more than 0 MiB"),
        (ArchiveLimits(ratio=10, ratio_floor=100), {"a.py": b"\0" * 10_000}, ArchiveProblem, "member 'a.py' expands"),
    ],
    ids=["members", "budget", "declared", "ratio"],
)
def test_archive_limits(tmp_path: Path, limits: ArchiveLimits, members: dict[str, bytes], kind: type, problem: str) -> None:
    write_zip(tmp_path / "a.zip", members)
    budget = Budget(limits)
    with pytest.raises(ArchiveProblem, match=problem) as refused:
        extract(tmp_path / "a.zip", tmp_path / "out", budget)
    assert type(refused.value) is kind
    assert not (tmp_path / "out").exists()
    assert budget.mark() == (limits.student_members, limits.student_bytes)  # nothing of it was kept, so nothing is counted


def test_a_compressed_tar_is_judged_by_its_whole_ratio(tmp_path: Path) -> None:
    write_tar(tmp_path / "bomb.tar.gz", {"03_concurrency.py": b"\0" * (4 << 20)})
    with pytest.raises(ArchiveProblem, match=r"member '03_concurrency\.py' expands"):
        extract(tmp_path / "bomb.tar.gz", tmp_path / "out")
    write_tar(tmp_path / "ok.tar.gz", {"03_concurrency.py": REFERENCE})
    assert [p.name for p in extract(tmp_path / "ok.tar.gz", tmp_path / "ok")] == ["03_concurrency.py"]


def test_a_nested_zip_bomb_stops_at_the_students_budget_and_leaves_nothing(
    tmp_path: Path, kit: Kit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """About 11 KiB that unpack to 4 GiB over three levels of zips: the student's archives together stop at 50 MiB."""
    bomb = tmp_path / "bomber.zip"
    bomb.write_bytes(zip_bomb(16, 3))
    write_file(tmp_path / "bomber" / FILE, AWAIT)
    written: list[int] = []
    spend = Budget.spend
    monkeypatch.setattr(Budget, "spend", lambda budget, size: (written.append(size), spend(budget, size)))
    started = time.monotonic()
    located = locate(Student("bomber", entries=[tmp_path / "bomber", bomb]), list(kit.exercises), Reference(kit), tmp_path / "scratch")
    assert time.monotonic() - started < 5
    assert sum(written) <= (50 << 20) + (64 << 10)  # the chunk that would pass the budget is counted, not written
    assert located.oversized == [
        (f"bomber.zip: {bomb.stat().st_size >> 10} KiB received, which would take this student's archives past 50 MiB unpacked, "
        "counting archives inside archives (the limit for one student); nothing in it was graded")
    ]
    assert located.problems == [] and located.origins == {"03_concurrency": "bomber/03_concurrency.py"}
    assert not [p for p in (tmp_path / "scratch").rglob("*") if p.is_file()]


def test_members_are_counted_across_nested_archives(tmp_path: Path, kit: Kit) -> None:
    inner = zip_bytes({f"x{i}.py": b"" for i in range(6)})
    write_zip(tmp_path / "many.zip", {"a.zip": inner, "b.zip": inner, FILE: AWAIT})
    limits = ArchiveLimits(student_members=12)  # 3 + 6 fit; the second inner zip's 6 do not
    located = locate(Student("many", entries=[tmp_path / "many.zip"]), list(kit.exercises), Reference(kit), tmp_path / "scratch", limits)
    assert located.files == {} and located.problems == []
    assert located.oversized == [
        ("many.zip: 1 KiB received, which would take this student's archives past 12 files, counting archives inside archives "
        "(the limit for one student); nothing in it was graded")
    ]


def test_an_archive_over_the_budget_is_flagged_in_every_output(tmp_path: Path) -> None:
    write_file(tmp_path / "class" / "alice" / FILE, REFERENCE)
    (tmp_path / "class" / "bomber.zip").write_bytes(zip_bomb(16, 3))
    out = tmp_path / "out"
    code, output = grade("batch", tmp_path / "class", "-o", out, *CLASS_OPTIONS, "--archive-budget-mb", "20")
    assert code == 0, output
    assert (rows(out)["bomber"]["total"], rows(out)["bomber"]["flags"]) == ("0", "archive_too_large; no_exercise_files")
    assert students(out)["bomber"]["notes"][0].endswith("past 20 MiB unpacked, counting archives inside archives (the limit for one student); nothing in it was graded")
    assert "past 20 MiB unpacked" in (out / "feedback" / "bomber.md").read_text(encoding="utf-8")
    assert '<td class="flags" data-value="archive_too_large no_exercise_files">' in (out / "report.html").read_text(encoding="utf-8")
    assert not [p for p in (out / "work" / "bomber").rglob("*") if p.is_file()]


def test_zip_links_are_refused_and_only_useful_members_written(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("03_concurrency.py")
    link.external_attr = (0o120777 << 16)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr(link, "/etc/passwd")
    (tmp_path / "link.zip").write_bytes(buffer.getvalue())
    with pytest.raises(ArchiveProblem, match="is a link or a special file"):
        extract(tmp_path / "link.zip", tmp_path / "out")
    write_zip(tmp_path / "ok.zip", {"x/03_concurrency.py": STUB, "x/photo.jpg": b"\xff\xd8", "x/inner.zip": b"PK"})
    written = extract(tmp_path / "ok.zip", tmp_path / "ok")
    assert [p.relative_to(tmp_path / "ok").as_posix() for p in written] == ["x/03_concurrency.py", "x/inner.zip"]


@pytest.mark.parametrize(
    ("raw", "student", "name", "rest"),
    [
        ("Jane Doe_12345_assignsubmission_file_", "12345", "Jane Doe", ""),
        ("Jane Doe_12345_assignsubmission_file_03_x.py", "12345", "Jane Doe", "03_x.py"),
        ("doejane_12345_67890_03_x.py", "12345", "doejane", "03_x.py"),
        ("doejane_LATE_12345_67890_03_x-1.py", "12345", "doejane", "03_x-1.py"),
        ("Homework 1_jdoe_attempt_2024-05-01-10-00-00_03_x.py", "jdoe", "", "03_x.py"),
        ("submission_4242", "4242", "", ""),
    ],
)
def test_platform_names(raw: str, student: str, name: str, rest: str) -> None:
    parsed = parse_entry_name(raw)
    assert parsed is not None and (parsed.student, parsed.name, parsed.rest) == (student, name, rest)


def test_platform_names_carry_lateness_and_attempt_times() -> None:
    assert parse_entry_name("doejane_LATE_12345_67890_03_x.py") == EntryName("12345", "doejane", "03_x.py", late=True)
    assert parse_entry_name("HW1_jdoe_attempt_2024-05-01-10-00-00_03_x.py") == EntryName("jdoe", "", "03_x.py", stamp="2024-05-01-10-00-00")


def test_plain_names_are_no_platform() -> None:
    assert parse_entry_name("alice") is None
    assert parse_entry_name("03_concurrency.py") is None


def test_file_names_match_exercises(kit: Kit) -> None:
    specs = list(kit.exercises)
    spec = kit.exercise("03_concurrency")
    assert match_exercise("03_concurrency.py", specs) == (spec, True, 0)
    assert match_exercise("03_concurrency-2.py", specs) == (spec, False, 2)
    assert match_exercise("03_concurrency (1).py", specs) == (spec, False, 1)
    assert match_exercise("Jane Doe_1_assignsubmission_file_03_Concurrency.py", specs) == (spec, False, 0)
    assert match_exercise("notes.py", specs) is None
    assert match_exercise("03_concurrency.py.bak", specs) is None


def test_code_signature_sees_through_comments_docstrings_and_layout() -> None:
    disguised = REFERENCE.replace(b'"""', b'"""Copied. ', 1).replace(b"\n\n", b"\n\n\n") + b"\n# all my own work\n"
    assert code_signature(disguised) == code_signature(REFERENCE)
    assert code_signature(REFERENCE.replace(b"results = []", b"found = []")) != code_signature(REFERENCE)
    assert code_signature(b"def broken(:\n") != code_signature(b"def broken(:  \n")
