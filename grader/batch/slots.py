"""One kept worker per grading thread: a batch starts Python, pytest and the checks once per slot.

Each thread of the batch's pool grades one submission at a time on its own worker (see
:mod:`grader.runner.parent.kept_worker`); the workers are stopped, and their folders removed,
when the batch ends. Each worker's folder is named after this process
(:func:`grader.leftovers.owned_folder`), so that if the batch is killed the next
``grade`` removes it. Without fork there is nothing to keep: every submission starts its own.
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

from grader.leftovers import owned_folder
from grader.runner.limits import Limits
from grader.runner.parent.kept_worker import KeptWorker
from grader.runner.parent.sandbox import detect

SLOTS_PER_CORE = 2


def default_slots() -> int:
    """How many submissions a batch grades at once unless told: two per core.

    A slot spends much of its time waiting rather than computing: on the real-time caps
    that stop a wrong answer (a frozen loop, a runaway busy loop, a socket that never
    answers) and on the judge and subject answering each other. With one slot per core
    the cores stood idle a third of the time (``benchmarks/batch_speed.py``); verdicts do
    not depend on how busy the machine is (``tests/test_determinism.py``).
    """
    return SLOTS_PER_CORE * (os.cpu_count() or 1)


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
            kept = self._new()
            kept.start()
            with self._lock:
                self._started.append(kept)

    def worker(self) -> KeptWorker | None:
        """This thread's worker (one started ahead, or one started now), or ``None`` where there is no fork."""
        if not detect().has_fork:
            return None
        kept: KeptWorker | None = getattr(self._local, "worker", None)
        if kept is None:
            with self._lock:
                kept = self._started.pop() if self._started else None
            self._local.worker = kept = kept or self._new()
        return kept

    def close(self) -> None:
        """Stop every worker and remove its folder; a worker is forgotten only once it is closed,
        so a close cut short by an interrupt can be done again."""
        with self._lock:
            workers = list(self._workers)
        for kept in workers:
            kept.close()
            shutil.rmtree(kept.root, ignore_errors=True)
            with self._lock:
                self._workers.remove(kept)

    def _new(self) -> KeptWorker:
        kept = KeptWorker(owned_folder("worker"), self.check_files, self.limits, self.hidden)
        with self._lock:
            self._workers.append(kept)
        return kept
