"""Find each student's exercise files in a folder of submissions, as platforms export them.

Every entry of the submissions folder belongs to one student: a folder, an archive, or
a loose file whose name carries the platform's prefix (see :mod:`grader.batch.names`).
Inside, the exercise files are looked for at any depth, in archives within archives,
under any prefix a platform adds to file names (``login_123_456_03_topic.py``,
``03_topic-1.py``). ``__MACOSX``, hidden folders and links are skipped, and a folder that
holds only copies of the kit's reference solutions (a whole repository uploaded with its
``solutions/``) is never graded when the student has files of their own elsewhere.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
from collections import defaultdict
from pathlib import Path

from grader.batch.archives import ArchiveLimits, ArchiveProblem, Budget, TooLarge, archive_stem, extract, is_archive
from grader.batch.flags import Reference, code_signature
from grader.batch.names import parse_entry_name
from grader.batch.roster import Roster
from grader.kit import ExerciseSpec
from grader.submission import MAX_FILE_BYTES

JUNK_FOLDERS = frozenset({"__MACOSX", "__pycache__", "site-packages", "node_modules"})
JUNK_FILES = frozenset({"Thumbs.db", "desktop.ini"})
MAX_NESTING = 3  # an archive inside an archive inside an archive, and no deeper
LOOSE = "(loose files)"
REFERENCE_COPY = "not graded: {folder} holds copies of the reference solutions"
ALSO_FOUND = "{file}: graded {chosen}; also found {others}"
LINK_SKIPPED = "{where}: a link, not followed"
OVERSIZED = "{upload}: {size} received, which {problem}; nothing in it was graded"


@dataclasses.dataclass
class Student:
    """One student's part of the submissions folder."""

    id: str
    name: str = ""
    entries: list[Path] = dataclasses.field(default_factory=list)
    loose: list[tuple[Path, str]] = dataclasses.field(default_factory=list)

    @property
    def sources(self) -> list[str]:
        return sorted([p.name for p in self.entries] + [p.name for p, _ in self.loose])


@dataclasses.dataclass
class Discovery:
    students: list[Student]
    ignored: list[str]


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A file that may be the student's version of an exercise."""

    spec: ExerciseSpec
    path: Path
    shown: str  # where it came from, as a teacher reads it
    folder: str  # files with the same folder were handed in together
    exact: bool  # named exactly like the kit's file
    resubmission: int  # the platform's ``-N`` suffix, 0 without


@dataclasses.dataclass
class Located:
    """The files chosen for grading, where each came from, what was noticed, and archives refused.

    ``oversized`` says which uploads were refused whole for passing the student's archive
    budget, ``problems`` which archives were refused for anything else.
    """

    files: dict[ExerciseSpec, Path] = dataclasses.field(default_factory=dict)
    origins: dict[str, str] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    oversized: list[str] = dataclasses.field(default_factory=list)


def discover(root: Path, roster: Roster | None = None, skip: Path | None = None) -> Discovery:
    """Group the entries of ``root`` by student; entries that belong to nobody are listed as ignored.

    ``skip`` is a folder that is never a submission (the batch's own output, if it lies inside).
    """
    students: dict[str, Student] = {}
    ignored: list[str] = []
    for entry in sorted(root.iterdir()):
        if _junk(entry.name) or (skip is not None and entry.resolve() == skip.resolve()):
            continue
        usable = not entry.is_symlink() and (entry.is_dir() or is_archive(entry))
        raw = archive_stem(entry.name) if usable else entry.name
        parsed = parse_entry_name(raw)
        loose = not usable and entry.is_file() and not entry.is_symlink() and parsed is not None and bool(parsed.rest)
        if not usable and not loose:
            ignored.append(entry.name)
            continue
        candidate, name = (parsed.student, parsed.name) if parsed else (raw, "")
        student_id = roster.resolve(candidate, raw) if roster else candidate
        student = students.setdefault(student_id, Student(student_id))
        student.name = student.name or name
        if loose:
            assert parsed is not None
            student.loose.append((entry, parsed.rest))
        else:
            student.entries.append(entry)
    return Discovery(sorted(students.values(), key=lambda s: s.id), ignored)


def locate(student: Student, specs: list[ExerciseSpec], reference: Reference, scratch: Path, limits: ArchiveLimits | None = None) -> Located:
    """Unpack the student's archives into ``scratch`` and choose one file per exercise."""
    scanner = _Scanner(specs, scratch, limits or ArchiveLimits())
    for entry in student.entries:
        if entry.is_dir():
            scanner.scan(entry, entry.name + "/", depth=0)
        else:
            scanner.unpack(entry, entry.name, depth=0)
    for path, name in student.loose:
        scanner.consider(path, name, path.name, LOOSE)
    located = _choose(scanner.candidates, specs, reference)
    located.problems = scanner.problems
    located.oversized = scanner.oversized
    located.notes = scanner.notes + located.notes
    return located


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


