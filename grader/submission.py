"""Find a submission's exercise files and decide, without running them, which can be run.

Only the files the kit declares are looked at, and they are copied into a temporary
folder before anything runs: the student's folder is never written to, and nothing
else in it (a ``conftest.py``, a ``pytest.ini``, a ``sitecustomize.py``) reaches the checks.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path

from grader.kit import ExerciseSpec
from grader.paths import is_within

MAX_FILE_BYTES = 1 << 20
# Top-level packages a submission may not import: the kit's answers and its grader.
FORBIDDEN_PACKAGES = ("solutions", "grader")
FORBIDDEN_IMPORT = (
    "{file}:{line}: imports {module}, from the kit's reference solutions or checks; a submission must be the student's own code"
)


class SubmissionError(Exception):
    """The submission path itself cannot be graded (missing, not a folder)."""


class Readiness(enum.Enum):
    RUN = "run"
    NOT_STARTED = "not_started"
    ERROR = "error"
    REFUSED = "refused"


@dataclasses.dataclass(frozen=True)
class Prepared:
    """One exercise after preflight: run it, or report it without running."""

    spec: ExerciseSpec
    readiness: Readiness
    message: str = ""
    source: bytes = b""


def check_folder(folder: Path) -> Path:
    """The submission folder, resolved, or a :class:`SubmissionError` that says what is wrong."""
    if not folder.exists():
        raise SubmissionError(f"path not found: {folder}")
    if not folder.is_dir():
        raise SubmissionError(f"not a folder: {folder} (give the folder that holds the exercise files)")
    return folder.resolve()


def require_exercise_files(folder: Path, specs: list[ExerciseSpec]) -> None:
    """Refuse a folder that holds none of the kit's exercise files: it is not a submission."""
    if not any((folder / spec.file).exists() or (folder / spec.file).is_symlink() for spec in specs):
        names = ", ".join(spec.file for spec in specs[:2])
        raise SubmissionError(f"no exercise files in {folder} (expected files such as {names})")


def prepare(folder: Path, spec: ExerciseSpec) -> Prepared:
    """Read one exercise file and say whether its checks should run."""
    path = folder / spec.file
    if path.is_symlink() and not is_within(path, folder):
        return Prepared(spec, Readiness.ERROR, f"{spec.file} is a link to a file outside the submission; not followed")
    if not path.exists():
        return Prepared(spec, Readiness.ERROR, f"{spec.file} is missing from {folder}")
    if not path.is_file():
        return Prepared(spec, Readiness.ERROR, f"{spec.file} is not a regular file")
    if path.stat().st_size > MAX_FILE_BYTES:
        size = path.stat().st_size / (1 << 20)
        return Prepared(spec, Readiness.ERROR, f"{spec.file} is {size:.1f} MiB; exercise files are limited to 1 MiB")
    source = path.read_bytes()
    problem = syntax_problem(spec.file, source)
    if problem:
        return Prepared(spec, Readiness.ERROR, problem)
    refused = forbidden_import(spec.file, source)
    if refused:
        return Prepared(spec, Readiness.REFUSED, refused)
    if spec.stub.is_file() and _normalised(source) == _normalised(spec.stub.read_bytes()):
        return Prepared(spec, Readiness.NOT_STARTED, "untouched stub: not started yet")
    return Prepared(spec, Readiness.RUN, source=source)


def syntax_problem(name: str, source: bytes) -> str:
    """A one-line ``file:line: what`` for source that cannot even be compiled, else ``""``."""
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = source[: exc.start].count(b"\n") + 1
        return f"{name}:{line}: not valid UTF-8 text (save the file as UTF-8)"
    try:
        compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        kind = type(exc).__name__
        return f"{name}:{exc.lineno or 1}: {kind}: {exc.msg}"
    except ValueError as exc:
        return f"{name}: cannot be compiled: {exc}"
    return ""


def forbidden_import(name: str, source: bytes) -> str:
    """A message naming the first import of the kit's solutions or grader, else ``""``."""
    if source.isascii() and not any(package.encode() in source for package in FORBIDDEN_PACKAGES):
        return ""  # cannot name them (non-ASCII letters could, once Python normalises identifiers)
    for node in statements(ast.parse(source.decode("utf-8-sig")).body):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [node.module]
        else:
            continue
        for module in modules:
            top = module.split(".")[0]
            if top in FORBIDDEN_PACKAGES:
                return FORBIDDEN_IMPORT.format(file=name, line=node.lineno, module=module)
    return ""


STATEMENT_BLOCKS = ("body", "orelse", "finalbody", "handlers", "cases")


def statements(block: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """Every statement in ``block`` and the blocks nested in it, in source order.

    Imports and docstrings are statements: walking statements only, not every expression
    (as ``ast.walk`` does), is several times faster.
    """
    for node in block:
        yield node
        for field in STATEMENT_BLOCKS:
            nested = getattr(node, field, None)
            if isinstance(nested, list):
                yield from statements(nested)


def copy_for_run(prepared: list[Prepared], workdir: Path) -> list[tuple[ExerciseSpec, Path]]:
    """Write the runnable files into ``workdir`` (a fresh temporary folder) and list them."""
    copies = []
    for item in prepared:
        if item.readiness is Readiness.RUN:
            target = workdir / item.spec.file
            target.write_bytes(item.source)
            copies.append((item.spec, target))
    return copies


def remove_quietly(workdir: Path) -> None:
    shutil.rmtree(workdir, ignore_errors=True)


def _normalised(source: bytes) -> bytes:
    text = source.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    return "\n".join(line.rstrip() for line in text.strip().splitlines()).encode()
