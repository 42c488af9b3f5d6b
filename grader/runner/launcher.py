"""The parent side of a run: start workers, drain their pipes, enforce the outer time limit.

Each exercise gets two pipes: one for check results (JSON lines with the run's secret)
and one for whatever the student's code prints. A thread drains each pipe continuously,
so a submission that prints a gigabyte neither fills memory (only the first
``limits.output_bytes`` are kept) nor stalls on a full pipe; threads also work on
Windows, where pipes cannot be polled.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from grader.kit import ExerciseSpec
from grader.runner import cgroup, channels, processes, sandbox
from grader.runner.job import ExerciseJob, WorkerJob
from grader.runner.limits import Limits

__all__ = ["Limits", "RawOutcome", "Run", "run_checks"]

RESULT_BYTES_LIMIT = 1 << 20
STARTUP_SECONDS = 10.0
CHUNK = 65536
LINGER_SECONDS = 0.5
# The report claims "cpu/memory/file-size limits" only where every check process set all three
# (macOS refuses RLIMIT_AS, Windows has none).
RLIMITS_CLAIMED = ("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE")


@dataclasses.dataclass
class RawOutcome:
    """What the parent saw of one exercise's check process, before any judgement."""

    records: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    forged_lines: int = 0
    ended: dict[str, Any] | None = None
    output: bytearray = dataclasses.field(default_factory=bytearray)
    output_truncated: bool = False
    result_bytes: int = 0


@dataclasses.dataclass
class Run:
    """Every exercise's raw outcome, and how the run was protected."""

    outcomes: dict[str, RawOutcome]
    sandbox: str
    protections: list[str]


@dataclasses.dataclass
class _Stream:
    exercise_id: str
    kind: str  # "result" | "output" | "worker"
    buffer: bytearray = dataclasses.field(default_factory=bytearray)
    news: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # a worker's own reports


