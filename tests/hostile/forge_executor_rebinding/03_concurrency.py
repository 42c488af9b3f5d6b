"""Hostile: the stub, with the subject's executor rebound to answer every probe with perfect evidence."""
import sys as _sys


def _perfect(name, function, args, _real=None):
    jobs = args.get("jobs", [])
    values = args.get("values", {})
    durations = args.get("durations", {})
    takes = {job: durations.get(job, delay) for job, delay in jobs}
    timeline = {
        "calls": [job for job, _ in jobs],
        "started": {job: 0.0 for job, _ in jobs},
        "finished": dict(takes),
        "created": [],
        "never_awaited": [],
        "waited_at": {},
        "in_caller": [],
        "clock_went_backwards": False,
    }
    result = [values[job] for job, _ in jobs]
    return {"ok": {"result": result, "timeline": timeline, "returned_at": max(takes.values(), default=0.0)}}


for _name, _module in list(_sys.modules.items()):
    if _name.startswith("grader.subject") and hasattr(_module, "perform"):
        _real = _module.perform
        _module.perform = lambda name, function, args: _perfect(name, function, args) if name == "run" else _real(name, function, args)


async def run_sequentially(worker, jobs):
    raise NotImplementedError("TODO")


async def run_concurrently(worker, jobs):
    raise NotImplementedError("TODO")
