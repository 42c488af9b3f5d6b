"""The kit checks itself: metadata, stubs, solutions and checks never drift apart."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from grader.grading import grade_folder
from grader.kit import Kit, KitError, load_kit
from grader.model import ExerciseStatus

from .conftest import ROOT

# What `grade kit check` asks of any kit is tested in test_kit_check.py; these are the built-in kit's own conventions.
EXERCISE_IDS = [spec.id for spec in load_kit().exercises]


def test_exercises_come_in_the_order_of_their_ids(kit: Kit) -> None:
    assert [e.id for e in kit.exercises] == sorted(e.id for e in kit.exercises)


@pytest.mark.parametrize("exercise_id", EXERCISE_IDS)
def test_exercise_files_follow_the_conventions(kit: Kit, exercise_id: str) -> None:
    spec = kit.exercise(exercise_id)
    stub = spec.stub.read_text(encoding="utf-8")
    assert ast.get_docstring(ast.parse(stub)), "stub needs a module docstring that teaches"
    assert "https://docs.python.org/3/library/asyncio" in stub
    assert "NotImplementedError" in stub
    assert len(spec.hints) >= 2
    assert spec.checks[0].points == 0  # loads: names every missing function, scores nothing itself


def test_no_stray_files_in_exercises_or_solutions(kit: Kit) -> None:
    expected = {spec.file for spec in kit.exercises}
    for folder in ("exercises", "solutions"):
        present = {p.name for p in (ROOT / folder).iterdir() if p.name != "__pycache__"}
        assert present == expected, folder


def test_pristine_stubs_score_zero_and_are_not_started(kit: Kit) -> None:
    report = grade_folder(ROOT / "exercises", kit)
    assert report.score == 0
    assert {e.status for e in report.exercises} == {ExerciseStatus.NOT_STARTED}


MINIMAL_KIT = (
    "format_version = 1\nname='x'\ntitle='x'\nstubs='s'\nsolutions='s'\nchecks='c'\n"
    "[[exercises]]\nid='01_x'\ntitle='t'\n[[exercises.checks]]\nid='a'\nname='a'\npoints=1\n"
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("format_version = 2", "format_version must be 1"),
        ("format_version = 1\nname = 'x'\ntitle = 'x'\nstubs = 's'\nsolutions = 's'\nchecks = 'c'", "needs at least one [[exercises]]"),
        ("format_version = [", "not valid TOML"),
        (
            ("format_version = 1\nname='x'\ntitle='x'\nstubs='s'\nsolutions='s'\nchecks='c'\n"
            "[[exercises]]\nid='1_bad'\ntitle='t'\n"),
            "must look like '01_topic'",
        ),
        (MINIMAL_KIT.replace("points=1", "points=1\ndepends=['b']"), "depends on ['b']"),
        (MINIMAL_KIT.replace("points=1", "points=1\ntimeout='fast'"), "timeout must be a number of seconds > 0, found 'fast'"),
        (MINIMAL_KIT.replace("title='t'", "title='t'\nhints='one hint'"), "'hints' must be a list of strings"),
        (MINIMAL_KIT.replace("title='t'", "title='t'\nfile='../x.py'"), "file '../x.py' must be a bare file name"),
        (MINIMAL_KIT.replace("id='01_x'", "id='02_y'"), "the checks file"),
        ("format_version = 1\nname='x'\ntitle='x'\nstubs='s'\nsolutions='s'\nchecks='c'\nexercises=[1]\n", "needs at least one [[exercises]]"),
    ],
    ids=["version", "no-exercises", "toml", "bad-id", "unknown-dependency", "timeout", "hints", "file", "no-checks-file", "not-a-table"],
)
def test_malformed_kits_are_explained(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "kit.toml"
    path.write_text(text)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "check_01_x.py").write_text("")
    (tmp_path / "probes").mkdir()
    (tmp_path / "probes" / "probe_01_x.py").write_text("")
    with pytest.raises(KitError, match=re.escape(message)) as caught:
        load_kit(path)
    assert str(path) in str(caught.value)


def test_a_kit_without_an_exercises_probe_file_is_explained(tmp_path: Path) -> None:
    (tmp_path / "kit.toml").write_text(MINIMAL_KIT)
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "check_01_x.py").write_text("")
    with pytest.raises(KitError, match=re.escape(f"the probes file {tmp_path / 'probes' / 'probe_01_x.py'} does not exist")):
        load_kit(tmp_path / "kit.toml")


def test_an_exact_id_is_never_ambiguous(tmp_path: Path) -> None:
    text = MINIMAL_KIT + "[[exercises]]\nid='01_x_more'\ntitle='t'\n[[exercises.checks]]\nid='a'\nname='a'\npoints=1\n"
    (tmp_path / "kit.toml").write_text(text)
    (tmp_path / "c").mkdir()
    (tmp_path / "probes").mkdir()
    for name in ("01_x.py", "01_x_more.py"):
        (tmp_path / "c" / f"check_{name}").write_text("")
        (tmp_path / "probes" / f"probe_{name}").write_text("")
    kit = load_kit(tmp_path / "kit.toml")
    assert [e.id for e in kit.select(["01_x"])] == ["01_x"]
    with pytest.raises(KitError, match="'01' is ambiguous"):
        kit.select(["01"])
    with pytest.raises(KitError, match="'' matches no exercise"):
        kit.select([""])


def test_each_stub_and_solution_is_kept_once_and_the_stubs_copied_apart(kit: Kit) -> None:
    """exercises/ and solutions/ are the only sources; the student edits exercises/, so reset and
    "not started" use the copy that setup.py makes of it when the grader is installed."""
    for duplicate in ("stubs", "solutions"):
        assert not (ROOT / "grader" / "default_kit" / duplicate).exists(), f"grader/default_kit/{duplicate}/: keep each file once, in exercises/ or solutions/"
    for spec in kit.exercises:
        working = ROOT / "exercises" / spec.file
        assert spec.solution.resolve() == (ROOT / "solutions" / spec.file).resolve(), spec.id
        assert spec.stub.resolve() != working.resolve(), spec.id
        behind = f"{spec.stub} is not {working} as it is now: `pip install -e .` copies the stubs again"
        assert spec.stub.is_file() and spec.stub.read_bytes() == working.read_bytes(), behind


def test_a_folder_key_may_list_places_of_which_the_first_that_exists_is_used(tmp_path: Path) -> None:
    """How the built-in kit finds its solutions in the installed package and in a checkout alike."""
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "check_01_x.py").write_text("")
    (tmp_path / "probes").mkdir()
    (tmp_path / "probes" / "probe_01_x.py").write_text("")
    (tmp_path / "there").mkdir()
    (tmp_path / "kit.toml").write_text(MINIMAL_KIT.replace("solutions='s'", "solutions=['missing', 'there']"))
    assert load_kit(tmp_path / "kit.toml").exercise("01_x").solution == tmp_path / "there" / "01_x.py"
    (tmp_path / "kit.toml").write_text(MINIMAL_KIT.replace("solutions='s'", "solutions=['missing', 'gone']"))
    assert load_kit(tmp_path / "kit.toml").exercise("01_x").solution == tmp_path / "missing" / "01_x.py"
    (tmp_path / "kit.toml").write_text(MINIMAL_KIT.replace("solutions='s'", "solutions=[]"))
    with pytest.raises(KitError, match=re.escape("'solutions' must be a folder, or a list of folders of which the first that exists is used, found []")):
        load_kit(tmp_path / "kit.toml")
