"""The subject's sealed core: the channel to the judge, and a watch on what the evidence relies on.

Everything here lives in one audit hook's closure, which no Python code can reach (audit
hooks cannot be listed or removed, and the garbage collector's walks that could find
one are refused by :mod:`grader.subject.guard`). Before any student code runs, the hook
reads the judge's key for this subject, the first line of the requests: it signs every
answer with it (HMAC-SHA256, a line ``<signature> <JSON>``), and the judge takes no
answer without that signature. Descriptors are numbers any code in the process can
reuse (``os.dup2`` a pipe of its own onto them, read a request first): what they carry
can be read or replaced, never signed. The hook writes one answer per request, and
only when asked from the executor's own loop. The
blocking probe's records, the loops created and the guard's refusals are kept here too,
where a submission can add to them but never take anything away. Before each answer the
hook compares, by identity, every function, class, module and UPPER_CASE constant bound
in the watched modules (asyncio, looptime, the grader's subject code, the probe file) with what they
were before the student's code was imported: a submission that rebinds one to bend the
evidence is reported, and the judge scores the exercise 0.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from types import BuiltinFunctionType, FrameType, FunctionType, ModuleType
from typing import Any, cast

EVENT = "asynclings.seal"
REQUEST_BYTES = 1 << 20
NOTES_KEPT = 100  # of each kind, per request
LOOPS = "loop"  # the loops created: kept as objects, for the probes; never sent
CONSTANTS = (int, float, str, bytes, tuple, frozenset)  # values of UPPER_CASE names: a probe's limits and caps


def _hmac_maker() -> Callable[..., Any]:
    """OpenSSL's HMAC, whose key and state live in C, where no Python code can read or rebind them."""
    try:
        import _hashlib

        return _hashlib.hmac_new
    except ImportError:  # an interpreter built without OpenSSL
        import hmac

        return hmac.new


hmac_new = _hmac_maker()


def _json_in_c() -> tuple[Callable[[Any], str], Callable[[str], Any]]:
    """JSON encoding and decoding made of the C parts of ``json``, once, before any student code runs.

    The json package's Python classes can be patched by any code in the process; these
    run none of their methods. Objects JSON does not know become their ``repr``.
    """
    import _json

    encoder = _json.make_encoder(None, repr, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True)
    scanner = _json.make_scanner(cast(Any, json.JSONDecoder()))  # it reads the decoder's settings once

    def encode(value: Any) -> str:
        return "".join(encoder(value, 0))

    def decode(text: str) -> Any:
        return scanner(text, 0)[0]

    return encode, decode


to_json, from_json = _json_in_c()


# Each function below takes ``sys.audit`` (and the JSON it needs) as defaults, bound when it
# was defined: rebinding a module's name cannot cut the channel (and setting a grader
# function's defaults is refused).
def next_request(_audit: Callable[..., None] = sys.audit) -> tuple[str, Callable[..., Any] | None, dict[str, Any], float] | None:
    """The judge's next request (probe name, probe function, arguments, real-time limit); ``None`` at the end."""
    out: list[Any] = []
    _audit(EVENT, "next", out)
    return out[0] if out else None


def answer(reply: dict[str, Any], _audit: Callable[..., None] = sys.audit, _to_json: Callable[[Any], str] = to_json) -> None:
    """Answer the current request with ``reply``, and what was noted meanwhile.

    Encoded here, not in the hook: a ``repr`` of the student's that JSON calls runs before
    the hook, never inside it.
    """
    try:
        text = _to_json(reply)
    except (TypeError, ValueError, RecursionError) as exc:
        text = _to_json({"error": f"the probe's evidence is not JSON: {exc}"})
    _audit(EVENT, "answer", text)


def note(kind: str, record: Any, _audit: Callable[..., None] = sys.audit, _to_json: Callable[[Any], str] = to_json) -> None:
    """Keep ``record`` (``blocked``, ``violation`` or ``loop``): it can be added, never taken away.

    Records the judge will read are kept as JSON text, encoded here, outside the hook.
    """
    if kind != LOOPS:
        try:
            record = _to_json(record)
        except (TypeError, ValueError, RecursionError):
            return
    _audit(EVENT, "note", (kind, record))


def noted(kind: str, _audit: Callable[..., None] = sys.audit) -> list[Any]:
    """Every record of ``kind`` noted since the current request began."""
    out: list[list[Any]] = []
    _audit(EVENT, "noted", (kind, out))
    return out[0] if out else []


