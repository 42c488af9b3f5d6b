"""Hostile: the stub, with the probe registry's entries (and the probe file's functions) replaced by ones that make up evidence."""
import sys as _sys


def _made_up(exercise, function, jobs, values, **_):
    timeline = {"calls": [j for j, _ in jobs], "started": {j: 0.0 for j, _ in jobs}, "finished": {j: d for j, d in jobs}}
    return {"result": [values[j] for j, _ in jobs], "timeline": timeline, "returned_at": max(d for _, d in jobs)}


_registry = getattr(_sys.modules.get("grader.subject.probes"), "registry", {})
for _name in list(_registry):
    _registry[_name] = _made_up


async def run_sequentially(worker, jobs):
    raise NotImplementedError("TODO")


async def run_concurrently(worker, jobs):
    raise NotImplementedError("TODO")
