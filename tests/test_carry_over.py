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
import signal
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grader.kit import Kit, check_files
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


def submission(folder: Path, kit: Kit, first_exercise_extra: str = "") -> Path:
    """The kit's right answers, with ``first_exercise_extra`` run when the first one is imported."""
    folder.mkdir()
    for spec in kit.exercises:
        shutil.copyfile(spec.solution, folder / spec.file)
    first = folder / kit.exercise(FIRST).file
    first.write_text(first.read_text() + "\n" + first_exercise_extra)
    return folder


def check(worker: KeptWorker, kit: Kit, folder: Path) -> Run:
    workdir = worker.scratch()
    return worker.run(copy_for_run([prepare(folder, spec) for spec in kit.exercises], workdir), workdir)


def records(run: Run, exercise: str, event: str) -> list[dict[str, Any]]:
    return [r for r in run.outcomes[exercise].records if r.get("event") == event]


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
    for spec in kit.exercises[1:]:
        assert judge(spec, run.outcomes[spec.id]).score == spec.max_score, spec.id


def test_an_exercise_that_overruns_is_stopped_and_the_rest_still_checked(
    worker: KeptWorker, kit: Kit, tmp_path: Path
) -> None:
    # SIGALRM blocked: the check's own time limit cannot fire, only the worker's can.
    hang = "import signal\nsignal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})\nwhile True:\n    pass\n"
    run = check(worker, kit, submission(tmp_path / "hang", kit, hang))
    assert run.outcomes[FIRST].ended == {"exercise": FIRST, "ended": "timeout", "limit": 2.0}
    for spec in kit.exercises[1:]:
        assert judge(spec, run.outcomes[spec.id]).score == spec.max_score, spec.id


@pytest.mark.timeout(30)
def test_a_process_that_floods_its_progress_pipe_still_meets_its_time_limit(tmp_path: Path) -> None:
    """Its worker reads a pipe's worth at a time and keeps watching the clock."""
    news_read, news_write = os.pipe()
    result_read, result_write = os.pipe()
    output_read, output_write = os.pipe()
    progress_read, progress_write = os.pipe()
    exercise = ExerciseJob(FIRST, tmp_path / "x.py", tmp_path / "check_x.py", (), result_write, output_write, 0.5)
    job = WorkerJob("token", tmp_path, (exercise,), Limits(), news_fd=news_write)
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)
        while True:
            os.write(progress_write, b"not a report " * 4096)
    os.close(progress_write)
    try:
        Watch(pid, progress_read, Exercises(job)).follow()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    os.close(news_write)
    with os.fdopen(news_read) as news:
        assert json.loads(news.read()) == {"exercise": FIRST, "ended": "timeout", "limit": 0.5}
    for fd in (progress_read, result_read, output_read):
        os.close(fd)
