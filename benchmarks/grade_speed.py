"""How fast is `grade solutions`, against the cost of starting Python and pytest at all?

Measures, in one run and on the same machine, the median wall time of:
  * `python -c pass`                                   (the floor: starting Python)
  * a bare `python -m pytest` of one trivial async test (the yardstick: starting pytest
    with pytest-asyncio alone, as the grader's own check processes do; plugins that other
    installed packages register, such as anyio's, are not loaded)
  * `grade solutions`                                  (the whole kit, every exercise)
and prints the ratio grade / bare pytest. Run: `python benchmarks/grade_speed.py [--runs N]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRIVIAL_TEST = "import asyncio\nimport pytest\n\n@pytest.mark.asyncio\nasync def test_it():\n    await asyncio.sleep(0)\n"


def median_seconds(command: list[str], runs: int, cwd: Path, env: dict[str, str] | None = None) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    grade = shutil.which("grade") or str(Path(sys.executable).parent / "grade")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "test_trivial.py").write_text(TRIVIAL_TEST)
        (folder / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
        python = median_seconds([sys.executable, "-c", "pass"], runs, folder)
        bare = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_asyncio.plugin"]
        pytest_run = median_seconds(bare, runs, folder, env={**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    graded = median_seconds([grade, "solutions", "-q"], runs, ROOT)
    print(f"median of {runs} runs each")
    print(f"  python -c pass               {python:6.3f} s")
    print(f"  bare pytest, 1 async test    {pytest_run:6.3f} s")
    print(f"  grade solutions (5 exercises){graded:6.3f} s")
    print(f"  ratio grade / bare pytest    {graded / pytest_run:6.2f}x  (target: <= 2x)")


if __name__ == "__main__":
    main()
