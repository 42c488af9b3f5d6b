"""One check process checks a submission's exercises in turn, and never one that another changed.

A right submission is checked by a single process (one fork per submission, not per
exercise). When an exercise leaves something behind (a thread, a process, a patched
module, a changed signal handler, environment or event loop) or ends its process, the
exercises after it are checked by a fresh process and score exactly as they would alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.kit import ExerciseSpec, Kit, check_files
from grader.runner.job import ExerciseJob, WorkerJob
from grader.runner.kept_worker import KeptWorker
from grader.runner.limits import Limits
from grader.runner.streams import Run
from grader.runner.worker import Exercises, Watch
from grader.submission import copy_for_run, prepare
from grader.verdict import judge

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="without fork each exercise has a process of its own")

FIRST = "01_coroutines"
# Appended to a right answer to the first exercise: runs when the checks import it.
LEFTOVERS = {
    "thread": ("import threading\nthreading.Thread(target=threading.Event().wait, daemon=True).start()\n", "thread"),
    "process": (
        "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n",
        "subprocess.Popen",
    ),
    "patched_asyncio": ("import asyncio\nasyncio.gather = lambda *aws, **kw: None\n", "changed asyncio.gather"),
    "patched_class": ("import asyncio\nasyncio.Queue.get_nowait = asyncio.Queue.put_nowait\n", "Queue.get_nowait"),
    "patched_loop_class": (
        "import asyncio\n_loop = asyncio.new_event_loop()\ntype(_loop).create_task = None\n_loop.close()\n",
        "EventLoop (a name added)",
    ),
    "raised_cpu_limit": ("import resource as r\nr.setrlimit(r.RLIMIT_CPU, (r.getrlimit(r.RLIMIT_CPU)[1],) * 2)\n", "CPU time"),
    "working_folder_removed": (
        "import os, tempfile\nwith tempfile.TemporaryDirectory() as _scratch:\n    os.chdir(_scratch)\n",
        "working folder",
    ),
    "signal_mask": ("import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR2})\n", "signal mask"),
    "signal_handler": ("import signal\nsignal.signal(signal.SIGUSR1, lambda *args: None)\n", "signal handlers"),
    "environment": ("import os\nos.environ['ASYNCLINGS_LEFT'] = '1'\n", "environment"),
    "event_loop_policy": ("import asyncio\nasyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())\n", "event loop"),
    "loop_left_open": ("import asyncio, builtins\nbuiltins.kept = asyncio.new_event_loop()\n", "open"),
    "recursion_limit": ("import sys\nsys.setrecursionlimit(120)\n", "interpreter settings"),
    "module_replaced": ("import sys, types\nsys.modules['heapq'] = types.ModuleType('heapq')\n", "module already imported"),
}
ENDS_ITS_PROCESS = {
    "os_exit": "import os\nos._exit(0)\n",
    "os_exit_with_the_hand_over_code": "import os\nos._exit(75)\n",
    "killed": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
}


@pytest.fixture(scope="module", params=["process", "bwrap"])
def worker(kit: Kit, request: pytest.FixtureRequest) -> Iterator[KeptWorker]:
    if request.param == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap (bwrap) is not installed")
    with KeptWorker(None, check_files(kit.exercises), Limits(sandbox=request.param, timeout=2.0)) as kept:
        yield kept


def submission(folder: Path, kit: Kit, extra: str = "", exercise: str = FIRST) -> Path:
    """The kit's right answers, with ``extra`` run when ``exercise`` (by default the first) is imported."""
    folder.mkdir()
    for spec in kit.exercises:
        shutil.copyfile(spec.solution, folder / spec.file)
    changed = folder / kit.exercise(exercise).file
    changed.write_text(changed.read_text() + "\n" + extra)
    return folder


def check(worker: KeptWorker, kit: Kit, folder: Path) -> Run:
    workdir = worker.scratch()
    return worker.run(copy_for_run([prepare(folder, spec) for spec in kit.exercises], workdir), workdir)


def records(run: Run, exercise: str, event: str) -> list[dict[str, Any]]:
    return [r for r in run.outcomes[exercise].records if r.get("event") == event]


def assert_in_full(run: Run, exercises: Iterable[ExerciseSpec]) -> None:
    for spec in exercises:
        assert judge(spec, run.outcomes[spec.id]).score == spec.max_score, spec.id


def pid_of(run: Run, exercise: str) -> int:
    (start,) = records(run, exercise, "start")
    return int(start["pid"])


def test_a_right_submission_is_checked_by_one_process(worker: KeptWorker, kit: Kit, tmp_path: Path) -> None:
    run = check(worker, kit, submission(tmp_path / "right", kit))
    assert len({pid_of(run, spec.id) for spec in kit.exercises}) == 1
    for spec in kit.exercises:
        assert records(run, spec.id, "left_behind") == []
        assert judge(spec, run.outcomes[spec.id]).score == spec.max_score


@pytest.mark.parametrize("kind", sorted(LEFTOVERS))
def test_what_an_exercise_leaves_behind_never_meets_the_next(
    worker: KeptWorker, kit: Kit, tmp_path: Path, kind: str
) -> None:
    code, named = LEFTOVERS[kind]
    run = check(worker, kit, submission(tmp_path / kind, kit, code))
    (left,) = records(run, FIRST, "left_behind")
    assert any(named in what for what in left["what"]), left
    second, *rest = [spec for spec in kit.exercises if spec.id != FIRST]
    assert pid_of(run, second.id) != pid_of(run, FIRST)
    for spec in (second, *rest):
        assert records(run, spec.id, "left_behind") == []
        assert judge(spec, run.outcomes[spec.id]).score == spec.max_score, spec.id


