"""Find each student's exercise files in a folder of submissions, as platforms export them.

Every entry of the submissions folder belongs to one student: a folder, an archive (one
the grader cannot open too: it is reported, not dropped), or a loose file whose name
carries the platform's prefix (see :mod:`grader.batch.export_names`). Inside, the exercise
files are looked for at any depth, in archives within archives; which file is which
exercise, and which of several versions is graded, is decided by
:mod:`grader.batch.matching`, the same rules ``grade PATH`` follows.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import shutil
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from grader.batch.archives import (
    UNSUPPORTED,
    ArchiveLimits,
    ArchiveProblem,
    Budget,
    TooLarge,
    archive_stem,
    extract,
    is_archive,
    unsupported_archive,
)
from grader.batch.export_names import EntryName, duplicate_number, parse_entry_name
from grader.batch.flags import Reference, code_signature
from grader.batch.matching import (
    Candidate,
    Upload,
    choose,
    exercise_number,
    junk,
    looks_like,
    match_exercise,
    walk,
)
from grader.batch.roster import Roster
from grader.kit import ExerciseSpec
from grader.submission import MAX_FILE_BYTES

MAX_NESTING = 3  # an archive inside an archive inside an archive, and no deeper
LOOSE = "(loose files)"
LINK_SKIPPED = "{where}: a link, not followed"
OVERSIZED = "{upload}: {size} received, which {problem}; nothing in it was graded"


@dataclasses.dataclass
class Student:
    """One student's part of the submissions folder, and what the platforms' names said about it."""

    id: str
    name: str = ""
    entries: list[Path] = dataclasses.field(default_factory=list)
    loose: list[tuple[Path, str]] = dataclasses.field(default_factory=list)
    marks: dict[str, EntryName] = dataclasses.field(default_factory=dict)  # by entry name

    @property
    def sources(self) -> list[str]:
        return sorted([p.name for p in self.entries] + [p.name for p, _ in self.loose])

    @property
    def marked_late(self) -> bool:
        """Whether the platform marked an upload late (Canvas's ``_LATE_``)."""
        return any(mark.late for mark in self.marks.values())


@dataclasses.dataclass
class Discovery:
    students: list[Student]
    ignored: list[str]


@dataclasses.dataclass
class Located:
    """The files chosen for grading, where each came from, what was noticed, and archives refused.

    ``oversized`` says which uploads were refused whole for passing the student's archive
    budget, ``problems`` which archives were refused for anything else; ``flags`` what the
    choice of files shows (several versions, names that only look like an exercise's), and
    ``submitted`` when the newest upload graded was recorded.
    """

    files: dict[ExerciseSpec, Path] = dataclasses.field(default_factory=dict)
    origins: dict[str, str] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    oversized: list[str] = dataclasses.field(default_factory=list)
    flags: list[str] = dataclasses.field(default_factory=list)
    submitted: datetime.datetime | None = None


def discover(root: Path, roster: Roster | None = None, skip: Path | None = None) -> Discovery:
    """Group the entries of ``root`` by student; entries that belong to nobody are listed as ignored.

    ``skip`` is a folder that is never a submission (the batch's own output, if it lies inside).
    """
    students: dict[str, Student] = {}
    ignored: list[str] = []
    for entry in sorted(root.iterdir()):
        if junk(entry.name) or (skip is not None and entry.resolve() == skip.resolve()):
            continue
        usable = not entry.is_symlink() and (entry.is_dir() or is_archive(entry) or bool(unsupported_archive(entry)))
        raw = duplicate_number(archive_stem(entry.name) if usable else entry.name)[0]
        parsed = parse_entry_name(raw)
        loose = not usable and entry.is_file() and not entry.is_symlink() and parsed is not None and bool(parsed.rest)
        if not usable and not loose:
            ignored.append(entry.name)
            continue
        candidate, name = (parsed.student, parsed.name) if parsed else (raw, "")
        student_id = roster.resolve(candidate, raw) if roster else candidate
        student = students.setdefault(student_id, Student(student_id))
        student.name = student.name or name
        if parsed:
            student.marks[entry.name] = parsed
        if loose:
            assert parsed is not None
            student.loose.append((entry, parsed.rest))
        else:
            student.entries.append(entry)
    return Discovery(sorted(students.values(), key=lambda s: s.id), ignored)


def locate(
    student: Student,
    specs: list[ExerciseSpec],
    reference: Reference,
    scratch: Path,
    limits: ArchiveLimits | None = None,
    lenient: bool = False,
) -> Located:
    """Unpack the student's archives into ``scratch`` and choose one file per exercise.

    ``lenient`` lets files whose names only look like an exercise's compete with the others.
    """
    scanner = _Scanner(specs, scratch, limits or ArchiveLimits())
    for entry in student.entries:
        mark = student.marks.get(entry.name, EntryName(student.id))
        if entry.is_dir():
            scanner.scan(entry, entry.name + "/", depth=0, upload=None, stamp=mark.stamp, version=duplicate_number(entry.name)[1])
        else:
            upload = Upload(entry.name, _time(entry), mark.stamp, duplicate_number(archive_stem(entry.name))[1])
            scanner.unpack(entry, entry.name, depth=0, upload=upload)
    for path, name in student.loose:
        match = match_exercise(name, specs)
        upload = Upload(path.name, _time(path), student.marks[path.name].stamp, match[2] if match else 0)
        scanner.consider(path, name, path.name, LOOSE, upload, 0)
    chosen = choose(scanner.candidates, scanner.near, specs, scanner.weights(), _reference_test(reference), lenient)
    return Located(
        files=chosen.files,
        origins=chosen.origins,
        notes=scanner.notes + chosen.notes,
        problems=scanner.problems,
        oversized=scanner.oversized,
        flags=chosen.flags,
        submitted=max((upload.when() for upload in chosen.uploads), default=None),
    )


def materialise(located: Located, folder: Path) -> dict[str, bytes]:
    """Copy the chosen files into ``folder`` under the kit's names; their digests, by exercise id."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    digests = {}
    for spec, path in located.files.items():
        target = folder / spec.file
        shutil.copyfile(path, target)
        with target.open("rb") as stream:
            digests[spec.id] = hashlib.file_digest(stream, "sha256").digest()
    return digests


class _Scanner:
    """Walks folders and unpacks archives, collecting candidates, notes and problems.

    All of a student's archives share one :class:`Budget`. An upload whose archives (it,
    and those inside it) would pass it is refused whole: what was extracted from it is
    removed, and nothing found in it is graded. Each archive met in a student's folder is
    an upload of its own; the folder's other files are one more.
    """

    def __init__(self, specs: list[ExerciseSpec], scratch: Path, limits: ArchiveLimits) -> None:
        self.specs = specs
        self.scratch = scratch
        self.budget = Budget(limits)
        self.unpacked = 0  # archives extracted, each into scratch/archive-N
        self.within = False  # scanning what an archive held
        self.candidates: list[Candidate] = []
        self.near: list[Candidate] = []
        self.numbers: dict[str, set[str]] = defaultdict(set)  # exercise numbers of the files in each folder
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.oversized: list[str] = []

    def weights(self) -> dict[str, int]:
        return {folder: len(numbers) for folder, numbers in self.numbers.items()}

    def scan(self, folder: Path, shown: str, depth: int, upload: Upload | None, stamp: str = "", version: int = 0) -> None:
        """Look through ``folder``; ``upload`` is the archive it was unpacked from (``None``: a student's own folder)."""
        files = list(walk(folder))
        # A student's folder: its own files, not its archives, were handed in together.
        own = upload or Upload(shown, max((_time(p) for p, _, _ in files if not p.is_symlink() and not is_archive(p)), default=0), stamp, version)
        for path, relative, level in files:
            prefix = shown if relative == "." else f"{shown}{relative}/"
            name = path.name
            if path.is_symlink():
                if match_exercise(name, self.specs) or is_archive(path) or looks_like(name, self.specs):
                    self.notes.append(LINK_SKIPPED.format(where=prefix + name))
            elif is_archive(path) and depth < MAX_NESTING:
                inner = upload or Upload(prefix + name, _time(path), stamp, duplicate_number(archive_stem(name))[1])
                self.unpack(path, prefix + name, depth + 1, inner)
            elif unsupported_archive(path):
                self.unpack(path, prefix + name, depth + 1, own)
            else:
                self.consider(path, name, prefix + name, prefix.rstrip("/"), own, level)

    def unpack(self, archive: Path, shown: str, depth: int, upload: Upload) -> None:
        if kind := unsupported_archive(archive):
            size = _size(archive.stat().st_size)
            self.problems.append(f"{shown}: {UNSUPPORTED.format(size=size, kind=kind)}")
            return
        if self.within:
            self._unpack(archive, shown, depth, upload)
            return
        first, budget = self.unpacked + 1, self.budget.mark()
        found = (len(self.candidates), len(self.near), len(self.notes), len(self.problems))
        self.within = True
        try:
            self._unpack(archive, shown, depth, upload)
        except TooLarge as problem:
            for number in range(first, self.unpacked + 1):
                shutil.rmtree(self.scratch / f"archive-{number}", ignore_errors=True)
            self.budget.reset(budget)
            del self.candidates[found[0] :], self.near[found[1] :], self.notes[found[2] :], self.problems[found[3] :]
            self.oversized.append(OVERSIZED.format(upload=shown, size=_size(archive.stat().st_size), problem=problem))
        finally:
            self.within = False

    def _unpack(self, archive: Path, shown: str, depth: int, upload: Upload) -> None:
        self.unpacked += 1
        destination = self.scratch / f"archive-{self.unpacked}"
        try:
            extract(archive, destination, self.budget)
        except TooLarge:
            raise  # refuses the whole upload, in unpack
        except ArchiveProblem as problem:
            self.problems.append(f"{shown}: {problem}")
            return
        self.scan(destination, shown + ":", depth, upload)

    def consider(self, path: Path, name: str, shown: str, folder: str, upload: Upload, level: int) -> None:
        if number := exercise_number(name):
            self.numbers[folder].add(number)
        match = match_exercise(name, self.specs)
        if match:
            spec, exact, resubmission = match
            self.candidates.append(Candidate(spec, path, shown, folder, upload, exact, resubmission, level))
        elif near := looks_like(name, self.specs):
            self.near.append(Candidate(near, path, shown, folder, upload, False, 0, level, looks_like=True))


def _reference_test(reference: Reference) -> Callable[[Candidate], bool]:
    def is_reference(candidate: Candidate) -> bool:
        if candidate.path.stat().st_size > MAX_FILE_BYTES:
            return False
        return reference.is_solution(candidate.spec, code_signature(candidate.path.read_bytes()))

    return is_reference


def _time(path: Path) -> int:
    return path.stat().st_mtime_ns


def _size(count: int) -> str:
    return f"{count / (1 << 20):.1f} MiB" if count >= 1 << 20 else f"{max(count >> 10, 1)} KiB"
