"""Exercise 11 — streams: an echo server that serves many clients at once, and closes cleanly."""

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
    """Connect to host:port, send each line and read the server's answer; return the answers."""
    reader, writer = await asyncio.open_connection(host, port)
    answers = []
    try:
        for line in lines:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            answers.append(await reader.readline())
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
