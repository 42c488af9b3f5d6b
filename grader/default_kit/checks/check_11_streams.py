"""Hidden checks for 11_streams: an echo server and client on real sockets, judged by what happened before what.

The probes drive every conversation themselves (see the probe file): the checks' clients
send a line and wait for its answer; a silent client stays silent until the others are
done; ``stop`` is set only once every client has gone. So the verdicts rest on order
(did client B get its echo while client A was connected and silent?) and on the state of
each connection at the very step a function returned (was its socket closed?), never on
how fast a socket delivered: they are the same on an idle laptop and a loaded CI box.
The one virtual time judged, how long after ``stop`` serve returned, has no socket data
on its way.

The lines are random tokens, and the checks' own server answers echo_client's lines with
lines of its own, so a made-up result does not match.
"""

from __future__ import annotations

import secrets
from typing import Any

from grader.checking import (
    Failure,
    Mismatch,
    Stuck,
    Subject,
    check,
    expect,
    expect_no_blocking,
    require,
    require_all,
    student_failure,
)
from grader.model import SourceRef, Span

FUNCTIONS = {"handle_echo": "coroutine function", "serve": "coroutine function", "echo_client": "coroutine function"}
WORDS = ["hello", "two words", "asyncio streams", "ping", "the last line", "x"]
STOP_AFTER = 1.25  # virtual seconds between the last client leaving and `stop` being set

# ------------------------------------------------------------------------------------------------ help lines

