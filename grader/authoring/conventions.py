"""What a kit's files and metadata must say before anything is graded, read without running them.

Each exercise needs a stub with a TODO and a demo (``if __name__ == "__main__":``), a
solution with neither TODO nor missing demo, at least one hint, points that add up to
what the exercise declares, and a check file that implements exactly the checks the
metadata declares (read from its ``@check("id")`` decorators, never imported). Text the
scaffold of ``grade new`` leaves as ``TODO`` in the metadata must be written.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Iterator
from pathlib import Path

from grader.kit import ExerciseSpec, Kit

TODO = "TODO"


def shown(path: Path) -> str:
    """``path`` as the author types it here: relative to the current folder when it lies below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return os.fspath(path)


def static_problems(kit: Kit, specs: list[ExerciseSpec]) -> list[str]:
    """One line per problem, exercise by exercise, then those of check files shared by several."""
    problems = []
    for spec in specs:
        problems += [f"{shown(kit.path)}: {spec.id}: {what}" for what in _metadata(spec)]
        problems += _files(spec)
    for checks_file in sorted({spec.checks_file for spec in specs}):
        declared = {check.id for spec in kit.exercises if spec.checks_file == checks_file for check in spec.checks}
        problems += _implemented_as_declared(checks_file, declared, kit)
    return problems


def _metadata(spec: ExerciseSpec) -> Iterator[str]:
    if not spec.hints:
        yield "no hints: give the exercise `hints = [...]` or its checks a `hint`"
    if spec.max_score <= 0:
        yield "its checks are worth 0 points in all"
    if spec.points is not None and spec.points != spec.max_score:
        yield f"its checks' points add up to {spec.max_score:g}, not the {spec.points:g} it is worth (`points`)"
    texts = {"the title": spec.title, **{f"hint {n}": hint for n, hint in enumerate(spec.hints, 1)}}
    texts.update({f"the name of check {check.id!r}": check.name for check in spec.checks})
    for what, text in texts.items():
        if TODO in text:
            yield f"{what} still says TODO: {text!r}"


def _files(spec: ExerciseSpec) -> Iterator[str]:
    for role, path in (("stub", spec.stub), ("solution", spec.solution)):
        if not path.is_file():
            yield f"{shown(path)}: the {role} of {spec.id} is missing"
            continue
        try:
            text = path.read_text(encoding="utf-8-sig")
            tree = ast.parse(text)
        except SyntaxError as exc:
            yield f"{shown(path)}:{exc.lineno}: the {role} is not valid Python ({exc.msg})"
            continue
        except ValueError:  # UnicodeDecodeError, or a NUL byte
            yield f"{shown(path)}: the {role} is not UTF-8 text"
            continue
        if not has_demo(tree):
            yield f'{shown(path)}: no demo: the {role} needs an `if __name__ == "__main__":` block that runs it'
        if role == "stub" and TODO not in text:
            yield f"{shown(path)}: the stub has no TODO: mark what the student writes"
        if role == "solution" and TODO in text:
            line = text[: text.index(TODO)].count("\n") + 1
            yield f"{shown(path)}:{line}: the solution still says TODO"


def has_demo(tree: ast.Module) -> bool:
    """Whether the module has an ``if __name__ == "__main__":`` block at its top level."""
    return any(
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and ast.unparse(node.test).replace("'", '"') == '__name__ == "__main__"'
        for node in tree.body
    )


def implemented_checks(checks_file: Path) -> list[tuple[str | None, int]]:
    """``(id, line)`` of every ``@check("id")`` in a check file, read without importing it; ``None``
    for an id that is not a string literal."""
    tree = ast.parse(checks_file.read_text(encoding="utf-8-sig"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                if isinstance(decorator, ast.Call) and _callee(decorator) == "check":
                    first = decorator.args[0] if decorator.args else None
                    value = first.value if isinstance(first, ast.Constant) and isinstance(first.value, str) else None
                    found.append((value, decorator.lineno))
    return found


def _callee(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _implemented_as_declared(checks_file: Path, declared: set[str], kit: Kit) -> list[str]:
    where = shown(checks_file)
    try:
        implemented = implemented_checks(checks_file)
    except SyntaxError as exc:
        return [f"{where}:{exc.lineno}: not valid Python ({exc.msg})"]
    except ValueError:
        return [f"{where}: not UTF-8 text"]
    problems = []
    seen: set[str] = set()
    for check_id, line in implemented:
        if check_id is None:
            problems.append(f"{where}:{line}: @check needs its id as a string literal, as kit.toml spells it")
        elif check_id in seen:
            problems.append(f"{where}:{line}: check {check_id!r} is implemented twice")
        elif check_id not in declared:
            problems.append(f"{where}:{line}: check {check_id!r} is implemented but {shown(kit.path)} does not declare it")
        seen.add(check_id or "")
    problems += [
        f"{where}: check {check_id!r} is declared in {shown(kit.path)} but not implemented" for check_id in sorted(declared - seen)
    ]
    return problems
