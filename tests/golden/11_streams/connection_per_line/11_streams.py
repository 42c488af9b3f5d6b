r"""Exercise 11 — streams: an echo server that serves many clients at once, and closes cleanly.

`await asyncio.start_server(handler, host, port)` listens on a TCP port and, for every
client that connects, starts `handler(reader, writer)` as a *task of its own*. While one
handler waits (`await reader.readline()`), the event loop runs the others: one process
serves many clients at once, as long as every handler waits with `await`. A handler
that blocks (time.sleep, a plain socket's recv()) freezes every connection, and one
that waits for the client's *whole* input before answering (`await reader.read()`
reads until the client closes its side) deadlocks with a client that waits for each
answer before it sends more.

`await asyncio.open_connection(host, port)` is the client side: it gives a
`(reader, writer)` pair too. On either side:

* `await reader.readline()` returns one line, `"\n"` included, or `b""` once the other
  side has finished sending (EOF): that is how a loop over lines ends.
* `writer.write(data)` only puts bytes in a buffer; `await writer.drain()` waits while
  that buffer is too full (with small lines it never waits, but it is the habit that
  keeps a fast writer from filling the memory).
* Closing is two steps: `writer.close()` starts it, `await writer.wait_closed()` waits
  until the connection is really closed. A server too: `server.close()` stops listening,
  `await server.wait_closed()` waits; `async with server:` does both when its block
  ends. Put closing in a `finally:` so that it also happens when the task is cancelled.

Port 0 asks the system for any free port: read back the one the server got with
`server.sockets[0].getsockname()[1]`. Use the address "127.0.0.1" (only this machine
can connect, and no name has to be looked up: "localhost" may not even resolve where
your code is graded).

Python versions: `server.wait_closed()` changed in 3.12. On 3.11 it returns at once
once the server is closed, even while clients are still connected; from 3.12.1 on it
also waits until every connection has ended (3.12.0 was still half-way). 3.13 adds
`server.close_clients()` and `server.abort_clients()` to end those connections
yourself. Nothing here changes in 3.14. The code below is right on all of them: the
checks set `stop` only once every client has gone.

Docs: https://docs.python.org/3/library/asyncio-stream.html
      https://docs.python.org/3/library/asyncio-eventloop.html#server-objects

Your task: fill in the three functions marked TODO. Don't change their names or
signatures. The checks connect clients of their own to your server (one of them
connects first and then stays silent, and must not hold the others up), run `serve`
with a handler of their own too, and run `echo_client` against a server of their own,
which does not always echo: return what the server really sent.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable

HOST = "127.0.0.1"  # a literal address: no name lookup, and only this machine can connect

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def handle_echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one client: send back every line it sends, as soon as it arrives; close when it is done."""
    try:
        # readline() waits for one line without blocking the loop, and returns b"" at EOF.
        while line := await reader.readline():
            writer.write(line)  # unchanged, "\n" included
            await writer.drain()  # waits only while the outgoing buffer is too full
    finally:
        # Whether the client finished (EOF) or this task was cancelled: close, and wait until it is closed.
        writer.close()
        await writer.wait_closed()


async def serve(ready: Callable[[int], object], stop: asyncio.Event, handler: Handler = handle_echo) -> None:
    """Run a TCP server on 127.0.0.1 until `stop` is set; then close it and return."""
    # Port 0: the system picks a free port. Every client gets a task of its own running handler.
    server = await asyncio.start_server(handler, HOST, 0)
    try:
        ready(server.sockets[0].getsockname()[1])  # the real port, read back from the listening socket
        await stop.wait()  # no polling: wakes up the moment stop is set
    finally:
        # Also when this task is cancelled: stop listening, then wait until the server has closed.
        server.close()
        await server.wait_closed()


async def echo_client(host: str, port: int, lines: list[str]) -> list[str]:
    answers = []
    for line in lines:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            answers.append((await reader.readline()).decode().removesuffix("\n"))
        finally:
            writer.close()
            await writer.wait_closed()
    return answers


async def main() -> None:
    started = time.perf_counter()
    stop = asyncio.Event()
    port: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve(port.set_result, stop))
    await port
    print(f"serving on {HOST}:{port.result()}")

    async def slow_client() -> None:
        """Connects first, says one line, then keeps the connection open and silent for 1 s."""
        reader, writer = await asyncio.open_connection(HOST, port.result())
        writer.write(b"I am slow\n")
        print(f"  slow client got {(await reader.readline()).decode().strip()!r}, now silent for 1 s")
        await asyncio.sleep(1)
        writer.close()
        await writer.wait_closed()
        print(f"  slow client done at t={time.perf_counter() - started:.1f} s")

    async def quick_client(name: str) -> None:
        answers = await echo_client(HOST, port.result(), [f"{name}: hello", f"{name}: bye"])
        print(f"  {name} got {answers} at t={time.perf_counter() - started:.1f} s (not held up by the slow one)")

    slow = asyncio.create_task(slow_client())
    await asyncio.sleep(0.1)  # the slow client is connected and silent by now
    await asyncio.gather(quick_client("ann"), quick_client("bob"), quick_client("cy"))
    await slow
    stop.set()
    await server
    print(f"server closed at t={time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    asyncio.run(main())