def run_checks(
    exercises: list[tuple[ExerciseSpec, Path]],
    workdir: Path,
    limits: Limits,
    hidden: tuple[Path, ...] = (),
) -> Run:
    """Run the checks of every ``(spec, copied file)`` pair; never raises for student faults.

    ``hidden`` folders (the kit's solutions, the student's own folder) are invisible to
    the checks under bwrap, and reading them is refused and reported in any mode.
    """
    platform = sandbox.detect()
    mode = sandbox.resolve(limits.sandbox, platform)
    token = secrets.token_hex(16)
    outcomes = {spec.id: RawOutcome() for spec, _ in exercises}
    readers: list[tuple[int, _Stream]] = []
    write_ends: list[int] = []
    jobs: list[ExerciseJob] = []
    for spec, file in exercises:
        result_r, result_w, result_id = channels.pipe()
        output_r, output_w, output_id = channels.pipe()
        readers += [(result_r, _Stream(spec.id, "result")), (output_r, _Stream(spec.id, "output"))]
        write_ends += [result_w, output_w]
        timeout = limits.timeout or spec.timeout
        job = ExerciseJob(spec.id, file, spec.checks_file, spec.checks, result_id, output_id, timeout)
        jobs.append(job)
    cap = cgroup.create(limits.processes) if platform.is_linux and platform.is_root else None
    prefix = sandbox.bwrap_prefix(platform, workdir, list(hidden)) if mode == "bwrap" else []
    # Without fork, each exercise gets a worker of its own (the worker cannot fork children).
    groups = [jobs] if platform.has_fork else [[job] for job in jobs]
    workers: list[subprocess.Popen[bytes]] = []
    finished = pumping = False
    try:
        for group in groups:
            job = WorkerJob(
                token,
                workdir,
                tuple(group),
                limits,
                forbidden=hidden,
                leave_root=mode == "process" and platform.is_linux and platform.is_root,
                cap_processes_by_user=cap is None,
                fork=platform.has_fork,
            )
            news_r, news_w = os.pipe()
            readers.append((news_r, _Stream("", "worker")))
            write_ends.append(news_w)
            workers.append(_start_worker(job, workdir, prefix, cap, news_w))
        # The parent keeps only read ends: a pipe reports EOF once every writer is gone.
        _close_quietly(write_ends)
        rounds = -(-len(groups[0]) // max(1, limits.parallel)) if platform.has_fork else 1
        deadline = time.monotonic() + STARTUP_SECONDS + rounds * max(j.timeout for j in jobs)
        pumping = True
        finished = _pump(readers, outcomes, token, limits, deadline)
    finally:
        if not pumping:  # the pump owns the read ends once it runs
            _close_quietly(write_ends + [fd for fd, _ in readers])
        for worker in workers:
            processes.kill_tree(worker.pid)
        if cap is not None:
            cap.kill_all()
        for worker in workers:
            worker.wait()
    if not platform.has_fork:
        _ended_from_exit_status(workers, groups, outcomes)
    if not finished:
        _mark_overdue(outcomes, jobs)
    applied = _applied([stream for _, stream in readers if stream.kind == "worker"], outcomes)
    return Run(outcomes, mode, sandbox.protections(mode, cap is not None, applied))


def _applied(workers: list[_Stream], outcomes: dict[str, RawOutcome]) -> sandbox.Applied:
    """What every worker and check process said it put in place (a layer counts only if all did)."""
    starts = [r for outcome in outcomes.values() for r in outcome.records if r.get("event") == "start"]
    news = [record for stream in workers for record in stream.news]
    return sandbox.Applied(
        left_root=bool(news) and all(record.get("left_root") for record in news),
        rlimits=bool(starts) and all(set(RLIMITS_CLAIMED) <= set(record.get("rlimits") or ()) for record in starts),
        process_cap_by_user=bool(starts) and all(record.get("process_cap_by_user") for record in starts),
    )


def _ended_from_exit_status(
    workers: list[subprocess.Popen[bytes]], groups: list[list[ExerciseJob]], outcomes: dict[str, RawOutcome]
) -> None:
    """Without fork a worker *is* its exercise's check process: its exit status says how that ended."""
    for worker, (job,) in zip(workers, groups):
        outcome = outcomes[job.exercise_id]
        if outcome.ended is None and worker.returncode is not None:
            code = worker.returncode
            outcome.ended = {"ended": "signal", "signal": -code} if code < 0 else {"ended": "exit", "exit_code": code}


def _close_quietly(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _mark_overdue(outcomes: dict[str, RawOutcome], jobs: list[ExerciseJob]) -> None:
    """The outer limit struck: every exercise that had not ended ran out of time."""
    for job in jobs:
        outcome = outcomes[job.exercise_id]
        if outcome.ended is None:
            outcome.ended = {"ended": "timeout", "limit": job.timeout}


def _start_worker(
    job: WorkerJob, workdir: Path, prefix: list[str], cap: cgroup.ProcessCap | None, news_fd: int
) -> subprocess.Popen[bytes]:
    """Start one worker; it announces how each check process ended on ``news_fd``."""
    command = [*prefix, sys.executable, "-I", "-m", "grader.runner.worker"]
    if cap is not None:
        # MUST join the cgroup before anything forks (bwrap forks at once): a shell joins,
        # then becomes the worker (or bwrap) by exec.
        command = ["/bin/sh", "-c", 'echo $$ > "$0" && exec "$@"', str(cap.procs_file), *command]
    numbers = [number for exercise in job.exercises for number in (exercise.result_fd, exercise.output_fd)]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=news_fd,
        stderr=subprocess.DEVNULL,
        cwd=workdir,
        env=processes.clean_environment(workdir),
        **channels.inherit(numbers),
    )
    assert process.stdin is not None
    try:
        process.stdin.write(job.dumps().encode())
        process.stdin.close()
    except BrokenPipeError:  # the worker (or bwrap) died at once: judged as vanished
        pass
    return process


def _pump(
    readers: list[tuple[int, _Stream]],
    outcomes: dict[str, RawOutcome],
    token: str,
    limits: Limits,
    deadline: float,
) -> bool:
    """Take every chunk until all pipes close (True) or the deadline passes (False).

    Once every worker has ended, pipes still open are held only by processes the
    submission left behind; they get :data:`LINGER_SECONDS`, not the whole deadline.
    """
    chunks: queue.Queue[tuple[_Stream, bytes]] = queue.Queue()
    for fd, stream in readers:
        threading.Thread(target=_drain, args=(fd, stream, chunks), daemon=True).start()
    open_pipes = len(readers)
    workers = sum(stream.kind == "worker" for _, stream in readers)
    while open_pipes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return not workers
        try:
            stream, chunk = chunks.get(timeout=min(remaining, 1.0))
        except queue.Empty:
            continue
        if chunk:
            _take(stream, chunk, outcomes, token, limits)
            continue
        open_pipes -= 1
        _flush_lines(stream, outcomes, token, final=True)
        if stream.kind == "worker":
            workers -= 1
            if not workers:
                deadline = min(deadline, time.monotonic() + LINGER_SECONDS)
    return True


def _drain(fd: int, stream: _Stream, chunks: queue.Queue[tuple[_Stream, bytes]]) -> None:
    """Read one pipe to its end; the empty chunk says it closed. Owns (and closes) ``fd``."""
    with open(fd, "rb", buffering=0) as pipe:
        while chunk := pipe.read(CHUNK):
            chunks.put((stream, chunk))
    chunks.put((stream, b""))


def _take(stream: _Stream, chunk: bytes, outcomes: dict[str, RawOutcome], token: str, limits: Limits) -> None:
    if stream.kind == "output":
        outcome = outcomes[stream.exercise_id]
        room = limits.output_bytes - len(outcome.output)
        outcome.output += chunk[: max(room, 0)]
        outcome.output_truncated |= len(chunk) > room
        return
    if stream.kind == "result":
        outcome = outcomes[stream.exercise_id]
        outcome.result_bytes += len(chunk)
        if outcome.result_bytes > RESULT_BYTES_LIMIT:
            outcome.forged_lines += 1
            return
    stream.buffer += chunk
    _flush_lines(stream, outcomes, token, final=False)


def _flush_lines(stream: _Stream, outcomes: dict[str, RawOutcome], token: str, final: bool) -> None:
    *lines, rest = stream.buffer.split(b"\n")
    stream.buffer = bytearray(rest)
    if final and rest:
        lines.append(rest)
    for line in lines:
        if line.strip():
            _accept(stream, bytes(line), outcomes, token)


def _accept(stream: _Stream, line: bytes, outcomes: dict[str, RawOutcome], token: str) -> None:
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if stream.kind == "worker":
        if isinstance(record, dict) and record.get("exercise") in outcomes:
            outcomes[record["exercise"]].ended = record
        elif isinstance(record, dict):
            stream.news.append(record)
        return
    outcome = outcomes[stream.exercise_id]
    if not isinstance(record, dict) or record.get("token") != token:
        outcome.forged_lines += 1
        return
    outcome.records.append(record)
