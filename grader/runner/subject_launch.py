"""How the judge starts subject processes: the template, its sandbox, and what it may see.

Runs in the check process (the judge). One template per submission
(:mod:`grader.subject.template`) imports what a subject needs once and forks a subject
per exercise. Under ``bwrap`` the template and its subjects get a world of their
own, nested inside the worker's: the interpreter and its standard library (never a
site-packages folder), looptime and :mod:`grader.subject` alone, the exercise's probe
files, and the student's exercise files in a small writable folder; no network, a pid
namespace of its own (no signal reaches the judge or anyone else), and size caps on
every writable place (``/tmp``, ``/dev/shm``, the folder), so filling them fails only
that exercise. In ``process`` mode the subject is a plain child in a session of its own,
with the limits the judge has and the guard's audit hook; it sees what the judge sees.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path

import grader
from grader.checking.subject import Running

MiB = 1 << 20
WRITABLE_BYTES = 32 * MiB  # each of the subject's writable places
INSIDE = Path("/asynclings")
SUBMISSION = Path("/submission")
CHANNEL_FD = 3  # the template's end of its socket to the judge
TOP_LEVEL_LIBRARIES = ("/lib", "/lib64", "/lib32", "/bin", "/sbin")
# Found by path, not imported: the judge must not load the subject's modules.
SUBJECT_PACKAGE = Path(grader.__file__).parent / "subject"


@dataclasses.dataclass(frozen=True)
class SubjectSandbox:
    """How one submission's subject template starts, and how it names the files it sees."""

    command: list[str]
    seen_as: dict[Path, str]  # each exercise and probe file, as the path the template sees


def subject_sandbox(files: list[Path], probes: list[Path], bwrap: str | None, hidden: list[Path]) -> SubjectSandbox:
    """The template's command for a submission's exercise ``files`` and their ``probes``."""
    if bwrap is None:
        roots = list(dict.fromkeys([str(Path(grader.__file__).parent.parent), _looptime_root()]))
        hides = [arg for folder in hidden for arg in ("--hide", str(folder))]
        command = [sys.executable, "-I", "-S", "-B", "-u", "-c", _boot(roots), *hides]
        return SubjectSandbox(command, {path: str(path) for path in [*files, *probes]})
    python = os.path.realpath(sys.executable)
    seen_as = {path: str(SUBMISSION / path.name) for path in files}
    seen_as |= {path: str(INSIDE / "probes" / path.name) for path in probes}
    command = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    for folder in _system_folders(python):
        command += ["--ro-bind", folder, folder]
    for link in _merged_usr_links():
        command += ["--symlink", os.readlink(link), link]
    for hidden_folder in _site_folders():
        command += ["--tmpfs", hidden_folder]
    command += [
        "--ro-bind", str(SUBJECT_PACKAGE), str(INSIDE / "grader" / "subject"),
        "--ro-bind", str(Path(_looptime_root()) / "looptime"), str(INSIDE / "looptime"),
        "--dev", "/dev",
        "--size", str(WRITABLE_BYTES), "--tmpfs", "/dev/shm",
        "--size", str(WRITABLE_BYTES), "--tmpfs", "/tmp",
        "--size", str(WRITABLE_BYTES), "--tmpfs", str(SUBMISSION),
    ]  # fmt: skip
    for outside, inside in seen_as.items():
        command += ["--ro-bind", str(outside), inside]
    command += [
        "--chdir", str(SUBMISSION),
        "--setenv", "HOME", str(SUBMISSION), "--setenv", "TMPDIR", "/tmp",
        python, "-I", "-S", "-B", "-u", "-c", _boot([str(INSIDE)]),
    ]  # fmt: skip
    return SubjectSandbox(command, seen_as)


def _boot(paths: list[str]) -> str:
    """The template's first lines: ``-I -S`` leave no path to the grader, so it is given here."""
    return f"import sys; sys.path[:0] = {paths!r}; from grader.subject.template import main; sys.exit(main(sys.argv[1:]))"


