"""Probes for 11_streams, run in the subject: real sockets on 127.0.0.1, driven by the probe, judged by order.

Every conversation is driven by the probe's own clients and servers, one step at a
time, on events alone: a client sends a line and waits for its answer; a silent client
stays silent until the others are done; ``stop`` is set once every client has gone. No
verdict rests on *when*, on the virtual clock, a socket delivered its data, only on what
happened before what.

How the virtual clock meets real sockets (looptime): while a task waits on a socket and
no timer is pending, the loop waits in a real ``select`` and its clock stands still;
while a timer is pending, the loop polls the sockets for a few dozen turns and, if
nothing has arrived by then, jumps its clock to the timer without waiting for the
socket. On loopback the kernel hands data over inside the sending call, so an answer is
there by the next turn; but on a machine under load it may come later. So the only
timers here are deadlines, and a deadline that passes does not end a conversation at
once: the loop is first given real time (:data:`GRACE` seconds, returning the moment any
of its sockets has something) for data still on its way (:func:`settle`). A right answer
never reaches a deadline; a deadlocked one costs that grace once.

The only virtual times the checks judge are those with no socket data on the way: how
long after ``stop`` was set ``serve`` returned (all clients have gone by then).

Facts about objects that cannot travel to the judge are taken here, at the moment they
matter: whether a connection was closed (its socket's descriptor is gone) at the very
step a handler or client returned, before anything else ran; which calls of
``drain()``/``wait_closed()`` were never awaited; which sockets the student's code bound
or connected (audit events) and which host names it looked up (the loop's ``getaddrinfo``:
"localhost" cannot be looked up at all in the sandbox, so a lookup fails in every mode
alike), and a blocking ``socket.connect`` on the event loop's thread, which is refused at
once (it would freeze the loop that has to answer it).
"""

from __future__ import annotations

import asyncio
import asyncio.base_events
import contextlib
import inspect
import selectors
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from types import ModuleType
from typing import Any

from grader.subject import describe_raised, handed, plain, probe, source, tasks, virtual_time
from grader.subject.handout import STAND_IN_FRAMES

HOST = "127.0.0.1"
STEP = 5.0  # virtual seconds one step of a conversation may take; a right answer takes none
GRACE = 0.25  # real seconds a passed deadline waits for socket data still on its way
GRACE_ROUNDS = 20  # arrivals a passed deadline lets in before it gives up
TURNS = 20  # turns of the loop to take in what arrived
CALLS_KEPT = 1000
CONNECTING = ("start_server", "open_connection", "BaseEventLoop.create_server", "BaseEventLoop.create_connection")


class BlockingSocketCall(RuntimeError):
    """A blocking ``socket.connect`` on the thread that runs the event loop: refused before it freezes the loop."""


# ------------------------------------------------------------------------------------------------ watching


