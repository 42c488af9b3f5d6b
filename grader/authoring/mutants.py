"""Mutants of a reference solution: the asyncio mistakes students make, one per copy.

A check suite is as strong as the mistakes it catches. Each mutant is the solution with
one mistake put in by an AST transform (an ``await`` dropped, gathered work run one by
one, ``time.sleep`` for ``asyncio.sleep``, a ``task_done``/``close``/``add_done_callback``
call dropped, a returned list sorted, a range one short, cleanup moved out of its
``finally``), only inside the functions the student writes: those the stub leaves as a
TODO (raising ``NotImplementedError``). A mutant every check passes shows a mistake the
checks let through.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

from grader.kit import ExerciseSpec

CALLS_TO_DROP = ("task_done", "close", "add_done_callback")
TASK_MAKERS = ("create_task", "ensure_future")
LIST_MAKERS = ("list", "gather")
SHOWN_CHARACTERS = 50
IMPORTED_BY_OPERATORS = ("asyncio", "time")  # what the mutated code may name: imported where missing


@dataclasses.dataclass(frozen=True)
class Mutant:
    """One mistake in a copy of ``spec``'s solution: where (the solution's line), what, and the copy."""

    spec: ExerciseSpec
    line: int
    what: str
    source: str


# A site: the node to change, what the change does, and how (from the node in a copy of the tree to what replaces it).
Change = Callable[[Any], ast.AST | list[ast.stmt]]
Site = tuple[ast.AST, str, Change]


def mutants(spec: ExerciseSpec) -> list[Mutant]:
    """Every mutant of ``spec``'s solution that compiles, in source order, each source once (none of a
    solution or stub that is not valid Python: the kit check names that problem)."""
    try:
        tree = ast.parse(spec.solution.read_text(encoding="utf-8-sig"))
        taught = student_functions(ast.parse(spec.stub.read_text(encoding="utf-8-sig")))
    except (SyntaxError, ValueError):  # UnicodeDecodeError is a ValueError
        return []
    nodes = list(ast.walk(tree))
    made: dict[str, Mutant] = {}
    for node in _inside(tree, taught):
        for operator in OPERATORS:
            for site, what, change in operator(node):
                mutated = _apply(tree, nodes.index(site), change)
                try:
                    compile(mutated, spec.file, "exec", dont_inherit=True)
                except SyntaxError:  # an await where no await may be: not a mistake anyone can make
                    continue
                made.setdefault(mutated, Mutant(spec, getattr(site, "lineno", 0), what, mutated))
    return sorted(made.values(), key=lambda m: m.line)


def student_functions(stub: ast.Module) -> set[str]:
    """Qualified names of the stub's functions left as a TODO: they raise ``NotImplementedError``."""
    names = set()
    for qualname, function in _functions(stub.body, ""):
        for node in ast.walk(function):
            if isinstance(node, ast.Raise) and node.exc is not None and _name(node.exc) == "NotImplementedError":
                names.add(qualname)
    return names


def _functions(body: list[ast.stmt], prefix: str) -> Iterator[tuple[str, ast.AST]]:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield prefix + node.name, node
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node.body, f"{prefix}{node.name}.")


def _inside(tree: ast.Module, taught: set[str]) -> Iterator[ast.AST]:
    """Every node within the solution's functions named in ``taught``."""
    for qualname, function in _functions(tree.body, ""):
        if qualname in taught:
            yield from ast.walk(function)


def _apply(tree: ast.Module, index: int, change: Change) -> str:
    """The source of ``tree`` with its ``index``-th node (in walk order) changed: the original stays as it was."""
    mutated = copy.deepcopy(tree)
    target = list(ast.walk(mutated))[index]
    parent, field = next((p, f) for p in ast.walk(mutated) for f, v in ast.iter_fields(p) if v is target or (isinstance(v, list) and target in v))
    replacement = change(target)
    value = getattr(parent, field)
    if isinstance(value, list):
        at = value.index(target)
        value[at : at + 1] = replacement if isinstance(replacement, list) else [replacement]
    else:
        setattr(parent, field, replacement)
    for module in IMPORTED_BY_OPERATORS:
        _import(mutated, module)
    return ast.unparse(ast.fix_missing_locations(mutated)) + "\n"


def _import(tree: ast.Module, module: str) -> None:
    """Add ``import module`` after the docstring and ``__future__`` imports, unless the module has it."""
    if any(isinstance(n, ast.Import) and any(a.name == module and a.asname is None for a in n.names) for n in tree.body):
        return
    at = 0
    while at < len(tree.body) and (_is_docstring(tree.body[at], at) or _is_future(tree.body[at])):
        at += 1
    tree.body.insert(at, ast.Import(names=[ast.alias(name=module)]))


def _is_docstring(node: ast.stmt, position: int) -> bool:
    return position == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)


