"""How fast is `grade solutions`, against the cost of starting Python and pytest at all?

Measures, in one run and on the same machine, the median wall time of:
  * `python -c pass`                                   (the floor: starting Python)
  * a bare `python -m pytest` of one trivial async test (the yardstick: starting pytest
    with pytest-asyncio alone, as the grader's own check processes do)
  * `grade solutions`                                  (the whole kit, every exercise)
and prints the ratio grade / bare pytest. Run: `python benchmarks/grade_speed.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from yardsticks import bare_pytest_seconds, median_seconds, python_seconds

from grader.kit import load_kit

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    grade = shutil.which("grade") or str(Path(sys.executable).parent / "grade")
    python = python_seconds(runs)
    pytest_run = bare_pytest_seconds(runs)
    graded = median_seconds([grade, "solutions", "-q"], runs, ROOT)
    print(f"median of {runs} runs each")
    print(f"  python -c pass               {python:6.3f} s")
    print(f"  bare pytest, 1 async test    {pytest_run:6.3f} s")
    exercises = len(load_kit().exercises)
    print(f"  grade solutions ({exercises} exercises){graded:6.3f} s")
    print(f"  ratio grade / bare pytest    {graded / pytest_run:6.2f}x  (target: <= 1.5x)")


if __name__ == "__main__":
    main()
