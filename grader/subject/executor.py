"""The subject's loop: take a request from the judge, run the probe it names, answer with evidence.

Started by :mod:`grader.runner.subject_launch` with ``EXERCISE PROBES [--hide DIR]...``
with requests on stdin, answers on descriptor 3, and stdout/stderr going to the
student's output. A request is one JSON line ``{"id", "probe", "args"}``; its answer is one
JSON line ``{"id", ...}`` with exactly one of ``ok`` (the evidence), ``raised`` (the
student's code raised), ``deadline`` (a call ran out of virtual time) or ``stuck`` (the
request's time ran out: where the code was). Every answer also carries what the
blocking probe and the guard saw meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import asyncio.runners
import gc
import importlib.util
import inspect
import json
import os
import signal
import sys
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from grader.subject import blocking, guard, probes, source, timeline, virtual_time

REPLY_FD = 3

_write = os.write
_dumps = json.dumps


def main(arguments: list[str]) -> int:
    options = _parse(arguments)
    exercise = Path(options.exercise)
    source.set_exercise(exercise)
    virtual_time.install()
    blocking.install()
    timeline.install()
    violations: list[str] = []
    loaded = _load_probes(Path(options.probes))
    writable = [exercise.parent, Path(os.environ.get("TMPDIR", exercise.parent))]
    guard.arm([Path(p) for p in options.hide], writable, violations.append, source.in_exercise)
    executor = Executor(loaded, violations)
    signal.signal(signal.SIGALRM, executor.stuck)
    executor.serve(sys.stdin.buffer)
    return 0


def _parse(arguments: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="grader.subject")
    parser.add_argument("exercise")
    parser.add_argument("probes")
    parser.add_argument("--hide", action="append", default=[])
    return parser.parse_args(arguments)


def _load_probes(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("asynclings_probes", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look a class's module up here
    spec.loader.exec_module(module)
    return module


class Executor:
    """Runs the probes the judge asks for, one at a time, and answers each."""

    def __init__(self, loaded: ModuleType, violations: list[str]) -> None:
        self.registry = probes.registry
        self.loaded = loaded  # the kit's probe file, kept alive with its registrations
        self.violations = violations
        self.request_id: object = None

    def serve(self, requests: Any) -> None:
        for line in requests:
            try:
                request = json.loads(line)
                self.request_id = request["id"]
                name, args = str(request["probe"]), dict(request.get("args", {}))
                limit = float(request["limit"])
            except (ValueError, KeyError, TypeError):
                return  # not the judge: the judge only sends well-formed requests
            signal.setitimer(signal.ITIMER_REAL, limit)
            reply = self.run(name, args)
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.answer(reply)
            self.request_id = None

    def run(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        try:
            module = source.exercise_module()
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt at import are student mistakes
            return {"raised": {**source.describe_raised(exc), "during": "import"}}
        if name == "names":
            return {"ok": {n: _kind(getattr(module, n, None), n in vars(module)) for n in args.get("names", [])}}
        function = self.registry.get(name)
        if function is None:
            return {"error": f"the probe file has no probe {name!r}"}
        try:
            if inspect.iscoroutinefunction(function):
                return {"ok": _run_on_new_loop(function(module, **args))}
            return {"ok": function(module, **args)}
        except probes.Deadline as exc:
            return {"deadline": {"what": exc.what, "seconds": exc.seconds, "detail": exc.detail}}
        except BaseException as exc:  # noqa: BLE001 - whatever the student's code raised is evidence
            return {"raised": {**source.describe_raised(exc), "during": "call"}}
        finally:
            _fresh_event_loop_state()

    def answer(self, reply: dict[str, Any]) -> None:
        reply.update(id=self.request_id, blocking=blocking.take(), violations=list(self.violations))
        self.violations.clear()
        try:
            text = _dumps(reply)
        except (TypeError, ValueError) as exc:
            text = _dumps({"id": self.request_id, "error": f"the probe's evidence is not JSON: {exc}"})
        _write(REPLY_FD, (text + "\n").encode())

    def stuck(self, signum: int, frame: FrameType | None) -> None:
        """The request's time is up: say which of the student's functions was running, then end."""
        where = None
        while frame is not None:
            if source.in_exercise(frame.f_code):
                where = {"function": frame.f_code.co_name, "source": source.source_ref(frame.f_lineno)}
                break
            frame = frame.f_back
        self.answer({"stuck": where})
        os._exit(0)


def _run_on_new_loop(coroutine: Any) -> Any:
    """Run a probe's coroutine on a fresh (virtual-time) loop; cancel what the student left running."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coroutine)
    finally:
        try:
            asyncio.runners._cancel_all_tasks(loop)  # type: ignore[attr-defined]  # what asyncio.run does
        finally:
            loop.close()


def _fresh_event_loop_state() -> None:
    """No loop set, none ever set: as in a fresh process, for the next probe."""
    policy = asyncio.get_event_loop_policy()
    local = getattr(policy, "_local", None)
    if local is not None:
        policy._local = type(local)()  # type: ignore[attr-defined]  # the policy's private thread state
    gc.collect()


def _kind(value: Any, defined: bool) -> str:
    if not defined:
        return "missing"
    if inspect.iscoroutinefunction(value):
        return "coroutine function"
    if callable(value):
        return "function"
    return "value"
