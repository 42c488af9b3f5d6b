"""``grade watch`` driven as a student would: in a real pseudo-terminal, saving files.

The watch screen names how many times it has graded (``grade #N``), so the tests can
count regrades from what a student sees.
"""

from __future__ import annotations

import os
import re
import select
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.kit import Kit

from .conftest import GOLDEN, ROOT

if sys.platform != "win32":
    import fcntl
    import pty
    import termios

# On Windows there is no pseudo-terminal to drive, and `grade watch` reads no keys at all
# (no termios; select() takes only sockets there): it says "Ctrl-C quits", and only that does.
NEEDS_PTY = pytest.mark.skipif(sys.platform == "win32", reason="Windows has no pseudo-terminals (pty, termios)")
NEEDS_SELECT_ON_FILES = pytest.mark.skipif(
    sys.platform == "win32", reason="Windows cannot select() on a file or pipe: watch quits with Ctrl-C only"
)

WAIT_SECONDS = 60
DEBOUNCE = "1.0"  # seconds; the saves below come well within it
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CLEAR = "\x1b[2J"
FOOTER = "save an exercise file to grade it again"
SLOW = GOLDEN / "03_concurrency" / "await_in_loop" / "03_concurrency.py"
NO_RESULTS = GOLDEN / "03_concurrency" / "hard_coded" / "03_concurrency.py"
WRONG_ORDER = GOLDEN / "03_concurrency" / "completion_order" / "03_concurrency.py"


class Terminal:
    """A process on the far side of a pseudo-terminal, and the screens it has drawn."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        self.master, self.slave = pty.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 140, 0, 0))
        self.initial_mode = termios.tcgetattr(self.slave)
        env = {k: v for k, v in os.environ.items() if k not in ("CI", "NO_COLOR")}
        env["TERM"] = "xterm-256color"
        self.process = subprocess.Popen(
            args, stdin=self.slave, stdout=self.slave, stderr=self.slave, cwd=cwd, env=env, start_new_session=True
        )  # fmt: skip
        self.raw = ""

    def screens(self) -> list[str]:
        """Every complete screen drawn so far, colours stripped."""
        chunks = [ANSI.sub("", chunk).replace("\r", "") for chunk in self.raw.split(CLEAR)]
        return [chunk for chunk in chunks if FOOTER in chunk]

    def wait_for(self, pattern: str) -> str:
        """The first screen drawn from now on that matches ``pattern``."""
        seen = len(self.screens())
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            for screen in self.screens()[seen:]:
                if re.search(pattern, screen):
                    return screen
            seen = len(self.screens())
            left = deadline - time.monotonic()
            if left <= 0 or self.process.poll() is not None:
                raise AssertionError(f"no screen matching {pattern!r}; last output:\n{ANSI.sub('', self.raw[-3000:])}")
            if select.select([self.master], [], [], min(left, 1.0))[0]:
                self.raw += os.read(self.master, 65536).decode("utf-8", errors="replace")

    def press(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=WAIT_SECONDS)
        os.close(self.master)
        os.close(self.slave)


@pytest.fixture
def folder(tmp_path: Path, kit: Kit) -> Path:
    exercises = tmp_path / "exercises"
    exercises.mkdir()
    for spec in kit.exercises:
        (exercises / spec.file).write_bytes(spec.stub.read_bytes())
    return exercises


@pytest.fixture
def terminal(folder: Path) -> Iterator[Terminal]:
    command = [sys.executable, "-m", "grader", "watch", "exercises", "--debounce", DEBOUNCE, "--kit", str(ROOT / "grader" / "default_kit")]
    terminal = Terminal(command, folder.parent)
    try:
        yield terminal
    finally:
        terminal.close()


def save(path: Path, source: Path) -> None:
    path.write_bytes(source.read_bytes())


@NEEDS_PTY
def test_watch_regrades_on_save_once_per_burst_and_q_quits(terminal: Terminal, folder: Path, kit: Kit) -> None:
    first = terminal.wait_for(r"grade #1\b")
    assert "01_coroutines" in first and "not started" in first and "q quits" in first

    exercise = folder / "03_concurrency.py"
    save(exercise, SLOW)
    screen = terminal.wait_for(r"grade #2\b")
    assert "✘ 03_concurrency" in screen and "14/20" in screen
    assert "A  ············██████████████████······  2→5 s" in screen
    assert "hint: Did you await each task before creating the next?" in screen
    assert "01_coroutines" not in screen

    # Three saves in a burst: graded once, on the last version (a pass), then on to 04.
    for source in (NO_RESULTS, WRONG_ORDER, kit.exercise("03_concurrency").solution):
        save(exercise, source)
    screen = terminal.wait_for(r"grade #\d+")
    assert "grade #3 " in screen and "✔ 03_concurrency" in screen and "passed: on to the next one" in screen
    assert "04_monitoring" in screen and "1/5 done" in screen

    # One more save: had the burst graded more than once, this would not be grade #4.
    save(exercise, SLOW)
    screen = terminal.wait_for(r"14/20")
    assert "grade #4 " in screen and "0/5 done" in screen

    terminal.press("q")
    assert terminal.process.wait(timeout=WAIT_SECONDS) == 0
    assert termios.tcgetattr(terminal.slave) == terminal.initial_mode


@NEEDS_SELECT_ON_FILES
def test_watch_without_a_terminal_quits_at_end_of_input(folder: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "grader", "watch", str(folder)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=WAIT_SECONDS, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "asynclings watch | grade #1 | 0/5 done | Ctrl-C quits" in result.stdout
    assert "TODO 01_coroutines" in result.stdout
    assert result.stdout.isascii() and result.stderr == ""
