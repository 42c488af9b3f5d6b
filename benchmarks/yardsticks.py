"""What the benchmarks compare against, measured the same way in each: Python, and bare pytest."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIVIAL_TEST = "import asyncio\nimport pytest\n\n@pytest.mark.asyncio\nasync def test_it():\n    await asyncio.sleep(0)\n"
# pytest with pytest-asyncio alone, as the grader's check processes load it: plugins that
# other installed packages register (anyio's, for one) are not loaded.
BARE_PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "pytest_asyncio.plugin"]


def seconds(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Wall time of one run of ``command``."""
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - started


def median_seconds(command: list[str], runs: int, cwd: Path, env: dict[str, str] | None = None) -> float:
    return statistics.median(seconds(command, cwd, env) for _ in range(runs))


def python_seconds(runs: int) -> float:
    """Median wall time of ``python -c pass``."""
    return median_seconds([sys.executable, "-c", "pass"], runs, Path.cwd())


def bare_pytest_seconds(runs: int) -> float:
    """Median wall time of a bare pytest run of one trivial async test."""
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        (folder / "test_trivial.py").write_text(TRIVIAL_TEST)
        (folder / "pytest.ini").write_text("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
        env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        return median_seconds(BARE_PYTEST, runs, folder, env)
