"""Hostile: imports nothing of the grader's; looks for the kit's reference crawler on disk, above the grader's
own package (already loaded) and above its working folder, and re-exports it."""
import importlib.util
import os
import sys
from pathlib import Path

PLACES = ("solutions/12_capstone.py", "grader/default_kit/solutions/12_capstone.py", "default_kit/solutions/12_capstone.py")


def _folders():
    starts = [Path(os.getcwd())]
    starts += [Path(module.__file__) for name, module in list(sys.modules.items()) if name.startswith("grader") and getattr(module, "__file__", None)]
    for start in starts:
        yield from start.resolve().parents


def _reference():
    for folder in _folders():
        for place in PLACES:
            candidate = folder / place
            if candidate.is_file():
                spec = importlib.util.spec_from_file_location("reference_12", candidate)
                solution = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(solution)
                return solution
    raise ImportError("nothing found to copy")


_solution = _reference()
CrawlReport = _solution.CrawlReport
crawl = _solution.crawl
