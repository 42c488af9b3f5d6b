"""Safe extraction of the archives students upload (``.zip``, and ``.tar`` plain or compressed).

An archive is checked as a whole before anything is written: a member that would land
outside the destination (``../``, an absolute name, a drive letter), a link or device,
too many bytes or a suspicious compression ratio rejects the archive with an
:class:`ArchiveProblem` that says why. Only the members the finder can use are written
(``.py`` files, ``.py.txt`` look-alikes and nested archives; everything, for a whole
export), each with the time the archive recorded for it. One :class:`Budget` per student counts the members
and the bytes of all their archives together, at every nesting level, so archives
inside archives cannot multiply what one upload puts on disk; passing it raises
:class:`TooLarge`. Every byte written is counted as it is written, so a header that lies
about sizes does not help.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
# Archives students send that the standard library cannot open: reported, never dropped.
UNSUPPORTED_SUFFIXES = {".rar": "RAR", ".7z": "7-Zip", ".zipx": "ZIPX", ".gz": "gzip", ".bz2": "bzip2", ".xz": "xz", ".zst": "Zstandard", ".lzh": "LHA", ".cab": "CAB", ".arj": "ARJ"}
WANTED_SUFFIXES = (".py", ".pyw", ".txt", *ARCHIVE_SUFFIXES, *UNSUPPORTED_SUFFIXES)
CHUNK = 64 * 1024

UNSAFE_NAME = "member {name!r} would be written outside the archive's folder; the archive was not extracted"
LINK_MEMBER = "member {name!r} is a link or a special file; the archive was not extracted"
TOO_MANY = "would take this student's archives past {limit} files, counting archives inside archives (the limit for one student)"
OVER_BUDGET = "would take this student's archives past {limit} MiB unpacked, counting archives inside archives (the limit for one student)"
TOO_BIG = "unpacks to more than {limit} MiB (a zip bomb?); the archive was not extracted"
RATIO = "member {name!r} expands {ratio:.0f} times (a zip bomb?); the archive was not extracted"
UNREADABLE = "not a readable archive ({reason})"
UNSUPPORTED = "{size} received, a {kind} archive, which the grader cannot open; nothing in it was graded (ask for a .zip)"
EMPTY = "the archive is empty"


class ArchiveProblem(Exception):
    """An archive that was refused or could not be read; the message says why, in one line."""


class TooLarge(ArchiveProblem):
    """The student's archives, all together, hold more than their :class:`Budget` allows."""


@dataclasses.dataclass(frozen=True)
class ArchiveLimits:
    """What a student's archives may hold before they are refused."""

    student_bytes: int = 50 << 20  # written for one student, from all their archives at every level
    student_members: int = 10_000  # in all of one student's archives together
    total_bytes: int = 256 << 20  # what one archive may declare, members wanted or not
    ratio: float = 200.0
    ratio_floor: int = 1 << 20  # small members may compress well; only large ones are judged


class Budget:
    """What one student's archives may still hold: members listed and bytes written, all archives together.

    What an archive refused as a whole took is given back (:meth:`mark`, :meth:`reset`),
    since nothing of it stays on disk.
    """

    def __init__(self, limits: ArchiveLimits | None = None) -> None:
        self.limits = limits or ArchiveLimits()
        self.members = self.limits.student_members
        self.bytes = self.limits.student_bytes

    def mark(self) -> tuple[int, int]:
        return self.members, self.bytes

    def reset(self, mark: tuple[int, int]) -> None:
        self.members, self.bytes = mark

    def count(self, members: int) -> None:
        if members > self.members:
            raise TooLarge(TOO_MANY.format(limit=self.limits.student_members))
        self.members -= members

    def expect(self, size: int) -> None:
        """Refuse before writing when what the headers declare would already pass the budget."""
        if size > self.bytes:
            raise TooLarge(OVER_BUDGET.format(limit=self.limits.student_bytes >> 20))

    def spend(self, size: int) -> None:
        """Count bytes as they are written: headers can lie."""
        self.bytes -= size
        if self.bytes < 0:
            raise TooLarge(OVER_BUDGET.format(limit=self.limits.student_bytes >> 20))


@dataclasses.dataclass(frozen=True)
class _Member:
    name: str
    size: int
    packed: int
    regular: bool
    folder: bool
    time: float | None = None  # seconds since the epoch, as the archive recorded it


def is_archive(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(ARCHIVE_SUFFIXES)


def unsupported_archive(path: Path) -> str:
    """The kind of archive ``path`` is when the grader cannot open it (``RAR``), else ``""``."""
    lowered = path.name.lower()
    if not path.is_file() or lowered.endswith(ARCHIVE_SUFFIXES):
        return ""
    return next((kind for suffix, kind in UNSUPPORTED_SUFFIXES.items() if lowered.endswith(suffix)), "")


def archive_stem(name: str) -> str:
    """``alice.tar.gz`` → ``alice``: the name without its archive suffix."""
    lowered = name.lower()
    for suffix in (*ARCHIVE_SUFFIXES, *UNSUPPORTED_SUFFIXES):
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def extract(archive: Path, destination: Path, budget: Budget | None = None, everything: bool = False) -> list[Path]:
    """Extract the useful members of ``archive`` (or, ``everything``, all its files) into ``destination`` (a folder of its own).

    ``budget`` is the student's, shared by all their archives (default: one for this
    archive alone). Each file keeps the time the archive recorded for it. Returns the
    files written, sorted. On any problem nothing is left in ``destination``, and the
    budget is as it was.
    """
    budget = budget or Budget()
    mark = budget.mark()
    wanted = _regular if everything else _wanted
    try:
        if archive.name.lower().endswith(".zip"):
            return _extract_zip(archive, destination, budget, wanted)
        return _extract_tar(archive, destination, budget, wanted)
    except ArchiveProblem:
        shutil.rmtree(destination, ignore_errors=True)
        budget.reset(mark)
        raise
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError, RuntimeError, ValueError) as exc:
        shutil.rmtree(destination, ignore_errors=True)
        budget.reset(mark)
        raise ArchiveProblem(UNREADABLE.format(reason=_reason(exc))) from None


