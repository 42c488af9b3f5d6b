"""How fast does `grade batch` grade a class, and where does the time go?

Generates N submissions of every exercise (each exercise: the reference solution or one of
the golden wrong submissions, every file made unique so no two students share a
grading), then measures in one run, on the same machine:
  * `python -c pass`                                     (starting Python)
  * the imports a grading worker makes before it forks    (pytest, plugins, the checks' helpers)
  * a bare `python -m pytest` of one trivial async test   (starting pytest)
  * `grade_folder` on one submission, alone               (one student, every exercise, and one)
  * `grade batch` over as many folders with nothing to run (the batch's own overhead)
  * `grade batch` over the whole class with -j JOBS       (submissions/second)
and prints the per-submission cost against the first three, and the peak memory (RSS)
of the batch's parent process and of the largest process it started.
Run: `python benchmarks/batch_speed.py [--students 200] [--jobs N] [--runs 5]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from yardsticks import bare_pytest_seconds, median_seconds, python_seconds, seconds

from grader.batch.slots import default_slots

ROOT = Path(__file__).resolve().parent.parent
WORKER_IMPORTS = "import pytest, pytest_asyncio.plugin, pytest_timeout, grader.checking.fixtures, grader.runner.judge.check_process"
# Runs `grade batch` in a process of its own and reports that process's peak RSS and the
# largest peak of any process it started and waited for (Linux: the whole reaped tree).
BATCH = """
import json, resource, sys
from grader.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"parent_kib": own, "children_kib": children}), file=sys.stderr)
"""
GRADE_ONE = """
import sys, time
from pathlib import Path
from grader.grading import grade_folder
from grader.kit import load_kit
from grader.runner.limits import Limits
kit = load_kit()
chosen = kit.select(sys.argv[3:]) if sys.argv[3:] else None
started = time.perf_counter()
grade_folder(Path(sys.argv[1]), kit, chosen, Limits(sandbox=sys.argv[2]))
print(time.perf_counter() - started)
"""
SAMPLE_SECONDS = 0.05
EXERCISES = len(list((ROOT / "solutions").glob("*.py")))


def make_empty_class(root: Path, students: int) -> None:
    """``students`` folders with no exercise file: what the batch costs when nothing runs."""
    for number in range(students):
        (root / f"student{number:04d}").mkdir(parents=True)
        (root / f"student{number:04d}" / "notes.txt").write_text(f"student {number}\n")


def make_class(root: Path, students: int) -> None:
    """``students`` folders of one file per exercise, each file unique to its student."""
    choices = {}
    for solution in sorted((ROOT / "solutions").glob("*.py")):
        golden = sorted((ROOT / "tests" / "golden" / solution.stem).glob(f"*/{solution.name}"))
        choices[solution.name] = [solution, *golden]
    for number in range(students):
        folder = root / f"student{number:04d}"
        folder.mkdir(parents=True)
        for name, options in choices.items():
            source = options[number % len(options)].read_bytes()
            (folder / name).write_bytes(source + f"\n# student {number}\n".encode())


class PeakMemory(threading.Thread):
    """Samples the peak RSS (VmHWM) of every process descended from ``root`` until stopped."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak_kib = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(SAMPLE_SECONDS):
            for pid in descendants(self.root):
                self.peak_kib = max(self.peak_kib, high_water_kib(pid))


def descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[-1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def high_water_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def grade_one(folder: Path, sandbox: str, runs: int, *exercises: str) -> float:
    command = [sys.executable, "-c", GRADE_ONE, str(folder), sandbox, *exercises]
    return statistics.median(float(subprocess.run(command, capture_output=True, text=True, check=True).stdout) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=default_slots())
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sandbox", default="auto", help="auto, bwrap or process (as `grade --sandbox`)")
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        make_class(folder / "class", args.students)
        bare_python = python_seconds(args.runs)
        imports = median_seconds([python, "-I", "-c", WORKER_IMPORTS], args.runs, ROOT)
        bare_pytest = bare_pytest_seconds(args.runs)
        first = folder / "class" / "student0000"
        one = grade_one(first, args.sandbox, args.runs)
        single = grade_one(first, args.sandbox, args.runs, "03")
        make_empty_class(folder / "empty", args.students)
        # The class is made of the kit's own files: trusted, so `--sandbox process` may run it as root.
        trusted = ["--trust-submissions"]
        machinery = seconds([python, "-m", "grader", "batch", str(folder / "empty"), "-o", str(folder / "out-empty"), "-j", str(args.jobs), *trusted], folder)
        command = [python, "-c", BATCH, "batch", str(folder / "class"), "-o", str(folder / "out"), "-j", str(args.jobs), "--sandbox", args.sandbox, *trusted]
        started = time.perf_counter()
        batch = subprocess.Popen(command, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        sampler = PeakMemory(batch.pid)
        sampler.start()
        _, errors = batch.communicate()
        wall = time.perf_counter() - started
        sampler.done.set()
        sampler.join()
        memory = json.loads(errors.strip().splitlines()[-1])
        graded = len(list((folder / "out" / "reports").glob("*.json")))
        cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    cores = os.cpu_count() or 1
    per_submission = wall * cores / args.students  # slots may outnumber cores: what one core spends on one student
    print(f"{args.students} submissions x {EXERCISES} exercises, -j {args.jobs}, sandbox {args.sandbox}, medians of {args.runs} runs, cpu_count {os.cpu_count()}")
    print(f"  python -c pass                       {bare_python:7.3f} s")
    print(f"  a worker's imports (fresh python)    {imports:7.3f} s")
    print(f"  bare pytest, 1 async test            {bare_pytest:7.3f} s")
    per_exercise = (one - single) / (EXERCISES - 1)
    print(f"  grade_folder, 1 submission alone     {one:7.3f} s  (1 exercise: {single:.3f} s; so {single - per_exercise:.3f} s fixed + {per_exercise:.3f} s per exercise, two judges from four exercises)")
    print(f"  grade batch, {args.students} with nothing to run   {machinery:7.2f} s  (the batch's own work: find, copy, hash, records, gradebook)")
    print(f"  grade batch, {graded} submissions       {wall:7.2f} s  = {args.students / wall:.2f} submissions/s  (target: 200 in < 20 s)")
    print(f"  per submission, per core             {per_submission:7.3f} s  = {per_submission / bare_pytest:.1f}x bare pytest, "
          f"{per_submission / bare_python:.0f}x python -c pass ({cores} cores, {args.jobs} slots)")
    largest = max(memory["children_kib"], sampler.peak_kib)
    print(f"  peak RSS: batch parent {memory['parent_kib'] / 1024:.0f} MiB, largest process it started {largest / 1024:.0f} MiB  (limit: 512 MiB)")
    print(f"  CPU used by everything measured: {cpu.ru_utime + cpu.ru_stime:.1f} s (processes inside bwrap's pid namespace are not counted)")


if __name__ == "__main__":
    main()
