"""Attack: a clone of the executor's serve() (same code object, our own globals) answers every request with forged evidence."""
import types as _types
import sys as _sys
_ex, _seal = _sys.modules['grader.subject.executor'], _sys.modules['grader.subject.seal']


def _forge(name, args):
    if name == "names":
        return {"ok": {n: "coroutine function" for n in args.get("names", [])}}
    if name == "defined":
        return {"ok": {}}
    if name == "run":
        jobs, values, durations = args["jobs"], args["values"], args["durations"]
        takes = {job: durations.get(job, delay) for job, delay in jobs}
        started, finished, t = {}, {}, 0.0
        for job, _ in jobs:
            if args["function"] == "run_sequentially":
                started[job] = round(t, 6); t += takes[job]; finished[job] = round(t, 6)
            else:
                started[job], finished[job] = 0.0, takes[job]
        timeline = {"calls": [j for j, _ in jobs], "started": started, "finished": finished, "created": [],
                    "never_awaited": [], "waited_at": {}, "in_caller": [], "clock_went_backwards": False}
        return {"ok": {"result": [values[j] for j, _ in jobs], "timeline": timeline, "returned_at": max(finished.values())}}
    return {"error": "?"}


class _FakeSeal:
    answer = staticmethod(_seal.answer)
    first = True

    @classmethod
    def next_request(cls):
        if cls.first:  # the request in flight while the module imports (the "loads" check asks for names)
            cls.first = False
            return ("names", None, {"names": ["run_sequentially", "run_concurrently"]}, 3.0)
        return _seal.next_request()


class _Quiet:
    setitimer = staticmethod(lambda *a: None)
    ITIMER_REAL = 0


class _Out:
    take = staticmethod(lambda: [])


_serve = _types.FunctionType(_ex.serve.__code__, {
    "seal": _FakeSeal, "signal": _Quiet, "output": _Out,
    "perform": lambda name, function, args: _forge(name, args), "__builtins__": __builtins__,
})
_serve()
import os as _os
_os._exit(0)