def _extract_zip(archive: Path, destination: Path, budget: Budget, wanted: Callable[[_Member], bool]) -> list[Path]:
    with zipfile.ZipFile(archive) as bundle:
        members = [_zip_member(info) for info in bundle.infolist()]
        _vet(members, budget, wanted)
        written = []
        for info, member in zip(bundle.infolist(), members, strict=True):
            if wanted(member):
                with bundle.open(info) as source:
                    written.append(_write(source, destination, member, budget))
    return sorted(written)


def _zip_member(info: zipfile.ZipInfo) -> _Member:
    kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no file type
    special = kind not in (0, stat.S_IFREG, stat.S_IFDIR)
    return _Member(info.filename, info.file_size, info.compress_size, not info.is_dir() and not special, info.is_dir(), _zip_time(info))


def _zip_time(info: zipfile.ZipInfo) -> float | None:
    """A zip records local times without a zone: they are read as UTC, and shown back as such."""
    try:
        return datetime.datetime(*info.date_time, tzinfo=datetime.UTC).timestamp()
    except ValueError:
        return None


def _extract_tar(archive: Path, destination: Path, budget: Budget, wanted: Callable[[_Member], bool]) -> list[Path]:
    with tarfile.open(archive, "r:*") as bundle:
        infos = _tar_members(bundle, budget)
        # A tar compresses as a whole: each member is judged by the whole archive's ratio.
        total = sum(i.size for i in infos)
        share = archive.stat().st_size / max(total, 1)
        members = [_Member(i.name, i.size, round(i.size * share), i.isfile(), i.isdir(), float(i.mtime)) for i in infos]
        _vet(members, budget, wanted)
        written = []
        for info, member in zip(infos, members, strict=True):
            if wanted(member):
                source = bundle.extractfile(info)
                assert source is not None  # a regular file always has a stream
                with source:
                    written.append(_write(source, destination, member, budget))
    return sorted(written)


def _tar_members(bundle: tarfile.TarFile, budget: Budget) -> list[tarfile.TarInfo]:
    """The members, read one by one so that a huge count or size stops before it is all unpacked."""
    limits = budget.limits
    infos = []
    total = 0
    for info in bundle:
        infos.append(info)
        total += info.size
        if len(infos) > budget.members:
            raise TooLarge(TOO_MANY.format(limit=limits.student_members))
        if total > limits.total_bytes:
            raise ArchiveProblem(TOO_BIG.format(limit=limits.total_bytes >> 20))
    return infos


def _vet(members: list[_Member], budget: Budget, wanted: Callable[[_Member], bool]) -> None:
    """Refuse the archive before anything is written, for what its headers declare."""
    limits = budget.limits
    if not members:
        raise ArchiveProblem(EMPTY)
    total = 0
    for member in members:
        if not safe_name(member.name):
            raise ArchiveProblem(UNSAFE_NAME.format(name=member.name))
        if not member.regular and not member.folder:
            raise ArchiveProblem(LINK_MEMBER.format(name=member.name))
        total += member.size
        if total > limits.total_bytes:
            raise ArchiveProblem(TOO_BIG.format(limit=limits.total_bytes >> 20))
        if member.size > limits.ratio_floor and member.size > limits.ratio * max(member.packed, 1):
            raise ArchiveProblem(RATIO.format(name=member.name, ratio=member.size / max(member.packed, 1)))
    budget.count(len(members))
    budget.expect(sum(member.size for member in members if wanted(member)))


def safe_name(name: str) -> bool:
    """True when ``name`` stays inside the folder it is extracted into, on any platform."""
    unified = name.replace("\\", "/")
    if not unified or unified.startswith("/") or (len(unified) > 1 and unified[1] == ":") or "\0" in unified:
        return False
    return ".." not in PurePosixPath(unified).parts


def _wanted(member: _Member) -> bool:
    return member.regular and member.name.lower().endswith(WANTED_SUFFIXES)


def _regular(member: _Member) -> bool:
    return member.regular


def _write(source: IO[bytes], destination: Path, member: _Member, budget: Budget) -> Path:
    target = destination.joinpath(*_parts(member.name))
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as sink:
        for chunk in _chunks(source):
            budget.spend(len(chunk))
            sink.write(chunk)
    if member.time is not None:
        with contextlib.suppress(OSError, OverflowError, ValueError):
            os.utime(target, (member.time, member.time))
    return target


def _parts(name: str) -> list[str]:
    return [part for part in PurePosixPath(name.replace("\\", "/")).parts if part not in ("", ".")]


def _chunks(source: IO[bytes]) -> Iterator[bytes]:
    while chunk := source.read(CHUNK):
        yield chunk


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
