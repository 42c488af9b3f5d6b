"""A batch killed mid-run keeps what it graded, leaves nothing behind, and resumes to a clean run's gradebook.

The batch runs in a process of its own, with a temporary folder of its own (``TMPDIR``),
and is really killed: SIGKILL, SIGTERM, SIGHUP. Running the same command again must
regrade only the students without a result, remove what the killed run left (its
workers' folders, its pids cgroups), and write the bytes an uninterrupted run writes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.batch import class_grading as batch_runner
from grader.cli import main
from grader.runner import processes
from grader.runner.parent.cgroup import ROOTS
from grader.runner.parent.sandbox import detect, resolve

from .batch_fixtures import ALTERNATIVE, AWAIT, BASE, FILE, HARD, LOOPS, REFERENCE, set_time, write_file, write_zip
from .test_batch import GRADEBOOK, alive

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="follows the batch's processes in /proc")

TIME_LIMIT = 3
OPTIONS = ["-j", "1", "-e", "03", "--timeout", str(TIME_LIMIT)]
STUDENTS = ["a1", "a2", "b_hangs", "c1", "d1"]  # graded in this order with -j 1; the kill comes during b_hangs
KEPT = ["a1", "a2"]


def make_class(root: Path) -> None:
    """The class, each file with the same time in every copy: the gradebook says when work was handed in."""
    write_file(root / "a1" / FILE, REFERENCE)
    write_file(root / "a2" / FILE, AWAIT)
    write_file(root / "b_hangs" / FILE, LOOPS)
    write_file(root / "c1" / FILE, HARD)
    write_zip(root / "d1.zip", {FILE: ALTERNATIVE})
    for path in root.rglob("*"):
        set_time(path, BASE)


class Batch:
    """``grade batch`` on one class, in processes of their own that share a private temporary folder."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.submissions = root / "class"
        self.temporary = root / "tmp"
        self.temporary.mkdir()
        self.env = {**os.environ, "TMPDIR": str(self.temporary)}

    def command(self, outdir: Path) -> list[str]:
        return [sys.executable, "-m", "grader", "batch", str(self.submissions), "-o", str(outdir), *OPTIONS]

    def run(self, outdir: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.command(outdir), cwd=self.root, env=self.env, capture_output=True, text=True, timeout=120)

    @contextlib.contextmanager
    def started(self, outdir: Path) -> Iterator[subprocess.Popen[str]]:
        """The batch, running; killed at the end of the block if it still runs."""
        process = subprocess.Popen(
            self.command(outdir), cwd=self.root, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
        )
        with process:
            try:
                yield process
            finally:
                process.kill()

    def leftovers(self) -> list[str]:
        return sorted(p.name for p in self.temporary.iterdir() if p.name.startswith("asynclings-"))


def cgroups_of(pids: set[int]) -> set[Path]:
    """The grader's cgroups that these processes are in (others may be running on this machine)."""
    found = set()
    for pid in pids:
        try:
            lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            relative = line.split(":", 2)[-1].strip("/")
            if relative.rsplit("/", 1)[-1].startswith("asynclings-"):
                found |= {root / relative for root in ROOTS if (root / relative).is_dir()}
    return found


def existing(groups: set[Path]) -> set[Path]:
    return {group for group in groups if group.exists()}


def busy_with_the_hanging_student(process: subprocess.Popen[str], outdir: Path) -> set[int]:
    """Wait until the first two students have their record and the worker checks the third; its processes."""
    for _ in range(600):
        workers = processes.descendants(process.pid)
        if all((outdir / "reports" / f"{s}.json").exists() for s in KEPT) and workers:
            time.sleep(0.5)  # well inside b_hangs' time limit
            return processes.descendants(process.pid)
        time.sleep(0.05)
    raise AssertionError("the batch never reached its third student")


def wait_until_gone(pids: set[int], seconds: float) -> float:
    started = time.monotonic()
    while [pid for pid in pids if alive(pid)] and time.monotonic() - started < seconds:
        time.sleep(0.05)
    assert not [pid for pid in pids if alive(pid)], "a worker outlived the batch"
    return time.monotonic() - started


