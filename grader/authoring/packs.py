"""Grade many exercise files fast: packed into submissions, on kept workers, in parallel.

A kit check grades hundreds of single files (solutions, stubs, golden fixtures,
mutants). Starting Python and pytest for each would cost more than the checks, and
checking one file per submission pays a submission's overhead each time; so the files
are packed, at most one per exercise, into submissions, and graded as a batch grades a
class: one kept worker per thread (:class:`grader.batch.slots.WorkerSlots`). The
exercises of a submission are checked apart from each other, so a file's verdict does
not depend on its pack.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from grader.batch.slots import WorkerSlots
from grader.grading import grade_folder
from grader.kit import ExerciseSpec, Kit, check_files, solution_folders
from grader.leftovers import owned_folder
from grader.model import ExerciseResult
from grader.runner import processes
from grader.runner.limits import Limits

File = tuple[ExerciseSpec, bytes]


def pack(files: list[File]) -> list[list[int]]:
    """Indexes of ``files`` grouped into submissions that hold each exercise at most once."""
    packs: list[list[int]] = []
    taken: list[set[str]] = []
    for index, (spec, _) in enumerate(files):
        free = next((i for i, ids in enumerate(taken) if spec.id not in ids), None)
        if free is None:
            packs.append([])
            taken.append(set())
            free = len(packs) - 1
        packs[free].append(index)
        taken[free].add(spec.id)
    return packs


def grade_files(kit: Kit, files: list[File], jobs: int, done: Callable[[], None] = lambda: None) -> list[ExerciseResult]:
    """The verdict on each file of ``files``, in order; ``done`` is called once for each file graded."""
    results: list[ExerciseResult | None] = [None] * len(files)
    packs = pack(files)
    if not packs:
        return []
    slots = WorkerSlots(check_files(kit.exercises), Limits(), solution_folders(kit.exercises))
    root = owned_folder("kit")
    pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="kit")
    try:
        slots.start(min(jobs, len(packs)))
        futures = {pool.submit(_grade_pack, kit, [files[i] for i in indexes], root / str(n), slots): indexes for n, indexes in enumerate(packs)}
        for future in as_completed(futures):
            for index, result in zip(futures[future], future.result()):
                results[index] = result
                done()
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        for pid in processes.children(os.getpid()):  # the workers: a grade still running returns at once
            processes.kill_tree(pid)
        raise
    finally:
        pool.shutdown(wait=True)
        slots.close()
        shutil.rmtree(root, ignore_errors=True)
    return [result for result in results if result is not None]


def _grade_pack(kit: Kit, files: list[File], folder: Path, slots: WorkerSlots) -> list[ExerciseResult]:
    folder.mkdir()
    for spec, source in files:
        (folder / spec.file).write_bytes(source)
    specs = [spec for spec, _ in files]
    report = grade_folder(folder, kit, specs, Limits(), worker=slots.worker())
    return report.exercises