NOT_AWAITED_HELP = (
    "{method}() is a coroutine function: calling it only creates a coroutine, and nothing happens until it is "
    "awaited. Write `await {method}()`."
)
READ_ALL_HELP = (
    "reader.read() with no size reads until the client closes its side (EOF), but the client waits for each "
    "echo before it sends more: echo each line as it arrives, `while line := await reader.readline():` then "
    "`writer.write(line)` and `await writer.drain()`."
)
ECHO_NEWLINE_HELP = (
    'Write each line back unchanged, with its "\\n": `writer.write(line)` with the line readline() gave '
    "you. The client reads its echo up to the newline."
)
ECHO_AT_ONCE_HELP = (
    "Echo each line as soon as it arrives, before waiting for the next one: "
    "`while line := await reader.readline():` then `writer.write(line)` and `await writer.drain()`."
)
ECHO_LOOP_HELP = (
    "Keep serving the client until it has finished: loop `while line := await reader.readline():` and close "
    'the connection only after the loop, when readline() returns b"" (EOF).'
)
ECHO_UNCHANGED_HELP = "Send each line back exactly as it came: `writer.write(line)` with the bytes readline() returned."
EOF_LOOP_HELP = (
    'At EOF, `await reader.readline()` (or read()) returns b"" at once, every time: a `while True` loop that '
    "never checks for it runs forever without giving the event loop a turn. Stop when the line is empty: "
    "`while line := await reader.readline():`."
)
CLOSE_FIRST_HELP = "wait_closed() only waits for a close that has begun: call `writer.close()` first, then `await writer.wait_closed()`."
HANDLER_CLOSE_HELP = (
    'When readline() returns b"" (the client is done), close the connection: `writer.close()`, then '
    "`await writer.wait_closed()`, before handle_echo returns."
)
HANDLER_WAIT_CLOSED_HELP = (
    "writer.close() only starts closing the connection: `await writer.wait_closed()` right after it, so that "
    "handle_echo returns once the connection is really closed."
)
HANDLER_FINALLY_HELP = (
    "Close the connection however the handler ends, also when its task is cancelled: put `writer.close()` and "
    "`await writer.wait_closed()` in the `finally:` of a try around the loop."
)
SWALLOWED_CANCEL_HELP = (
    "Don't catch asyncio.CancelledError and carry on: clean up in a `finally:` (close the writer) and let the cancellation end the handler."
)
CONCURRENT_HELP = (
    "Each client must be served while the others wait: let asyncio.start_server run `handler` for every "
    "connection (it starts a task per client), and have the handler wait only with await on its own reader. "
    "Don't serve the clients one after another (no lock held for a whole conversation, no awaiting one "
    "client's handler before taking the next)."
)
STUCK_HELP = (
    "Your code never gave the event loop back: a blocking call (time.sleep, a socket's accept() or recv(), "
    "input()) or a loop that never awaits freezes every connection. Use asyncio's streams (asyncio.start_server, "
    "`await reader.readline()`), which wait without blocking."
)
LOCALHOST_HELP = (
    'Use the address "127.0.0.1" (HOST), not a name such as "localhost": a name must be looked up first, '
    "may give an IPv6 address the clients do not use, and cannot be looked up at all where the grader runs."
)
HANDLER_PARAMETER_HELP = (
    "Give serve the signature `serve(ready, stop, handler=handle_echo)` and pass `handler` to "
    "asyncio.start_server: the checks hand serve a handler of their own."
)
USE_HANDLER_HELP = (
    "Pass the `handler` parameter to asyncio.start_server (`asyncio.start_server(handler, HOST, 0)`), not "
    "handle_echo itself: the checks hand serve a handler of their own."
)
READY_HELP = (
    "Call `ready(port)` once the server listens, with the port it really got: "
    "`ready(server.sockets[0].getsockname()[1])`, before you wait for stop."
)
PORT_ZERO_HELP = (
    "Port 0 asks the system for a free port; it is not the port the server got. Read the real one back from "
    "the listening socket: `ready(server.sockets[0].getsockname()[1])`."
)
HOST_HELP = (
    'Start the server on 127.0.0.1 only: `asyncio.start_server(handler, HOST, 0)`, with HOST = "127.0.0.1" '
    '(not "0.0.0.0", "" or None, which listen on every network, each socket on a port of its own).'
)
READY_ONCE_HELP = "Call ready(port) exactly once, as soon as the server listens."
SERVE_WAIT_HELP = (
    "serve must keep the server running until stop is set: `await stop.wait()` after ready(port), and only "
    "then close the server and return."
)
SERVE_FOREVER_HELP = (
    "server.serve_forever() never returns by itself, so stop is never looked at: `await stop.wait()` instead "
    "(start_server already serves), or run serve_forever() as a task and cancel it once stop is set."
)
CLOSE_SERVER_FIRST_HELP = (
    "server.wait_closed() waits until the server has been closed: call `server.close()` first, then "
    "`await server.wait_closed()` (or leave an `async with server:` block)."
)
POLL_HELP = (
    "Wait for stop with `await stop.wait()`: it wakes up the moment stop is set. A loop that checks "
    "stop.is_set() and sleeps in between returns late."
)
SERVE_FOREVER_CLOSED_HELP = (
    "server.close() cancels a running `await server.serve_forever()`, and that CancelledError ends serve. The server "
    "serves without serve_forever(): `await stop.wait()` instead, then close it, await wait_closed() and return."
)
CLOSE_SERVER_HELP = (
    "Once stop is set, close the server before returning: `server.close()` then `await server.wait_closed()` "
    "(or wrap the waiting in `async with server:`). Otherwise it goes on listening after serve returned."
)
SERVER_WAIT_CLOSED_HELP = (
    "server.close() only starts closing: `await server.wait_closed()` after it (or use `async with server:`, "
    "which does both). From Python 3.12 on it also waits until every connection has ended."
)
SERVER_FINALLY_HELP = (
    "Close the server however serve ends, also when its task is cancelled: `async with server:` around "
    "`await stop.wait()`, or `server.close()` and `await server.wait_closed()` in a `finally:`."
)
SERVE_FOREVER_CANCEL_HELP = (
    "task.cancel() only asks the serve_forever() task to stop: await it (`with contextlib.suppress("
    "asyncio.CancelledError): await task`) before returning; as it ends it closes the server and waits for it."
)
SERVE_CANCEL_HELP = "Let a cancellation end serve: don't catch asyncio.CancelledError and carry on waiting."
BLOCKING_CLIENT_HELP = (
    "Inside a coroutine, connect with `reader, writer = await asyncio.open_connection(host, port)`: a plain "
    "socket's connect(), sendall() and recv() block the event loop, and the server that should answer runs "
    "on that same loop."
)
CLIENT_NEWLINE_HELP = (
    'Send each line with its end: `writer.write(line.encode() + b"\\n")`. The server reads line by line, and waits for the "\\n".'
)
CLIENT_READ_ALL_HELP = (
    "reader.read() with no size waits until the server closes, but the server waits for your next line: read "
    "one answer per line sent, `await reader.readline()`."
)
ONE_CONNECTION_HELP = (
    "Open the connection once, before the loop over `lines`, and send every line on it: a server keeps what it knows "
    "of a client for the length of one connection."
)
CLIENT_READ_LINE_HELP = (
    "reader.read(n) returns whatever has arrived so far, part of an answer or more than one: read each answer "
    "with `await reader.readline()`, which waits for the whole line."
)
CLIENT_ONE_ANSWER_HELP = "After sending a line, read its one answer line with `await reader.readline()` before sending the next."
CLIENT_RESULT_HELP = (
    'Return what the server sent back, one string per line sent: `answer.decode()` without its "\\n" '
    '(`.removesuffix("\\n")`), in order. The checks\' server does not always echo.'
)
CLIENT_DECODE_HELP = 'Decode each answer to a str (`answer.decode()`) and drop its "\\n" before returning it.'
CLIENT_ECHOED_LINES_HELP = (
    "Return the lines the server sent back, read from the connection: the checks' server answers with lines of "
    "its own, not always your own lines."
)
CLIENT_SENT_HELP = 'Send each line of `lines` once, in order, encoded, with a "\\n" at the end.'
CLIENT_CLOSE_HELP = (
    "Close the connection before returning: `writer.close()` then `await writer.wait_closed()` (a try/finally makes it hard to forget)."
)
CLIENT_WAIT_CLOSED_HELP = (
    "writer.close() only starts closing the connection: `await writer.wait_closed()` right after it, before echo_client returns."
)
CLIENT_FINALLY_HELP = (
    "Close the connection however echo_client ends, also when its task is cancelled while it waits for an "
    "answer (by a timeout, say): put `writer.close()` and `await writer.wait_closed()` in the `finally:` of a "
    "try around the conversation."
)
CLIENT_CANCEL_HELP = "Let a cancellation end echo_client: don't catch asyncio.CancelledError and carry on."
HANG_HELP = "Something is waiting forever: look for an await that nothing will ever wake up."