class Watch:
    """What the student's code did with sockets and streams during one probe call."""

    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any]] = []
        self.calls: list[tuple[Coroutine[Any, Any, Any], str, dict[str, Any] | None]] = []
        self.closes: list[dict[str, Any] | None] = []  # writer.close() called from the student's code
        self.binds: list[tuple[Any, Any, dict[str, Any] | None]] = []
        self.connects: list[tuple[Any, Any, dict[str, Any] | None]] = []
        self.lookups: list[dict[str, Any]] = []  # host names looked up: {"host", "source"}
        self.refused: list[dict[str, Any]] = []

    # socket audit events ---------------------------------------------------------------------------

    def socket_event(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "socket.getaddrinfo":  # in the executor's thread too: the line is known from the loop's side
            if all(seen["host"] != str(args[0]) for seen in self.lookups):
                self.lookups.append({"host": str(args[0]), "source": source.caller_in_exercise()})
            return
        if event not in ("socket.bind", "socket.connect") or len(args) < 2:
            return
        sock, address = args[0], args[1]
        site = source.caller_in_exercise()
        if site is None:
            return  # the probe's own sockets
        if event == "socket.bind":
            self.binds.append((sock, plain(address), site))
            return
        self.connects.append((sock, plain(address), site))
        if asyncio.events._get_running_loop() is not None and _timeout(sock) != 0.0:
            self.refused.append({"call": "socket.connect", "source": site})
            raise BlockingSocketCall(
                "a blocking socket.connect() on the event loop's thread: the server that has to answer runs on that same loop"
            )

    def bound(self, since: int = 0) -> list[dict[str, Any]]:
        """The sockets the student's code bound (a server's listening sockets): the address asked for, the one
        they have (while open), and whether each is closed now."""
        return [
            {"address": address, "name": _name(sock), "closed": _closed(sock), "source": site} for sock, address, site in self.binds[since:]
        ]

    def connected(self) -> list[dict[str, Any]]:
        return [{"address": address, "closed": _closed(sock), "source": site} for sock, address, site in self.connects]

    # stream and server methods ---------------------------------------------------------------------

    @contextlib.contextmanager
    def wrapping(self) -> Iterator[None]:
        """Watch StreamWriter and Server methods: who called them, and whether the coroutines ran."""
        writer, server = asyncio.StreamWriter, asyncio.base_events.Server
        coroutines = [(writer, "drain", "writer.drain"), (writer, "wait_closed", "writer.wait_closed"),
                      (server, "wait_closed", "server.wait_closed"), (server, "serve_forever", "server.serve_forever"),
                      (asyncio.Event, "wait", "event.wait")]  # fmt: skip
        originals = [(cls, name, cls.__dict__[name]) for cls, name, _ in coroutines]
        originals.append((writer, "close", writer.__dict__["close"]))
        watch = self

        def coroutine_method(original: Callable[..., Any], label: str) -> Callable[..., Any]:
            def call(obj: Any, *args: Any, **kwargs: Any) -> Any:
                coroutine = original(obj, *args, **kwargs)
                watch.remember(coroutine, label, source.caller_in_exercise())
                return coroutine

            return handed(call)

        def close(obj: Any) -> Any:
            # Past the stand-in's frames (the audit hook's, the stand-in's own): a writer collected unclosed is closed by asyncio.
            if sys._getframe(1 + STAND_IN_FRAMES).f_code.co_name != "__del__":
                site = source.caller_in_exercise()
                if site is not None:
                    watch.closes.append(site)
            return originals[-1][2](obj)

        for (cls, name, label), (_, _, original) in zip(coroutines, originals):
            setattr(cls, name, coroutine_method(original, label))
        writer.close = handed(close)  # type: ignore[method-assign,assignment]  # watched for the student's code; restored below
        try:
            yield
        finally:
            for cls, name, original in originals:
                setattr(cls, name, original)

    def remember(self, coroutine: Any, label: str, site: dict[str, Any] | None) -> None:
        if inspect.iscoroutine(coroutine) and len(self.calls) < CALLS_KEPT:
            self.calls.append((coroutine, label, site))

    def ran(self, label: str) -> dict[str, int]:
        """How many ``label`` coroutines were made, and how many of them ran to their end, so far."""
        made = [c for c, name, _ in self.calls if name == label]
        return {"made": len(made), "finished": sum(1 for c in made if inspect.getcoroutinestate(c) == inspect.CORO_CLOSED)}

    def never_awaited(self) -> list[dict[str, Any]]:
        """Coroutines of the student's code that never started; closed here, so Python does not warn about them."""
        never = []
        for coroutine, label, site in self.calls:
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()
                if site is not None:
                    never.append({"method": label, "source": site})
        return never

    # tasks -----------------------------------------------------------------------------------------

    def parked(self, *extra: asyncio.Task[Any]) -> list[dict[str, Any]]:
        """Where each pending task running the student's code waits: its coroutine and line."""
        found: list[dict[str, Any]] = []
        for task in [*extra, *self.tasks]:
            if task.done():
                continue
            site = source.suspended_at(task)
            peer = _peer_port(task)
            if site is not None and all((site, peer) != (seen["source"], seen["peer"]) for seen in found):
                found.append({"source": site, "peer": peer, **_awaiting(task)})
        return found

    def evidence(self) -> dict[str, Any]:
        return {
            "never_awaited": self.never_awaited(),
            "lookups": list(self.lookups),
            "refused": list(self.refused),
            "closes": len(self.closes),
        }


_watching: list[Watch | None] = [None]
_hooked = [False]


def _audit(event: str, args: tuple[Any, ...]) -> None:
    watch = _watching[0]
    if watch is not None and event.startswith("socket."):
        watch.socket_event(event, args)


@contextlib.contextmanager
def watching() -> Iterator[Watch]:
    """Watch the student's sockets, streams and tasks for one probe call; then quiet what is left."""
    if not _hooked[0]:
        sys.addaudithook(_audit)
        _hooked[0] = True
    watch = Watch()
    _idle_at[0] = None
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(handed(_quiet_cancellations))
    lookup = loop.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # asyncio looks a name up in a thread of its own; here the student's line is still on the stack, or
        # (create_server looks up in tasks of its own) it is where one of their tasks awaits a connection.
        site = source.caller_in_exercise() or next(
            (source.suspended_at(t) for t in asyncio.all_tasks() if _awaiting(t)["awaits"] in CONNECTING), None
        )
        watch.lookups.append({"host": str(host), "source": site})
        return lookup(host, *args, **kwargs)

    loop.getaddrinfo = handed(getaddrinfo)  # type: ignore[method-assign]  # this loop only, for this call
    _watching[0] = watch
    try:
        with watch.wrapping(), tasks.recording_tasks(watch.tasks.append):
            yield watch
    finally:
        _watching[0] = None
        del loop.getaddrinfo


def _quiet_cancellations(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop what the probe's own cancellations make asyncio log (3.11 and 3.12 log a cancelled handler's task)."""
    if not isinstance(context.get("exception"), asyncio.CancelledError):
        loop.default_exception_handler(context)


def _timeout(sock: Any) -> float | None:
    try:
        timeout: float | None = sock.gettimeout()
        return timeout
    except Exception:  # noqa: BLE001 - not a socket we know
        return 0.0


def _name(sock: Any) -> Any:
    try:
        return plain(sock.getsockname())
    except Exception:  # noqa: BLE001 - closed, or not a socket
        return None


def _closed(sock: Any) -> bool:
    try:
        return bool(sock.fileno() == -1)
    except Exception:  # noqa: BLE001 - a socket object that cannot say is not closed by the code
        return False


def _awaiting(task: asyncio.Task[Any]) -> dict[str, Any]:
    """The innermost coroutine of the student's file that ``task`` is inside, and what it awaits there.

    ``awaits`` is the asyncio coroutine it is parked in (``StreamReader.read``, ``Lock.acquire``,
    ``Server.serve_forever``...); for ``StreamReader.read``, ``read_all`` tells a read until EOF.
    ``via`` is the line of the outermost of the student's coroutines, when that is another
    function (serve awaiting a handler itself).
    """
    theirs = []
    awaited: Any = task.get_coro()
    while awaited is not None and hasattr(awaited, "cr_code"):
        if source.in_exercise(awaited.cr_code):
            theirs.append(awaited)
        awaited = awaited.cr_await
    if not theirs:
        return {"coroutine": None, "awaits": None}
    innermost, outermost = theirs[-1], theirs[0]
    found: dict[str, Any] = {"coroutine": innermost.cr_code.co_name, "awaits": None}
    inner = innermost.cr_await
    if inner is not None and hasattr(inner, "cr_code"):
        found["awaits"] = getattr(inner.cr_code, "co_qualname", inner.cr_code.co_name)
        if found["awaits"] == "StreamReader.read" and inner.cr_frame is not None:
            found["read_all"] = inner.cr_frame.f_locals.get("n") == -1
    if outermost.cr_code is not innermost.cr_code and outermost.cr_frame is not None:
        found["via"] = source.source_ref(outermost.cr_frame.f_lineno)
        found["via_coroutine"] = outermost.cr_code.co_name
    return found


def _peer_port(task: asyncio.Task[Any]) -> int | None:
    """The client port of the connection a pending task serves: the StreamWriter its coroutines hold."""
    awaited: Any = task.get_coro()
    while awaited is not None and hasattr(awaited, "cr_code"):
        frame = awaited.cr_frame
        for value in list(frame.f_locals.values()) if frame is not None else []:
            if isinstance(value, asyncio.StreamWriter):
                peer = value.get_extra_info("peername")
                if isinstance(peer, tuple) and len(peer) >= 2 and isinstance(peer[1], int):
                    return peer[1]
        awaited = awaited.cr_await
    return None


def connection_state(writer: asyncio.StreamWriter) -> str:
    """``closed`` (its socket is closed: wait_closed() would return), ``closing`` (close() called, not yet closed), ``open``."""
    sock = writer.get_extra_info("socket")
    if sock is not None and _closed(sock):
        return "closed"
    return "closing" if writer.is_closing() else "open"


# ------------------------------------------------------------------------------------------------ waiting


async def settle(awaitable: Awaitable[Any], seconds: float = STEP) -> bool:
    """Wait for ``awaitable`` for at most ``seconds`` of virtual time, then as long as socket data keeps arriving.

    True when it is done. At the deadline the loop is given real time, up to :data:`GRACE`
    seconds at a go, for data still on its way (the deadline's timer may have moved the clock
    before the kernel handed the data over): a wait that ends only because the clock jumped
    ahead of the sockets is not a deadlock.
    """
    task = asyncio.ensure_future(awaitable)
    loop = asyncio.get_running_loop()
    end = virtual_time.now() + seconds
    rounds = 0
    while not task.done():
        left = round(end - virtual_time.now(), 6)
        if left > 0:
            await asyncio.wait([task], timeout=left)
            continue
        if rounds >= GRACE_ROUNDS or _idle_at[0] == virtual_time.now() or not _data_arrives(loop, GRACE):
            _idle_at[0] = virtual_time.now()  # found idle: others whose deadline is this same instant need not wait again
            break
        rounds += 1
        for _ in range(TURNS):
            await asyncio.sleep(0)
            if task.done():
                break
    if task.done() and not task.cancelled() and task.exception() is not None:
        raise task.exception()  # type: ignore[misc]  # the probe's own step failed (a refused connection): its caller says
    return task.done()


_idle_at: list[float | None] = [None]  # the virtual instant at which the loop was last found idle, its deadlines passed


def _data_arrives(loop: asyncio.AbstractEventLoop, seconds: float) -> bool:
    """Wait up to ``seconds`` of real time until one of the loop's sockets is ready; whether one is."""
    watched = loop._selector.get_map()  # type: ignore[attr-defined]  # the sockets the loop waits on
    with selectors.DefaultSelector() as selector:
        for key in list(watched.values()):
            with contextlib.suppress(ValueError, OSError, KeyError):
                selector.register(key.fd, key.events)
        return bool(selector.select(seconds))


async def first(*awaitables: Awaitable[Any]) -> None:
    """Return when the first of ``awaitables`` is done (the others go on)."""
    await asyncio.wait([asyncio.ensure_future(a) for a in awaitables], return_when=asyncio.FIRST_COMPLETED)


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    pending = [t for t in tasks if not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending, timeout=1.0)
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: asyncio does not log it later


# ------------------------------------------------------------------------------------------------ clients


class Client:
    """One of the probe's clients: line by line, with what it received so far kept as evidence."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.buffer = b""
        self.replies: list[str] = []
        self.eof = False
        self.refused: str | None = None
        self.stall: str | None = None

    async def connect(self, port: int) -> bool:
        try:
            done = await settle(self._open(port))
        except OSError as exc:
            self.refused = f"{type(exc).__name__}: {exc}"
            return False
        if not done:
            self.stall = "connect"
        return done

    async def _open(self, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, port)

    async def _line(self) -> bytes | None:
        assert self.reader is not None
        while b"\n" not in self.buffer:
            chunk = await self.reader.read(65536)
            if not chunk:
                self.eof = True
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line

    async def say(self, line: str) -> bool:
        """Send ``line`` and wait for one line back; False when none came (a stall, or the server closed)."""
        assert self.writer is not None
        try:
            self.writer.write(line.encode() + b"\n")
            await self.writer.drain()
        except OSError:
            self.eof = True
            return False
        answer: list[bytes | None] = []

        async def read() -> None:
            answer.append(await self._line())

        try:
            done = await settle(read())
        except OSError:
            self.eof = True
            return False
        if not done:
            self.stall = f"reply {len(self.replies) + 1}"
            return False
        if answer[0] is None:
            return False
        self.replies.append(answer[0].decode(errors="replace"))
        return True

    async def finish(self) -> bool:
        """Send EOF and wait for the server to close; what it sent meanwhile stays in ``buffer``."""
        assert self.writer is not None and self.reader is not None
        reader = self.reader
        with contextlib.suppress(OSError):
            self.writer.write_eof()

        async def drain_to_eof() -> None:
            while chunk := await reader.read(65536):
                self.buffer += chunk
            self.eof = True

        try:
            done = await settle(drain_to_eof())
        except OSError:
            done, self.eof = True, True
        if not done:
            self.stall = "eof"
        return done

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await settle(self.writer.wait_closed(), 1.0)

    def evidence(self) -> dict[str, Any]:
        sockname = self.writer.get_extra_info("sockname") if self.writer is not None else None
        return {
            "port": sockname[1] if isinstance(sockname, tuple) and len(sockname) >= 2 else None,
            "replies": list(self.replies),
            "partial": self.buffer.decode(errors="replace")[:200],
            "eof": self.eof,
            "refused": self.refused,
            "stall": self.stall,
        }


# ------------------------------------------------------------------------------------------------ handle_echo


@probe
async def conversations(exercise: ModuleType, talks: list[dict[str, Any]]) -> dict[str, Any]:
    """Serve each talk on a connection of its own, with ``handle_echo`` as the probe's server's handler.

    A talk is ``{"lines": [...], "then": "stay" | "eof" | "cancel"}``: the client sends each
    line and waits for one line back before the next; then it stays (the probe cancels the
    handler quietly at the end), sends EOF and waits for the server to close, or the probe
    cancels the handler's task. For each talk: what the client received, where it stalled,
    and how the handler ended: ``returned``, ``raised`` or ``cancelled``, with the
    connection's state at that very step (``closed``, ``closing``, ``open``; one left open
    is then closed by the probe, ``closed_by_probe``), or where it still waits.
    """
    handlers: list[dict[str, Any]] = []
    arrived = asyncio.Event()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        handler: dict[str, Any] = {"task": asyncio.current_task(), "ended": None, "state": None, "done": asyncio.Event()}
        handlers.append(handler)
        arrived.set()
        try:
            await exercise.handle_echo(reader, writer)
            handler["ended"] = "returned"
        except asyncio.CancelledError:
            handler["ended"] = "cancelled"
        except Exception as exc:  # noqa: BLE001 - the student's, as evidence
            handler["ended"], handler["raised"] = "raised", describe_raised(exc)
        finally:
            handler["state"] = connection_state(writer)  # at this very step: before asyncio's own callbacks run
            if handler["state"] == "open":
                handler["closed_by_probe"] = True
                writer.close()  # so that a client waiting for the end is not left waiting forever
            handler["done"].set()

    results = []
    with watching() as watch:
        server = await asyncio.start_server(handed(on_connect), HOST, 0)  # the server's callback leads nowhere: not to ``handlers``
        port = server.sockets[0].getsockname()[1]
        clients: list[Client] = []
        try:
            for number, talk in enumerate(talks):
                client = Client(f"talk {number + 1}")
                clients.append(client)
                arrived.clear()
                if not await client.connect(port) or not await settle(arrived.wait()):
                    results.append({"client": client.evidence(), "handler": None})
                    continue
                handler = handlers[-1]
                for line in talk["lines"]:
                    if not await client.say(line):
                        break
                ending = talk["then"] if not client.stall and not client.eof else "stay"
                if ending == "eof" and await client.finish():
                    await settle(handler["done"].wait())
                elif ending == "cancel":
                    handler["task"].cancel()
                    await settle(handler["done"].wait())
                results.append({"client": client.evidence(), "handler": describe_handler(handler, watch)})
                if not handler["done"].is_set():
                    handler["task"].cancel()
                    await settle(handler["done"].wait(), 1.0)
        finally:
            for client in clients:
                await client.close()
            await cancel_all([h["task"] for h in handlers])
            server.close()
            await cancel_all(watch.tasks)
        return {"talks": results, **watch.evidence()}


def describe_handler(handler: dict[str, Any], watch: Watch) -> dict[str, Any]:
    found = {key: handler.get(key) for key in ("ended", "state", "raised", "closed_by_probe") if handler.get(key)}
    if not handler["done"].is_set():
        found["parked"] = watch.parked(handler["task"])
    return found


# ------------------------------------------------------------------------------------------------ serve


class Serving:
    """One run of the student's ``serve``: its task, the port it reported, and how and when it ended."""

    def __init__(self, exercise: ModuleType, watch: Watch, handler: Callable[..., Any] | None) -> None:
        self.watch = watch
        self.ports: list[Any] = []
        self.reported = asyncio.Event()
        self.stop = asyncio.Event()
        self.binds_from = len(watch.binds)
        self.wait_closed_from = watch.ran("server.wait_closed")
        self.serve_forever_from = watch.ran("server.serve_forever")["made"]
        self.listening: list[dict[str, Any]] = []
        self.ended: dict[str, Any] | None = None
        args = {"handler": handler} if handler is not None else {}
        self.task = asyncio.ensure_future(self.run(exercise, args))

    def ready(self, port: Any) -> None:
        self.ports.append(plain(port))
        if not self.reported.is_set():
            self.listening = self.watch.bound(self.binds_from)  # with the port each one really has
        self.reported.set()

    async def run(self, exercise: ModuleType, args: dict[str, Any]) -> None:
        ended: dict[str, Any] = {}
        try:
            await exercise.serve(handed(self.ready), self.stop, **args)
            ended["how"] = "returned"
        except asyncio.CancelledError:
            ended["how"] = "cancelled"
        except Exception as exc:  # noqa: BLE001 - the student's, as evidence
            ended.update(how="raised", raised=describe_raised(exc))
        finally:
            # At this very step: what serve left behind when it ended.
            ended["at"] = virtual_time.now()
            ended["stop_set"] = self.stop.is_set()
            ended["listening"] = self.watch.bound(self.binds_from)
            ran, before = self.watch.ran("server.wait_closed"), self.wait_closed_from
            ended["wait_closed"] = {key: ran[key] - before[key] for key in ran}
            ended["serve_forever"] = self.watch.ran("server.serve_forever")["made"] - self.serve_forever_from
            self.ended = ended

    async def started(self) -> bool:
        """Wait for ``ready(port)`` (or serve's end); whether a port was reported."""
        await settle(first(self.reported.wait(), self.task))
        return self.reported.is_set()

    def port(self) -> int | None:
        port = self.ports[0] if self.ports else None
        return port if isinstance(port, int) and not isinstance(port, bool) and 0 < port < 65536 else None

    def evidence(self) -> dict[str, Any]:
        return {
            "ports": self.ports[:5],
            "listening": self.listening or self.watch.bound(self.binds_from),
            "ended": self.ended,
            "parked": self.watch.parked(self.task) if not self.task.done() else [],
        }


