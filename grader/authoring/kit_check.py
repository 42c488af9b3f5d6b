"""``grade kit check``: is a kit sound? Its files, its metadata, and what its checks say of known code.

Every stub, with a comment added but every TODO left (untouched, grading would not even
run it), must be ``not_started`` and score 0; every solution must score full marks and
its demo must run; every golden fixture must get its expected verdict; the files and
metadata must follow :mod:`grader.authoring.conventions`. With
mutants, each mistake put into a solution (:mod:`grader.authoring.mutants`) is graded
too, and those every check passes are listed: what the checks let through. All of it is
graded in one go, on kept workers (:mod:`grader.authoring.packs`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from grader.authoring import golden
from grader.authoring.conventions import shown, static_problems
from grader.authoring.demos import running_demos
from grader.authoring.mutants import Mutant, mutants
from grader.authoring.packs import File, grade_files
from grader.kit import ExerciseSpec, Kit
from grader.model import CheckStatus, ExerciseResult, ExerciseStatus

# A student's first edit, which leaves every TODO: the stub is then graded, not recognised as untouched.
TOUCHED = b"\n# I have read the task.\n"


@dataclasses.dataclass
class KitVerdict:
    """What ``grade kit check`` found: the problems (one line each) and what it could not look at."""

    problems: list[str] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    fixtures: int = 0
    mutants: list[Mutant] = dataclasses.field(default_factory=list)
    survivors: list[Mutant] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class _Graded:
    """A file to grade, and what its verdict means for the kit: a problem line for each way it is not as it should be."""

    file: File
    judge: Callable[[ExerciseResult], list[str]]


def check_kit(
    kit: Kit,
    specs: list[ExerciseSpec],
    *,
    with_mutants: bool = False,
    jobs: int = 2,
    started: Callable[[int], None] = lambda total: None,
    done: Callable[[], None] = lambda: None,
) -> KitVerdict:
    """Check ``specs`` of ``kit``; ``started`` hears how many files will be graded and demos run, ``done`` each end."""
    verdict = KitVerdict(problems=static_problems(kit, specs))
    present = [spec for spec in specs if spec.solution.is_file() and spec.stub.is_file()]
    with running_demos(present) as demos:
        graded = [_Graded((spec, spec.solution.read_bytes()), _full_marks(spec)) for spec in present]
        graded += [_Graded((spec, spec.stub.read_bytes() + TOUCHED), _not_started(spec)) for spec in present]
        graded += _golden(kit, specs, verdict)
        made = [mutant for spec in present for mutant in mutants(spec)] if with_mutants else []
        started(len(graded) + len(made) + len(demos))
        for demo in demos.values():
            demo.add_done_callback(lambda _: done())
        files = [item.file for item in graded] + [(m.spec, m.source.encode()) for m in made]
        results = grade_files(kit, files, jobs, done)
        for item, result in zip(graded, results):
            verdict.problems += item.judge(result)
        verdict.problems += [problem for spec in present if (problem := demos[spec.id].result())]
    failing = sorted(spec.id for spec, result in zip(present, results) if result.status is not ExerciseStatus.PASSED)
    if failing and made:
        verdict.notes.append(f"mutants of {', '.join(failing)} not judged: the solution itself does not pass")
    judged = [(m, result) for m, result in zip(made, results[len(graded) :]) if m.spec.id not in failing]
    verdict.mutants = [m for m, _ in judged]
    verdict.survivors = [m for m, result in judged if result.status is ExerciseStatus.PASSED]
    return verdict


def _full_marks(spec: ExerciseSpec) -> Callable[[ExerciseResult], list[str]]:
    def judge(result: ExerciseResult) -> list[str]:
        where = shown(spec.solution)
        if result.status is ExerciseStatus.PASSED:
            return []
        if result.message:  # the whole exercise could not be judged: one reason for every check
            return [f"{where}: the solution is {result.status.value}: {_reason(result)}"]
        failed = [c for c in result.checks if c.status is not CheckStatus.PASSED]
        return [f"{where}: the solution fails check {c.id!r} ({c.status.value}): {c.message or c.help}" for c in failed]

    return judge


def _not_started(spec: ExerciseSpec) -> Callable[[ExerciseResult], list[str]]:
    def judge(result: ExerciseResult) -> list[str]:
        if result.status is ExerciseStatus.NOT_STARTED and result.score == 0:
            return []
        passed = [c.id for c in result.checks if c.status is CheckStatus.PASSED and c.max_score > 0]
        judged = [c for c in result.checks if c.status is CheckStatus.FAILED and not c.todo]
        why = f" (passes {', '.join(passed)})" if passed else f" ({judged[0].id}: {judged[0].message})" if judged else ""
        why = f": {_reason(result)}" if result.message else why
        found = f"{result.status.value} with {result.score:g}/{result.max_score:g}"
        return [f"{shown(spec.stub)}: the stub, with a comment added, is {found}, not not_started with 0{why}"]

    return judge


def _reason(result: ExerciseResult) -> str:
    """Why a whole exercise could not be judged, with the last line it printed when the kit's own code failed."""
    printed = [line.removeprefix("E ").strip() for line in result.output.splitlines() if line.strip()]
    return f"{result.message} ({printed[-1]})" if result.status is ExerciseStatus.ERROR and printed else result.message


def _golden(kit: Kit, specs: list[ExerciseSpec], verdict: KitVerdict) -> list[_Graded]:
    """The fixtures to grade; a missing golden folder is noted, a malformed fixture is a problem."""
    if kit.golden is None:
        verdict.notes.append(f'golden fixtures: none, so none checked ({shown(kit.path)} names no `golden = "folder"`)')
        return []
    if not kit.golden.is_dir():
        verdict.notes.append(f"golden fixtures: {shown(kit.golden)} is not there, so none checked")
        return []
    graded = []
    for fixture in golden.fixtures(kit.golden, kit, specs):
        if fixture.problem or fixture.spec is None:
            verdict.problems.append(f"{shown(fixture.folder)}: {fixture.problem}")
            continue
        verdict.fixtures += 1
        graded.append(_Graded((fixture.spec, fixture.source), _as_expected(fixture)))
    return graded


def _as_expected(fixture: golden.Fixture) -> Callable[[ExerciseResult], list[str]]:
    def judge(result: ExerciseResult) -> list[str]:
        return [f"{shown(fixture.folder)}: {difference}" for difference in golden.differences(fixture.expected, result)]

    return judge
