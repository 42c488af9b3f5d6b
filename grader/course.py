"""The folders students start from: ``grade init`` (their own course folder) and ``grade assign`` (a class's repository).

Both hold the kit's stubs in ``exercises/``, a README that says how to work with
``grade``, and a ``.gitignore`` for ``.asynclings/``. ``grade assign`` adds the GitHub
Classroom workflow that grades each push, and never carries a reference solution: every
file it writes is searched for the solutions' function bodies before anything is written.
Neither ever overwrites a student's work.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import zipfile
from pathlib import Path

from grader.errors import GraderError
from grader.kit import DEFAULT_KIT, ExerciseSpec, Kit

EXERCISES = "exercises"
README = "README.md"
GITIGNORE = ".gitignore"
IGNORED = ".asynclings/"
WORKFLOW = ".github/workflows/classroom.yml"
KIT_CHECKOUT = ".kit"  # where the workflow checks out a teacher's private kit
KIT_REPOSITORY_VARIABLE = "ASYNCLINGS_KIT_REPOSITORY"
KIT_TOKEN_SECRET = "ASYNCLINGS_KIT_TOKEN"
STEP_MINUTES = 5
ZIP_TIME = (1980, 1, 1, 0, 0, 0)

HOLDS_WORK = "{folder} holds exercise files already ({files}): grade init never overwrites a student's work; grade there, or pick another folder"
NOT_A_FOLDER = "{path} is a file, not a folder"
NOT_EMPTY = "{path} is not empty: grade assign writes a new folder (or a .zip); pick another"
NO_STUB = "the kit has no stub for {id}: {stub} not found"
PRIVATE_NOTE = "`grade` runs the public checks; what your teacher's own checks say about each push shows on GitHub."
WHOLE = "the stub {stub} is the reference solution {solution}: it leaves the student nothing to write"
LEAK = "{file} holds the body of {function}() from the reference solution {solution}: remove it from the stub"


class CourseError(GraderError):
    """The folder cannot be written as asked; the message says why, in one line."""


@dataclasses.dataclass(frozen=True)
class Written:
    """What was written, and what was left as it was (a README of the student's own)."""

    files: list[Path]
    kept: list[Path]


def student_readme(kit: Kit, *, install: str | None = None, workflow: bool = False, note: str = "") -> str:
    """The README of a student's folder: how to install (``install``, a pip spec), how to work, what there is."""
    lines = [f"# {kit.title}", "", f"{len(kit.exercises)} exercises, graded on your machine by `grade`. Each file in `exercises/` starts with a short lesson and a link to the docs, then functions marked `TODO` for you to write. Run a file (`python exercises/{kit.exercises[0].file}`) to watch it work.", ""]
    if note:
        lines += [note, ""]
    if install:
        lines += [
            "## Set up", "",
            "With Python 3.11 or newer, in this folder:", "",
            "```sh", "python3 -m venv .venv", "source .venv/bin/activate      # Windows: .venv\\Scripts\\activate", f"pip install {_shell_quote(install)}", "```", "",
        ]  # fmt: skip
    lines += [
        "## Work", "",
        "Run these in this folder, or in any folder inside it:", "",
        "```sh",
        "grade watch              # grades each file as you save it (h: a hint, l: the list, x: reset, q: quit)",
        "grade                    # grades every exercise: what passed, what failed, and why",
        "grade -e 03              # only exercise 03",
        "grade list               # each exercise's status and score, and the next one to do",
        "grade hint 03            # one more hint for exercise 03",
        "grade reset 03           # start 03 over from the original stub; your version is kept in .asynclings/backups/",
        "grade show-solution 03   # the reference solution, once 03 passes (--force: before, and it is recorded)",
        "```", "",
        "Hints are never deducted: your report records how many you used, and whether you opened a solution before passing. That record, and your backups, are in `.asynclings/`, which git ignores.", "",
    ]  # fmt: skip
    if workflow:
        lines += ["Commit and push your work: each push is graded again on GitHub (the Actions tab shows the result).", ""]
    lines += ["## Exercises", "", "| id | title | points |", "|----|-------|--------|"]
    lines += [f"| `{spec.id}` | {spec.title.replace('|', '/')} | {spec.max_score:g} |" for spec in kit.exercises]
    return "\n".join(lines) + "\n"


def init_course(folder: Path, kit: Kit) -> Written:
    """Write the kit's stubs, a student README and a ``.gitignore`` into ``folder``; refuse to overwrite an exercise."""
    if folder.exists() and not folder.is_dir():
        raise CourseError(NOT_A_FOLDER.format(path=folder))
    exercises = folder / EXERCISES
    there = [spec.file for spec in kit.exercises if (exercises / spec.file).exists()]
    if there:
        more = f" and {len(there) - 1} more" if len(there) > 1 else ""
        raise CourseError(HOLDS_WORK.format(folder=exercises, files=there[0] + more))
    stubs = _stubs(kit)
    written, kept = [], []
    for name, data in stubs.items():
        written.append(_write(folder / name, data))
    readme = folder / README
    if readme.exists():
        kept.append(readme)
    else:
        note = "" if _is_built_in(kit) else f"This course has a kit of its own: give it to every command as `--kit {kit.path}`, or set `ASYNCLINGS_KIT` to it."
        written.append(_write(readme, student_readme(kit, note=note).encode()))
    written.append(_ignore_state(folder / GITIGNORE))
    return Written(written, kept)


def assignment_files(kit: Kit, pip_spec: str) -> dict[str, bytes]:
    """The students' repository: stubs, README, ``.gitignore`` and the Classroom workflow, by path; no solutions."""
    files = {
        **_stubs(kit),
        README: student_readme(kit, install=pip_spec, workflow=True, note=PRIVATE_NOTE if not _is_built_in(kit) else "").encode(),
        GITIGNORE: f"{IGNORED}\n.venv/\n__pycache__/\n".encode(),
        WORKFLOW: classroom_workflow(kit, pip_spec).encode(),
    }
    leaks = solution_leaks(kit, files)
    if leaks:
        raise CourseError(leaks[0])
    return files


def write_assignment(target: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into the new or empty folder ``target``, or into the zip ``target`` (``*.zip``) under a folder named after it."""
    if target.suffix == ".zip":
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(files):
                info = zipfile.ZipInfo(f"{target.stem}/{name}", ZIP_TIME)
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, files[name])
        return
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CourseError(NOT_EMPTY.format(path=target))
    for name, data in files.items():
        _write(target / name, data)


def classroom_workflow(kit: Kit, pip_spec: str) -> str:
    """GitHub Classroom's autograding workflow: one step per exercise, worth its points; a private kit checked out if the kit is not the built-in one."""
    private = not _is_built_in(kit)
    kit_flag = f" --kit {KIT_CHECKOUT}/kit.toml" if private else ""
    steps = []
    for spec in kit.exercises:
        steps.append(
            f"      - name: {spec.id}\n"
            f"        id: {_step_id(spec)}\n"
            f"        uses: classroom-resources/autograding-command-grader@v1\n"
            f"        with:\n"
            f"          test-name: {spec.id}\n"
            f"          command: grade exercises -e {spec.id} --min-score {spec.max_score:g}{kit_flag}\n"
            f"          timeout: {STEP_MINUTES}\n"
            f"          max-score: {spec.max_score:g}\n"
        )
    results = "".join(f'          {_step_id(spec).upper()}_RESULTS: "${{{{ steps.{_step_id(spec)}.outputs.result }}}}"\n' for spec in kit.exercises)
    private_kit = (
        "      - name: Check out the teacher's private kit (its checks; no solutions in that repository)\n"
        "        uses: actions/checkout@v5\n"
        "        with:\n"
        f"          repository: ${{{{ vars.{KIT_REPOSITORY_VARIABLE} }}}}\n"
        f"          token: ${{{{ secrets.{KIT_TOKEN_SECRET} }}}}\n"
        f"          path: {KIT_CHECKOUT}\n"
        "          persist-credentials: false\n"
    ) if private else ""  # fmt: skip
    return (
        "# Grades each push for GitHub Classroom: one step per exercise, worth the exercise's points.\n"
        "# Written by `grade assign`; what it needs from the teacher is in asynclings' docs/ci.md.\n"
        "name: Autograding Tests\n"
        '"on":\n'
        "  - push\n"
        "  - repository_dispatch\n"
        "permissions:\n"
        "  checks: write\n"
        "  actions: read\n"
        "  contents: read\n"
        "jobs:\n"
        "  run-autograding-tests:\n"
        "    runs-on: ubuntu-latest\n"
        "    if: github.actor != 'github-classroom[bot]'\n"
        "    steps:\n"
        "      - name: Check out the student's code\n"
        "        uses: actions/checkout@v5\n"
        "        with:\n"
        "          persist-credentials: false\n"
        "      - uses: actions/setup-python@v6\n"
        "        with:\n"
        '          python-version: "3.12"\n'
        "      - name: Install the grader from a pinned release\n"
        f"        run: {json.dumps('python -m pip install ' + _shell_quote(pip_spec))}\n"
        f"{private_kit}"
        f"{''.join(steps)}"
        "      - name: Autograding Reporter\n"
        "        uses: classroom-resources/autograding-grading-reporter@v1\n"
        "        env:\n"
        f"{results}"
        "        with:\n"
        f"          runners: {','.join(_step_id(spec) for spec in kit.exercises)}\n"
    )


def solution_leaks(kit: Kit, files: dict[str, bytes]) -> list[str]:
    """One line for each reference solution that some file holds: a stub with nothing left to write, or a body the student writes."""
    texts = {name: _lines(data.decode("utf-8", "replace")) for name, data in files.items()}
    leaks = []
    for spec in kit.exercises:
        if not spec.solution.is_file():
            continue
        solution = _bodies(spec.solution.read_text(encoding="utf-8"))
        stub = dict(_bodies(spec.stub.read_text(encoding="utf-8"))) if spec.stub.is_file() else {}
        written = [(name, body) for name, body in solution if stub.get(name) != body]  # what the student writes
        if solution and not written:
            leaks.append(WHOLE.format(stub=spec.stub.name, solution=spec.solution.name))
        for function, body in written:
            if body.count("\n") >= 1:  # a one-line body may well be in a stub by chance
                leaks += [LEAK.format(file=name, function=function, solution=spec.solution.name) for name, text in texts.items() if f"\n{body}\n" in text]
    return leaks


def _bodies(source: str) -> list[tuple[str, str]]:
    """Each function's name and body (its docstring aside), as :func:`_lines` puts them."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    bodies = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            statements = node.body[1:] if ast.get_docstring(node) is not None else node.body
            segments = [ast.get_source_segment(source, statement) or "" for statement in statements]
            bodies.append((node.name, _lines("\n".join(segments)).strip("\n")))
    return bodies


def _lines(text: str) -> str:
    """``text`` as its non-blank, non-comment lines, stripped, between newlines: indentation and comments aside."""
    kept = [line.strip() for line in text.splitlines()]
    return "\n" + "\n".join(line for line in kept if line and not line.startswith("#")) + "\n"


def _stubs(kit: Kit) -> dict[str, bytes]:
    stubs = {}
    for spec in kit.exercises:
        if not spec.stub.is_file():
            raise CourseError(NO_STUB.format(id=spec.id, stub=spec.stub))
        stubs[f"{EXERCISES}/{spec.file}"] = spec.stub.read_bytes()
    return stubs


def _ignore_state(path: Path) -> Path:
    """A ``.gitignore`` that ignores ``.asynclings/``: written, or the line added to the student's own."""
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if IGNORED.rstrip("/") not in {line.strip().strip("/") for line in text.splitlines()}:
        _write(path, (text + ("\n" if text and not text.endswith("\n") else "") + IGNORED + "\n").encode())
    return path


def _write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def _is_built_in(kit: Kit) -> bool:
    return kit.path == DEFAULT_KIT.resolve()


def _step_id(spec: ExerciseSpec) -> str:
    return f"ex{spec.id}"


def _shell_quote(spec: str) -> str:
    """A pip spec as a POSIX shell and PowerShell both read it: quoted only when it needs to be."""
    plain = all(ch.isalnum() or ch in "._-=!~,[]" for ch in spec)
    return spec if plain else "'" + spec.replace("'", "'\\''") + "'"
