"""How the judge starts a subject process: the command, its sandbox, and what it may see.

Runs in the check process (the judge). Under ``bwrap`` the subject gets a world of its
own, nested inside the worker's: the interpreter and its standard library (never a
site-packages folder), looptime and :mod:`grader.subject` alone, the exercise's probe
file, and the student's one file in a small writable folder; no network, a pid
namespace of its own (no signal reaches the judge or anyone else), and size caps on
every writable place (``/tmp``, ``/dev/shm``, the folder), so filling them fails only
that exercise. In ``process`` mode the subject is a plain child in a session of its own,
with the limits the judge has and the guard's audit hook; it sees what the judge sees.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from collections.abc import Callable
from pathlib import Path

import grader

MiB = 1 << 20
WRITABLE_BYTES = 32 * MiB  # each of the subject's writable places
INSIDE = Path("/asynclings")
SUBMISSION = Path("/submission")
REPLY_FD = 3
TOP_LEVEL_LIBRARIES = ("/lib", "/lib64", "/lib32", "/bin", "/sbin")
# Found by path, not imported: the judge must not load the subject's modules.
SUBJECT_PACKAGE = Path(grader.__file__).parent / "subject"


def subject_command(exercise: Path, probes: Path, bwrap: str | None, hidden: list[Path]) -> list[str]:
    """The command line that runs a subject for ``exercise`` with ``probes``."""
    if bwrap is None:
        roots = list(dict.fromkeys([str(Path(grader.__file__).parent.parent), _looptime_root()]))
        hides = [arg for folder in hidden for arg in ("--hide", str(folder))]
        return [sys.executable, "-I", "-S", "-B", "-u", "-c", _boot(roots), str(exercise), str(probes), *hides]
    python = os.path.realpath(sys.executable)
    inside_probes = INSIDE / "probes" / probes.name
    inside_exercise = SUBMISSION / exercise.name
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
        "--ro-bind", str(probes), str(inside_probes),
        "--dev", "/dev",
        "--size", str(WRITABLE_BYTES), "--tmpfs", "/dev/shm",
        "--size", str(WRITABLE_BYTES), "--tmpfs", "/tmp",
        "--size", str(WRITABLE_BYTES), "--tmpfs", str(SUBMISSION),
        "--ro-bind", str(exercise), str(inside_exercise),
        "--chdir", str(SUBMISSION),
        "--setenv", "HOME", str(SUBMISSION), "--setenv", "TMPDIR", "/tmp",
        python, "-I", "-S", "-B", "-u", "-c", _boot([str(INSIDE)]), str(inside_exercise), str(inside_probes),
    ]  # fmt: skip
    return command


def _boot(paths: list[str]) -> str:
    """The subject's first lines: ``-I -S`` leave no path to the grader, so it is given here."""
    return f"import sys; sys.path[:0] = {paths!r}; from grader.subject.executor import main; sys.exit(main(sys.argv[1:]))"


def launcher(command: list[str], cwd: Path, output_fd: int, env: dict[str, str]) -> Callable[[int], subprocess.Popen[bytes]]:
    """A function that starts the subject, its replies to the descriptor it is given."""

    def launch(reply_fd: int) -> subprocess.Popen[bytes]:
        def in_child() -> None:
            os.dup2(reply_fd, REPLY_FD)

        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=output_fd,
            stderr=output_fd,
            cwd=cwd,
            env=env,
            pass_fds=(REPLY_FD,),
            preexec_fn=in_child,  # noqa: PLW1509 - the judge runs no threads
            start_new_session=True,
        )

    return launch


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
