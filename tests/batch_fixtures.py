"""Generated classes for the batch tests, as learning platforms export them.

``make_class``: 41 submissions, right, partly right (golden submissions of exercise 03,
with known scores), broken, hostile, and archives in every layout the finder must
handle; each student comes with the gradebook row it must produce when exercise 03 is
graded. Only a few distinct files ever run (students with identical files share one
grading), to keep the tests fast.

``make_deadline_class``: the teacher's deadline night, exercises 03 to 05: names that
only look like an exercise's, archives the grader cannot open, resubmissions, late work,
a GitHub "Download ZIP", a spreadsheet formula for a name, a near-copy; each student with
the row, flags and notes they must get, every file with the time a platform recorded.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import os
import tarfile
import zipfile
from pathlib import Path

from .conftest import GOLDEN, ROOT

FILE = "03_concurrency.py"
REFERENCE = (ROOT / "solutions" / FILE).read_bytes()
STUB = (ROOT / "exercises" / FILE).read_bytes()
ALTERNATIVE = (GOLDEN / "03_concurrency" / "gather_of_awaited" / FILE).read_bytes()
AWAIT = (GOLDEN / "03_concurrency" / "await_in_loop" / FILE).read_bytes()
HARD = (GOLDEN / "03_concurrency" / "hard_coded" / FILE).read_bytes()
BROKEN = b"import asyncio\n\nasync def run_sequentially(worker, jobs:\n    return []\n"
EXITS = b"import os\n\nos._exit(0)\n"
LOOPS = b"import time\n\nwhile True:\n    time.sleep(0.05)\n"
IMPORTS = b"import solutions\n" + ALTERNATIVE
MACOS_JUNK = b"\x00\x05\x16\x07\x00\x02\x00\x00Mac OS X        "

REFERENCE_FLAG = "identical_to_reference:03_concurrency"
REJECTED = ["archive_rejected", "no_exercise_files"]


@dataclasses.dataclass(frozen=True)
class Expected:
    """The gradebook row a student must get: total, status of exercise 03, flags, name."""

    total: float
    status: str
    flags: tuple[str, ...] = ()
    name: str = ""


def shared(*others: str) -> str:
    return f"shared:03_concurrency({','.join(others)})"


def similar(*others: str) -> str:
    return f"similar:03_concurrency({','.join(others)})"


BASE = datetime.datetime(2024, 5, 3, 8, 0, tzinfo=datetime.UTC)  # every file's time, unless a case needs another


def write_zip(path: Path, members: dict[str, bytes], when: datetime.datetime = BASE) -> None:
    path.write_bytes(zip_bytes(members, when))


def zip_bytes(members: dict[str, bytes], when: datetime.datetime = BASE) -> bytes:
    """A zip whose members all carry the time ``when`` (zips record it without a zone: read back as UTC)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(zipfile.ZipInfo(name, when.timetuple()[:6]), data, zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def zip_folder(folder: Path, target: Path) -> None:
    """Zip ``folder``'s contents as a platform's export: each file with its own time."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            moment = datetime.datetime.fromtimestamp(path.stat().st_mtime, datetime.UTC)
            bundle.writestr(zipfile.ZipInfo(path.relative_to(folder).as_posix(), moment.timetuple()[:6]), path.read_bytes())


def set_time(path: Path, when: datetime.datetime) -> None:
    os.utime(path, (when.timestamp(), when.timestamp()))


def write_tar(path: Path, members: dict[str, bytes], mode: str = "w:gz", links: dict[str, str] | None = None) -> None:
    with tarfile.open(path, mode) as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            bundle.addfile(info)


def write_file(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def make_class(root: Path) -> dict[str, Expected]:
    """Write the class into ``root`` (created); the expected row of every student, by id."""
    root.mkdir(parents=True)
    expected: dict[str, Expected] = {}

    def folder(entry: str, files: dict[str, bytes]) -> None:
        for name, data in files.items():
            write_file(root / entry / name, data)

    folder("alice", {FILE: REFERENCE})
    expected["alice"] = Expected(20, "passed", (REFERENCE_FLAG,))
    write_zip(root / "bob.zip", {f"bob/{FILE}": AWAIT, f"__MACOSX/bob/._{FILE}": MACOS_JUNK})
    expected["bob"] = Expected(14, "failed", (shared("10002", "kate", "leo"),))
    write_tar(root / "carol.tar.gz", {f"carol/src/deep/nested/exercises/{FILE}": HARD})
    expected["carol"] = Expected(13, "failed", (shared("10001", "20001"),))
    # Moodle: a folder per student, named "Full Name_id_assignsubmission_file_".
    folder("Dan Brown_10001_assignsubmission_file_", {FILE: HARD})
    expected["10001"] = Expected(13, "failed", (shared("20001", "carol"),), "Dan Brown")
    write_file(root / "Eve Adams_10002_assignsubmission_file_" / "my_work.zip", zip_bytes({f"hw/{FILE}": AWAIT}))
    expected["10002"] = Expected(14, "failed", (shared("bob", "kate", "leo"),), "Eve Adams")
    # Canvas: loose files "login_userid_submissionid_name", resubmissions suffixed -1.
    write_file(root / f"frankw_20001_30001_{FILE}", HARD)
    expected["20001"] = Expected(13, "failed", (shared("10001", "carol"),), "frankw")
    write_file(root / f"gracek_20002_30002_{FILE}", HARD)
    write_file(root / "gracek_20002_30003_03_concurrency-1.py", ALTERNATIVE)
    expected["20002"] = Expected(20, "passed", ("multiple_versions", shared("ivan", "yara", "zack"), similar("victor")), "gracek")
    write_zip(root / "heidil_late_20003_30004_submission.zip", {FILE: REFERENCE})
    expected["20003"] = Expected(20, "passed", (REFERENCE_FLAG, "late"), "heidil")  # Canvas marked it late
    # Blackboard: "Assignment_login_attempt_date_file", with a receipt that belongs to no exercise.
    write_file(root / f"HW1_ivan_attempt_2024-05-01-10-00-00_{FILE}", ALTERNATIVE)
    write_file(root / "HW1_ivan_attempt_2024-05-01-10-00-00.txt", b"Name: Ivan\n")
    expected["ivan"] = Expected(20, "passed", (shared("20002", "yara", "zack"), similar("victor")))
    # Gradescope: "submission_id" folders.
    folder("submission_40001", {FILE: REFERENCE})
    expected["40001"] = Expected(20, "passed", (REFERENCE_FLAG,))
    # GitHub Classroom: a whole repository, with the kit's solutions and golden files in it.
    folder(
        "asyncio-hw-judy",
        {
            f"exercises/{FILE}": STUB,
            f"solutions/{FILE}": REFERENCE,
            f"tests/golden/03_concurrency/hard_coded/{FILE}": HARD,
            "README.md": b"# asynclings\n",
        },
    )
    expected["asyncio-hw-judy"] = Expected(0, "not_started")
    folder("kate", {FILE: AWAIT})
    expected["kate"] = Expected(14, "failed", (shared("10002", "bob", "leo"),))
    write_tar(root / "leo.tgz", {f"leo/{FILE}": AWAIT})
    expected["leo"] = Expected(14, "failed", (shared("10002", "bob", "kate"),))
    # Hostile archives: each is refused for its student, and the batch goes on.
    write_zip(root / "mallory.zip", {"../../evil.py": b"print('escaped')\n", FILE: REFERENCE})
    expected["mallory"] = Expected(0, "error", tuple(REJECTED))
    write_zip(root / "nina.zip", {FILE: b"#" * (20 << 20)})
    expected["nina"] = Expected(0, "error", tuple(REJECTED))
    write_zip(root / "oscar.zip", {})
    expected["oscar"] = Expected(0, "error", tuple(REJECTED))
    write_file(root / "pat.zip", b"PK\x03\x04 this is not really a zip file")
    expected["pat"] = Expected(0, "error", tuple(REJECTED))
    write_tar(root / "walter.tar.gz", {}, links={FILE: "/etc/passwd"})
    expected["walter"] = Expected(0, "error", tuple(REJECTED))
    write_tar(root / "xena.tar", {f"/tmp/{FILE}": REFERENCE}, mode="w")
    expected["xena"] = Expected(0, "error", tuple(REJECTED))
    # Broken, missing, untouched, hostile code.
    folder("quinn", {FILE: BROKEN})
    expected["quinn"] = Expected(0, "error")
    folder("rita", {"README.md": b"I did it on paper\n", "notes.py": b"x = 1\n"})
    expected["rita"] = Expected(0, "error", ("no_exercise_files",))
    folder("sam", {f"exercises/{FILE}": STUB})
    expected["sam"] = Expected(0, "not_started")
    folder("trent", {FILE: EXITS})
    expected["trent"] = Expected(0, "failed", ("sandbox:03_concurrency",))
    folder("uma", {FILE: LOOPS})
    expected["uma"] = Expected(0, "failed", ("timeout:03_concurrency",))
    folder("victor", {FILE: IMPORTS})
    # The import aside, the same code as four others': a near-copy.
    expected["victor"] = Expected(0, "failed", ("imports_reference:03_concurrency", similar("20002", "ivan", "yara", "zack")))
    # An archive inside an archive; and one student who sent a folder, then a zip: the zip is graded.
    write_zip(root / "yara.zip", {"inner.zip": zip_bytes({FILE: ALTERNATIVE})})
    expected["yara"] = Expected(20, "passed", (shared("20002", "ivan", "zack"), similar("victor")))
    folder("zack", {FILE: HARD})
    write_zip(root / "zack.zip", {FILE: ALTERNATIVE})
    expected["zack"] = Expected(20, "passed", ("multiple_versions", shared("20002", "ivan", "yara"), similar("victor")))
    # The rest of the class, in rotating layouts: half the reference, half untouched stubs.
    layouts = ("folder", "zip", "tar", "macos", "nested")
    for number in range(1, 15):
        student = f"s{number:02d}"
        data = REFERENCE if number % 2 else STUB
        layout = layouts[number % len(layouts)]
        if layout == "folder":
            write_file(root / student / FILE, data)
        elif layout == "zip":
            write_zip(root / f"{student}.zip", {f"{student}/{FILE}": data})
        elif layout == "tar":
            write_tar(root / f"{student}.tar.gz", {f"{student}/work/{FILE}": data})
        elif layout == "macos":
            write_zip(root / f"{student}.zip", {FILE: data, f"__MACOSX/._{FILE}": MACOS_JUNK, ".DS_Store": b"\0"})
        else:
            write_file(root / student / "a" / "b" / "c" / FILE, data)
        expected[student] = Expected(20, "passed", (REFERENCE_FLAG,)) if number % 2 else Expected(0, "not_started")
    write_file(root / "__MACOSX" / "._alice", MACOS_JUNK)
    write_file(root / ".DS_Store", b"\0")
    write_file(root / "readme.txt", b"exported from the course page\n")
    for path in root.rglob("*"):
        set_time(path, BASE)
    set_time(root / "zack.zip", BASE + datetime.timedelta(hours=1))
    return expected


IGNORED = ["HW1_ivan_attempt_2024-05-01-10-00-00.txt", "readme.txt"]


def zip_bomb(fan_out: int, levels: int, member_bytes: int = 1 << 20) -> bytes:
    """A zip of ``fan_out`` zips of … (``levels`` deep) of ``fan_out`` files of zeros, each ``member_bytes``.

    Small on disk, ``fan_out ** levels * member_bytes`` once every level is unpacked. Each
    member is at most 1 MiB, so no single member looks like a bomb by its ratio, and no
    single archive declares much: only the student's total gives it away.
    """
    data = zip_bytes({f"pad_{i:03d}.py": bytes(member_bytes) for i in range(fan_out)})
    for level in range(1, levels):
        data = zip_bytes({f"level{level}_{i:03d}.zip": data for i in range(fan_out)})
    return data


# The deadline night: exercises 03 to 05 (60 points), due at 09:00, 10% of the maximum per started day late.

DUE = "2024-05-03T09:00:00+00:00"
PENALTY = "10%/day"
DEADLINE_OPTIONS = ["-e", "03", "-e", "04", "-e", "05", "--timeout", "2", "--due", DUE, "--late-penalty", PENALTY]
EXERCISES = ("03_concurrency", "04_monitoring", "05_queues")
REFERENCE_4 = (ROOT / "solutions" / "04_monitoring.py").read_bytes()
REFERENCE_5 = (ROOT / "solutions" / "05_queues.py").read_bytes()
STUB_4 = (ROOT / "exercises" / "04_monitoring.py").read_bytes()
STUB_5 = (ROOT / "exercises" / "05_queues.py").read_bytes()


def golden(exercise: str, scenario: str) -> bytes:
    return (GOLDEN / exercise / scenario / f"{exercise}.py").read_bytes()


# Right answers (20 points each) that differ from each other: no two students share code by accident.
TASKGROUP, ENSURE, AS_COMPLETED = golden("03_concurrency", "taskgroup"), golden("03_concurrency", "ensure_future"), golden("03_concurrency", "as_completed_reordered")
WAIT, GATHER, HELPER = golden("03_concurrency", "asyncio_wait"), golden("03_concurrency", "gather_coroutines"), golden("03_concurrency", "helper_with_prints")
RIGHT_4, HELPERS_4 = golden("04_monitoring", "right_taskgroup"), golden("04_monitoring", "right_helpers_and_prints")
QUEUE_4, FIRST_4 = golden("04_monitoring", "right_queue_of_results"), golden("04_monitoring", "right_wait_first_completed")
RIGHT_5, SENTINELS_5 = golden("05_queues", "join_and_cancel"), golden("05_queues", "taskgroup_sentinels")
BUSY = b"while True:\n    pass\n"
SYS_EXIT = b"import sys\n\nsys.exit(0)\n"
# TASKGROUP with every name changed, comments added, and its functions and imports in another order.
DISGUISED = (
    b"import time\nimport asyncio\nfrom collections.abc import Awaitable, Callable\n\nJob = Callable[[str, float], Awaitable[str]]\n\n\n"
    b"async def worker(name: str, delay: float) -> str:\n    print(f\"{name}: started\")\n    await asyncio.sleep(delay)\n"
    b"    print(f\"{name}: finished after {delay} s\")\n    return f\"{name} done\"\n\n\n"
    b"async def run_concurrently(job, todo):\n    # all of them at once\n    async with asyncio.TaskGroup() as tg:\n"
    b"        started = [tg.create_task(job(label, pause)) for label, pause in todo]\n    return [t.result() for t in started]\n\n\n"
    b"async def run_sequentially(job, todo):\n    # one by one\n    out = []\n    for label, pause in todo:\n"
    b"        out.append(await job(label, pause))\n    return out\n"
)
ROSTER = "id;name;email\n" + "".join(
    f"{student};{name};{student.strip('=-@')}@example.org\n"
    for student, name in [
        ("alma", "Alma Ruiz"), ("bruno", "Bruno Díaz"), ("carlos", "Carlos Peña"), ("dina", "Dina Öz"), ("elif", "Elif Şahin"),
        ("fay", "Fay Ng"), ("trent", "Trent Oak"), ("zora", "Zoë Åström"), ("30001", "Greta Holm"), ("40001", "Hugo Blanc"),
        ("ines", "Inès Roy"), ("jules", "Jules Verne"), ("kim", "Kim Lee"), ("=SUM(1+1)", "@Lena Ek"), ("-mo", "Mo Adé"),
        ("nils", "Nils Berg"), ("olga", "Olga Ivanova"), ("pia", "Pia Kahn"), ("quim", "Quim Puig"), ("ulla", "Ulla Saari"),
    ]
)  # fmt: skip
OVERRIDES_DEADLINE = "student,exercise,points,reason\nkim,03,20,explained it in an oral exam\n"


@dataclasses.dataclass(frozen=True)
class Row:
    """The gradebook row a student of the deadline class must get."""

    total: float
    scores: tuple[float, float, float]  # 03, 04, 05 after overrides
    statuses: tuple[str, str, str]
    flags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    late: bool = False
    audit: tuple[str, ...] = ()


def at(hour: int, minute: int = 0, day: int = 3) -> datetime.datetime:
    return datetime.datetime(2024, 5, day, hour, minute, tzinfo=datetime.UTC)


def make_deadline_class(root: Path) -> tuple[dict[str, Row], dict[str, Row]]:
    """Write the class into ``root`` (created); the rows it must give, and those it must give with --lenient-names."""
    root.mkdir(parents=True)
    times: dict[Path, datetime.datetime] = {}

    def put(relative: str, data: bytes, when: datetime.datetime = BASE) -> None:
        write_file(root / relative, data)
        times[root / relative] = when

    def put_zip(relative: str, members: dict[str, bytes], when: datetime.datetime = BASE) -> None:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        write_zip(root / relative, members, when)
        times[root / relative] = when

    rows: dict[str, Row] = {}
    sideline = "not graded (rename it to {file}, or grade with --lenient-names)"

    def unmatched(name: str, exercise: str) -> str:
        return f"unmatched: {name} — looks like {exercise}; " + sideline.format(file=f"{exercise}.py")

    # A GitHub "Download ZIP": the repository with its solutions and golden files, the work in exercises/.
    repo = "asynclings-main"
    put_zip(
        "alma.zip",
        {
            f"{repo}/exercises/{FILE}": ALTERNATIVE, f"{repo}/exercises/04_monitoring.py": RIGHT_4, f"{repo}/exercises/05_queues.py": STUB_5,
            f"{repo}/solutions/{FILE}": REFERENCE, f"{repo}/solutions/04_monitoring.py": REFERENCE_4, f"{repo}/solutions/05_queues.py": REFERENCE_5,
            f"{repo}/tests/golden/03_concurrency/hard_coded/{FILE}": HARD, f"{repo}/README.md": b"# asynclings\n",
        },
    )  # fmt: skip
    rows["alma"] = Row(
        40, (20, 20, 0), ("passed", "passed", "not_started"), ("shared:03_concurrency(bruno,trent)",),
        (
            f"not graded: alma.zip:{repo}/solutions holds copies of the reference solutions",
            f"03_concurrency.py: graded alma.zip:{repo}/exercises/03_concurrency.py; also found alma.zip:{repo}/tests/golden/03_concurrency/hard_coded/03_concurrency.py",
        ),
    )  # fmt: skip
    # Names as browsers and careless hands give them, in nested folders.
    put("bruno/03_concurrency (1).py", ALTERNATIVE)
    put("bruno/work/final/04_monitoring.py", REFERENCE_4)
    put("bruno/05_QUEUES.PY", RIGHT_5)
    rows["bruno"] = Row(60, (20, 20, 20), ("passed", "passed", "passed"), ("identical_to_reference:04_monitoring", "shared:03_concurrency(alma,trent)"))
    # An archive the grader cannot open.
    put("carlos.rar", b"Rar!\x1a\x07\x00" + bytes(2000))
    rows["carlos"] = Row(
        0, (0, 0, 0), ("error", "error", "error"), ("archive_rejected", "no_exercise_files"),
        (
            "carlos.rar: 1 KiB received, a RAR archive, which the grader cannot open; nothing in it was graded (ask for a .zip)",
            "no exercise files found in carlos.rar",
        ),
    )  # fmt: skip
    # Names that only look like the exercises': reported, and graded only with --lenient-names.
    put("dina/03-concurrency.py", ENSURE)
    put("dina/04_monitoring.py", HELPERS_4)
    put("dina/05_queue.py", SENTINELS_5)
    rows["dina"] = Row(
        20, (0, 20, 0), ("error", "passed", "error"), ("unmatched:03_concurrency", "unmatched:05_queues"),
        (unmatched("dina/03-concurrency.py", "03_concurrency"), unmatched("dina/05_queue.py", "05_queues")),
    )  # fmt: skip
    put("elif/03_concurrency.py.txt", AWAIT)
    put("elif/4_monitoring.py", QUEUE_4)
    rows["elif"] = Row(
        0, (0, 0, 0), ("error", "error", "error"), ("unmatched:03_concurrency", "unmatched:04_monitoring"),
        (unmatched("elif/03_concurrency.py.txt", "03_concurrency"), unmatched("elif/4_monitoring.py", "04_monitoring")),
    )  # fmt: skip
    put("fay/03_concurrency.py", HARD)
    put("fay/Exercise4.py", FIRST_4)
    rows["fay"] = Row(13, (13, 0, 0), ("failed", "error", "error"), ("unmatched:04_monitoring",), (unmatched("fay/Exercise4.py", "04_monitoring"),))
    # Resubmissions: a browser's second download, a later zip beside a folder, three zips in a Moodle folder.
    put_zip("trent.zip", {FILE: HARD}, at(7))
    put_zip("trent (2).zip", {FILE: ALTERNATIVE}, at(7))
    rows["trent"] = Row(
        20, (20, 0, 0), ("passed", "error", "error"), ("multiple_versions", "shared:03_concurrency(alma,bruno)"),
        ("03_concurrency.py: graded trent (2).zip:03_concurrency.py, the highest resubmission number (2); set aside trent.zip:03_concurrency.py (2024-05-03 07:00:00 UTC)",),
    )  # fmt: skip
    put("zora/03_concurrency.py", HARD, at(7))
    put_zip("zora.zip", {FILE: REFERENCE}, at(8, 30))
    rows["zora"] = Row(
        20, (20, 0, 0), ("passed", "error", "error"), ("identical_to_reference:03_concurrency", "multiple_versions"),
        ("03_concurrency.py: graded zora.zip:03_concurrency.py, the newest upload (2024-05-03 08:30:00 UTC); set aside zora/03_concurrency.py (2024-05-03 07:00:00 UTC)",),
    )  # fmt: skip
    moodle = "Greta Holm_30001_assignsubmission_file_"
    put_zip(f"{moodle}/hw.zip", {FILE: BROKEN, "04_monitoring.py": STUB_4}, at(6))
    put_zip(f"{moodle}/hw_v2.zip", {FILE: AWAIT}, at(7))
    put_zip(f"{moodle}/hw_final.zip", {f"hw/{FILE}": AS_COMPLETED, "hw/04_monitoring.py": REFERENCE_4}, at(8))
    rows["30001"] = Row(
        40, (20, 20, 0), ("passed", "passed", "error"), ("identical_to_reference:04_monitoring", "multiple_versions"),
        (
            (f"03_concurrency.py: graded {moodle}/hw_final.zip:hw/03_concurrency.py, the newest upload (2024-05-03 08:00:00 UTC); "
            f"set aside {moodle}/hw_v2.zip:03_concurrency.py (2024-05-03 07:00:00 UTC), {moodle}/hw.zip:03_concurrency.py (2024-05-03 06:00:00 UTC)"),
            (f"04_monitoring.py: graded {moodle}/hw_final.zip:hw/04_monitoring.py, the newest upload (2024-05-03 08:00:00 UTC); "
            f"set aside {moodle}/hw.zip:04_monitoring.py (2024-05-03 06:00:00 UTC)"),
        ),
    )  # fmt: skip
    # Late: Canvas's mark, a later Blackboard attempt, a file time after the due date.
    put(f"hugo_LATE_40001_50001_{FILE}", WAIT)
    rows["40001"] = Row(
        14, (20, 0, 0), ("passed", "error", "error"), ("late",), late=True,
        audit=("total 20->14: late penalty (10%/day): marked late by the platform; how late is unknown, so it counts as one day",),
    )  # fmt: skip
    put(f"HW3_ines_attempt_2024-05-03-07-00-00_{FILE}", HARD)
    put(f"HW3_ines_attempt_2024-05-03-10-30-00_{FILE}", GATHER)
    rows["ines"] = Row(
        14, (20, 0, 0), ("passed", "error", "error"), ("late", "multiple_versions"),
        (
            (f"03_concurrency.py: graded HW3_ines_attempt_2024-05-03-10-30-00_{FILE}, the latest attempt (2024-05-03 10:30:00 UTC); "
            f"set aside HW3_ines_attempt_2024-05-03-07-00-00_{FILE} (2024-05-03 07:00:00 UTC)"),
        ),
        late=True,
        audit=("total 20->14: late penalty (10%/day): submitted 2024-05-03 10:30:00 UTC, 1 h 30 min after the due date 2024-05-03 09:00:00 UTC; 1 started day",),
    )  # fmt: skip
    put(f"jules/{FILE}", HELPER, at(10, day=4))
    rows["jules"] = Row(
        8, (20, 0, 0), ("passed", "error", "error"), ("late",), late=True,
        audit=("total 20->8: late penalty (10%/day): submitted 2024-05-04 10:00:00 UTC, 1 d 1 h after the due date 2024-05-03 09:00:00 UTC; 2 started days",),
    )  # fmt: skip
    # An override on a file that does not compile: the row says overridden, not error beside 20 points.
    put(f"kim/{FILE}", BROKEN)
    rows["kim"] = Row(
        20, (20, 0, 0), ("overridden", "error", "error"),
        audit=("03_concurrency 0->20: explained it in an oral exam (overrides.csv:2)",),
    )  # fmt: skip
    # Text a spreadsheet would run: a folder named like a formula, an archive whose name starts with "-".
    put(f"=SUM(1+1)/{FILE}", STUB)
    rows["=SUM(1+1)"] = Row(0, (0, 0, 0), ("not_started", "error", "error"))
    put_zip("-mo.zip", {})
    rows["-mo"] = Row(
        0, (0, 0, 0), ("error", "error", "error"), ("archive_rejected", "no_exercise_files"),
        ("-mo.zip: the archive is empty", "no exercise files found in -mo.zip"),
    )  # fmt: skip
    # Stopped by the time limit (a busy loop at import) and by a refused action (sys.exit at import).
    put(f"nils/{FILE}", BUSY)
    rows["nils"] = Row(0, (0, 0, 0), ("failed", "error", "error"), ("timeout:03_concurrency",))
    put(f"olga/{FILE}", SYS_EXIT)
    rows["olga"] = Row(0, (0, 0, 0), ("failed", "error", "error"), ("sandbox:03_concurrency",))
    # A near-copy: the same code with other names, comments and order.
    put(f"pia/{FILE}", TASKGROUP)
    put(f"quim/{FILE}", DISGUISED)
    rows["pia"] = Row(20, (20, 0, 0), ("passed", "error", "error"), ("similar:03_concurrency(quim)",))
    rows["quim"] = Row(20, (20, 0, 0), ("passed", "error", "error"), ("similar:03_concurrency(pia)",))
    rows["ulla"] = Row(0, (0, 0, 0), ("missing", "missing", "missing"), ("no_submission",))
    for path in root.rglob("*"):
        set_time(path, times.get(path, BASE))
    lenient = dict(rows)
    lenient["dina"] = Row(
        60, (20, 20, 20), ("passed", "passed", "passed"), ("renamed:03_concurrency", "renamed:05_queues"),
        (
            "graded dina/03-concurrency.py as 03_concurrency.py: its name only looks like 03_concurrency's (--lenient-names)",
            "graded dina/05_queue.py as 05_queues.py: its name only looks like 05_queues's (--lenient-names)",
        ),
    )  # fmt: skip
    lenient["elif"] = Row(
        34, (14, 20, 0), ("failed", "passed", "error"), ("renamed:03_concurrency", "renamed:04_monitoring"),
        (
            "graded elif/03_concurrency.py.txt as 03_concurrency.py: its name only looks like 03_concurrency's (--lenient-names)",
            "graded elif/4_monitoring.py as 04_monitoring.py: its name only looks like 04_monitoring's (--lenient-names)",
        ),
    )  # fmt: skip
    lenient["fay"] = Row(
        33, (13, 20, 0), ("failed", "passed", "error"), ("renamed:04_monitoring",),
        ("graded fay/Exercise4.py as 04_monitoring.py: its name only looks like 04_monitoring's (--lenient-names)",),
    )  # fmt: skip
    return rows, lenient
