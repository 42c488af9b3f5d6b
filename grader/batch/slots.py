"""One kept worker per grading thread: a batch starts Python, pytest and the checks once per slot.

Each thread of the batch's pool grades one submission at a time on its own worker (see
:mod:`grader.runner.kept_worker`); the workers are stopped, and their folders removed,
when the batch ends. Without fork there is nothing to keep: every submission starts its own.
"""

from __future__ import annotations

import threading
from pathlib import Path

from grader.runner.kept_worker import KeptWorker
from grader.runner.limits import Limits
from grader.runner.sandbox import detect


class WorkerSlots:
    """Kept workers, one per thread that asks, all stopped by :meth:`close`."""

    def __init__(self, check_files: list[Path], limits: Limits, hidden: tuple[Path, ...]) -> None:
        self.check_files = check_files
        self.limits = limits
        self.hidden = hidden
        self._local = threading.local()
        self._lock = threading.Lock()
        self._workers: list[KeptWorker] = []
        self._started: list[KeptWorker] = []  # not yet taken by a thread

    def start(self, count: int) -> None:
        """Start ``count`` workers now: they load Python, pytest and the checks while the batch finds its submissions."""
        if not detect().has_fork:
            return
        for _ in range(count):
            kept = KeptWorker(None, self.check_files, self.limits, self.hidden)
            kept.start()
            with self._lock:
                self._workers.append(kept)
                self._started.append(kept)

    def worker(self) -> KeptWorker | None:
        """This thread's worker (one started ahead, or one started now), or ``None`` where there is no fork."""
        if not detect().has_fork:
            return None
        kept: KeptWorker | None = getattr(self._local, "worker", None)
        if kept is None:
            with self._lock:
                kept = self._started.pop() if self._started else None
            if kept is None:
                kept = KeptWorker(None, self.check_files, self.limits, self.hidden)
                with self._lock:
                    self._workers.append(kept)
            self._local.worker = kept
        return kept

    def close(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
        for kept in workers:
            kept.close()
