"""Grade one submission: preflight every exercise, run the runnable ones, judge them all."""

from __future__ import annotations

import time
from pathlib import Path

from grader.kit import ExerciseSpec, Kit, solution_folders
from grader.leftovers import owned_folder
from grader.model import ExerciseResult, Report
from grader.runner.parent.kept_worker import KeptWorker
from grader.runner.parent.launcher import Limits, StartedWorker
from grader.runner.parent.sandbox import detect, resolve
from grader.submission import (
    Readiness,
    check_folder,
    copy_for_run,
    prepare,
    remove_quietly,
)
from grader.verdict import judge, without_running


def grade_folder(
    folder: Path,
    kit: Kit,
    exercises: list[ExerciseSpec] | None = None,
    limits: Limits | None = None,
    hidden: tuple[Path, ...] = (),
    worker: KeptWorker | None = None,
) -> Report:
    """Grade ``folder`` against ``kit`` (all exercises, or the chosen ones), in kit order.

    The checks never see ``folder`` itself (they run on a temporary copy), nor the kit's
    solutions, nor any extra ``hidden`` folders (other students' work in a batch). A kept
    ``worker`` (a batch's) checks the copy, with the limits it was started with, instead of
    a worker started for this submission.
    """
    started = time.monotonic()
    folder = check_folder(folder)
    chosen = exercises or list(kit.exercises)
    limits = limits or Limits()
    refused = (folder, *solution_folders(chosen), *hidden)
    workdir = worker.scratch() if worker else owned_folder("grade")
    checker = worker or StartedWorker(workdir, chosen, limits, refused)  # it loads while we prepare
    try:
        prepared = [prepare(folder, spec) for spec in chosen]
        results: dict[str, ExerciseResult] = {
            item.spec.id: without_running(item) for item in prepared if item.readiness is not Readiness.RUN
        }
        sandbox, protections = resolve(limits.sandbox, detect()), []
        runnable = copy_for_run(prepared, workdir)
        if runnable:
            run = checker.run(runnable, workdir, refused)
            sandbox, protections = run.sandbox, run.protections
            for spec, _ in runnable:
                results[spec.id] = judge(spec, run.outcomes[spec.id])
    finally:
        if checker is not worker:
            checker.close()
        remove_quietly(workdir)
    return Report(
        exercises=[results[spec.id] for spec in chosen],
        kit=kit.name,
        submission=str(folder),
        sandbox=sandbox,
        protections=protections,
        duration=time.monotonic() - started,
    )
