"""A generated class for the batch tests: 41 submissions as learning platforms export them.

Right, partly right (golden submissions of exercise 03, with known scores), broken,
hostile, and archives in every layout the finder must handle; each student comes with
the gradebook row it must produce when exercise 03 is graded. Only six distinct files
ever run (students with identical files share one grading), to keep the tests fast.
"""

from __future__ import annotations

import dataclasses
import io
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


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


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
    expected["carol"] = Expected(13, "failed", (shared("10001", "20001", "zack"),))
    # Moodle: a folder per student, named "Full Name_id_assignsubmission_file_".
    folder("Dan Brown_10001_assignsubmission_file_", {FILE: HARD})
    expected["10001"] = Expected(13, "failed", (shared("20001", "carol", "zack"),), "Dan Brown")
    write_file(root / "Eve Adams_10002_assignsubmission_file_" / "my_work.zip", zip_bytes({f"hw/{FILE}": AWAIT}))
    expected["10002"] = Expected(14, "failed", (shared("bob", "kate", "leo"),), "Eve Adams")
    # Canvas: loose files "login_userid_submissionid_name", resubmissions suffixed -1.
    write_file(root / f"frankw_20001_30001_{FILE}", HARD)
    expected["20001"] = Expected(13, "failed", (shared("10001", "carol", "zack"),), "frankw")
    write_file(root / f"gracek_20002_30002_{FILE}", HARD)
    write_file(root / "gracek_20002_30003_03_concurrency-1.py", ALTERNATIVE)
    expected["20002"] = Expected(20, "passed", (shared("ivan", "yara"),), "gracek")
    write_zip(root / "heidil_late_20003_30004_submission.zip", {FILE: REFERENCE})
    expected["20003"] = Expected(20, "passed", (REFERENCE_FLAG,), "heidil")
    # Blackboard: "Assignment_login_attempt_date_file", with a receipt that belongs to no exercise.
    write_file(root / f"HW1_ivan_attempt_2024-05-01-10-00-00_{FILE}", ALTERNATIVE)
    write_file(root / "HW1_ivan_attempt_2024-05-01-10-00-00.txt", b"Name: Ivan\n")
    expected["ivan"] = Expected(20, "passed", (shared("20002", "yara"),))
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
    expected["victor"] = Expected(0, "failed", ("imports_reference:03_concurrency",))
    # An archive inside an archive; and one student who sent a folder and a zip.
    write_zip(root / "yara.zip", {"inner.zip": zip_bytes({FILE: ALTERNATIVE})})
    expected["yara"] = Expected(20, "passed", (shared("20002", "ivan"),))
    folder("zack", {FILE: HARD})
    write_zip(root / "zack.zip", {FILE: ALTERNATIVE})
    expected["zack"] = Expected(13, "failed", (shared("10001", "20001", "carol"),))
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
