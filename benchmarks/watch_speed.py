"""How long from saving an exercise to its verdict on the `grade watch` screen?

Drives `grade watch` in a real pseudo-terminal, as a student's terminal would run it, and
saves 03_concurrency over and over, a failing version and a passing one in turn. Each
time counts from the moment the file is written to the moment the new verdict's screen
(``grade #N``) has been drawn: the debounce (``--debounce``, default 0.05 s), the grading
on the worker kept for the session, and the drawing. In the same run it measures what the
watch saves the student from (a fresh `grade -e 03` of the same file), the floor (`python -c
pass`), and the share of grading itself: the same saves graded on a kept worker in this
process, with nothing drawn.
Run: `python benchmarks/watch_speed.py [--runs N] [--debounce S]`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from yardsticks import median_seconds, python_seconds

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.cli.student import grade_quietly
from grader.cli.watch import kept_worker
from grader.kit import Kit, load_kit
from tests.terminal import Terminal

FAILING = ROOT / "tests" / "golden" / "03_concurrency" / "await_in_loop" / "03_concurrency.py"
TARGET_SECONDS = 0.3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--debounce", type=float, help="passed on to grade watch (default: its own)")
    options = parser.parse_args()
    grade = shutil.which("grade") or str(Path(sys.executable).parent / "grade")
    kit = load_kit()
    versions = [kit.exercise("03_concurrency").solution.read_bytes(), FAILING.read_bytes()]
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        folder = home / "exercises"
        folder.mkdir()
        for spec in kit.exercises:
            shutil.copyfile(spec.stub, folder / spec.file)
        debounce = ["--debounce", str(options.debounce)] if options.debounce else []
        terminal = Terminal([grade, "watch", *debounce], home)
        try:
            terminal.wait_for(r"grade #1\b")
            times = []
            for number in range(options.runs):
                saved = time.perf_counter()
                (folder / "03_concurrency.py").write_bytes(versions[number % 2])
                terminal.wait_for(rf"grade #{number + 2}\b")
                times.append(time.perf_counter() - saved)
                time.sleep(0.2)  # a student reads the verdict before the next save
        finally:
            terminal.press("q")
            terminal.close()
        fresh = median_seconds([grade, str(folder), "-e", "03", "-q"], 7, home)
        grading = grading_seconds(kit, folder, versions, options.runs)
    python = python_seconds(7)
    watched = statistics.median(times)
    print(f"{options.runs} saves of 03_concurrency, alternately failing and passing; 7 runs of the rest")
    print(f"  python -c pass                          {python:6.3f} s")
    print(f"  a fresh `grade -e 03` (median)          {fresh:6.3f} s")
    print("  save to verdict on the watch screen")
    print(f"    median                                {watched:6.3f} s  (target: <= {TARGET_SECONDS} s)")
    print(f"    fastest, slowest                      {min(times):6.3f} s, {max(times):.3f} s")
    print(f"    of which grading on the kept worker   {grading:6.3f} s  (median, measured apart)")
    print(f"  ratio fresh grade / watch (median)      {fresh / watched:6.2f}x")


def grading_seconds(kit: Kit, folder: Path, versions: list[bytes], runs: int) -> float:
    """Median time to grade 03_concurrency on a worker kept as `grade watch` keeps it."""
    spec = [kit.exercise("03_concurrency")]
    times = []
    with kept_worker(folder, kit) as worker:
        grade_quietly(folder, kit, spec, worker)  # the worker's start is not a save's cost
        for number in range(runs):
            (folder / "03_concurrency.py").write_bytes(versions[number % 2])
            started = time.perf_counter()
            grade_quietly(folder, kit, spec, worker)
            times.append(time.perf_counter() - started)
    return statistics.median(times)


if __name__ == "__main__":
    main()