# ------------------------------------------------------------------------------------------------ helpers


def cut_into_pieces(result: list[Any] | None, answers: list[str]) -> bool:
    """Whether ``result`` holds the server's answers cut where their parts happened to arrive (whitespace aside)."""
    if not result or result == answers or not all(isinstance(item, str) for item in result):
        return False
    got, sent = "".join("".join(result).split()), "".join("".join(answers).split())
    return bool(got) and sent.startswith(got)


def some_lines(count: int) -> list[str]:
    """Lines the student cannot predict: words (some with spaces) and a random token."""
    return [f"{WORDS[i % len(WORDS)]} {secrets.token_hex(3)}" for i in range(count)]


def calling(exercise: Subject, probe: str, stuck_help: str = STUCK_HELP, stuck_lead: str = "", **args: Any) -> dict[str, Any]:
    """The probe's evidence; code that never gave the loop back is reported with the help for that."""
    try:
        return dict(exercise.call(probe, **args))
    except Stuck as stuck:
        raise Failure(stuck_lead + stuck.rationale, stuck_help, source=stuck.source) from None


def ref(site: dict[str, Any] | None) -> SourceRef | None:
    return SourceRef.from_json(site) if site else None


def at_line(site: dict[str, Any] | None) -> str:
    return f" at line {site['line']} (`{site['excerpt']}`)" if site else ""


def not_awaited(evidence: dict[str, Any], *methods: str) -> Failure | None:
    """The first call of one of ``methods`` whose coroutine never ran."""
    for call in evidence.get("never_awaited", []):
        if call["method"] in methods:
            method = call["method"].replace("event.", "stop.")
            return Failure(
                f"line {call['source']['line']} calls {method}() but never awaits the coroutine it returns",
                NOT_AWAITED_HELP.format(method=method),
                source=ref(call["source"]),
            )
    return None


def looked_up(evidence: dict[str, Any], who: str) -> None:
    """A host name looked up (not an address): where no hosts file exists, as where the grader runs, it fails."""
    names = [found for found in evidence.get("lookups", []) if found["host"] not in ("127.0.0.1", "None")]
    if names:
        site = next((found["source"] for found in names if found["source"]), None)
        raise Failure(
            f"{who} looked the host name {names[0]['host']!r} up{at_line(site)} instead of using the address 127.0.0.1",
            LOCALHOST_HELP,
            source=ref(site),
        )


