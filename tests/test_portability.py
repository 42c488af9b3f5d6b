"""What each platform lacks degrades to what it has: tested here, on Linux, with the platform's facts faked.

Students run ``grade`` on Linux, macOS and Windows. Windows has no ``resource``, ``fork``,
``SIGALRM``, ``killpg``, termios or inheritable descriptors; macOS has no ``/proc``; a
Windows pipe is encoded in cp1252. Each test takes one of those facts away (or fakes the
Windows API that replaces it) and checks the path the grader takes then: it must still
work, and never claim a protection it did not get.
"""

from __future__ import annotations

import io
import ntpath
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner

import grader.cli.terminal
from grader import grading
from grader.cli import main, watch
from grader.cli import student as student_cli
from grader.cli.terminal import (
    ansi_terminal,
    safe_output,
    speaks_utf8,
    use_color,
    windows_vt_mode,
)
from grader.grading import grade_folder
from grader.kit import load_kit
from grader.model import ExerciseResult, ExerciseStatus, Report
from grader.render import text as text_render
from grader.runner import channels, processes
from grader.runner import limits as limits_module
from grader.runner.limits import Limits
from grader.runner.parent import sandbox
from grader.runner.parent.sandbox import Platform
from grader.runner.worker import identity, job_server

from .test_own_kit import KIT_TOML, make_kit

TIMELINE = "A 0.0→3.0 s ✔"  # "→" and "✔" are not in cp1252, a Windows pipe's encoding


# The resource module, fork, SIGALRM: Windows has none of them.