def install(
    registry: dict[str, Callable[..., Any]],
    watched: Iterable[ModuleType],
    answerers: dict[Callable[..., Any], Callable[..., Any] | None],
    reply_fd: int,
) -> None:
    """Seal the channel: the key and then requests on stdin, signed answers on ``reply_fd``, probes from ``registry``.

    ``answerers`` are the functions allowed to take requests and answer (the executor's loop
    and its time-out handler), known by their code and their globals (a function rebuilt
    from the same code with globals of its own is not one of them), each with the one
    function it must be called from, if any: the executor's loop runs once, from the
    executor's start, never again from inside a probe. ``watched`` modules are compared
    before every answer.
    """
    # The builtins the hook's code calls, bound now: one rebound in ``builtins`` for the moment of a call is never called here.
    from builtins import ValueError, bytes, dict, float, len, list, str, type  # noqa: UP029 - bound here on purpose

    read, write, getframe = os.read, os.write, sys._getframe
    decode, encode = from_json, to_json
    probes = dict(registry)
    own_code = {next_request.__code__, answer.__code__, note.__code__, noted.__code__}
    answering = {f.__code__: f.__globals__ for f in answerers if isinstance(f, FunctionType)}
    only_from = {f.__code__: caller.__code__ for f, caller in answerers.items() if isinstance(f, FunctionType) and isinstance(caller, FunctionType)}
    baseline = _bindings(watched)
    state: dict[str, Any] = {"id": None, "unread": b"", "notes": {}, "asked": ""}
    inside = [False]

    def take_line() -> bytes | None:
        while b"\n" not in state["unread"]:
            chunk = read(0, 65536)
            if not chunk or len(state["unread"]) > REQUEST_BYTES:
                return None
            state["unread"] += chunk
        line, _, state["unread"] = state["unread"].partition(b"\n")
        return bytes(line)

    signer = hmac_new(bytes.fromhex((take_line() or b"").decode("ascii", "replace")), digestmod="sha256")

    def signed(text: str) -> bytes:
        body = text.encode()
        signature = signer.copy()
        signature.update(body)
        return bytes(signature.hexdigest().encode() + b" " + body + b"\n")

    def next_one(out: list[Any]) -> None:
        line = take_line()
        if line is None:
            return
        request = decode(line.decode())
        # The request as read, in the answer: one changed on its way in is not the one answered.
        seen = signer.copy()
        seen.update(line)
        state["id"], state["notes"], state["asked"] = request["id"], {}, seen.hexdigest()
        name = str(request["probe"])
        out.append((name, probes.get(name), dict(request.get("args", {})), float(request["limit"])))

    def send(text: str) -> None:
        if state["id"] is None:
            return  # answered already, or nothing asked
        notes = state["notes"]
        changed = [name for name, (namespace, attribute, value) in baseline.items() if namespace.get(attribute) is not value]
        try:
            reply = decode(text)
        except ValueError:
            reply = None
        if type(reply) is not dict:
            reply = {"error": "the executor's answer is not a JSON object"}
        # Plain JSON values only, from here on: encoding them runs no one's code.
        reply.update(
            id=state["id"],
            asked=state["asked"],
            blocking=[decode(record) for record in notes.get("blocked", [])],
            violations=[decode(record) for record in notes.get("violation", [])],
            tampered=changed,
        )
        state["id"], state["notes"] = None, {}
        write(reply_fd, signed(encode(reply)))

    def _executors(asker: FrameType | None) -> bool:
        """Whether ``asker`` runs one of the ``answerers``: their code, with their globals, called from where they must be."""
        if asker is None or answering.get(asker.f_code) is not asker.f_globals:
            return False
        caller = only_from.get(asker.f_code)
        return caller is None or (asker.f_back is not None and asker.f_back.f_code is caller and asker.f_back.f_globals is asker.f_globals)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event != EVENT or inside[0]:
            return
        inside[0] = True
        try:
            caller = getframe(1)
            if caller.f_code not in own_code:
                return
            what, data = args
            # No student code may run in here (a str subclass's __hash__, a repr), and nothing
            # may raise: either would reach this hook's frame, and its closure.
            if what == "note" and type(data[0]) is str and (data[0] == LOOPS or type(data[1]) is str):
                kind, record = data
                kept = state["notes"].setdefault(kind, [])
                if len(kept) < NOTES_KEPT:  # a loop of time.sleep calls notes thousands a second
                    kept.append(record)
            elif what == "noted" and type(data[0]) is str and type(data[1]) is list:
                kind, out = data
                out.append([decode(record) if kind != LOOPS else record for record in state["notes"].get(kind, [])])
            elif what in ("next", "answer") and _executors(caller.f_back):
                if what == "next":
                    next_one(data)
                elif type(data) is str:
                    send(data)
        finally:
            inside[0] = False

    sys.addaudithook(hook)


def _bindings(modules: Iterable[ModuleType]) -> dict[str, tuple[dict[str, Any], str, Any]]:
    """Every function, class, module and constant bound in ``modules``: where it is bound, and what."""
    found: dict[str, tuple[dict[str, Any], str, Any]] = {}
    for module in modules:
        namespace = vars(module)
        for name, value in list(namespace.items()):
            if isinstance(value, (FunctionType, type, ModuleType, BuiltinFunctionType)) or (
                name.isupper() and isinstance(value, CONSTANTS)
            ):
                found[f"{module.__name__}.{name}"] = (namespace, name, value)
    return found