def student_blocking(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The blocking probe's records that the student's code caused (the probes' own waits name no line)."""
    return [r for r in records if r.get("source") or r.get("kind") == "time.sleep"]


def parked_where(parked: list[dict[str, Any]], names: dict[int, str] | None = None) -> str:
    """Where the student's tasks wait, in words: ``line 14 (`...`, in handle_echo, serving client A)``."""
    parts = []
    for place in parked[:3]:
        whose = f", serving client {names[place['peer']]}" if names and place.get("peer") in names else ""
        inside = f", in {place['coroutine']}()" if place.get("coroutine") else ""
        via = place.get("via")
        reached = f", reached from line {via['line']} (`{via['excerpt']}`, in {place['via_coroutine']}())" if via else ""
        parts.append(f"line {place['source']['line']} (`{place['source']['excerpt']}`{inside}{whose}){reached}")
    return " and ".join(parts)


def parked_help(parked: list[dict[str, Any]], default: str, read_all: str = READ_ALL_HELP) -> str:
    for place in parked:
        if place.get("read_all"):
            return read_all
        if place.get("awaits") == "StreamWriter.wait_closed":
            return CLOSE_FIRST_HELP
        if place.get("awaits") == "Server.serve_forever":
            return SERVE_FOREVER_HELP
        if place.get("awaits") == "Server.wait_closed":
            return CLOSE_SERVER_FIRST_HELP
    return default


# ------------------------------------------------------------------------------------------------ handle_echo


def conversations(exercise: Subject, talks: list[dict[str, Any]], stuck_help: str = STUCK_HELP, stuck_lead: str = "") -> dict[str, Any]:
    require(exercise, "handle_echo", "coroutine function")
    return calling(exercise, "conversations", stuck_help, stuck_lead, talks=talks)


def expect_echoes(exercise: Subject, evidence: dict[str, Any], talk: dict[str, Any], lines: list[str]) -> None:
    """The client got each line back, unchanged, before it sent the next."""
    client, handler = talk["client"], talk["handler"] or {}
    replies = client["replies"]
    if replies == lines:
        return
    cause = not_awaited(evidence, "writer.drain")
    if cause is not None:
        raise cause
    if handler.get("ended") == "raised" and len(replies) < len(lines):
        raise student_failure(handler["raised"], exercise.file_name)
    got = len(replies)
    if client["stall"]:
        parked = handler.get("parked", [])
        said = f"sent line {got + 1} ({lines[got]!r}) and waited for its echo"
        if client["partial"]:
            raise Failure(
                f'the client {said}, but received only {client["partial"]!r}, with no "\\n" at its end',
                ECHO_NEWLINE_HELP,
                source=ref(parked[0]["source"]) if parked else None,
            )
        where = f": your handler was waiting at {parked_where(parked)}" if parked else ""
        raise Failure(
            f"the client {said}, but it never came{where}",
            parked_help(parked, ECHO_AT_ONCE_HELP),
            source=ref(parked[0]["source"]) if parked else None,
        )
    if client["eof"] and got < len(lines) and all(r == line for r, line in zip(replies, lines)):
        who = "handle_echo returned and closed the connection" if handler.get("ended") == "returned" else "the connection was closed"
        raise Failure(f"{who} after echoing {got} of the client's {len(lines)} lines", ECHO_LOOP_HELP)
    changed = [(line, reply) for line, reply in zip(lines, replies) if line != reply]
    if len(replies) == len(lines) and all(line.strip() == reply.strip() for line, reply in changed):
        line, reply = changed[0]
        raise Failure(
            f'handle_echo changed a line it sent back: {line!r} came back as {reply!r} (spaces, and a "\\r" before '
            'the "\\n", are part of the line)',
            ECHO_UNCHANGED_HELP,
        )
    raise Mismatch(lines, replies, ECHO_UNCHANGED_HELP, what="the client's lines back, one by one,")


@check("loads")
def check_loads(exercise: Subject) -> None:
    require_all(exercise, FUNCTIONS)


@check("echo")
def check_echo(exercise: Subject) -> None:
    # Spaces around a line and the "\r" of a Windows line end are part of the line.
    token = secrets.token_hex(3)
    lines = [*some_lines(2), f"  indented {token}, spaces after  ", f"from Windows {token}\r"]
    evidence = conversations(exercise, [{"lines": lines, "then": "stay"}])
    expect_echoes(exercise, evidence, evidence["talks"][0], lines)
    cause = not_awaited(evidence, "writer.drain")
    if cause is not None:
        raise cause


@check("handler_closes")
def check_handler_closes(exercise: Subject) -> None:
    cancelled, finished = some_lines(1), some_lines(2)
    talks = [{"lines": cancelled, "then": "cancel"}, {"lines": finished, "then": "eof"}]
    evidence = conversations(exercise, talks, EOF_LOOP_HELP, "the client said its lines, got them back and sent EOF; then ")
    cause = not_awaited(evidence, "writer.wait_closed")
    if cause is not None:
        raise cause
    on_cancel, on_eof = evidence["talks"]
    expect_echoes(exercise, evidence, on_eof, finished)
    handler = on_eof["handler"] or {}
    parked = handler.get("parked", [])
    if parked:
        raise Failure(
            f"the client sent EOF (it is done) and waited for the server to close, but your handler was still "
            f"waiting at {parked_where(parked)}",
            parked_help(parked, HANDLER_CLOSE_HELP),
            source=ref(parked[0]["source"]),
        )
    if handler.get("ended") == "raised":
        raise student_failure(handler["raised"], exercise.file_name)
    state = handler.get("state")
    if state == "open":
        raise Failure(
            "after the client's EOF, handle_echo returned but left the connection open (the client was only told "
            "the end because the checks closed it)",
            HANDLER_CLOSE_HELP,
        )
    if state == "closing":
        raise Failure(
            "handle_echo called writer.close() but returned before the connection was closed: writer.wait_closed() was not awaited",
            HANDLER_WAIT_CLOSED_HELP,
        )
    expect_echoes(exercise, evidence, on_cancel, cancelled)
    handler = on_cancel["handler"] or {}
    parked = handler.get("parked", [])
    if parked:
        raise Failure(
            f"the handler's task was cancelled in the middle of a conversation, but it went on waiting at {parked_where(parked)}",
            SWALLOWED_CANCEL_HELP,
            source=ref(parked[0]["source"]),
        )
    if handler.get("state") == "open":
        raise Failure(
            "the handler's task was cancelled in the middle of a conversation, and it left the connection open",
            HANDLER_FINALLY_HELP,
        )
    expect(
        handler.get("state") == "closed",
        "the handler's task was cancelled in the middle of a conversation: it called writer.close() but ended "
        "before the connection was closed (writer.wait_closed() was not awaited)",
        HANDLER_FINALLY_HELP,
    )


# ------------------------------------------------------------------------------------------------ serve


def serving(exercise: Subject) -> tuple[dict[str, Any], list[list[str]]]:
    require(exercise, "serve", "coroutine function")
    talks = [some_lines(2), some_lines(1)]
    return calling(exercise, "serving", talks=talks, stop_after=STOP_AFTER), talks


def expect_started(exercise: Subject, evidence: dict[str, Any], run: dict[str, Any], strict: bool = True) -> int:
    """serve called ready(port) once, with the port it listens on, on 127.0.0.1: that port.

    Not ``strict``: a server that also listens elsewhere passes, as long as the checks' clients
    can reach the reported port (that is serve_port's business alone). A name looked up fails
    everywhere: where the grader runs without a hosts file, the lookup itself fails.
    """
    looked_up(evidence, "serve")
    ended, ports, listening = run["ended"], run["ports"], run["listening"]
    if not ports:
        if ended and ended["how"] == "raised":
            raised = ended["raised"]
            if raised.get("type") == "TypeError" and "handler" in raised.get("message", ""):
                raise Failure(f"calling serve(ready, stop, handler=...) failed: {raised['message']}", HANDLER_PARAMETER_HELP)
            raise student_failure(raised, exercise.file_name)
        if ended:
            raise Failure("serve returned without ever calling ready(port)", READY_HELP)
        parked = run["parked"]
        where = f": it was waiting at {parked_where(parked)}" if parked else ""
        raise Failure(
            f"serve never called ready(port){where}",
            parked_help(parked, READY_HELP),
            source=ref(parked[0]["source"]) if parked else None,
        )
    port = ports[0]
    expect(len(ports) == 1, f"serve called ready {len(ports)} times, with {ports}", READY_ONCE_HELP)
    expect(
        isinstance(port, int) and not isinstance(port, bool),
        f"serve called ready({port!r}): the port number, an int, was expected",
        READY_HELP,
    )
    expect(port != 0, "serve reported port 0", PORT_ZERO_HELP)
    hosts = {str(place["address"][0]): place for place in listening if isinstance(place.get("address"), list)}
    names = {place["name"][1]: str(place["name"][0]) for place in listening if isinstance(place.get("name"), list)}
    reachable = names.get(port) in ("127.0.0.1", "0.0.0.0") if names else True
    elsewhere = sorted(host for host in hosts if host != "127.0.0.1")
    if elsewhere and (strict or not reachable):
        shown = ", ".join(repr(host) for host in elsewhere)
        raise Failure(f"the server listens on {shown}, not on 127.0.0.1 only", HOST_HELP, source=ref(hosts[elsewhere[0]]["source"]))
    expect(
        not names or port in names,
        f"serve reported port {port}, but the server listens on port {next(iter(names), '?')}",
        READY_HELP,
    )
    return int(port)


def expect_still_serving(evidence: dict[str, Any], run: dict[str, Any]) -> None:
    """serve was still running when the clients came: one that returned at once left nothing listening."""
    ended = run["ended"]
    if ended is None or ended["stop_set"] or ended["how"] != "returned":
        return
    cause = not_awaited(evidence, "event.wait", "server.serve_forever")
    if cause is not None:
        raise cause
    raise Failure(
        f"serve returned at t={ended['at']:g} s, right after ready(port) and before stop was set, so its server "
        "was gone when the clients came",
        SERVE_WAIT_HELP,
    )


@check("serve_port")
def check_serve_port(exercise: Subject) -> None:
    evidence, talks = serving(exercise)
    run = evidence["first"]
    port = expect_started(exercise, evidence, run)
    clients = evidence.get("clients", [])
    refused = [client for client in clients if client["refused"] or client["stall"] == "connect"]
    if refused:
        expect_still_serving(evidence, run)
        why = refused[0]["refused"] or "the connection was never accepted"
        raise Failure(f"connecting to 127.0.0.1:{port}, the port serve reported, failed: {why}", READY_HELP)
    served = evidence.get("served", [])
    answered = sum(1 for client, lines in zip(clients, talks) if client["replies"] == lines)
    if len(served) < len(clients) and answered:
        raise Failure(
            f"{len(clients)} clients connected and were answered, but not by the handler serve was given",
            USE_HANDLER_HELP,
        )
    expect(
        len(served) == len(clients),
        f"{len(clients)} clients connected to the port serve reported, but the handler serve was given served {len(served)} of them",
        USE_HANDLER_HELP,
    )
    for number, (client, lines) in enumerate(zip(clients, talks), start=1):
        expect(
            client["replies"] == lines and client["eof"],
            f"client {number} connected to port {port} and got {client['replies']} back for {lines}, through the handler serve was given",
            USE_HANDLER_HELP,
        )


@check("serve_stops")
def check_serve_stops(exercise: Subject) -> None:
    evidence, _ = serving(exercise)
    run = evidence["first"]
    expect_started(exercise, evidence, run, strict=False)
    ended = run["ended"]
    stopped_at = float(evidence.get("stopped_at") or 0.0)
    if ended is None:
        parked = run["parked"]
        where = f": it was still waiting at {parked_where(parked)}" if parked else ""
        cause = not_awaited(evidence, "server.wait_closed", "server.serve_forever")
        if cause is not None and not parked:
            raise cause
        raise Failure(
            f"stop was set at t={stopped_at:g} s, once every client had gone, but serve never returned{where}",
            parked_help(parked, HANG_HELP),
            source=ref(parked[0]["source"]) if parked else None,
        )
    if ended["how"] == "raised":
        raise student_failure(ended["raised"], exercise.file_name)
    if ended["how"] == "cancelled" and ended["stop_set"]:
        raise Failure(
            f"stop was set at t={stopped_at:g} s, and serve ended by raising CancelledError, though nothing cancelled "
            "it: whoever awaits serve is told it was cancelled, not that it returned",
            SERVE_FOREVER_CLOSED_HELP,
        )
    if not ended["stop_set"]:
        cause = not_awaited(evidence, "event.wait", "server.serve_forever")
        if cause is not None:
            raise cause
        raise Failure(
            f"serve returned at t={ended['at']:g} s, before stop was set (at t={STOP_AFTER:g} s, once the clients had gone)",
            SERVE_WAIT_HELP,
            timeline=[Span("serve", 0.0, float(ended["at"]))],
        )
    late = float(ended.get("after_stop", 0.0))
    waiting = evidence.get("waiting_at_stop", [])
    expect(
        late <= 1e-6,
        f"serve returned at t={ended['at']:g} s, {late:g} s after stop was set (t={stopped_at:g} s)"
        + (f"; when stop was set, it was waiting at {parked_where(waiting)}" if waiting else ""),
        POLL_HELP,
        timeline=[Span("serve", 0.0, float(ended["at"])), Span("after stop", float(stopped_at), float(ended["at"]))],
        source=ref(waiting[0]["source"]) if waiting else None,
    )
    expect_server_closed(evidence, ended, "once stop was set", CLOSE_SERVER_HELP)
    cancelled = evidence["cancelled"]
    if not cancelled["ports"]:
        return  # the first run reported its port: a second one that does not is its own (rare) business
    ended = cancelled["ended"]
    if ended is None:
        parked = cancelled["parked"]
        raise Failure(
            f"serve's task was cancelled while it served, but serve went on waiting at {parked_where(parked)}",
            SERVE_CANCEL_HELP,
            source=ref(parked[0]["source"]) if parked else None,
        )
    if ended["how"] == "raised":
        raise student_failure(ended["raised"], exercise.file_name)
    expect_server_closed(evidence, ended, "when its task was cancelled", SERVER_FINALLY_HELP)


def expect_server_closed(evidence: dict[str, Any], ended: dict[str, Any], when: str, help: str) -> None:
    """When serve ended: no listening socket still open, and a server.wait_closed() had run to its end."""
    still = [place for place in ended["listening"] if not place["closed"]]
    if still:
        if ended.get("serve_forever") and help == CLOSE_SERVER_HELP:
            help = SERVE_FOREVER_CANCEL_HELP
        raise Failure(
            f"when serve ended ({when}), its server was still listening: it had not been closed",
            help,
            source=ref(still[0]["source"]),
        )
    if ended["wait_closed"]["finished"] == 0:
        cause = not_awaited(evidence, "server.wait_closed")
        if cause is not None:
            raise cause
        raise Failure(
            f"serve closed its server ({when}) but returned without awaiting server.wait_closed()",
            SERVER_WAIT_CLOSED_HELP if help == CLOSE_SERVER_HELP else help,
        )


@check("concurrent")
def check_concurrent(exercise: Subject) -> None:
    require(exercise, "serve", "coroutine function")
    slow = some_lines(2)
    quick = {name: some_lines(2) for name in ("B", "C", "D")}
    evidence = calling(exercise, "crowd", slow=slow, quick=quick)
    run = evidence["serve"]
    expect_started(exercise, evidence, run, strict=False)
    clients = {"A": evidence["slow"], **evidence["quick"]}
    slow_client = evidence["slow"]
    if slow_client["refused"] or slow_client["stall"] == "connect" or (slow_client["eof"] and not slow_client["replies"]):
        expect_still_serving(evidence, run)
        raise Failure(
            f"client A could not talk to the server on the port serve reported: "
            f"{slow_client['refused'] or 'the connection was closed before any echo'}",
            READY_HELP,
        )
    names = {client["port"]: name for name, client in clients.items() if client.get("port")}
    parked = [place for place in evidence["stalled_at"] if place.get("coroutine") != "serve" or place.get("awaits")]
    parked = [place for place in parked if not (place.get("coroutine") == "serve" and place.get("awaits") == "Event.wait")]
    stalled = [name for name, client in evidence["quick"].items() if client["stall"] or client["refused"]]
    if stalled:
        name = stalled[0]
        client = evidence["quick"][name]
        if client["refused"]:
            did = f"tried to connect, and was refused ({client['refused']})"
        elif client["stall"] == "connect":
            did = "tried to connect, and was never let in"
        else:
            number = len(client["replies"]) + 1
            did = f"sent its {'first' if number == 1 else f'line {number}'} line and never got the echo back"
        theirs = [place for place in parked if place.get("peer") == client.get("port")]
        # What held it up: the code serving the silent client A, or code serving no client at all.
        others = [place for place in parked if place.get("peer") not in names or names[place["peer"]] == "A"]
        if theirs:
            where = f": the handler serving {name} was waiting at {parked_where(theirs)}"
            where += f", while your code also waited at {parked_where(others, names)}" if others else ""
        elif others:
            where = f": no handler was serving {name}; your code was waiting at {parked_where(others, names)}"
        else:
            where = ""
        quick_names = list(quick)
        raise Failure(
            f"client A connected first, got its first echo, and then stayed connected and silent; meanwhile clients "
            f"{', '.join(quick_names[:-1])} and {quick_names[-1]} connected. While A was silent, client {name} "
            f"{did}{where}",
            CONCURRENT_HELP,
            source=ref((theirs or others)[0]["source"]) if parked else None,
        )
    expect_no_blocking(student_blocking(exercise.blocking))
    for name, client in clients.items():
        lines = slow if name == "A" else quick[name]
        expect(
            client["replies"] == lines,
            f"client {name} sent {lines} and got {client['replies']} back",
            CONCURRENT_HELP if client["stall"] else ECHO_UNCHANGED_HELP,
        )


# ------------------------------------------------------------------------------------------------ echo_client


@check("client")
def check_client(exercise: Subject) -> None:
    require(exercise, "echo_client", "coroutine function")
    # Answers in an order that is not sorted, and lines that are not the answers.
    lines, answers = some_lines(3), [f"{word} {secrets.token_hex(4)}" for word in ("zulu", "alpha", "mike")]
    evidence = calling(exercise, "client", lines=lines, answers=answers)
    if evidence["refused"]:
        refused = evidence["refused"][0]
        raise Failure(
            f"echo_client connected with a blocking socket{at_line(refused['source'])}, inside a coroutine",
            BLOCKING_CLIENT_HELP,
            source=ref(refused["source"]),
        )
    looked_up(evidence, "echo_client")
    ended = evidence.get("ended")
    if ended is None:
        parked = evidence.get("parked", [])
        received = evidence["received"]
        where = f" at {parked_where(parked)}" if parked else ""
        source = ref(parked[0]["source"]) if parked else None
        if not received and evidence["unfinished_line"]:
            raise Failure(
                f'the server received {evidence["unfinished_line"]!r} with no "\\n" at its end, and echo_client was still waiting{where}',
                CLIENT_NEWLINE_HELP,
                source=source,
            )
        raise Failure(
            f"echo_client never returned: it was still waiting{where}, after the server had received "
            f"{len(received)} of the {len(lines)} lines and answered each",
            parked_help(parked, CLIENT_ONE_ANSWER_HELP, read_all=CLIENT_READ_ALL_HELP),
            source=source,
        )
    if ended == "raised":
        raise student_failure(evidence["raised"], exercise.file_name)
    cause = not_awaited(evidence, "writer.drain", "writer.wait_closed")
    if cause is not None:
        raise cause
    expect(
        evidence["received"] == lines,
        f"the server received {evidence['received']}; echo_client was given {lines}",
        CLIENT_SENT_HELP,
    )
    result = evidence["result"]
    if result != answers:
        if result == lines:
            raise Failure("echo_client returned the lines it was given, not what the server sent back", CLIENT_ECHOED_LINES_HELP)
        if result == sorted(answers):
            raise Failure(f"echo_client returned the server's answers sorted, {result}; they came as {answers}", CLIENT_RESULT_HELP)
        shown = [str(item.get("repr")) if isinstance(item, dict) else item for item in result] if isinstance(result, list) else None
        near = [f"{a}\n" for a in answers], [repr((a + "\n").encode()) for a in answers], [repr(a.encode()) for a in answers]
        if shown is not None and any(shown == variant for variant in near):
            raise Failure(f'echo_client returned {shown}: bytes, or lines with their "\\n"', CLIENT_DECODE_HELP)
        if cut_into_pieces(shown, answers):
            raise Failure(
                f"echo_client returned {shown}: the server sent {answers}, each answer in two parts, and these are "
                "the parts as they happened to arrive",
                CLIENT_READ_LINE_HELP,
            )
        raise Mismatch(answers, result, CLIENT_RESULT_HELP, what="the server's answers")
    connections = len(evidence["connections"])
    expect(
        connections <= 1,
        f"echo_client opened {connections} connections for its {len(lines)} lines: one conversation, one connection",
        ONE_CONNECTION_HELP,
    )
    expect(
        not evidence.get("sent_ahead"),
        "echo_client sent a line before the answer to the line before it had arrived (the server still had that "
        "answer to send when the next line came in)",
        CLIENT_ONE_ANSWER_HELP,
    )
    open_sockets = [place for place in evidence["connections"] if not place["closed"]]
    if open_sockets:
        if evidence["closes"] == 0:
            raise Failure(
                "echo_client returned with its connection still open: it was never closed",
                CLIENT_CLOSE_HELP,
                source=ref(open_sockets[0]["source"]),
            )
        raise Failure(
            "echo_client called writer.close() but returned before the connection was closed: writer.wait_closed() was not awaited",
            CLIENT_WAIT_CLOSED_HELP,
        )
    cancelled = evidence["cancelled"]
    if not cancelled.get("cancelled_while"):
        return
    when = "echo_client's task was cancelled while it waited for the answer to its second line"
    if cancelled.get("parked"):
        parked = cancelled["parked"]
        raise Failure(f"{when}, but it went on waiting at {parked_where(parked)}", CLIENT_CANCEL_HELP, source=ref(parked[0]["source"]))
    if cancelled.get("ended") == "raised":
        raise student_failure(cancelled["raised"], exercise.file_name)
    if cancelled.get("ended") == "returned":
        raise Failure(
            f"{when}, but it caught the cancellation and returned {cancelled.get('result')!r}: whoever cancelled it "
            "(a timeout, say) is told it finished",
            CLIENT_CANCEL_HELP,
        )
    left_open = [place for place in cancelled.get("connections", []) if not place["closed"]]
    expect(not left_open, f"{when}, and it left its connection open", CLIENT_FINALLY_HELP)