def match_exercise(name: str, specs: list[ExerciseSpec]) -> tuple[ExerciseSpec, bool, int] | None:
    """The exercise a file name stands for, whether the name is exact, and its resubmission number."""
    for spec in specs:
        if name == spec.file:
            return spec, True, 0
    for spec in specs:
        stem, suffix = os.path.splitext(spec.file.lower())
        found = re.match(rf"^(?:.*[_\- ])?{re.escape(stem)}(?:[-_ ]?\(?(\d+)\)?)?{re.escape(suffix)}$", name.lower())
        if found:
            return spec, False, int(found[1] or 0)
    return None


class _Scanner:
    """Walks folders and unpacks archives, collecting candidates, notes and problems.

    All of a student's archives share one :class:`Budget`. An upload whose archives (it,
    and those inside it) would pass it is refused whole: what was extracted from it is
    removed, and nothing found in it is graded.
    """

    def __init__(self, specs: list[ExerciseSpec], scratch: Path, limits: ArchiveLimits) -> None:
        self.specs = specs
        self.scratch = scratch
        self.budget = Budget(limits)
        self.unpacked = 0  # archives extracted, each into scratch/archive-N
        self.within = False  # scanning what an archive held
        self.candidates: list[Candidate] = []
        self.notes: list[str] = []
        self.problems: list[str] = []
        self.oversized: list[str] = []

    def scan(self, folder: Path, shown: str, depth: int) -> None:
        for here, folders, files in os.walk(folder):
            folders[:] = sorted(f for f in folders if not _junk(f))
            relative = Path(here).relative_to(folder).as_posix()
            prefix = shown if relative == "." else f"{shown}{relative}/"
            for name in sorted(files):
                path = Path(here) / name
                if _junk(name):
                    continue
                if path.is_symlink():
                    if match_exercise(name, self.specs) or is_archive(path):
                        self.notes.append(LINK_SKIPPED.format(where=prefix + name))
                elif is_archive(path) and depth < MAX_NESTING:
                    self.unpack(path, prefix + name, depth + 1)
                else:
                    self.consider(path, name, prefix + name, prefix.rstrip("/"))

    def unpack(self, archive: Path, shown: str, depth: int) -> None:
        if self.within:
            self._unpack(archive, shown, depth)
            return
        first, budget = self.unpacked + 1, self.budget.mark()
        found = (len(self.candidates), len(self.notes), len(self.problems))
        self.within = True
        try:
            self._unpack(archive, shown, depth)
        except TooLarge as problem:
            for number in range(first, self.unpacked + 1):
                shutil.rmtree(self.scratch / f"archive-{number}", ignore_errors=True)
            self.budget.reset(budget)
            del self.candidates[found[0] :], self.notes[found[1] :], self.problems[found[2] :]
            self.oversized.append(OVERSIZED.format(upload=shown, size=_size(archive.stat().st_size), problem=problem))
        finally:
            self.within = False

    def _unpack(self, archive: Path, shown: str, depth: int) -> None:
        self.unpacked += 1
        destination = self.scratch / f"archive-{self.unpacked}"
        try:
            extract(archive, destination, self.budget)
        except TooLarge:
            raise  # refuses the whole upload, in unpack
        except ArchiveProblem as problem:
            self.problems.append(f"{shown}: {problem}")
            return
        self.scan(destination, shown + ":", depth)

    def consider(self, path: Path, name: str, shown: str, folder: str) -> None:
        match = match_exercise(name, self.specs)
        if match:
            spec, exact, resubmission = match
            self.candidates.append(Candidate(spec, path, shown, folder, exact, resubmission))


def _choose(candidates: list[Candidate], specs: list[ExerciseSpec], reference: Reference) -> Located:
    located = Located()
    by_folder: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        by_folder[candidate.folder].append(candidate)
    copies = {folder for folder, found in by_folder.items() if all(_is_reference(c, reference) for c in found)}
    if copies and len(copies) < len(by_folder):
        located.notes += [REFERENCE_COPY.format(folder=folder) for folder in sorted(copies)]
        candidates = [c for c in candidates if c.folder not in copies]
    rank = {folder: (-len({c.spec.id for c in found}), folder.count("/") + folder.count(":"), folder) for folder, found in by_folder.items()}
    for spec in specs:
        options = sorted(
            (c for c in candidates if c.spec == spec), key=lambda c: (rank[c.folder], -c.resubmission, not c.exact, c.shown)
        )
        if not options:
            continue
        chosen, others = options[0], options[1:]
        located.files[spec] = chosen.path
        located.origins[spec.id] = chosen.shown
        if others:
            located.notes.append(ALSO_FOUND.format(file=spec.file, chosen=chosen.shown, others=", ".join(c.shown for c in others)))
    return located


def _is_reference(candidate: Candidate, reference: Reference) -> bool:
    if candidate.path.stat().st_size > MAX_FILE_BYTES:
        return False
    return reference.is_solution(candidate.spec, code_signature(candidate.path.read_bytes()))


def _size(count: int) -> str:
    return f"{count / (1 << 20):.1f} MiB" if count >= 1 << 20 else f"{max(count >> 10, 1)} KiB"


def _junk(name: str) -> bool:
    return name.startswith(".") or name in JUNK_FOLDERS or name in JUNK_FILES
