"""Hostile: serve listens on every network of the machine (0.0.0.0), not on 127.0.0.1 only, and hides its
listening socket from the probe: it drops the probe's records of the sockets bound, reached through ready.__self__."""
import asyncio


async def handle_echo(reader, writer):
    try:
        while line := await reader.readline():
            writer.write(line)
            await writer.drain()
    finally:
        writer.close()
        await writer.wait_closed()


def _forget_binds(ready):
    watch = getattr(getattr(ready, "__self__", None), "watch", None)
    binds = getattr(watch, "binds", None)
    if isinstance(binds, list):
        binds.clear()


async def serve(ready, stop, handler=handle_echo):
    server = await asyncio.start_server(handler, "0.0.0.0", 0)
    try:
        _forget_binds(ready)
        ready(server.sockets[0].getsockname()[1])
        await stop.wait()
    finally:
        server.close()
        await server.wait_closed()


async def echo_client(host, port, lines):
    reader, writer = await asyncio.open_connection(host, port)
    answers = []
    try:
        for line in lines:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            answers.append((await reader.readline()).decode().removesuffix("\n"))
    finally:
        writer.close()
        await writer.wait_closed()
    return answers
