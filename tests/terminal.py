"""A real pseudo-terminal for driving ``grade`` as a student does: keys in, screens out.

Shared by the tests of ``grade watch`` and the watch benchmark. POSIX only (pty, termios).
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from grader.leftovers import PREFIX

WAIT_SECONDS = 60
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CLEAR = "\x1b[2J"
FOOTER = "save an exercise file to grade it again"


# Run first in the child's new session: standard input becomes its controlling terminal, so
# that Ctrl-C typed on it is SIGINT to the command, as in a real terminal; then the command.
CONTROLLING_TERMINAL = (
    "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execvp(sys.argv[1], sys.argv[1:])"
)


class Terminal:
    """A process on the far side of a pseudo-terminal, and everything it has written."""

    def __init__(self, args: list[str], cwd: Path, *, rows: int = 50, columns: int = 140, env: dict[str, str] | None = None) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self.initial_mode = termios.tcgetattr(self.slave)
        environment = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR", "COLUMNS", "LINES")}
        environment["TERM"] = "xterm-256color"
        environment.update(env or {})
        self.process = subprocess.Popen(
            [sys.executable, "-c", CONTROLLING_TERMINAL, *args],
            stdin=self.slave, stdout=self.slave, stderr=self.slave, cwd=cwd, env=environment, start_new_session=True,
        )  # fmt: skip
        self.raw = ""

    def screens(self) -> list[str]:
        """Every complete screen drawn so far, colours stripped."""
        chunks = [self.plain(chunk) for chunk in self.raw.split(CLEAR)]
        return [chunk for chunk in chunks if FOOTER in chunk]

    @staticmethod
    def plain(text: str) -> str:
        return ANSI.sub("", text).replace("\r", "")

    def read(self, seconds: float) -> bool:
        """Take what the process wrote within ``seconds``; False once it has closed the terminal."""
        if select.select([self.master], [], [], seconds)[0]:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: the process ended and the terminal closed
                return False
            self.raw += chunk.decode("utf-8", errors="replace")
        return True

    def wait_for(self, pattern: str, seconds: float = WAIT_SECONDS) -> str:
        """The first screen drawn from now on that matches ``pattern``."""
        seen = len(self.screens())
        deadline = time.monotonic() + seconds
        while True:
            for screen in self.screens()[seen:]:
                if re.search(pattern, screen):
                    return screen
            seen = len(self.screens())
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                raise AssertionError(f"no screen matching {pattern!r}; last output:\n{self.plain(self.raw[-3000:])}")
            self.read(min(left, 1.0))

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def wait_exit(self, seconds: float = WAIT_SECONDS) -> int:
        """The exit code, once the process ends (everything it wrote is in :attr:`raw`)."""
        code = self.process.wait(timeout=seconds)
        while self.read(0.05) and select.select([self.master], [], [], 0)[0]:
            pass
        return code

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WAIT_SECONDS)
        os.close(self.master)
        os.close(self.slave)


def left_behind(pid: int) -> list[str]:
    """What grader process ``pid`` left: its temporary folders, and processes that work in them."""
    folders = sorted(str(path) for path in Path(tempfile.gettempdir()).glob(f"{PREFIX}*-{pid}-*"))
    owned = [f"{PREFIX}{kind}-{pid}-" for kind in ("grade", "watch")]
    processes = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if any(name in text for name in owned for text in (cmdline, cwd)):
            processes.append(f"{entry.name}: {cmdline}")
    return folders + processes