class Template:
    """The judge's side of one submission's subject template: started once, asked for each subject."""

    def __init__(self, sandbox: SubjectSandbox, cwd: Path, env: dict[str, str]) -> None:
        self.sandbox = sandbox
        self.cwd = cwd
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: socket.socket | None = None

    def start(self, exercise: Path, probes: Path, output_fd: int) -> Running:
        """A fresh subject for ``exercise``, forked by the template (started again if it died)."""
        for _ in range(2):
            if self.process is None or self.process.poll() is not None:
                self._spawn()
            try:
                return self._ask(exercise, probes, output_fd)
            except OSError:
                self.close()  # the template died (a subject may kill it): once more, fresh
        raise OSError("the subject template could not be started")

    def _ask(self, exercise: Path, probes: Path, output_fd: int) -> Running:
        assert self.channel is not None
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        token = secrets.token_hex(8)
        message = {"token": token, "exercise": self.sandbox.seen_as[exercise], "probes": self.sandbox.seen_as[probes]}
        try:
            socket.send_fds(self.channel, [json.dumps(message).encode()], [requests_r, replies_w, output_fd])
        except OSError:
            for fd in (requests_w, replies_r):
                os.close(fd)
            raise
        finally:
            os.close(requests_r)
            os.close(replies_w)
        return Running(requests_w, replies_r, lambda: self._stop(token))

    def _stop(self, token: str) -> None:
        if self.channel is not None:
            try:
                self.channel.sendall(json.dumps({"stop": token}).encode())
            except OSError:
                pass

    def _spawn(self) -> None:
        # Packets, not a stream: each request arrives whole and alone, with its own descriptors.
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)

        def in_child() -> None:
            os.dup2(theirs.fileno(), CHANNEL_FD)

        self.process = subprocess.Popen(
            self.sandbox.command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.cwd,
            env=self.env,
            pass_fds=(CHANNEL_FD,),
            preexec_fn=in_child,  # noqa: PLW1509 - the judge runs no threads
            start_new_session=True,
        )
        theirs.close()
        self.channel = ours

    def close(self) -> None:
        """End the template and every subject it forked (they end with its sandbox, or its session)."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
            self.process.kill()
            self.process.wait()
            self.process = None


def _looptime_root() -> str:
    import importlib.util

    spec = importlib.util.find_spec("looptime")
    assert spec is not None and spec.origin is not None
    return str(Path(spec.origin).parent.parent)


def _system_folders(python: str) -> list[str]:
    """What the interpreter needs to start: itself, its standard library, the system's shared libraries."""
    base = {"installed_base": sys.base_prefix, "installed_platbase": sys.base_prefix, "base": sys.base_prefix, "platbase": sys.base_prefix}
    stdlib = {sysconfig.get_path(name, vars=base) for name in ("stdlib", "platstdlib")}
    wanted = {os.path.dirname(python), *stdlib, sys.base_prefix}
    wanted |= {folder for folder in ("/usr", *TOP_LEVEL_LIBRARIES) if os.path.isdir(folder) and not os.path.islink(folder)}
    folders = sorted({os.path.realpath(folder) for folder in wanted if folder})
    # A folder inside another already bound needs no bind of its own.
    return [f for f in folders if not any(f != other and f.startswith(other + os.sep) for other in folders)]


def _merged_usr_links() -> list[str]:
    """``/lib`` → ``usr/lib`` and the like, where the system keeps them as links: the loader's path."""
    return [folder for folder in TOP_LEVEL_LIBRARIES if os.path.islink(folder)]


def _site_folders() -> list[str]:
    """The base interpreter's and the system's package folders: an installed kit could lie there."""
    base = {"base": sys.base_prefix, "platbase": sys.base_prefix}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    candidates = [
        sysconfig.get_path("purelib", vars=base),
        sysconfig.get_path("platlib", vars=base),
        f"/usr/local/lib/{version}/dist-packages",
        "/usr/lib/python3/dist-packages",
    ]
    return sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)})