@probe
async def serving(exercise: ModuleType, talks: list[list[str]], stop_after: float) -> dict[str, Any]:
    """``serve(ready, stop, handler=<the probe's>)``: the port it reports, the clients it serves, how it stops.

    First run: once ``ready(port)`` is called, one client per talk connects at the same time,
    says its lines and leaves (EOF, then close); ``stop_after`` virtual seconds after the last
    has gone, ``stop`` is set, and serve's end is recorded at that step: when, and whether its
    listening sockets were closed and a ``server.wait_closed()`` had run to its end. Second
    run: once ready, serve's task is cancelled instead, and the same is recorded.
    """
    served: list[dict[str, Any]] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = {"lines": 0, "eof": False}
        served.append(connection)
        try:
            while line := await reader.readline():
                connection["lines"] += 1
                writer.write(line)
                await writer.drain()
            connection["eof"] = True
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    evidence: dict[str, Any] = {}
    with watching() as watch:
        first_run = Serving(exercise, watch, handed(handler))  # no way back to ``served``
        runs = [first_run]
        clients = [Client(f"client {number + 1}") for number in range(len(talks))]
        try:
            if await first_run.started() and (port := first_run.port()) is not None:
                evidence["clients"] = await talk_and_leave(clients, talks, port)
                evidence["served"] = list(served)
                evidence["running_before_stop"] = not first_run.task.done()
                if not first_run.task.done():
                    await asyncio.wait([first_run.task], timeout=stop_after)
                evidence["waiting_at_stop"] = watch.parked(first_run.task)
                first_run.stop.set()
                stopped_at = virtual_time.now()
                evidence["stopped_at"] = stopped_at
                await settle(first_run.task)
                if first_run.ended is not None and first_run.ended["stop_set"]:
                    first_run.ended["after_stop"] = round(first_run.ended["at"] - stopped_at, 6)
            evidence["first"] = first_run.evidence()
            await cancel_all([first_run.task])
            for client in clients:
                await client.close()

            second_run = Serving(exercise, watch, handed(handler))
            runs.append(second_run)
            if await second_run.started():
                second_run.task.cancel()
                await settle(second_run.task)
            evidence["cancelled"] = second_run.evidence()
        finally:
            for run in runs:
                run.stop.set()  # a serve that caught its cancellation and waits on still ends
            for client in clients:
                await client.close()
            await cancel_all(watch.tasks)
        return {**evidence, **watch.evidence()}


