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

    def worker(self) -> KeptWorker | None:
        """This thread's worker (started on first use), or ``None`` where there is no fork."""
        if not detect().has_fork:
            return None
        kept: KeptWorker | None = getattr(self._local, "worker", None)
        if kept is None:
            kept = KeptWorker(None, self.check_files, self.limits, self.hidden)
            self._local.worker = kept
            with self._lock:
                self._workers.append(kept)
        return kept

    def close(self) -> None:
        with self._lock:
            workers, self._workers = self._workers, []
        for kept in workers:
            kept.close()