@pytest.mark.parametrize("kind", sorted(ENDS_ITS_PROCESS))
def test_an_exercise_that_ends_its_process_ends_only_itself(
    worker: KeptWorker, kit: Kit, tmp_path: Path, kind: str
) -> None:
    run = check(worker, kit, submission(tmp_path / kind, kit, ENDS_ITS_PROCESS[kind]))
    first = judge(kit.exercise(FIRST), run.outcomes[FIRST])
    assert first.score == 0 and first.message
    assert_in_full(run, kit.exercises[1:])


def test_an_exercise_that_overruns_is_stopped_and_the_rest_still_checked(
    worker: KeptWorker, kit: Kit, tmp_path: Path
) -> None:
    # SIGALRM blocked: the check's own time limit cannot fire, only the worker's can.
    hang = "import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\nwhile True:\n    pass\n"
    run = check(worker, kit, submission(tmp_path / "hang", kit, hang))
    assert run.outcomes[FIRST].ended == {"exercise": FIRST, "ended": "timeout", "limit": 2.0}
    assert_in_full(run, kit.exercises[1:])


def test_each_exercise_meets_the_event_loop_state_of_a_fresh_process(
    worker: KeptWorker, kit: Kit, tmp_path: Path
) -> None:
    """After earlier exercises ran loops, ``asyncio.get_event_loop()`` at the top of a module still makes one."""
    later = "03_concurrency"
    old_habit = "import asyncio\nLOOP = asyncio.get_event_loop()\n"
    run = check(worker, kit, submission(tmp_path / "old_habit", kit, old_habit, later))
    assert_in_full(run, kit.exercises)


def test_an_exercise_that_exits_with_the_hand_over_code_is_not_checked_again(
    worker: KeptWorker, kit: Kit, tmp_path: Path
) -> None:
    later = "03_concurrency"
    first_time_only = (
        "import os, tempfile\n_mark = os.path.join(tempfile.gettempdir(), 'seen')\n"
        "if not os.path.exists(_mark):\n    open(_mark, 'w').close()\n    os._exit(75)\n"
    )
    run = check(worker, kit, submission(tmp_path / "exit_75", kit, first_time_only, later))
    assert len(records(run, later, "start")) == 1
    assert judge(kit.exercise(later), run.outcomes[later]).score == 0
    assert run.outcomes[later].ended == {"exercise": later, "ended": "exit", "exit_code": 75}


@contextlib.contextmanager
def fake_check_process(
    tmp_path: Path, exercise_ids: list[str], timeout: float, body: Callable[[int], object]
) -> Iterator[Watch]:
    """A worker's watch over a forked stand-in for a check process that runs ``body(progress_fd)``."""
    news_read, news_write = os.pipe()
    exercises = []
    for exercise_id in exercise_ids:
        (result_read, result_write), (output_read, output_write) = os.pipe(), os.pipe()
        os.close(result_read)
        os.close(output_read)
        files = (tmp_path / "x.py", tmp_path / "check_x.py")
        exercises.append(ExerciseJob(exercise_id, *files, (), result_write, output_write, timeout))
    job = WorkerJob("token", tmp_path, tuple(exercises), Limits(), news_fd=news_write)
    progress_read, progress_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        body(progress_write)
        os._exit(0)
    os.close(progress_write)
    watch = Watch(pid, progress_read, Exercises(job))
    watch.news_read = news_read  # type: ignore[attr-defined]
    try:
        yield watch
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def news_of(watch: Watch) -> list[dict[str, Any]]:
    os.close(watch.left.job.news_fd)
    with os.fdopen(watch.news_read) as news:  # type: ignore[attr-defined]
        return [json.loads(line) for line in news]


@pytest.mark.timeout(30)
def test_a_process_that_floods_its_progress_pipe_still_meets_its_time_limit(tmp_path: Path) -> None:
    """Its worker reads a pipe's worth at a time and keeps watching the clock."""

    def flood(progress: int) -> None:
        while True:
            os.write(progress, b"not a report " * 4096)

    with fake_check_process(tmp_path, [FIRST], 0.5, flood) as watch:
        watch.follow()
    assert news_of(watch) == [{"exercise": FIRST, "ended": "timeout", "limit": 0.5}]


def test_a_report_with_a_huge_number_is_no_report(tmp_path: Path) -> None:
    huge = f"{FIRST} {'9' * 5000} on\n".encode()
    with fake_check_process(tmp_path, [FIRST], 5.0, lambda progress: os.write(progress, huge)) as watch:
        watch.follow()
    assert news_of(watch) == [{"exercise": FIRST, "ended": "exit", "exit_code": 0}]


def test_a_report_that_arrives_as_the_time_runs_out_ends_its_own_exercise_only(tmp_path: Path) -> None:
    def report_then_hang(progress: int) -> None:
        os.write(progress, f"{FIRST} 0 on\n".encode())
        signal.pause()

    second = "02_event_loop"
    with fake_check_process(tmp_path, [FIRST, second], 5.0, report_then_hang) as watch:
        time.sleep(0.2)  # the report is in the pipe, unread, when the worker finds the time is up
        watch.stop_overdue()
    assert news_of(watch) == [{"exercise": FIRST, "ended": "exit", "exit_code": 0}]
    assert [e.exercise_id for e in watch.left.pending] == [second]  # a fresh process takes it