async def talk_and_leave(clients: list[Client], talks: list[list[str]], port: int) -> list[dict[str, Any]]:
    """Each client connects, says its lines (all clients at the same time), then sends EOF and waits for the end."""

    async def one(client: Client, lines: list[str]) -> None:
        if not await client.connect(port):
            return
        for line in lines:
            if not await client.say(line):
                return
        await client.finish()
        await client.close()

    await asyncio.gather(*(one(client, lines) for client, lines in zip(clients, talks)))
    return [client.evidence() for client in clients]


@probe
async def crowd(exercise: ModuleType, slow: list[str], quick: dict[str, list[str]]) -> dict[str, Any]:
    """``serve(ready, stop)`` with its own ``handle_echo``: is a silent client holding the others up?

    The slow client connects first, says its first line and, once answered, stays silent
    while the quick clients connect together and each says its lines, one at a time,
    waiting for each answer; only when they are all done (or stuck) does the slow client
    say its last line. Evidence: what each client received and where it stalled, and
    where the student's tasks were waiting when one did.
    """
    with watching() as watch:
        run = Serving(exercise, watch, None)
        slow_client = Client("slow")
        quick_clients = {name: Client(name) for name in quick}
        evidence: dict[str, Any] = {"stalled_at": []}
        try:
            if not await run.started() or (port := run.port()) is None:
                return {"serve": run.evidence(), **watch.evidence()}
            if await slow_client.connect(port) and await slow_client.say(slow[0]):

                async def one(client: Client, lines: list[str]) -> None:
                    if await client.connect(port):
                        for line in lines:
                            if not await client.say(line):
                                break

                await asyncio.gather(*(one(quick_clients[name], lines) for name, lines in quick.items()))
                if any(client.stall for client in quick_clients.values()):
                    evidence["stalled_at"] = watch.parked(run.task)
                if not slow_client.stall:
                    await slow_client.say(slow[1])
            if slow_client.stall and not evidence["stalled_at"]:
                evidence["stalled_at"] = watch.parked(run.task)
            evidence["slow"] = slow_client.evidence()
            evidence["quick"] = {name: client.evidence() for name, client in quick_clients.items()}
            evidence["serve"] = run.evidence()
        finally:
            # The handlers first: none of them is then left reading the clients' EOF.
            await cancel_all([task for task in watch.tasks if task is not run.task])
            for client in [slow_client, *quick_clients.values()]:
                await client.close()
            run.stop.set()
            await settle(run.task, 1.0)
            await cancel_all([run.task, *watch.tasks])
        return {**evidence, **watch.evidence()}


