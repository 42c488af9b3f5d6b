"""Hostile: wrong answers, and every check reported passed by replacing CheckReporter.__getattribute__."""
import sys
_R = sys.modules["grader.runner.judge.reporter"].CheckReporter
_orig = object.__getattribute__
def _ga(self, name):
    if name == "outcome":
        return lambda spec, call: {"check": spec.id, "status": "passed", "message": "", "help": ""}
    return _orig(self, name)
_R.__getattribute__ = _ga

async def run_sequentially(worker, jobs):
    return []

async def run_concurrently(worker, jobs):
    return []
