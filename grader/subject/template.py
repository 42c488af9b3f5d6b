"""A warm subject: imports what every subject needs once, then forks one subject per exercise.

Starting Python and importing asyncio costs most of a subject's life, and a fork of a
process that has done both costs a few milliseconds. A template knows no submission
when it starts: the worker starts one ahead of each submission, which its judges share,
each on a socket of its own. A judge asks it for one subject per exercise, sending the
descriptors the subject will use (the judge's requests, its replies, the student's
output), the probe file and the exercise file's bytes (under bwrap, every exercise file's,
which the template writes afresh into its own folder before each fork), with the
subject's limits, folder and environment. The subject runs the bytes it was handed,
never what lies in the folder, where an earlier subject could have left anything. The template never runs student code; its children do, each in
a session of its own, with the probes armed afresh (audit hooks, guard, clock). When a
child ends, the template writes how on that child's reply pipe, so the judge learns an
exit code or a signal even though the child is not its own. When a judge closes its
socket (it is done, or was killed), the template ends the subjects that judge asked for,
and itself once every judge has.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import select
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path
from types import CodeType
from typing import Any

from grader.subject import executor, known_code

CHANNEL_FD = 3
MESSAGE_BYTES = 65536
MAX_DESCRIPTORS = 253  # what one message can carry on Linux
PR_SET_DUMPABLE = 4


def main(arguments: list[str]) -> int:
    """Serve the judges on their channels until each has closed its own; then end every child still running."""
    files_into = Path(arguments[arguments.index("--files-into") + 1]) if "--files-into" in arguments else None
    count = int(arguments[arguments.index("--channels") + 1]) if "--channels" in arguments else 1
    # Every code object imported now is the grader's or the standard library's: known once, here.
    known_code.learn()
    # What is imported now lives as long as every subject: no collection needs to walk it,
    # and a subject's collections then touch (and copy) none of the pages it shares.
    gc.collect()
    gc.freeze()
    _not_dumpable()
    channels = [socket.socket(fileno=CHANNEL_FD + index) for index in range(count)]
    children: dict[int, tuple[int, int, socket.socket]] = {}  # pidfd -> (pid, the reply pipe's write end, who asked)
    by_token: dict[str, int] = {}
    try:
        while channels:
            waiting_on: list[socket.socket | int] = [*channels, *children]
            for ready in select.select(waiting_on, [], [])[0]:
                if isinstance(ready, socket.socket):
                    if not _take_request(ready, files_into, children, by_token):
                        channels.remove(ready)  # that judge has gone: so have the subjects it asked for
                        for pid, _, asked_by in children.values():
                            if asked_by is ready:
                                _kill(pid)
                elif ready in children:  # a child's pidfd
                    _report_end(ready, children)
        return 0
    finally:
        for pid, _, _ in children.values():
            _kill(pid)


def _not_dumpable() -> None:
    """No subject may attach to the template or read its memory (they share its uid)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def _take_request(
    channel: socket.socket, files_into: Path | None, children: dict[int, tuple[int, int, socket.socket]], by_token: dict[str, int]
) -> bool:
    """Start or stop one subject, as the judge asks; ``False`` once the judge has gone."""
    data, fds, _, _ = socket.recv_fds(channel, MESSAGE_BYTES, MAX_DESCRIPTORS)
    if not data:
        return False
    request: dict[str, Any] = json.loads(data)
    if "stop" in request:
        pid = by_token.pop(str(request["stop"]), None)
        if pid is not None:
            _kill(pid)
        return True
    requests, replies, output, probe_file, *files = fds
    probe_code = _compiled(str(request["probes"]), _read_all(probe_file))
    sources = {Path(name).name: _read_all(fd) for name, fd in zip(request["files"], files)}
    if files_into is not None:
        for name, data in sources.items():
            _write_afresh(files_into / name, data)
    pid = os.fork()
    if pid == 0:
        _become_subject(request, probe_code, sources[Path(request["exercise"]).name], requests, replies, output, channel)
    os.close(requests)
    os.close(output)
    children[os.pidfd_open(pid)] = (pid, replies, channel)
    by_token[str(request["token"])] = pid
    return True


_compiled_probes: dict[tuple[str, bytes], CodeType] = {}


def _compiled(name: str, source: bytes) -> CodeType:
    """The probe file compiled, once per template: each subject runs the code object it inherits."""
    key = (name, source)
    if key not in _compiled_probes:
        _compiled_probes[key] = compile(source, name, "exec", dont_inherit=True)
    return _compiled_probes[key]


def _read_all(fd: int) -> bytes:
    with open(fd, "rb") as file:
        return file.read()


def _write_afresh(path: Path, data: bytes) -> None:
    """Put the judge's copy of an exercise file at ``path``, whatever an earlier subject left there.

    Only for the student's code to see (its ``__file__``, a file it reads): the subject runs
    the bytes it was handed. Written beside it and renamed into place, so that a subject of
    another judge reading the file at this moment reads the whole file, never half of it.
    """
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    fd, written = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with open(fd, "wb") as copy:
        copy.write(data)
    os.replace(written, path)


def _become_subject(
    request: dict[str, Any],
    probe_code: CodeType,
    exercise_source: bytes,
    requests: int,
    replies: int,
    output: int,
    channel: socket.socket,
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
        _limit(request["rlimits"])
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        hide = [Path(path) for path in request["hide"]]
        code = executor.run(Path(request["exercise"]), exercise_source, request["probes"], probe_code, hide)
    finally:
        sys.stdout.flush()
        os._exit(code)


def _limit(rlimits: dict[str, list[int]]) -> None:
    """Set the subject's ``resource`` limits, each within what the template itself may have."""
    for name, (soft, hard) in rlimits.items():
        number = getattr(resource, name, None)
        if number is None:
            continue
        current = resource.getrlimit(number)[1]
        unbounded = current == resource.RLIM_INFINITY
        try:
            resource.setrlimit(number, (soft, hard) if unbounded else (min(soft, current), min(hard, current)))
        except (ValueError, OSError):
            continue


def _report_end(pidfd: int, children: dict[int, tuple[int, int, socket.socket]]) -> None:
    """A child ended: tell the judge how, on that child's own reply pipe, and let it go."""
    pid, replies, _ = children.pop(pidfd)
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
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass
