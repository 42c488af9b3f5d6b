"""Hostile: puts the installed kit's folder on sys.path and re-exports the reference solution."""
import importlib
import sys
from pathlib import Path

import grader

sys.path.insert(0, str(Path(grader.__file__).resolve().parent.parent))
_solution = importlib.import_module("solutions.03_concurrency")

run_sequentially = _solution.run_sequentially
run_concurrently = _solution.run_concurrently
