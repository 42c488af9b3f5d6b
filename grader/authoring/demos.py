"""Each solution's demo, run as a student runs an exercise: ``python 03_concurrency.py``.

The demos sleep in real time (that is what they show), so they all run at once, in the
background, while the kit is graded. A demo must end by itself with exit code 0 within
:data:`DEMO_SECONDS`; it runs in a temporary folder, so it writes nothing into the kit.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor

from grader.authoring.conventions import shown
from grader.kit import ExerciseSpec
from grader.leftovers import owned_folder
from grader.runner import processes

DEMO_SECONDS = 30.0


class Demos:
    """The demos running; :meth:`stop` kills them (a check stopped by Ctrl-C) and starts no more."""

    def __init__(self) -> None:
        self.running: list[subprocess.Popen[bytes]] = []
        self.lock = threading.Lock()
        self.stopped = False

    def run(self, spec: ExerciseSpec, seconds: float = DEMO_SECONDS) -> str:
        """Run ``python SOLUTION``: ``""`` when it exits 0 in time, else what went wrong, in a line."""
        command = f"`python {shown(spec.solution)}`"
        folder = owned_folder("demo")
        try:
            with self.lock:
                if self.stopped:
                    return ""
                process = subprocess.Popen(
                    [sys.executable, str(spec.solution.resolve())],
                    cwd=folder,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    start_new_session=True,
                )
                self.running.append(process)
            try:
                _, errors = process.communicate(timeout=seconds)
            except subprocess.TimeoutExpired:
                return f"{shown(spec.solution)}: the demo {command} did not end within {seconds:g} s"
            finally:
                with self.lock:  # reaped and forgotten at once: its pid is never killed once it may be another's
                    processes.kill_tree(process.pid)  # and whatever it started
                    process.wait()
                    self.running.remove(process)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        if process.returncode != 0:
            said = errors.decode("utf-8", errors="replace").strip().splitlines()
            last = f": {said[-1]}" if said else ""
            return f"{shown(spec.solution)}: the demo {command} exited with code {process.returncode}{last}"
        return ""

    def stop(self) -> None:
        with self.lock:
            self.stopped = True
            for process in self.running:
                processes.kill_tree(process.pid)


@contextlib.contextmanager
def running_demos(specs: list[ExerciseSpec]) -> Iterator[dict[str, Future[str]]]:
    """Start every solution's demo; each future gives ``""`` for a demo that ran, else the problem.
    Demos still running when the block ends (it was interrupted) are killed."""
    demos = Demos()
    pool = ThreadPoolExecutor(max_workers=max(len(specs), 1), thread_name_prefix="demo")
    try:
        yield {spec.id: pool.submit(demos.run, spec) for spec in specs}
    finally:
        demos.stop()
        pool.shutdown(wait=True)