def resume_and_compare(batch: Batch, outdir: Path, clean: Path) -> None:
    """Run the same command again: the kept students are reused (and their records untouched), the rest graded."""
    kept = {s: (outdir / "reports" / f"{s}.json").stat().st_mtime_ns for s in KEPT}
    done = batch.run(outdir)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    reused = [line.split("] ", 1)[1].split()[0] for line in lines if line.endswith("(reused)")]
    assert reused == KEPT, lines
    assert lines[-1] == f"{len(STUDENTS)} students: {len(STUDENTS) - len(KEPT)} graded, {len(KEPT)} reused; gradebook in {outdir}"
    assert {s: (outdir / "reports" / f"{s}.json").stat().st_mtime_ns for s in KEPT} == kept
    for name in GRADEBOOK:
        assert (outdir / name).read_bytes() == (clean / name).read_bytes(), name
    for feedback in (clean / "feedback").iterdir():
        assert (outdir / "feedback" / feedback.name).read_bytes() == feedback.read_bytes(), feedback.name


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The class's gradebook from a run nobody stopped."""
    root = tmp_path_factory.mktemp("clean")
    make_class(root / "class")
    done = Batch(root).run(root / "out")
    assert done.returncode == 0, done.stdout + done.stderr
    return root / "out"


@pytest.fixture
def batch(tmp_path: Path) -> Batch:
    make_class(tmp_path / "class")
    return Batch(tmp_path)


def test_a_killed_batch_resumes_where_it_stopped_and_its_leftovers_are_removed(batch: Batch, clean: Path) -> None:
    outdir = batch.root / "out"
    with batch.started(outdir) as process:
        workers = busy_with_the_hanging_student(process, outdir)
        ours = cgroups_of(workers)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    # bwrap dies with its parent; a worker without it ends with its current check's time limit.
    wait_until_gone(workers, 5 if resolve("auto", detect()) == "bwrap" else TIME_LIMIT + 5)
    assert sorted(p.stem for p in (outdir / "reports").glob("*.json")) == KEPT
    assert [name for name in batch.leftovers() if name.startswith(f"asynclings-worker-{process.pid}-")], batch.leftovers()
    assert existing(ours) == ours  # as root: what the kill left in the cgroup tree
    resume_and_compare(batch, outdir, clean)
    assert batch.leftovers() == []
    assert existing(ours) == set()


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_promptly_keep_what_is_graded_and_leave_nothing(batch: Batch, clean: Path, stop: signal.Signals) -> None:
    outdir = batch.root / "out"
    with batch.started(outdir) as process:
        workers = busy_with_the_hanging_student(process, outdir)
        ours = cgroups_of(workers)
        sent = time.monotonic()
        process.send_signal(stop)
        output, _ = process.communicate(timeout=30)
        stopped = time.monotonic() - sent
    assert process.returncode == 128 + stop
    assert stopped < 5, f"took {stopped:.1f} s to stop"
    assert output.splitlines()[-1] == (
        f"Interrupted by {stop.name}: 2 of 5 students have a result in {outdir}; run the same command again to grade the rest."
    )
    wait_until_gone(workers, 1)
    assert batch.leftovers() == [] and existing(ours) == set()
    resume_and_compare(batch, outdir, clean)


def test_a_second_signal_ends_the_batch_at_once() -> None:
    """The first signal stops the batch cleanly; one more while it stops ends it without waiting."""
    code = (
        "import os, signal, time\n"
        "from grader.cli.batch import interrupting_signals\n"
        "with interrupting_signals() as received:\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGTERM)\n"
        "        time.sleep(10)\n"
        "    except KeyboardInterrupt:\n"
        "        print(received[0].name, flush=True)\n"
        "        os.kill(os.getpid(), signal.SIGHUP)\n"
        "        time.sleep(10)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (128 + signal.SIGHUP, "SIGTERM\n")


def test_an_interrupt_while_the_gradebook_is_written_is_one_line_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupted(layout: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(batch_runner, "build_gradebook", interrupted)
    write_file(tmp_path / "class" / "a1" / FILE, REFERENCE)
    result = CliRunner().invoke(main, ["batch", str(tmp_path / "class"), "-o", str(tmp_path / "out"), *OPTIONS])
    assert result.exit_code == 130, result.output
    assert result.output.splitlines()[-1] == (
        f"Interrupted while finishing: the results graded are kept in {tmp_path / 'out'}; run the same command again to finish."
    )
    assert (tmp_path / "out" / "reports" / "a1.json").is_file()