def _is_future(node: ast.stmt) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "__future__"


def _name(node: ast.AST) -> str:
    """The last name of a callee or raised exception: ``gather`` for ``asyncio.gather(...)``."""
    node = node.func if isinstance(node, ast.Call) else node
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _shown(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 3] + "..."


def drop_await(node: ast.AST) -> Iterator[Site]:
    if isinstance(node, ast.Await):
        yield node, f"dropped the await before {_shown(node.value)}", lambda n: n.value


def gather_one_by_one(node: ast.AST) -> Iterator[Site]:
    """``await gather(a, *b)`` becomes ``[await x for x in [a, *b]]``: each awaited in turn."""
    if isinstance(node, ast.Await) and isinstance(node.value, ast.Call) and _name(node.value) == "gather":
        def one_by_one(n: Any) -> ast.AST:
            each = ast.Name("_each", ast.Store())
            loop = ast.comprehension(target=each, iter=ast.List(n.value.args, ast.Load()), ifs=[], is_async=0)
            return ast.ListComp(ast.Await(ast.Name("_each", ast.Load())), [loop])

        yield node, f"awaited the work of {_shown(node.value)} one by one", one_by_one


def task_after_its_job(node: ast.AST) -> Iterator[Site]:
    """``create_task(job)`` becomes ``create_task(asyncio.sleep(0, await job))``: each job ends before the next starts."""
    if isinstance(node, ast.Call) and _name(node) in TASK_MAKERS and node.args:
        def awaited_first(n: Any) -> ast.AST:
            done = ast.Call(ast.Attribute(ast.Name("asyncio", ast.Load()), "sleep", ast.Load()), [ast.Constant(0), ast.Await(n.args[0])], [])
            return ast.Call(n.func, [done, *n.args[1:]], n.keywords)

        yield node, f"awaited {_shown(node.args[0])} before making its task: the jobs run one by one", awaited_first


def blocking_sleep(node: ast.AST) -> Iterator[Site]:
    """``await asyncio.sleep(s)`` becomes ``time.sleep(s)``."""
    if isinstance(node, ast.Await) and isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "asyncio.sleep":
        def blocking(n: Any) -> ast.AST:
            seconds = n.value.args[:1] or [ast.Constant(0)]
            return ast.Call(ast.Attribute(ast.Name("time", ast.Load()), "sleep", ast.Load()), seconds, [])

        yield node, f"time.sleep instead of {_shown(node)}", blocking


def drop_call(node: ast.AST) -> Iterator[Site]:
    """A ``task_done()``, ``close()`` or ``add_done_callback()`` statement becomes ``pass``."""
    call = node.value if isinstance(node, ast.Expr) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in CALLS_TO_DROP:
        yield node, f"dropped {_shown(call)}", lambda n: ast.Pass()


def sorted_return(node: ast.AST) -> Iterator[Site]:
    """``return results`` becomes ``return sorted(results)`` where the value is a list."""
    if isinstance(node, ast.Return) and node.value is not None and _list_shaped(node.value):
        yield node, f"returned sorted({_shown(node.value)})", lambda n: ast.Return(ast.Call(ast.Name("sorted", ast.Load()), [n.value], []))


def _list_shaped(value: ast.AST) -> bool:
    """A list, a list comprehension, ``list(...)``, an awaited ``gather``, or a name (a returned name is most often the list built)."""
    if isinstance(value, ast.Await):
        value = value.value
    return isinstance(value, (ast.List, ast.ListComp, ast.Name)) or (isinstance(value, ast.Call) and _name(value) in LIST_MAKERS)


def short_range(node: ast.AST) -> Iterator[Site]:
    """``range(n)`` becomes ``range(n - 1)`` (and ``range(a, b)``, ``range(a, b - 1)``)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range" and 1 <= len(node.args) <= 2:
        def one_short(n: Any) -> ast.AST:
            *start, stop = n.args
            return ast.Call(n.func, [*start, ast.BinOp(stop, ast.Sub(), ast.Constant(1))], [])

        yield node, f"{_shown(node)} one short", one_short


def cleanup_outside_finally(node: ast.AST) -> Iterator[Site]:
    """``try: body finally: cleanup`` becomes ``body`` then ``cleanup``: skipped after a return or an error."""
    if isinstance(node, (ast.Try, ast.TryStar)) and node.finalbody:
        def after(n: Any) -> list[ast.stmt]:
            kept = n.body if not (n.handlers or n.orelse) else [type(n)(n.body, n.handlers, n.orelse, [])]
            return [*kept, *n.finalbody]

        cleanup = "; ".join(_shown(s) for s in node.finalbody)
        yield node, f"moved the finally: body ({cleanup}) after the try", after


OPERATORS = (drop_await, gather_one_by_one, task_after_its_job, blocking_sleep, drop_call, sorted_return, short_range, cleanup_outside_finally)
