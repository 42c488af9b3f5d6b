"""A warm subject: imports what every subject needs once, then forks one subject per exercise.

Starting Python and importing asyncio costs most of a subject's life, and a fork of a
process that has done both costs a few milliseconds. The judge starts one template per
submission, in that submission's sandbox, and asks it over a socket for one subject per
exercise, sending the three descriptors the subject will use: the judge's requests, its
replies, and the student's output. The template never runs student code; its children do,
each in a session of its own, with the probes armed afresh (audit hooks, guard, clock).
When a child ends, the template writes how on that child's reply pipe, so the judge
learns an exit code or a signal even though the child is not its own.
"""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from grader.subject import executor

CHANNEL_FD = 3
MESSAGE_BYTES = 65536
PR_SET_DUMPABLE = 4


def main(arguments: list[str]) -> int:
    """Serve the judge on the channel until it closes it; then end every child still running."""
    hide = [Path(arguments[i + 1]) for i, a in enumerate(arguments) if a == "--hide"]
    # What is imported now lives as long as every subject: no collection needs to walk it,
    # and a subject's collections then touch (and copy) none of the pages it shares.
    gc.collect()
    gc.freeze()
    _not_dumpable()
    channel = socket.socket(fileno=CHANNEL_FD)
    children: dict[int, tuple[int, int]] = {}  # pidfd -> (pid, the reply pipe's write end)
    by_token: dict[str, int] = {}
    try:
        while True:
            ready = select.select([channel, *children], [], [])[0]
            for fd in ready:
                if fd is channel:
                    if not _take_request(channel, hide, children, by_token):
                        return 0
                else:
                    _report_end(fd, children)
    finally:
        for pid, _ in children.values():
            _kill(pid)


def _not_dumpable() -> None:
    """No subject may attach to the template or read its memory (they share its uid)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _take_request(
    channel: socket.socket, hide: list[Path], children: dict[int, tuple[int, int]], by_token: dict[str, int]
) -> bool:
    """Start or stop one subject, as the judge asks; ``False`` once the judge has gone."""
    data, fds, _, _ = socket.recv_fds(channel, MESSAGE_BYTES, 3)
    if not data:
        return False
    request: dict[str, Any] = json.loads(data)
    if "stop" in request:
        pid = by_token.pop(str(request["stop"]), None)
        if pid is not None:
            _kill(pid)
        return True
    requests, replies, output = fds
    pid = os.fork()
    if pid == 0:
        _become_subject(request, hide, requests, replies, output, channel)
    os.close(requests)
    os.close(output)
    children[os.pidfd_open(pid)] = (pid, replies)
    by_token[str(request["token"])] = pid
    return True


def _become_subject(
    request: dict[str, Any], hide: list[Path], requests: int, replies: int, output: int, channel: socket.socket
) -> None:
    """Body of a forked subject; never returns."""
    code = 70
    try:
        os.setsid()
        channel.close()
        os.dup2(requests, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.dup2(replies, executor.REPLY_FD)
        os.closerange(executor.REPLY_FD + 1, 1 << 16)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        code = executor.run(Path(request["exercise"]), Path(request["probes"]), hide)
    finally:
        sys.stdout.flush()
        os._exit(code)


def _report_end(pidfd: int, children: dict[int, tuple[int, int]]) -> None:
    """A child ended: tell the judge how, on that child's own reply pipe, and let it go."""
    pid, replies = children.pop(pidfd)
    _, status = os.waitpid(pid, 0)
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    try:
        os.write(replies, (json.dumps({"ended": code}) + "\n").encode())
    except OSError:
        pass  # the judge has stopped listening
    os.close(replies)
    os.close(pidfd)


def _kill(pid: int) -> None:
    """End a subject and whatever it started in its session."""
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
        except OSError:
            pass
