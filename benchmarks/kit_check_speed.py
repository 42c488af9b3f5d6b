"""How fast is `grade kit check --mutants` on the built-in kit, and what do packing and kept workers buy?

Measures, in one run and on the same machine, the wall time of grading every file a kit
check grades (solutions, edited stubs, golden fixtures, mutants):
  * packed, at most one file per exercise in each submission, on kept workers (as `grade kit check` does)
  * one submission per file, on the same kept workers
  * a worker started for each file, as a plain `grade` does, timed on a sample and scaled up
and the whole `grade kit check --mutants` command, demos included (they sleep in real time,
all at once, while the grading runs). Run: `python benchmarks/kit_check_speed.py [--sample N]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.authoring.golden import fixtures
from grader.authoring.kit_check import TOUCHED
from grader.authoring.mutants import mutants
from grader.authoring.packs import File, grade_files
from grader.batch.slots import WorkerSlots
from grader.grading import grade_folder
from grader.kit import Kit, check_files, load_kit, solution_folders
from grader.runner.limits import Limits

ROOT = Path(__file__).resolve().parent.parent


def files_of(kit: Kit) -> list[File]:
    specs = list(kit.exercises)
    assert kit.golden is not None
    found: list[File] = [(spec, spec.solution.read_bytes()) for spec in specs]
    found += [(spec, spec.stub.read_bytes() + TOUCHED) for spec in specs]
    found += [(f.spec, f.source) for f in fixtures(kit.golden, kit, specs) if f.spec is not None]
    found += [(m.spec, m.source.encode()) for spec in specs for m in mutants(spec)]
    return found


def one_per_submission(kit: Kit, files: list[File], jobs: int, root: Path) -> None:
    slots = WorkerSlots(check_files(kit.exercises), Limits(), solution_folders(kit.exercises))
    slots.start(jobs)

    def grade(numbered: tuple[int, File]) -> None:
        number, (spec, source) = numbered
        folder = root / f"one-{number}"
        folder.mkdir()
        (folder / spec.file).write_bytes(source)
        grade_folder(folder, kit, [spec], Limits(), worker=slots.worker())

    try:
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(grade, enumerate(files)))
    finally:
        slots.close()


def fresh_each(kit: Kit, files: list[File], jobs: int, root: Path) -> None:
    def grade(numbered: tuple[int, File]) -> None:
        number, (spec, source) = numbered
        folder = root / f"fresh-{number}"
        folder.mkdir()
        (folder / spec.file).write_bytes(source)
        grade_folder(folder, kit, [spec], Limits())

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(grade, enumerate(files)))


def timed(work: Callable[..., object], *args: object) -> float:
    started = time.monotonic()
    work(*args)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=12, help="files graded by a fresh `grade` each (then scaled up)")
    sample = parser.parse_args().sample
    kit = load_kit()
    files = files_of(kit)
    jobs = os.cpu_count() or 2
    root = Path(tempfile.mkdtemp(prefix="kit-speed-"))
    try:
        packed = timed(grade_files, kit, files, jobs)
        single = timed(one_per_submission, kit, files, jobs, root)
        fresh = timed(fresh_each, kit, files[:: max(len(files) // sample, 1)][:sample], jobs, root) / sample * len(files)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    grade = shutil.which("grade") or str(Path(sys.executable).parent / "grade")
    started = time.monotonic()
    subprocess.run([grade, "kit", "check", "--mutants"], cwd=ROOT, check=True, capture_output=True)
    command = time.monotonic() - started
    print(f"{len(files)} files ({len(kit.exercises)} exercises), {jobs} jobs")
    print(f"  packed, kept workers              {packed:6.1f} s")
    print(f"  one submission per file, kept     {single:6.1f} s  ({single / packed:.1f}x packed)")
    print(f"  a fresh grade per file (scaled)   {fresh:6.1f} s  ({fresh / packed:.1f}x packed; a sample of {sample})")
    print(f"  grade kit check --mutants         {command:6.1f} s  (demos included)")


if __name__ == "__main__":
    main()
