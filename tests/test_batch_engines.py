"""``--shard auto`` on the engines teachers' institutions run, and the recipes in docs/batch.md run as written.

The Kubernetes Job's command and the Slurm script are taken from the documentation and
run here, once per part, with the variables the engine would set; their parts, merged,
must give the gradebook one machine gives. The GitHub workflow is checked against
GitHub's schema and actionlint.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from grader.batch.shard import Shard, ShardError, parse_shard

from .batch_fixtures import ALTERNATIVE, AWAIT, REFERENCE, STUB, write_file, zip_folder
from .conftest import ROOT
from .test_batch import GRADEBOOK, grade
from .test_ci_files import tool

DOCS = ROOT / "docs" / "batch.md"
SCRIPTS = Path(sys.executable).parent
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the engines' recipes are Linux shell")


def block(language: str, containing: str) -> str:
    (found,) = [b for b in re.findall(rf"```{language}\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.DOTALL) if containing in b]
    return found


@pytest.mark.parametrize(
    ("shard", "environ", "expected"),
    [
        ("auto/4", {"JOB_COMPLETION_INDEX": "0"}, Shard(1, 4)),
        ("auto/4", {"JOB_COMPLETION_INDEX": "3"}, Shard(4, 4)),
        ("auto", {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, Shard(1, 4)),
        ("auto", {"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_COUNT": "4"}, Shard(4, 4)),
        ("auto", {"STRATEGY_JOB_INDEX": "1", "STRATEGY_JOB_TOTAL": "2"}, Shard(2, 2)),
        ("2/3", {"JOB_COMPLETION_INDEX": "0"}, Shard(2, 3)),
    ],
    ids=["k8s-first", "k8s-last", "slurm-from-1", "slurm-from-0", "github", "given"],
)
def test_auto_shard_takes_its_part_from_the_engine(shard: str, environ: dict[str, str], expected: Shard) -> None:
    assert parse_shard(shard, environ) == expected


@pytest.mark.parametrize(
    ("shard", "environ", "message"),
    [
        ("auto", {"JOB_COMPLETION_INDEX": "0"}, "needs the Job's completions: --shard auto/N"),
        ("auto/3", {"SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "4"}, "--shard auto/3, but the Slurm array runs 4 parts"),
        ("auto/4", {"JOB_COMPLETION_INDEX": "4"}, "the Kubernetes Job says part 4 of 4, which is not a part of 4 (parts count from 0)"),
        ("auto", {"STRATEGY_JOB_INDEX": "x", "STRATEGY_JOB_TOTAL": "2"}, "STRATEGY_JOB_INDEX must be a whole number, found 'x'"),
        ("auto", {}, "--shard auto found no array index"),
    ],
)
def test_auto_shard_refuses_what_it_cannot_trust(shard: str, environ: dict[str, str], message: str) -> None:
    with pytest.raises(ShardError, match=re.escape(message)):
        parse_shard(shard, environ)


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A course folder as the recipes expect it: submissions.zip and roster.csv, and a single machine's gradebook."""
    root = tmp_path_factory.mktemp("course")
    files = {"ann": REFERENCE, "ben": AWAIT, "cat": ALTERNATIVE, "dan": STUB, "eve": STUB + b"# eve\n", "fay": STUB + b"# fay\n"}
    for student, data in files.items():
        write_file(root / "class" / student / "03_concurrency.py", data)
    zip_folder(root / "class", root / "submissions.zip")
    (root / "roster.csv").write_text("id,name\n" + "".join(f"{s},{s.title()}\n" for s in [*files, "gus"]), encoding="utf-8")
    code, output = grade("batch", root / "submissions.zip", "-o", root / "single", "--roster", root / "roster.csv", "--sandbox", "bwrap", "-j", "2")
    assert code == 0, output
    return root


def run(command: list[str], cwd: Path, **environ: str) -> None:
    env = {**os.environ, **environ, "PATH": os.pathsep.join([str(SCRIPTS), os.environ.get("PATH", "")])}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def same_gradebook(merged: Path, single: Path) -> None:
    for name in GRADEBOOK:
        assert (merged / name).read_bytes() == (single / name).read_bytes(), name


@linux_only
def test_the_kubernetes_job_runs_as_written(course: Path, tmp_path: Path) -> None:
    job = YAML(typ="safe").load(block("yaml", "kind: Job"))
    spec = job["spec"]
    (container,) = spec["template"]["spec"]["containers"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 4, 4)
    assert container["volumeMounts"][0]["mountPath"] == "/class"
    (script,) = container["args"]
    assert "--shard auto/4" in script and container["command"] == ["sh", "-c"]
    work = tmp_path / "class"
    work.mkdir()
    for name in ("submissions.zip", "roster.csv"):
        (work / name).write_bytes((course / name).read_bytes())
    for index in range(spec["completions"]):
        run(["sh", "-c", script.replace("/class", str(work))], tmp_path, JOB_COMPLETION_INDEX=str(index))
    code, output = grade("merge", *sorted(work.glob("out/part-*")), "-o", work / "gradebook")
    assert code == 0, output
    same_gradebook(work / "gradebook", course / "single")


@linux_only
def test_the_slurm_array_script_runs_as_written(course: Path, tmp_path: Path) -> None:
    script = block("bash", "#SBATCH --array")
    first, last = map(int, re.search(r"#SBATCH --array=(\d+)-(\d+)", script).groups())  # type: ignore[union-attr]  # a script without the line fails here
    cpus = re.search(r"#SBATCH --cpus-per-task=(\d+)", script)[1]  # type: ignore[index]  # as above
    (tmp_path / "grade-class.sbatch").write_text(script, encoding="utf-8")
    for name in ("submissions.zip", "roster.csv"):
        (tmp_path / name).write_bytes((course / name).read_bytes())
    for task in range(first, last + 1):
        slurm = {"SLURM_ARRAY_TASK_ID": str(task), "SLURM_ARRAY_TASK_MIN": str(first), "SLURM_ARRAY_TASK_COUNT": str(last - first + 1)}
        run(["bash", "grade-class.sbatch"], tmp_path, SLURM_CPUS_PER_TASK=cpus, **slurm)
    merge = re.search(r"--wrap '(.*?)'", block("sh", "sbatch --dependency"))[1]  # type: ignore[index]  # a script without the line fails here
    run(["sh", "-c", merge], tmp_path)
    same_gradebook(tmp_path / "gradebook", course / "single")


def test_the_github_workflow_passes_githubs_schema_and_actionlint(tmp_path: Path) -> None:
    workflow = tmp_path / "grade-class.yml"
    workflow.write_text(block("yaml", "grade merge parts/part-*"), encoding="utf-8")
    command = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    actionlint = tool("actionlint")
    assert actionlint
    done = subprocess.run([actionlint, "-shellcheck=", "-pyflakes=", str(workflow)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    steps = YAML(typ="safe").load(workflow.read_text(encoding="utf-8"))["jobs"]["grade"]["steps"]
    grading = next(step for step in steps if step.get("run", "").startswith("grade batch"))
    assert "--shard auto" in grading["run"]
    assert grading["env"] == {"STRATEGY_JOB_INDEX": "${{ strategy.job-index }}", "STRATEGY_JOB_TOTAL": "${{ strategy.job-total }}"}
