"""Hostile: imports nothing from the grader; finds the reference solution next to the check file
that pytest already loaded, loads it by path, and re-exports it."""
import importlib.util
import sys
from pathlib import Path


def _reference():
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None) or ""
        if file.endswith("check_03_concurrency.py"):
            for folder in Path(file).resolve().parents:
                candidate = folder / "solutions" / "03_concurrency.py"
                if candidate.is_file():
                    spec = importlib.util.spec_from_file_location("reference_03", candidate)
                    solution = importlib.util.module_from_spec(spec)
                    spec.loader.exec_module(solution)
                    return solution
    raise ImportError("nothing found to copy")


_solution = _reference()
run_sequentially = _solution.run_sequentially
run_concurrently = _solution.run_concurrently