def test_without_proc_the_user_process_count_is_a_generous_estimate(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS has no /proc: the RLIMIT_NPROC cap is then the estimate plus the allowance, not a crash."""

    def no_proc(path: str) -> list[str]:
        raise FileNotFoundError(path)

    monkeypatch.setattr(limits_module.os, "listdir", no_proc)
    assert limits_module.count_user_processes() == 1024


def test_without_rlimit_nproc_no_process_cap_is_claimed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits_module, "resource", SimpleNamespace())  # a resource module without RLIMIT_NPROC
    assert limits_module.limit_processes_by_user(Limits()) is False
    monkeypatch.setattr(limits_module, "resource", None)
    assert limits_module.apply_rlimits(Limits()) == []


def test_without_sigalrm_pytest_timeout_uses_its_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    if hasattr(signal, "SIGALRM"):
        assert "timeout_method=thread" not in job_server.pytest_args(["check_03_concurrency.py"], "/work")
    monkeypatch.delattr(signal, "SIGALRM", raising=False)
    args = job_server.pytest_args(["check_03_concurrency.py"], "/work")
    assert args[:2] == ["-o", "timeout_method=thread"] and "check_03_concurrency.py" in args


def test_a_platform_without_fork_resource_uids_or_bwrap_runs_plain_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "resource", None)
    monkeypatch.setattr(sandbox, "sys", SimpleNamespace(platform="win32", prefix=sys.prefix))
    monkeypatch.setattr(identity, "sys", SimpleNamespace(platform="win32"))
    monkeypatch.setattr(sandbox, "_working_bwrap", lambda: None)
    monkeypatch.delattr(os, "fork", raising=False)
    monkeypatch.delattr(os, "geteuid", raising=False)
    platform = sandbox.detect.__wrapped__()
    assert platform == Platform("win32", has_fork=False, has_resource=False, bwrap=None, is_root=False)
    assert sandbox.resolve("auto", platform) == "process"
    assert identity.leave_root() is False  # no user namespace to enter, and no geteuid to ask


def test_without_fork_an_early_exit_is_named_with_its_exit_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_fork = Platform(sys.platform, has_fork=False, has_resource=False, bwrap=None, is_root=False)
    monkeypatch.setattr(sandbox, "detect", lambda: no_fork)
    monkeypatch.setattr(grading, "detect", lambda: no_fork)
    (tmp_path / "03_concurrency.py").write_text("import os\nos._exit(0)\n", encoding="utf-8")
    kit = load_kit()
    (exercise,) = grade_folder(tmp_path, kit, kit.select(["03"]), Limits(sandbox="process")).exercises
    assert exercise.score == 0 and "exit code 0" in exercise.message


# Pipes a worker inherits: descriptors on POSIX, handles on Windows.


class FakeMsvcrt:
    """The two msvcrt calls the channels make: descriptor → handle, and handle → descriptor."""

    def __init__(self) -> None:
        self.opened: list[tuple[int, int]] = []

    def get_osfhandle(self, fd: int) -> int:
        return 5000 + fd

    def open_osfhandle(self, handle: int, flags: int) -> int:
        self.opened.append((handle, flags))
        return 77


def test_on_posix_a_worker_inherits_exactly_the_named_descriptors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channels, "WINDOWS", False)
    read_fd, write_fd, number = channels.pipe()
    os.close(read_fd), os.close(write_fd)
    assert number == write_fd and channels.open_in_child(number) == number
    assert channels.inherit([write_fd]) == {"pass_fds": [write_fd], "start_new_session": True}


def test_on_windows_a_worker_inherits_exactly_the_named_handles(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeMsvcrt()
    monkeypatch.setitem(sys.modules, "msvcrt", fake)
    monkeypatch.setattr(channels, "WINDOWS", True)
    monkeypatch.setattr(channels.subprocess, "STARTUPINFO", lambda **kwargs: kwargs, raising=False)
    read_fd, write_fd, number = channels.pipe()
    try:
        assert number == 5000 + write_fd  # the handle, since descriptors do not survive CreateProcess
        assert os.get_inheritable(write_fd) and not os.get_inheritable(read_fd)
    finally:
        os.close(read_fd), os.close(write_fd)
    assert channels.open_in_child(number) == 77 and fake.opened == [(number, os.O_WRONLY)]
    arguments = channels.inherit([number, 9])
    assert arguments == {"startupinfo": {"lpAttributeList": {"handle_list": [number, 9]}}, "close_fds": True}


# No process left behind: process groups and /proc on Linux, taskkill on Windows.


def test_without_killpg_the_tree_is_killed_by_taskkill(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    monkeypatch.delattr(os, "killpg", raising=False)
    monkeypatch.setattr(processes.subprocess, "run", lambda command, **kwargs: ran.append(command))
    processes.kill_tree(4242)
    assert ran == [["taskkill", "/F", "/T", "/PID", "4242"]]


def test_kill_tree_really_ends_a_worker() -> None:
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    started = time.monotonic()
    processes.kill_tree(worker.pid)
    assert worker.wait(timeout=10) != 0 and time.monotonic() - started < 10


def test_without_proc_no_session_is_scanned(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.platform.startswith("linux") and hasattr(os, "getsid"):
        assert os.getpid() in processes.session_members(os.getsid(0))
    monkeypatch.setattr(processes, "sys", SimpleNamespace(platform="darwin"))
    assert processes.session_members(os.getpid()) == [] and processes.children(os.getpid()) == []


# Output that a Windows pipe (cp1252) or a non-UTF-8 terminal cannot encode.


class Terminal(io.TextIOWrapper):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_redirected_output_in_a_legacy_encoding_becomes_utf8() -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="cp1252")
    safe_output(stream)
    stream.write(TIMELINE)
    stream.flush()
    assert raw.getvalue().decode("utf-8") == TIMELINE


def test_a_terminal_in_a_legacy_encoding_keeps_it_and_shows_question_marks() -> None:
    raw = io.BytesIO()
    stream = Terminal(raw, encoding="cp1252")
    safe_output(stream)
    stream.write(TIMELINE)
    stream.flush()
    assert stream.encoding == "cp1252" and raw.getvalue() == b"A 0.0?3.0 s ?"


def test_utf8_output_is_left_alone() -> None:
    stream = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="strict")
    safe_output(stream)
    assert (stream.encoding, stream.errors) == ("utf-8", "strict")
    assert speaks_utf8(stream) and not speaks_utf8(io.TextIOWrapper(io.BytesIO(), encoding="latin-1"))


def test_json_report_on_a_cp1252_pipe_is_utf8_not_a_traceback(tmp_path: Path) -> None:
    """What `grade --format json > report.json` meets on Windows: the kit's title has a "→"."""
    (tmp_path / "course").mkdir()
    kit_file = make_kit(tmp_path / "course")
    kit_file.write_text(KIT_TOML.replace('title = "Double it, later"', 'title = "Double it → later"'), encoding="utf-8")
    result = CliRunner(charset="cp1252").invoke(main, [str(tmp_path / "course" / "stubs"), "--kit", str(kit_file), "-f", "json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 1 and '"title": "Double it → later"' in result.stdout_bytes.decode("utf-8")


def test_no_colour_where_the_terminal_cannot_show_the_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(grader.cli.terminal, "windows_vt_mode", lambda stream: True)
    monkeypatch.setattr(sys, "stdout", Terminal(io.BytesIO(), encoding="utf-8"))
    assert use_color()
    monkeypatch.setattr(sys, "stdout", Terminal(io.BytesIO(), encoding="latin-1"))
    assert not use_color()


def test_the_plain_report_is_ascii_whatever_the_messages_hold() -> None:
    exercise = ExerciseResult("03_concurrency", "Concurrency → tasks", ExerciseStatus.FAILED, 0.0, 20.0, [], message=TIMELINE)
    plain = text_render.render_text(Report([exercise]), color=False)
    assert plain.isascii() and "0.0->3.0 s" in plain


# ANSI escapes: Windows 10's console shows them as text until its virtual-terminal mode is on.


class FakeKernel32:
    """GetConsoleMode and SetConsoleMode of a console (or of a handle that is none)."""

    def __init__(self, mode: int | None, settable: bool = True) -> None:
        self.mode = mode
        self.settable = settable
        self.set_to: int | None = None

    def GetConsoleMode(self, handle: object, mode: Any) -> int:  # the Windows API's name
        if self.mode is None:
            return 0
        mode._obj.value = self.mode
        return 1

    def SetConsoleMode(self, handle: object, mode: int) -> int:  # the Windows API's name
        self.set_to = mode
        return int(self.settable)


@pytest.mark.parametrize(
    ("kernel32", "enabled", "set_to"),
    [
        (FakeKernel32(0x0007), True, None),  # already on (Windows Terminal)
        (FakeKernel32(0x0003), True, 0x0007),  # off, and turned on (Windows 10 console)
        (FakeKernel32(0x0003, settable=False), False, 0x0007),  # a console too old to have it
        (FakeKernel32(None), False, None),  # not a console: a file, a pipe, NUL
    ],
    ids=["on", "turned-on", "too-old", "not-a-console"],
)
def test_windows_console_virtual_terminal_mode(
    monkeypatch: pytest.MonkeyPatch, kernel32: FakeKernel32, enabled: bool, set_to: int | None
) -> None:
    monkeypatch.setitem(sys.modules, "msvcrt", FakeMsvcrt())
    assert windows_vt_mode(SimpleNamespace(fileno=lambda: 1), kernel32) is enabled  # type: ignore[arg-type]  # a stand-in stream with only fileno()
    assert kernel32.set_to == set_to


def test_no_virtual_terminal_without_a_console() -> None:
    """No console behind the stream (here, no msvcrt either): no escapes, and no exception."""
    assert windows_vt_mode(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")) is False


def test_a_windows_terminal_without_virtual_terminal_gets_no_escapes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(grader.cli.terminal, "WINDOWS", True)
    monkeypatch.setattr(grader.cli.terminal, "windows_vt_mode", lambda stream: False)
    assert not ansi_terminal(Terminal(io.BytesIO(), encoding="utf-8"))
    monkeypatch.setattr(grader.cli.terminal, "windows_vt_mode", lambda stream: True)
    assert ansi_terminal(Terminal(io.BytesIO(), encoding="utf-8"))
    assert not ansi_terminal(io.TextIOWrapper(io.BytesIO(), encoding="utf-8"))


# The student's loop: no termios, other drives, backslashes, a BOM.


def test_watch_without_termios_says_ctrl_c_and_reads_no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch, "termios", None)
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, b"q")
        with watch.keyboard(SimpleNamespace(fileno=lambda: read_fd)) as keys:  # type: ignore[arg-type]  # a stand-in stream with only fileno()
            assert keys is None  # no keys are read: the screen says "Ctrl-C quits"
    finally:
        os.close(read_fd), os.close(write_fd)


def test_a_path_on_another_drive_is_shown_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    def other_drive(path: str, start: str = os.curdir) -> str:
        raise ValueError("path is on mount 'D:', start on mount 'C:'")

    monkeypatch.setattr(student_cli, "os", SimpleNamespace(curdir=os.curdir, path=SimpleNamespace(relpath=other_drive)))
    backup = Path("elsewhere", ".asynclings", "backups")
    assert student_cli._shown(backup) == str(backup)


def test_next_up_names_the_file_with_the_systems_separator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(text_render, "os", SimpleNamespace(path=ntpath))
    todo = ExerciseResult("02_event_loop", "Loops", ExerciseStatus.NOT_STARTED, 0.0, 20.0, [], file="02_event_loop.py")
    shown = text_render.render_progress(Report([todo]), {}, folder="C:\\course\\exercises", color=False)
    assert "edit C:\\course\\exercises\\02_event_loop.py; stuck?" in shown


def test_a_kit_saved_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    kit_file = make_kit(tmp_path)
    kit_file.write_bytes(b"\xef\xbb\xbf" + kit_file.read_bytes())
    assert load_kit(kit_file).name == "toy"


def test_a_gradebook_another_program_holds_open_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows a spreadsheet that has grades.csv open makes replacing it fail."""
    import grader.cli.batch as batch_cli

    locked = tmp_path / "out" / "grades.csv"

    def held_open(*args: object) -> None:
        raise PermissionError(13, "Permission denied", str(locked))

    monkeypatch.setattr(batch_cli, "run_batch", held_open)
    (tmp_path / "class").mkdir()
    result = CliRunner().invoke(main, ["batch", str(tmp_path / "class"), "-o", str(tmp_path / "out"), "-e", "03"])
    assert result.exit_code == 2 and result.output.count("\n") == 1
    assert result.output.startswith(f"Error: cannot read or write {locked}: Permission denied")


def test_the_guard_compares_paths_as_case_insensitive_disks_do(monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.subject import guard

    monkeypatch.setattr(sys, "platform", "darwin")
    assert guard._fold("/Kit/SOLUTIONS/03.py") == "/kit/solutions/03.py"
    monkeypatch.setattr(sys, "platform", "linux")
    assert guard._fold("/Kit/SOLUTIONS/03.py") == "/Kit/SOLUTIONS/03.py"
