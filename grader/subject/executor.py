"""The subject's loop: take a request from the judge, run the probe it names, answer with evidence.

Forked by :mod:`grader.subject.template` with requests on stdin, answers on descriptor 3,
and stdout/stderr going to the student's output. A request is one JSON line ``{"id", "probe", "args"}``; its answer is one
JSON line ``{"id", ...}`` with exactly one of ``ok`` (the evidence), ``raised`` (the
student's code raised), ``deadline`` (a call ran out of virtual time) or ``stuck`` (the
request's time ran out: where the code was, and whether it was still importing the
student's file). Every answer also carries what the
blocking probe and the guard saw meanwhile, and the warnings that arose in the grader's
own code (kept out of the student's output, see :mod:`grader.subject.output`).
"""

from __future__ import annotations

import asyncio
import asyncio.runners
import gc
import inspect
import os
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import CodeType, FrameType, ModuleType
from typing import Any

from grader.subject import (
    blocking_probe,
    guard,
    handout,
    known_code,
    output,
    probes,
    seal,
    sealed_names,
    signal_frames,
    source,
    timeline,
    virtual_time,
)

REPLY_FD = 3
PROBES_MODULE = "asynclings_probes"
# Packages whose functions and classes the evidence relies on: rebinding one is tampering.
WATCHED = ("asyncio", "looptime", "grader", PROBES_MODULE, "builtins")
# Once a request's time is up, where its code runs is looked at every SAMPLE_EVERY seconds,
# up to SAMPLES times, until one look finds a line of the student's (see :func:`stuck`).
SAMPLE_EVERY = 0.002
SAMPLES = 100
# The grader's bookkeeping that answering would re-enter: the seal's hook (answering is an audit
# event) and the probe file's sealed names (a probe's audit hook reads them), a store in a
# generator's frame that cannot be entered while it runs. A look that lands inside it waits.
BOOKKEEPING = frozenset(object.__hash__(vars(module)) for module in (seal, sealed_names))


def run(exercise: Path, exercise_source: bytes, probe_file: str, probe_code: CodeType, hide: list[Path]) -> int:
    """Arm the probes for ``exercise``, then answer the judge's requests until it stops asking.

    The student's module runs from ``exercise_source`` and the probe file comes compiled
    (named ``probe_file``), both read by the template from the judge: what lies in the
    folder, where the student's code can write, is never what is judged.
    """
    source.set_exercise(exercise, exercise_source)
    output.install(exercise, Path(probe_file))
    handout.install()  # first: the others hand out stand-ins
    virtual_time.install()
    blocking_probe.install()
    timeline.install()
    loaded = _load_probes(probe_file, probe_code)
    watched = [module for name, module in list(sys.modules.items()) if name.split(".")[0] in WATCHED]
    seal.install(probes.registry, [*watched, loaded], {serve: run, stuck: None}, REPLY_FD)
    writable = [exercise.parent, Path(os.environ.get("TMPDIR", exercise.parent))]
    known_code.learn()  # the probe file's code, and what it imported: the template knows the rest
    guard.arm(hide, writable, _refused, known_code.trusting())
    signal.signal(signal.SIGALRM, stuck)  # the executor's own handler is handed its frame: where the code was
    signal_frames.install()
    serve(seal.next_request, perform, seal.answer, output.take, signal.setitimer)
    return 0


def _load_probes(name: str, code: CodeType) -> ModuleType:
    """Run the probe file in a namespace of its own, sealed before any student code runs (see :mod:`grader.subject.sealed_names`)."""
    module = ModuleType(PROBES_MODULE)
    sys.modules[PROBES_MODULE] = module  # dataclasses and pickling look a class's module up here
    namespace = sealed_names.SealedNamespace(vars(module))
    namespace["__name__"], namespace["__file__"] = PROBES_MODULE, name
    exec(code, namespace)  # noqa: S102  # the kit's probe file, compiled by the template
    sealed_names.seal(namespace)
    return module


def serve(
    next_request: Callable[[], Any],
    perform: Callable[[str, Any, dict[str, Any]], dict[str, Any]],
    answer: Callable[[dict[str, Any]], None],
    warnings: Callable[[], list[str]],
    set_timer: Callable[..., Any],
) -> None:
    """Answer requests, one at a time, until the judge closes the pipe.

    What it calls is handed over by :func:`run`, before any student code ran: a name of
    this module rebound between two requests, even for a moment, is never called.
    """
    while (request := next_request()) is not None:
        name, function, args, limit = request
        set_timer(signal.ITIMER_REAL, limit, SAMPLE_EVERY)
        reply = perform(name, function, args)
        set_timer(signal.ITIMER_REAL, 0)
        reply["warnings"] = warnings()
        answer(reply)


