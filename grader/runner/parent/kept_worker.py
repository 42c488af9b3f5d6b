"""A worker kept for many submissions (where there is fork): started, sandboxed and capped once.

Starting the worker (Python, pytest, the kit's checks) costs more than checking a whole
submission, so a batch keeps one per slot and sends it one submission after another. Each
submission still gets fresh check processes, its own pipes and secret, and a fresh folder
under the worker's root; afterwards the worker kills whatever the submission left running
and this side empties the root, so nothing of one submission reaches the next. A worker
that dies or overruns is replaced before the next submission.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from grader.kit import ExerciseSpec
from grader.runner import processes
from grader.runner.limits import Limits
from grader.runner.parent import cgroup, sandbox
from grader.runner.parent.streams import Run, RunPipes
from grader.runner.protocol import WorkerJob, send_job


class KeptWorker:
    """One worker process, its sandbox and its process cap; :meth:`run` checks one submission."""

    def __init__(
        self,
        root: Path | None,
        check_files: list[Path],
        limits: Limits,
        hidden: tuple[Path, ...] = (),
        judges: int = 1,
    ) -> None:
        """``root`` is the only folder the checks may write to (``None``: a temporary one, removed
        on :meth:`close`); ``hidden`` folders they never see; ``judges``: check processes at once
        (one submission alone on the machine may use every core; a batch's slots each use one)."""
        self.owns_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="asynclings-worker-")) if root is None else root
        self.check_files = check_files
        self.limits = limits
        self.hidden = hidden
        self.judges = judges
        self.platform = sandbox.detect()
        self.mode = sandbox.resolve(limits.sandbox, self.platform)
        self.process: subprocess.Popen[bytes] | None = None
        self.channel: socket.socket | None = None
        self.cap: cgroup.ProcessCap | None = None

    def __enter__(self) -> KeptWorker:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def scratch(self) -> Path:
        """A fresh folder under the root for the next submission's copy."""
        return Path(tempfile.mkdtemp(prefix="submission-", dir=self.root))

    def run(self, exercises: list[tuple[ExerciseSpec, Path]], workdir: Path, hidden: tuple[Path, ...] = ()) -> Run:
        """Check one submission copied into ``workdir``; never raises for student faults.

        ``hidden`` (on top of the worker's own) is refused to the checks by the guard. A
        worker that died before it took the job (it had said nothing, so no code of this
        submission ran) is replaced and the job sent once more: a death the submission did
        not cause must not cost it.
        """
        run, untaken = self._attempt(exercises, workdir, hidden)
        if untaken:
            run, _ = self._attempt(exercises, workdir, hidden)
        self._empty_root()
        return run

    def start(self) -> None:
        """Start the worker process now, rather than for the first submission; it loads meanwhile."""
        if not self._alive():
            self._stop()
            self._start()

    def _attempt(
        self, exercises: list[tuple[ExerciseSpec, Path]], workdir: Path, hidden: tuple[Path, ...]
    ) -> tuple[Run, bool]:
        """One try at a job: the run, and whether the worker died without taking it."""
        self.start()
        pipes = RunPipes(exercises, self.limits)
        token = secrets.token_hex(16)
        try:
            job = WorkerJob(
                token,
                workdir,
                tuple(pipes.jobs),
                self.limits,
                forbidden=(*self.hidden, *hidden),
                cap_processes_by_user=self.cap is None,
                news_fd=pipes.news_pipe(),
            )
            self._send(job)
            pipes.close_write_ends()
            # Each exercise may take its whole limit in turn, however the judges share them.
            finished = pipes.collect(token, self.limits, pipes.deadline(rounds=len(pipes.jobs)))
        finally:
            pipes.close()
        if not finished:
            pipes.mark_overdue()
        alive = self._alive()
        if not (finished and pipes.clean and alive):
            self._stop()  # overran, died, or something it started outlived the submission: a new one
        run = Run(pipes.outcomes, self.mode, sandbox.protections(self.mode, self.cap is not None, pipes.applied()))
        return run, not alive and not pipes.heard_from_worker()

    def close(self) -> None:
        """Stop the worker and everything it started (and remove its root, if it made it)."""
        self._stop()
        if self.owns_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def _stop(self) -> None:
        if self.channel is not None:
            self.channel.close()
            self.channel = None
        if self.process is not None:
            processes.kill_tree(self.process.pid)
        if self.cap is not None:
            self.cap.kill_all()
            self.cap = None
        if self.process is not None:
            self.process.wait()
            self.process = None

    def _send(self, job: WorkerJob) -> None:
        """Hand the job to the worker with its pipes attached."""
        assert self.channel is not None
        try:
            send_job(self.channel, job)
        except OSError:  # the worker died at once: its exercises are judged as vanished
            pass

    def _alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _start(self) -> None:
        command = [sys.executable, "-I", "-m", "grader.runner.worker", f"--judges={self.judges}", *map(str, self.check_files)]
        if self.mode == "process" and self.platform.is_linux and self.platform.is_root:
            command.append("--leave-root")
        if self.mode == "bwrap":
            command = [*sandbox.bwrap_prefix(self.platform, self.root, list(self.hidden)), *command, "--own-pid-namespace"]
            command.append(f"--subject-bwrap={self.platform.bwrap}")
        self.cap = cgroup.create(self.limits.processes) if self.platform.is_linux and self.platform.is_root else None
        if self.cap is not None:
            # MUST join the cgroup before anything forks (bwrap forks at once): a shell joins,
            # then becomes the worker (or bwrap) by exec.
            command = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(self.cap.procs_file), *command]
        ours, theirs = socket.socketpair()
        self.process = subprocess.Popen(
            command,
            stdin=theirs.fileno(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.root,
            env=processes.clean_environment(self.root),
            start_new_session=True,
        )
        theirs.close()
        self.channel = ours

    def _empty_root(self) -> None:
        """Remove everything the submission's run left in the root (the copy, and any files it wrote)."""
        for entry in list(self.root.iterdir()) if self.root.is_dir() else []:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
