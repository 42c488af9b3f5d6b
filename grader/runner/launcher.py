"""The parent side of a run: start a worker, drain its pipes, enforce the outer time limit.

Each exercise gets two pipes: one for check results (JSON lines with the run's secret)
and one for whatever the student's code prints. Both are drained continuously, so a
submission that prints a gigabyte neither fills memory (only the first
``limits.output_bytes`` are kept) nor stalls on a full pipe.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import selectors
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from grader.kit import ExerciseSpec
from grader.runner import cgroup, processes, sandbox
from grader.runner.job import ExerciseJob, WorkerJob
from grader.runner.limits import Limits

__all__ = ["Limits", "RawOutcome", "Run", "run_checks"]

RESULT_BYTES_LIMIT = 1 << 20
STARTUP_SECONDS = 10.0


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
    selector = selectors.DefaultSelector()
    jobs: list[ExerciseJob] = []
    child_fds: list[int] = []
    for spec, file in exercises:
        result_r, result_w = os.pipe()
        output_r, output_w = os.pipe()
        child_fds += [result_w, output_w]
        selector.register(result_r, selectors.EVENT_READ, _Stream(spec.id, "result"))
        selector.register(output_r, selectors.EVENT_READ, _Stream(spec.id, "output"))
        timeout = limits.timeout or spec.timeout
        jobs.append(ExerciseJob(spec.id, file, spec.checks_file, spec.checks, result_w, output_w, timeout))
    cap = cgroup.create(limits.processes) if platform.is_linux and platform.is_root else None
    job = WorkerJob(
        token,
        workdir,
        tuple(jobs),
        limits,
        forbidden=hidden,
        leave_root=mode == "process" and platform.is_linux and platform.is_root,
        cap_processes_by_user=cap is None,
    )
    prefix = sandbox.bwrap_prefix(platform, workdir, list(hidden)) if mode == "bwrap" else []
    process = _start_worker(job, workdir, child_fds, prefix, cap)
    for fd in child_fds:
        os.close(fd)
    assert process.stdout is not None
    selector.register(process.stdout, selectors.EVENT_READ, _Stream("", "worker"))
    deadline = time.monotonic() + STARTUP_SECONDS + _longest_schedule(jobs, limits.parallel)
    try:
        _pump(selector, outcomes, token, limits, deadline)
    finally:
        processes.kill_tree(process.pid)
        if cap is not None:
            cap.kill_all()
        process.wait()
        _close_all(selector)
    return Run(outcomes, mode, sandbox.protections(mode, platform, cap is not None))


def _close_all(selector: selectors.BaseSelector) -> None:
    """Close every pipe still open (after a timeout some writers never said goodbye)."""
    for key in list(selector.get_map().values()):
        selector.unregister(key.fileobj)
        if isinstance(key.fileobj, int):
            os.close(key.fileobj)
        else:
            key.fileobj.close()  # type: ignore[union-attr]
    selector.close()


def _longest_schedule(jobs: list[ExerciseJob], parallel: int) -> float:
    """The worker's own limits, run ``parallel`` at a time, summed as if back to back."""
    rounds = -(-len(jobs) // max(1, parallel))
    return rounds * max((j.timeout for j in jobs), default=0.0) + 1.0


def _start_worker(
    job: WorkerJob, workdir: Path, child_fds: list[int], prefix: list[str], cap: cgroup.ProcessCap | None
) -> subprocess.Popen[bytes]:
    command = [*prefix, sys.executable, "-I", "-m", "grader.runner.worker"]
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        pass_fds=child_fds,
        cwd=workdir,
        env=processes.clean_environment(workdir),
        start_new_session=True,
    )
    # MUST join the cgroup before the job is sent: the worker forks only once it has it.
    if cap is not None:
        cap.add(process.pid)
    assert process.stdin is not None
    process.stdin.write(job.dumps().encode())
    process.stdin.close()
    return process


def _pump(
    selector: selectors.BaseSelector,
    outcomes: dict[str, RawOutcome],
    token: str,
    limits: Limits,
    deadline: float,
) -> None:
    while selector.get_map():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        for key, _ in selector.select(timeout=min(remaining, 1.0)):
            stream: _Stream = key.data
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fileobj)
                if isinstance(key.fileobj, int):
                    os.close(key.fd)
                else:
                    key.fileobj.close()  # type: ignore[union-attr]
                _flush_lines(stream, outcomes, token, final=True)
                continue
            _take(stream, chunk, outcomes, token, limits)


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
        return
    outcome = outcomes[stream.exercise_id]
    if not isinstance(record, dict) or record.get("token") != token:
        outcome.forged_lines += 1
        return
    outcome.records.append(record)