# ------------------------------------------------------------------------------------------------ echo_client


async def answer_in_two_parts(writer: asyncio.StreamWriter, answer: bytes) -> None:
    """Send ``answer`` and its "\\n" as a server may: the first half alone, the rest a few turns of the loop later.

    On loopback the first half is the client's to read before the rest is sent: a client
    that takes whatever has arrived (``read(n)``) gets half an answer, one that reads a
    line (``readline()``) the whole of it.
    """
    half = len(answer) // 2
    writer.write(answer[:half])
    await writer.drain()
    for _ in range(TURNS):
        await asyncio.sleep(0)
    writer.write(answer[half:] + b"\n")
    await writer.drain()


@probe
async def client(exercise: ModuleType, lines: list[str], answers: list[str]) -> dict[str, Any]:
    """``echo_client(HOST, port, lines)`` against the probe's server, which answers line i with ``answers[i]``.

    The server sends each answer in two parts (:func:`answer_in_two_parts`). Evidence: what
    echo_client returned (or raised, or where it waits), the lines the server received (and
    any unfinished one), whether a line came before the answer to the one before it had been
    sent (``sent_ahead``), and, at the very step echo_client returned, whether
    each socket it connected was closed and a ``writer.wait_closed()`` had run to its end.
    Then ``cancelled``: echo_client runs again, the server answers its first line only, and
    once the second has arrived the probe cancels echo_client's task: how it ended, and
    whether its connection was closed by then.
    """
    received: list[str] = []
    partial: list[bytes] = [b""]
    hold: list[int | None] = [None]  # the server answers no line from this one on
    held = asyncio.Event()
    sent_ahead = [False]  # the server had more from the client before it had answered the line before

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                partial[0] += chunk
                while b"\n" in partial[0]:
                    line, _, partial[0] = partial[0].partition(b"\n")
                    number = len(received)
                    received.append(line.decode(errors="replace"))
                    if hold[0] is not None and number >= hold[0]:
                        held.set()
                        continue
                    sent_ahead[0] = sent_ahead[0] or bool(partial[0])
                    await answer_in_two_parts(writer, (answers[number] if number < len(answers) else "?").encode())
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    with watching() as watch:
        server = await asyncio.start_server(handed(answer), HOST, 0)  # the server's callback leads nowhere: not to ``received``
        port = server.sockets[0].getsockname()[1]

        async def call(outcome: dict[str, Any], connects_from: int) -> None:
            try:
                outcome["result"] = plain(await exercise.echo_client(HOST, port, list(lines)))
                outcome["ended"] = "returned"
            except asyncio.CancelledError:
                outcome["ended"] = "cancelled"
            except Exception as exc:  # noqa: BLE001 - the student's, as evidence
                outcome.update(ended="raised", raised=describe_raised(exc))
            finally:
                # At this very step: what echo_client left behind when it ended.
                outcome["connections"] = watch.connected()[connects_from:]
                outcome["closes"] = len(watch.closes)

        outcome: dict[str, Any] = {}
        cancelled: dict[str, Any] = {}
        evidence: dict[str, Any] = {"cancelled": {}}
        tasks = [asyncio.ensure_future(call(outcome, 0))]
        try:
            if not await settle(tasks[0]):
                outcome["parked"] = watch.parked(tasks[0])
            outcome["received"] = list(received)
            outcome["unfinished_line"] = partial[0].decode(errors="replace")[:200]
            outcome["sent_ahead"] = sent_ahead[0]
            evidence.update(outcome)  # as it is now: the cleanup below ends what is still waiting
            if outcome.get("ended") == "returned" and len(lines) > 1:
                received.clear()
                hold[0] = 1
                tasks.append(asyncio.ensure_future(call(cancelled, len(watch.connects))))
                await settle(first(held.wait(), tasks[1]))
                if held.is_set() and not tasks[1].done():
                    tasks[1].cancel()
                    if not await settle(tasks[1]):
                        cancelled["parked"] = watch.parked(tasks[1])
                    cancelled["cancelled_while"] = "waiting for the answer to line 2"
                    evidence["cancelled"] = dict(cancelled)
        finally:
            await cancel_all(tasks)
            server.close()
            await cancel_all(watch.tasks)
        return {**evidence, **watch.evidence()}
