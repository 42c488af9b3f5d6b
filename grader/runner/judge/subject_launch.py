"""How the judge starts subject processes: the template, its sandbox, and what it may see.

The template (:mod:`grader.subject.template`) imports what a subject needs once and
forks a subject per exercise. It knows nothing of any submission until asked: the
worker starts one while it loads pytest and again after each submission, so a warm
template waits for the next judge (a judge whose template died starts its own). Each
request for a subject brings that submission's files, the probe file's source, and the
subject's limits, folder and environment (:class:`SubjectSetup`). Under ``bwrap`` the
template and its subjects get a world of their own, nested inside the worker's: the
interpreter and its standard library (never a site-packages folder), looptime and
:mod:`grader.subject` alone, and the student's exercise files, written afresh into a
small folder for each subject; no network, a pid namespace of its own (no signal reaches
the judge or anyone else), and size caps on every writable place (``/tmp``,
``/dev/shm``, the folder), so filling them fails only that exercise. In ``process`` mode
the subject is a plain child in a session of its own, with the judge's limits and the
guard's audit hook; it sees what the judge sees.

Runs in the worker (which starts templates) and in the check process (the judge, which asks them).
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
import tempfile
from collections.abc import Callable
from pathlib import Path

import grader
from grader.paths import SUBJECT_SUBMISSION
from grader.runner import processes

MiB = 1 << 20
WRITABLE_BYTES = 32 * MiB  # each of the subject's writable places
INSIDE = Path("/asynclings")
CHANNEL_FD = 3  # the template's end of its socket to the judge
TOP_LEVEL_LIBRARIES = ("/lib", "/lib64", "/lib32", "/bin", "/sbin")
# Found by path, not imported: the judge must not load the subject's modules.
SUBJECT_PACKAGE = Path(grader.__file__).parent / "subject"


@dataclasses.dataclass(frozen=True)
class SubjectSandbox:
    """How a subject template starts: its command, and whether it is in a sandbox of its own."""

    command: list[str]
    own_world: bool  # under bwrap: the submission's files are written into the template's folder

    def seen_as(self, path: Path, kind: str = "exercise") -> str:
        """The path under which a subject sees the exercise file (or names the probe file) ``path``."""
        if not self.own_world:
            return str(path)
        return str((SUBJECT_SUBMISSION if kind == "exercise" else INSIDE / "probes") / path.name)

    def environment(self, workdir: Path) -> dict[str, str]:
        """A subject's environment: the worker's scrubbed one, its home and temporary folder where it sees them."""
        env = processes.clean_environment(workdir)
        if self.own_world:
            env.update(HOME=str(SUBJECT_SUBMISSION), TMPDIR="/tmp", TEMP="/tmp", TMP="/tmp")
        return env


@dataclasses.dataclass(frozen=True)
class SubjectSetup:
    """What every subject of one submission gets: its files, limits, folder, environment, and what is hidden."""

    # The submission's exercise files, (name, bytes) as read before any subject ran: each
    # subject runs its own from these; under bwrap all are written into the template's folder.
    sources: tuple[tuple[str, bytes], ...]
    rlimits: dict[str, tuple[int, int]]  # ``resource`` limits by name, set in each subject before its code runs
    cwd: Path
    env: dict[str, str]
    hidden: tuple[Path, ...] = ()  # refused by the guard (process mode; under bwrap the subject never sees them)


@dataclasses.dataclass
class Running:
    """One subject as the judge holds it: where requests go, where replies come from, how to end it.

    ``key`` signs the subject's answers (see :mod:`grader.subject.seal`): it is the first
    line on the requests pipe, read before any student code runs.
    """

    requests: int
    replies: int
    end: Callable[[], None]
    key: bytes

    def close(self) -> None:
        self.end()
        for fd in (self.requests, self.replies):
            try:
                os.close(fd)
            except OSError:
                pass


def subject_sandbox(bwrap: str | None) -> SubjectSandbox:
    """The template's command: under ``bwrap`` (its path) in a world of its own, else a plain process."""
    if bwrap is None:
        roots = list(dict.fromkeys([str(Path(grader.__file__).parent.parent), _looptime_root()]))
        return SubjectSandbox([sys.executable, "-I", "-S", "-B", "-u", "-c", _boot(roots)], own_world=False)
    python = os.path.realpath(sys.executable)
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
        "--size", str(WRITABLE_BYTES), "--tmpfs", str(SUBJECT_SUBMISSION),
        # The folders made for the binds above (``/``, ``/asynclings``) would stay writable:
        # a module left there would shadow the standard library in every later subject.
        "--remount-ro", "/",
    ]  # fmt: skip
    command += [
        "--chdir", str(SUBJECT_SUBMISSION),
        "--setenv", "HOME", str(SUBJECT_SUBMISSION), "--setenv", "TMPDIR", "/tmp",
        python, "-I", "-S", "-B", "-u", "-c", _boot([str(INSIDE)]), "--files-into", str(SUBJECT_SUBMISSION),
    ]  # fmt: skip
    return SubjectSandbox(command, own_world=True)


def _boot(paths: list[str]) -> str:
    """The template's first lines: ``-I -S`` leave no path to the grader, so it is given here.

    After the standard library: in process mode these folders are the user's, and a module
    a subject's child process leaves there must not shadow a standard one.
    """
    return f"import sys; sys.path += {paths!r}; from grader.subject.template import main; sys.exit(main(sys.argv[1:]))"


