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

from grader.errors import GraderError
from grader.kit import ExerciseSpec
from grader.model import SourceRef
from grader.paths import is_within

MAX_FILE_BYTES = 1 << 20
# Top-level packages a submission may not import: the kit's answers and its grader.
FORBIDDEN_PACKAGES = ("solutions", "grader")
FORBIDDEN_IMPORT = (
    "{file}:{line}: imports {module}, from the kit's reference solutions or checks; a submission must be the student's own code"
)
AWAIT_OUTSIDE_ASYNC_HELP = (
    "{what} only works inside an `async def`: `{function}` is a plain `def`. Make it `async def {function}(...)` "
    "(its callers then await it), or move this line into a coroutine function."
)
AWAIT_AT_TOP_LEVEL_HELP = (
    "{what} only works inside an `async def`: put this code in `async def main()` and run it with `asyncio.run(main())`."
)
INDENTATION_HELP = "Indent every line of a block by the same amount (4 spaces, no tabs), one level deeper than its `def`, `for` or `if`."
SYNTAX_HELP = "Python cannot read this line: look for a missing `:`, `)` or quote here or at the end of the line before."
EXCEPT_STAR_EXIT_HELP = (
    "An `except*` block may run once for each part of the group, so it cannot `return`, `break` or `continue`: "
    "handle the errors inside it, and put the `return` after the whole try statement."
)
ASYNC_ONLY = {"'await'": "`await`", "'async with'": "`async with`", "'async for'": "`async for`", "asynchronous comprehension": "An `async for` comprehension"}


class SubmissionError(GraderError):
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
    where: SourceRef | None = None  # the student's line that stopped it, with a help line
    help: str = ""


def check_folder(folder: Path) -> Path:
    """The submission folder, resolved, or a :class:`SubmissionError` that says what is wrong."""
    if not folder.exists():
        raise SubmissionError(f"path not found: {folder}")
    if not folder.is_dir():
        raise SubmissionError(f"not a folder: {folder} (give the folder that holds the exercise files)")
    return folder.resolve()


def require_exercise_files(folder: Path, specs: list[ExerciseSpec]) -> None:
    """Refuse a folder that holds none of the kit's exercise files: it is not a submission."""
    paths = (exercise_path(folder, spec) for spec in specs)
    if not any(path.exists() or path.is_symlink() for path in paths):
        names = ", ".join(spec.file for spec in specs[:2])
        raise SubmissionError(f"no exercise files in {folder} (expected files such as {names})")


def exercise_path(folder: Path, spec: ExerciseSpec) -> Path:
    """Where ``spec``'s file is in ``folder``: under its own name at the top, or else where
    ``grade batch`` finds it (``03_concurrency (1).py``, ``05_QUEUES.PY``, a nested
    ``repo-main/exercises/``), so every way of grading finds the same file."""
    path = folder / spec.file
    if path.exists() or path.is_symlink():
        return path
    from grader.batch.matching import (
        find_in_folder,  # only for a folder laid out otherwise
    )

    return find_in_folder(folder, [spec]).get(spec, path)


def prepare(folder: Path, spec: ExerciseSpec) -> Prepared:
    """Read one exercise file and say whether its checks should run."""
    path = exercise_path(folder, spec)
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
        return Prepared(spec, Readiness.ERROR, problem.message, where=problem.where, help=problem.help)
    refused = forbidden_import(spec.file, source)
    if refused:
        return Prepared(spec, Readiness.REFUSED, refused)
    if spec.stub.is_file() and _normalised(source) == _normalised(spec.stub.read_bytes()):
        return Prepared(spec, Readiness.NOT_STARTED, "untouched stub: not started yet")
    return Prepared(spec, Readiness.RUN, source=source)


@dataclasses.dataclass(frozen=True)
class SyntaxProblem:
    """Source that cannot be compiled: ``file:line: what``, the line itself, and what to do."""

    message: str
    where: SourceRef | None = None
    help: str = ""


def syntax_problem(name: str, source: bytes) -> SyntaxProblem | None:
    """What stops ``source`` from compiling, or ``None`` when it compiles."""
    try:
        text = source.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = source[: exc.start].count(b"\n") + 1
        return SyntaxProblem(f"{name}:{line}: not valid UTF-8 text (save the file as UTF-8)")
    try:
        compile(text, name, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = exc.lineno or 1
        lines = text.splitlines()
        excerpt = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        message = f"{name}:{line}: {type(exc).__name__}: {exc.msg}"
        return SyntaxProblem(message, SourceRef(name, line, excerpt), syntax_help(exc, text))
    except ValueError as exc:
        return SyntaxProblem(f"{name}: cannot be compiled: {exc}")
    return None


def syntax_help(error: SyntaxError, text: str) -> str:
    """What to do about ``error``: an ``await`` outside a coroutine is named with its function."""
    if isinstance(error, IndentationError):
        return INDENTATION_HELP
    if "cannot appear in an except* block" in error.msg:
        return EXCEPT_STAR_EXIT_HELP
    what = next((words for key, words in ASYNC_ONLY.items() if error.msg.startswith(key)), "")
    if not what or "outside" not in error.msg:
        return SYNTAX_HELP
    function = enclosing_function(text, error.lineno or 1)
    if function:
        return AWAIT_OUTSIDE_ASYNC_HELP.format(what=what, function=function)
    return AWAIT_AT_TOP_LEVEL_HELP.format(what=what)


def enclosing_function(text: str, line: int) -> str:
    """The innermost ``def`` around ``line``, or ``""`` (the compiler, not the parser, refuses a misplaced ``await``)."""
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return ""
    around = [
        node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.lineno <= line <= (node.end_lineno or node.lineno)
    ]
    return max(around, key=lambda node: node.lineno).name if around else ""


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