async def _as_json(probe: Coroutine[Any, Any, Any], box: list[str], _to_json: Callable[[Any], str] = seal.to_json) -> None:
    """Put the probe's evidence in ``box`` as JSON text, in the probe's task, the moment it returns.

    Text cannot be changed, and ``box`` is no object the student's code can reach: not the
    task's result, which its code could set (``Future.set_result`` on the task) or edit
    (a task it left running, cancelled afterwards; a done callback on this task).
    """
    box.append(_to_json(await probe))


def _run_on_new_loop(
    coroutine: Coroutine[Any, Any, Any],
    _loop_class: type[asyncio.AbstractEventLoop] = asyncio.SelectorEventLoop,
    _run: Callable[..., Any] = asyncio.BaseEventLoop.run_until_complete,
    _evidence_of: Callable[..., Any] = _as_json,
) -> str:
    """Run a probe's coroutine on a fresh (virtual-time) loop, its evidence as JSON; cancel what the student left running.

    The loop's class and how it runs are bound here, before any student code ran: not the
    event loop policy's (``asyncio.set_event_loop_policy`` is the student's to call), nor
    a method the student's code could set on the loop.
    """
    loop = _loop_class()
    box: list[str] = []
    try:
        _run(loop, _evidence_of(coroutine, box))
        if not box:
            raise RuntimeError("the probe's task ended before the probe returned: something outside it ended it")
        return box[0]
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


# What perform calls is bound here, when it was defined: no name rebound for a moment is met.
def perform(
    name: str,
    function: Callable[..., Any] | None,
    args: dict[str, Any],
    _to_json: Callable[[Any], str] = seal.to_json,
    _from_json: Callable[[str], Any] = seal.from_json,
    _on_new_loop: Callable[[Any], str] = _run_on_new_loop,
    _fresh: Callable[[], None] = _fresh_event_loop_state,
) -> dict[str, Any]:
    """Run one probe (or one of the executor's own questions) and say how it went."""
    try:
        module = source.exercise_module()
    except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt at import are student mistakes
        return {"raised": {**source.describe_raised(exc), "during": "import"}}
    if name == "names":
        return {"ok": {n: _kind(getattr(module, n, None), n in vars(module)) for n in args.get("names", [])}}
    if name == "defined":
        return {"ok": source.defined_functions()}
    if function is None:
        return {"error": f"the probe file has no probe {name!r}"}
    try:
        if inspect.iscoroutinefunction(function):
            evidence = _on_new_loop(function(module, **args))
        else:
            evidence = _to_json(function(module, **args))
        return {"ok": _from_json(evidence)}
    except probes.Deadline as exc:
        return {"deadline": {"what": exc.what, "seconds": exc.seconds, "detail": exc.detail}}
    except BaseException as exc:  # noqa: BLE001 - whatever the student's code raised is evidence
        return {"raised": {**source.describe_raised(exc), "during": "call"}}
    finally:
        _fresh()


def stuck(
    signum: int,
    frame: FrameType | None,
    _looks: list[int] = [],  # noqa: B006 - the looks taken so far, kept between signals
    _bookkeeping: frozenset[int] = BOOKKEEPING,
    _identity: Callable[[object], int] = object.__hash__,
) -> None:
    """The request's time is up: say which of the student's functions was running, then end.

    The signal lands wherever the main thread is: in the student's code or below it, in
    asyncio between two steps of a task that never finishes (a loop awaiting ``sleep(0)``
    or a closing writer's ``drain()``), or in the :data:`BOOKKEEPING` that answering
    (an audit event; so is reading a frame's code) would re-enter. In the last two the
    timer looks again, every :data:`SAMPLE_EVERY` seconds; after :data:`SAMPLES` looks
    that found no line of the student's, it says so. Frames are told apart by their
    globals, which reading raises no event.
    """
    student, look = source.exercise_globals(), frame
    while look is not None and look.f_globals is not student:
        if _identity(look.f_globals) in _bookkeeping:
            _looks.append(signum)
            return
        look = look.f_back
    if look is None and len(_looks) < SAMPLES:
        _looks.append(signum)
        return
    where = {"function": look.f_code.co_name, "source": source.source_ref(look.f_lineno)} if look is not None else None
    seal.answer({"stuck": where, "during": "call" if source.imported() else "import"})
    os._exit(0)


def _refused(what: str) -> None:
    seal.note("violation", what)


def _kind(value: Any, defined: bool) -> str:
    if not defined:
        return "missing"
    if inspect.iscoroutinefunction(value):
        return "coroutine function"
    if callable(value):
        return "function"
    return "value"