class Template:
    """A subject template as its starter and one judge hold it: started once, asked for each subject.

    The worker starts it (:func:`started_templates`) before the judges exist; a judge,
    forked from the worker, inherits this object and asks it for subjects; the worker then
    lets go of its copy (:meth:`release`). One template may serve several judges at once,
    each on a channel of its own: it ends once every judge has closed its channel.
    """

    def __init__(self, sandbox: SubjectSandbox) -> None:
        self.sandbox = sandbox
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: socket.socket | None = None
        self.shared = False  # other judges ask the same template: closing this channel must not end it

    def start(self, setup: SubjectSetup, exercise: Path, probes: Path, output_fd: int) -> Running:
        """A fresh subject for ``exercise``, forked by the template (started again if it died)."""
        for _ in range(2):
            if self.channel is None:
                self.spawn(setup.cwd)
            try:
                return self._ask(setup, exercise, probes, output_fd)
            except OSError:
                self.close()  # the template died (a subject may kill it): once more, fresh
        raise OSError("the subject template could not be started")

    def _ask(self, setup: SubjectSetup, exercise: Path, probes: Path, output_fd: int) -> Running:
        assert self.channel is not None
        token = secrets.token_hex(8)
        # The template writes every file into its folder under bwrap; in process mode the
        # subject runs from the folder the judge sees, and needs only its own file's bytes.
        sources = [(name, data) for name, data in setup.sources if self.sandbox.own_world or name == exercise.name]
        message = {
            "token": token,
            "exercise": self.sandbox.seen_as(exercise),
            "probes": self.sandbox.seen_as(probes, "probes"),
            "files": [name for name, _ in sources],
            "rlimits": setup.rlimits,
            "cwd": str(SUBJECT_SUBMISSION) if self.sandbox.own_world else str(setup.cwd),
            "env": setup.env,
            "hide": [str(path) for path in setup.hidden],
        }
        # The template reads the files through these descriptors: it sees no path of the judge's.
        files = [os.open(probes, os.O_RDONLY), *(_holding(data) for _, data in sources)]
        requests_r, requests_w = os.pipe()
        replies_r, replies_w = os.pipe()
        key = secrets.token_bytes(32)
        os.write(requests_w, key.hex().encode() + b"\n")
        try:
            socket.send_fds(self.channel, [json.dumps(message).encode()], [requests_r, replies_w, output_fd, *files])
        except OSError:
            for fd in (requests_w, replies_r):
                os.close(fd)
            raise
        finally:
            for fd in (requests_r, replies_w, *files):
                os.close(fd)
        return Running(requests_w, replies_r, lambda: self._stop(token), key)

    def _stop(self, token: str) -> None:
        if self.channel is not None:
            try:
                self.channel.sendall(json.dumps({"stop": token}).encode())
            except OSError:
                pass

    def spawn(self, cwd: Path) -> None:
        """Start a template process for this judge alone, with ``cwd`` as its folder (process mode; under bwrap its own)."""
        process, (channel,) = _spawn_template(self.sandbox, cwd, 1)
        self.process, self.channel, self.shared = process, channel, False

    def descriptors(self) -> list[int]:
        """The descriptors this object holds open (a forked judge keeps them)."""
        return [self.channel.fileno()] if self.channel is not None else []

    def release(self) -> None:
        """Let go of the template without ending it: the judge forked with this object now holds it."""
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        self.process = None

    def close(self) -> None:
        """End this judge's subjects, and the template if no other judge shares it (they end with its sandbox, or its session)."""
        if self.channel is not None:
            self.channel.close()  # the template ends the subjects this channel asked for, and itself after the last channel
            self.channel = None
        if self.process is not None and not self.shared:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
            # The worker reaps a template it started; the judge that inherited it cannot (not its child).
            self.process.kill()
            self.process.wait()
        self.process = None


def _holding(data: bytes) -> int:
    """A descriptor of an anonymous file that holds ``data``, read from its start."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("exercise", os.MFD_CLOEXEC)
    else:
        with tempfile.TemporaryFile() as file:
            fd = os.dup(file.fileno())
    with open(fd, "wb", closefd=False) as file:
        file.write(data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _spawn_template(sandbox: SubjectSandbox, cwd: Path, judges: int) -> tuple[subprocess.Popen[bytes], list[socket.socket]]:
    """Start a template process with a channel for each of ``judges``: the ends on this side."""
    import fcntl  # POSIX only, as are the descriptors passed below

    # Packets, not a stream: each request arrives whole and alone, with its own descriptors.
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(judges)]
    wanted = range(CHANNEL_FD, CHANNEL_FD + judges)

    def in_child() -> None:
        # Out of the way first, then into place: a channel's own number may be another's target.
        out_of_the_way = [fcntl.fcntl(theirs.fileno(), fcntl.F_DUPFD, CHANNEL_FD + judges) for _, theirs in pairs]
        for fd, target in zip(out_of_the_way, wanted):
            os.dup2(fd, target)

    process = subprocess.Popen(
        [*sandbox.command, "--channels", str(judges)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        env={key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL") if key in os.environ},
        pass_fds=tuple(wanted),
        preexec_fn=in_child,  # noqa: PLW1509 - neither the worker nor the judge runs threads
        start_new_session=True,
    )
    for _, theirs in pairs:
        theirs.close()
    return process, [ours for ours, _ in pairs]


def started_templates(sandbox: SubjectSandbox, judges: int, cwd: Path) -> list[Template]:
    """One template, started now in ``cwd`` for ``judges`` judges: a handle on it for each.

    It loads while its starter does something else. Its judges check exercises of the same
    submission, so they may share what it holds; one template's start costs as much as a
    judge's first three exercises.
    """
    process, channels = _spawn_template(sandbox, cwd, judges)
    templates = []
    for channel in channels:
        template = Template(sandbox)
        template.process, template.channel, template.shared = process, channel, judges > 1
        templates.append(template)
    return templates


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
